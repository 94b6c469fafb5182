//! The alert outbox on Redis (`OutboxStore`).
//!
//! Every outbox key carries the hash tag `{outbox}` (`<prefix>:{outbox}:...`), so one Lua
//! script sees them all, also on a cluster (the outbox is low volume: one slot is plenty):
//!
//! - `m:<id>`: hash `sink, payload, due, status, attempts[, lease, err]` (times in Unix µs);
//! - `q:<sink>`: zset of pending, unleased ids by due time (ties by id: zsets order equal
//!   scores by member, which is the contract's order);
//! - `l:<sink>`: zset of leased ids by lease end; a claim first moves expired ones back to
//!   `q:<sink>`;
//! - `s:delivered:<sink>`, `s:dead:<sink>`: zsets of finished ids by due time (listings,
//!   purge);
//! - `sinks`: set of sink names (purge).
//!
//! Each operation is one script, hence atomic: exactly one concurrent claimer gets a message.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::outbox::{
    ClaimRequest, ClaimedMessage, OutboxLease, OutboxMessage, OutboxRecord, OutboxStatus,
    OutboxStore, lease_deadline,
};
use quota_core::store::StoreResult;
use redis::Script;

use crate::store::{RedisStore, corrupt};

const ENQUEUE: &str = r"
local base, id, sink = ARGV[1], ARGV[2], ARGV[3]
local m = base .. 'm:' .. id
if redis.call('EXISTS', m) == 1 then return 0 end
redis.call('HSET', m, 'sink', sink, 'payload', ARGV[4], 'due', ARGV[5], 'status', 'pending', 'attempts', 0)
redis.call('ZADD', base .. 'q:' .. sink, ARGV[5], id)
redis.call('SADD', KEYS[1], sink)
return 1
";

const CLAIM: &str = r"
local base, now, lease_until, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local cands = {}
for i = 5, #ARGV do
  local sink = ARGV[i]
  local q, l = base .. 'q:' .. sink, base .. 'l:' .. sink
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', l, '-inf', now)) do
    redis.call('ZREM', l, id)
    local due = redis.call('HGET', base .. 'm:' .. id, 'due')
    if due then redis.call('ZADD', q, due, id) end
  end
  local got = redis.call('ZRANGEBYSCORE', q, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
  for j = 1, #got, 2 do
    table.insert(cands, { got[j], tonumber(got[j + 1]), sink })
  end
end
table.sort(cands, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[1] < b[1]
end)
local out = {}
for k = 1, math.min(limit, #cands) do
  local id, sink = cands[k][1], cands[k][3]
  local m = base .. 'm:' .. id
  local n = redis.call('HINCRBY', m, 'attempts', 1)
  redis.call('HSET', m, 'lease', lease_until)
  redis.call('ZREM', base .. 'q:' .. sink, id)
  redis.call('ZADD', base .. 'l:' .. sink, lease_until, id)
  local f = redis.call('HMGET', m, 'payload', 'due')
  table.insert(out, id)
  table.insert(out, sink)
  table.insert(out, f[1])
  table.insert(out, f[2])
  table.insert(out, tostring(n))
end
return out
";

const ACK: &str = r"
local base, id = ARGV[1], ARGV[2]
local m = base .. 'm:' .. id
local f = redis.call('HMGET', m, 'status', 'sink', 'due')
if f[1] ~= 'pending' then return 0 end
redis.call('HSET', m, 'status', 'delivered')
redis.call('HDEL', m, 'lease')
redis.call('ZREM', base .. 'q:' .. f[2], id)
redis.call('ZREM', base .. 'l:' .. f[2], id)
redis.call('ZADD', base .. 's:delivered:' .. f[2], f[3], id)
return 1
";

/// ARGV: base, id, attempt, mode (`reschedule` | `dead`), new due, error.
const FINISH: &str = r"
local base, id, mode = ARGV[1], ARGV[2], ARGV[4]
local m = base .. 'm:' .. id
local f = redis.call('HMGET', m, 'status', 'sink', 'due', 'attempts')
if f[1] ~= 'pending' or f[4] ~= ARGV[3] then return 0 end
redis.call('ZREM', base .. 'l:' .. f[2], id)
redis.call('HDEL', m, 'lease')
redis.call('HSET', m, 'err', ARGV[6])
if mode == 'reschedule' then
  redis.call('HSET', m, 'due', ARGV[5])
  redis.call('ZADD', base .. 'q:' .. f[2], ARGV[5], id)
else
  redis.call('HSET', m, 'status', 'dead')
  redis.call('ZREM', base .. 'q:' .. f[2], id)
  redis.call('ZADD', base .. 's:dead:' .. f[2], f[3], id)
end
return 1
";

/// ARGV: base, then ids; returns 8 strings per existing id.
const READ: &str = r"
local base = ARGV[1]
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local f = redis.call('HMGET', base .. 'm:' .. id, 'sink', 'payload', 'due', 'status', 'attempts', 'lease', 'err')
  if f[1] then
    table.insert(out, id)
    for j = 1, 7 do table.insert(out, f[j] or '') end
  end
end
return out
";

/// ARGV: base, sink, status, limit: ids of a listing (pending: queued and leased).
const LIST: &str = r"
local base, sink, status, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if status ~= 'pending' then
  return redis.call('ZRANGE', base .. 's:' .. status .. ':' .. sink, 0, limit - 1)
end
local ids = redis.call('ZRANGE', base .. 'q:' .. sink, 0, limit - 1)
for _, id in ipairs(redis.call('ZRANGE', base .. 'l:' .. sink, 0, -1)) do
  table.insert(ids, id)
end
return ids
";

/// ARGV: base, before (µs, exclusive).
const PURGE: &str = r"
local base, before = ARGV[1], ARGV[2]
local n = 0
for _, sink in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  for _, st in ipairs({ 'delivered', 'dead' }) do
    local z = base .. 's:' .. st .. ':' .. sink
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. before)) do
      redis.call('DEL', base .. 'm:' .. id)
      redis.call('ZREM', z, id)
      n = n + 1
    end
  end
end
return n
";

fn micros(t: DateTime<Utc>) -> String {
    t.timestamp_micros().to_string()
}

fn time(s: &str) -> StoreResult<DateTime<Utc>> {
    s.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| corrupt(format!("outbox time {s:?} is not Unix microseconds")))
}

fn payload(s: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| corrupt(format!("outbox payload is not JSON: {e}")))
}

fn count(s: &str) -> StoreResult<u32> {
    s.parse()
        .map_err(|_| corrupt(format!("outbox attempts {s:?} is not a count")))
}

fn status(s: &str) -> StoreResult<OutboxStatus> {
    match s {
        "pending" => Ok(OutboxStatus::Pending),
        "delivered" => Ok(OutboxStatus::Delivered),
        "dead" => Ok(OutboxStatus::Dead),
        other => Err(corrupt(format!("unknown outbox status {other:?}"))),
    }
}

impl RedisStore {
    /// `<prefix>:{outbox}:`.
    fn outbox_base(&self) -> String {
        format!("{}:{{outbox}}:", self.inner.opts.key_prefix())
    }

    async fn outbox_script<T: redis::FromRedisValue>(
        &self,
        what: &'static str,
        body: &str,
        args: &[&str],
    ) -> StoreResult<T> {
        // The scripts are small and rare (a few per alert): built per call, loaded on demand.
        let script = Script::new(body);
        let base = self.outbox_base();
        let mut inv = script.prepare_invoke();
        inv.key(format!("{base}sinks"));
        inv.arg(&base);
        for a in args {
            inv.arg(*a);
        }
        let mut conn = self.inner.conn.clone();
        self.bounded(what, inv.invoke_async(&mut conn)).await
    }

    async fn read_records(&self, ids: &[String]) -> StoreResult<Vec<OutboxRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let args: Vec<&str> = ids.iter().map(String::as_str).collect();
        let flat: Vec<String> = self.outbox_script("outbox read", READ, &args).await?;
        flat.chunks(8)
            .map(|f| match f {
                [id, sink, body, due, st, attempts, lease, err] => Ok(OutboxRecord::new(
                    OutboxMessage::new(id.as_str(), sink.as_str(), payload(body)?, time(due)?),
                    status(st)?,
                    count(attempts)?,
                    if lease.is_empty() {
                        None
                    } else {
                        Some(time(lease)?)
                    },
                    (!err.is_empty()).then(|| err.clone()),
                )),
                _ => Err(corrupt("the outbox read script answered a partial record")),
            })
            .collect()
    }
}

#[async_trait]
impl OutboxStore for RedisStore {
    async fn enqueue(&self, message: &OutboxMessage) -> StoreResult<bool> {
        let body = serde_json::to_string(&message.payload)
            .map_err(|e| quota_core::StoreError::backend("cannot encode outbox payload", e))?;
        let due = micros(message.due_at);
        let done: i64 = self
            .outbox_script(
                "outbox enqueue",
                ENQUEUE,
                &[&message.id, &message.sink, &body, &due],
            )
            .await?;
        Ok(done == 1)
    }

    async fn claim_due(&self, req: &ClaimRequest<'_>) -> StoreResult<Vec<ClaimedMessage>> {
        if req.sinks.is_empty() || req.limit == 0 {
            return Ok(Vec::new());
        }
        let until = lease_deadline(req.now, req.lease);
        let (now, until_s, limit) = (micros(req.now), micros(until), req.limit.to_string());
        let mut args: Vec<&str> = vec![&now, &until_s, &limit];
        args.extend(req.sinks.iter().copied());
        let flat: Vec<String> = self.outbox_script("outbox claim", CLAIM, &args).await?;
        flat.chunks(5)
            .map(|f| match f {
                [id, sink, body, due, n] => Ok(ClaimedMessage::new(
                    OutboxMessage::new(id.as_str(), sink.as_str(), payload(body)?, time(due)?),
                    count(n)?,
                    until,
                )),
                _ => Err(corrupt(
                    "the outbox claim script answered a partial message",
                )),
            })
            .collect()
    }

    async fn ack(&self, id: &str) -> StoreResult<bool> {
        let done: i64 = self.outbox_script("outbox ack", ACK, &[id]).await?;
        Ok(done == 1)
    }

    async fn reschedule(
        &self,
        lease: &OutboxLease,
        due_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        let (attempt, due) = (lease.attempt.to_string(), micros(due_at));
        let args = [lease.id.as_str(), &attempt, "reschedule", &due, error];
        let done: i64 = self
            .outbox_script("outbox reschedule", FINISH, &args)
            .await?;
        Ok(done == 1)
    }

    async fn dead_letter(&self, lease: &OutboxLease, error: &str) -> StoreResult<bool> {
        let attempt = lease.attempt.to_string();
        let args = [lease.id.as_str(), &attempt, "dead", "", error];
        let done: i64 = self
            .outbox_script("outbox dead_letter", FINISH, &args)
            .await?;
        Ok(done == 1)
    }

    async fn outbox_record(&self, id: &str) -> StoreResult<Option<OutboxRecord>> {
        Ok(self
            .read_records(&[id.to_owned()])
            .await?
            .into_iter()
            .next())
    }

    async fn outbox_records(
        &self,
        sink: &str,
        status: OutboxStatus,
        limit: usize,
    ) -> StoreResult<Vec<OutboxRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit_s = limit.min(1_000_000).to_string();
        let ids: Vec<String> = self
            .outbox_script("outbox list", LIST, &[sink, status.as_str(), &limit_s])
            .await?;
        let mut records = self.read_records(&ids).await?;
        records.retain(|r| r.status == status);
        records.sort_by(|a, b| {
            (a.message.due_at, &a.message.id).cmp(&(b.message.due_at, &b.message.id))
        });
        records.truncate(limit);
        Ok(records)
    }

    async fn purge_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let n: u64 = self
            .outbox_script("outbox purge", PURGE, &[&micros(before)])
            .await?;
        Ok(n)
    }
}
