//! The Lua scripts: one per decision, each run with EVALSHA in one round trip.
//!
//! Every total a script handles (counter usage, overage and top-up units, day buckets, gauge
//! levels) stays within `quota_core::domain::MAX_UNITS` (10^15 < 2^53), where Lua's double
//! numbers are exact. Arguments that may be larger (a quantity or a ceiling can be any `u64`)
//! are clamped on the Rust side to a value that decides the same way (`MAX_UNITS + 1` for a
//! quantity, `MAX_UNITS` for a bound), so `tonumber` is exact on every argument too. Replies
//! carry plain integers.
//!
//! Numbers a script writes back go through `HINCRBY` with an argument string when they can
//! (exact on the server, and no formatting in Lua); the rest are formatted with `%.0f`, exact
//! for integers below 2^53. A Lua number is never handed to `redis.call` as is: newer Redis
//! versions may turn it into exponent notation.
//!
//! All keys a script touches share the brand's `{brand}` hash tag, so a script never meets
//! CROSSSLOT on a cluster. `reset_period` and the top-up listing build further key names of
//! the same brand inside the script; they hash to the same slot by construction.

use redis::Script;

/// The domain's bound, in Lua (the value of `quota_core::domain::MAX_UNITS`).
const MAX_LINE: &str = "local MAX = 1000000000000000\n";

/// Formats a number of the domain exactly (no exponent, no rounding below 2^53).
const FORMAT: &str = "local function f(x) return string.format('%.0f', x) end\n";

/// KEYS: counter hash, metric set of the period, [idempotency key].
/// ARGV: quantity (at most `MAX + 1`), ceiling ('' = none; at most `MAX`), day field
/// (`d<day>`), expire-at ms, metric, free units ('' = none; at most `MAX`), and with an
/// idempotency key: at µs, idempotency deadline µs, idempotency TTL ms, fingerprint.
/// Reply: {admitted, used, topup, overage, charged, flag}; flag 0 = a fresh decision,
/// 1 = a replay, 2 = the key belongs to another request (nothing changed).
///
/// The key's value is `fingerprint:prior used:quantity:topup:prior overage:charged:deadline µs`,
/// made of the strings read and received (no number is formatted on the way): a replay adds
/// them up again. A value of the form `prior used:quantity:topup:deadline µs` replays too,
/// with no fingerprint to check and no overage units.
const CONSUME: &str = r"
local ik = KEYS[3]
if ik then
  local v = redis.call('GET', ik)
  if v then
    local fp, p, q, t, po, ch, dl =
      string.match(v, '^(%d+):(%d+):(%d+):(%d+):(%d+):(%d+):(-?%d+)$')
    if not fp then
      -- the four-field form `prior:quantity:topup:deadline` carries no fingerprint and no
      -- overage: it replays with none
      p, q, t, dl = string.match(v, '^(%d+):(%d+):(%d+):(-?%d+)$')
      fp, po, ch = ARGV[10], '0', '0'
    end
    if p and tonumber(dl) > tonumber(ARGV[7]) then
      if fp ~= ARGV[10] then return {0, 0, 0, 0, 0, 2} end
      ch = tonumber(ch)
      return {1, tonumber(p) + tonumber(q), tonumber(t), tonumber(po) + ch, ch, 1}
    end
  end
end
local c = redis.call('HMGET', KEYS[1], 'u', 't', 'o')
local u, t, o = tonumber(c[1] or '0'), tonumber(c[2] or '0'), tonumber(c[3] or '0')
local q = ARGV[1]
local after = u + tonumber(q)
local limit = MAX
if ARGV[2] ~= '' then limit = math.min(tonumber(ARGV[2]) + t, MAX) end
if after > limit then return {0, u, t, o, 0, 0} end
-- units that neither the free units, the top-ups completed by now nor the overage units
-- billed before pay for are overage units
local ch, chn = '0', 0
if ARGV[6] ~= '' then
  local free = math.min(tonumber(ARGV[6]) + t + o, MAX)
  if free <= u then
    ch, chn = q, after - u
  elseif free < after then
    chn = after - free
    ch = string.format('%.0f', chn)
  end
end
if q ~= '0' then
  redis.call('HINCRBY', KEYS[1], 'u', q)
  redis.call('HINCRBY', KEYS[1], ARGV[3], q)
  if chn > 0 then redis.call('HINCRBY', KEYS[1], 'o', ch) end
  if not c[1] then
    -- first write of the period (or first after a reset): arm the expiries once
    redis.call('PEXPIREAT', KEYS[1], ARGV[4])
    if redis.call('SADD', KEYS[2], ARGV[5]) == 1 then
      redis.call('PEXPIREAT', KEYS[2], ARGV[4])
    end
  end
end
if ik then
  redis.call('SET', ik, ARGV[10] .. ':' .. (c[1] or '0') .. ':' .. q .. ':' .. (c[2] or '0')
    .. ':' .. (c[3] or '0') .. ':' .. ch .. ':' .. ARGV[8], 'PX', ARGV[9])
end
return {1, after, t, o + chn, chn, 0}
";

/// KEYS: counter hash. ARGV: quantity (at most `MAX`), day field (`d<day>`).
/// Reply: {used, topup, overage}.
const RELEASE: &str = r"
local c = redis.call('HMGET', KEYS[1], 'u', 't', 'o', ARGV[2])
local u, t, o = tonumber(c[1] or '0'), tonumber(c[2] or '0'), tonumber(c[3] or '0')
local g = math.min(tonumber(ARGV[1]), u)
if g > 0 then
  u = u - g
  o = math.max(o - g, 0)
  local fields = {'u', f(u)}
  if c[3] then
    fields[#fields + 1] = 'o'
    fields[#fields + 1] = f(o)
  end
  if c[4] then
    -- keep an emptied bucket as 0 (like the memory store) rather than dropping the day
    fields[#fields + 1] = ARGV[2]
    fields[#fields + 1] = f(math.max(tonumber(c[4]) - g, 0))
  end
  redis.call('HSET', KEYS[1], unpack(fields))
end
return {u, t, o}
";

/// KEYS: gauges hash. ARGV: metric, '+' or '-', step (at most `MAX + 1`), ceiling ('' =
/// none; at most `MAX`).
/// Reply: {admitted, level}.
const ADJUST_GAUGE: &str = r"
local g = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local d = tonumber(ARGV[3])
if ARGV[2] == '+' then
  local a = g + d
  local cap = MAX
  if ARGV[4] ~= '' then cap = tonumber(ARGV[4]) end
  if a <= cap then
    redis.call('HSET', KEYS[1], ARGV[1], f(a))
    return {1, a}
  end
  return {0, g}
end
g = math.max(g - d, 0)
redis.call('HSET', KEYS[1], ARGV[1], f(g))
return {1, g}
";

/// KEYS: gauges hash. ARGV: metric, level (at most `MAX`). Reply: {previous}.
const SET_GAUGE: &str = r"
local p = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {tonumber(p or '0')}
";

/// KEYS: metric set of the period. ARGV: brand key base (`prefix:{brand}:`), period, and
/// either nothing (every metric the brand touched in the period) or one metric.
/// Clears `used`, the overage units and the day fields (top-up units stay) and the alert
/// claims.
/// Reply: {number of metrics reset}.
const RESET_PERIOD: &str = r"
local ms
if ARGV[3] then ms = {ARGV[3]} else ms = redis.call('SMEMBERS', KEYS[1]) end
for _, m in ipairs(ms) do
  local suffix = m .. ':' .. ARGV[2]
  local counter = ARGV[1] .. 'c:' .. suffix
  local fields = {'u', 'o'}
  for _, k in ipairs(redis.call('HKEYS', counter)) do
    if string.sub(k, 1, 1) == 'd' then fields[#fields + 1] = k end
  end
  redis.call('HDEL', counter, unpack(fields))
  redis.call('DEL', ARGV[1] .. 'a:' .. suffix)
end
return {#ms}
";

/// KEYS: counter hash, claim set, metric set of the period, timeline, timeline sequence,
/// and with a top-up: its record hash, the brand's top-up id list.
/// ARGV: used (at most `MAX`), day field, expire-at ms, metric, top-up units ('' = no
/// top-up; at most `MAX + 1`), top-up id, record JSON, status, settled JSON, then one
/// (score, JSON) pair per event, in append order.
/// Reply: {1, used, topup} done, {-1} the top-up id exists, {-2} the top-up units would pass
/// `MAX`; on a refusal nothing was written.
const RESET_COUNTER: &str = r"
local tu = ARGV[5]
if tu ~= '' then
  if redis.call('EXISTS', KEYS[6]) == 1 then return {-1} end
  local t = tonumber(redis.call('HGET', KEYS[1], 't') or '0')
  if t + tonumber(tu) > MAX then return {-2} end
end
local fields = {'u', 'o'}
for _, k in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(k, 1, 1) == 'd' then fields[#fields + 1] = k end
end
redis.call('HDEL', KEYS[1], unpack(fields))
redis.call('DEL', KEYS[2])
if ARGV[1] ~= '0' then
  redis.call('HSET', KEYS[1], 'u', ARGV[1], ARGV[2], ARGV[1])
end
if tu ~= '' then
  if tu ~= '0' then redis.call('HINCRBY', KEYS[1], 't', tu) end
  redis.call('HSET', KEYS[6], 'base', ARGV[7], 'status', ARGV[8], 'settled', ARGV[9])
  redis.call('RPUSH', KEYS[7], ARGV[6])
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  if redis.call('SADD', KEYS[3], ARGV[4]) == 1 then
    redis.call('PEXPIREAT', KEYS[3], ARGV[3])
  end
end
for i = 10, #ARGV, 2 do
  local seq = redis.call('INCR', KEYS[5])
  redis.call('ZADD', KEYS[4], ARGV[i], string.format('%020.0f', seq) .. ':' .. ARGV[i + 1])
end
local c = redis.call('HMGET', KEYS[1], 'u', 't')
return {1, tonumber(c[1] or '0'), tonumber(c[2] or '0')}
";

/// KEYS: timeline, timeline sequence. ARGV: score (the event's time in Unix µs), JSON.
/// The member is the zero-padded sequence number, `:`, then the JSON: members of one score
/// sort by sequence. Reply: {sequence number}.
const APPEND_EVENT: &str = r"
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], ARGV[1], string.format('%020.0f', seq) .. ':' .. ARGV[2])
return {seq}
";

/// KEYS: claim set, metric set of the period. ARGV: threshold, expire-at ms, metric.
/// Reply: {1} when this call claimed it, else {0}.
const CLAIM_ALERT: &str = r"
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  if redis.call('SADD', KEYS[2], ARGV[3]) == 1 then
    redis.call('PEXPIREAT', KEYS[2], ARGV[2])
  end
end
return {added}
";

/// KEYS: top-up record hash, brand's top-up id list. ARGV: id, record JSON, status, settled.
/// Reply: {1} when inserted, {0} when the id exists.
const INSERT_TOPUP: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('HSET', KEYS[1], 'base', ARGV[2], 'status', ARGV[3], 'settled', ARGV[4])
redis.call('RPUSH', KEYS[2], ARGV[1])
return {1}
";

/// KEYS: top-up record hash, counter hash of its period, metric set of its period.
/// ARGV: requested status, resulting status, settled JSON, units (at most `MAX + 1`),
/// expire-at ms, metric, comma-framed list of statuses allowed to become the requested one
/// (`,pending,`), comma-framed list of every status in the order the reply numbers them.
/// Reply: {1} changed, {0} already there, {-1} not found, {-2, current status index},
/// {-3} the period's top-up units would pass `MAX` (nothing changed).
const SET_TOPUP_STATUS: &str = r"
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {-1} end
if st == ARGV[1] and ARGV[1] ~= 'pending' then return {0} end
if not string.find(ARGV[7], ',' .. st .. ',', 1, true) then
  local at = string.find(ARGV[8], ',' .. st .. ',', 1, true)
  if not at then return {-2, -1} end
  local _, commas = string.gsub(string.sub(ARGV[8], 1, at), ',', '')
  return {-2, commas - 1}
end
if ARGV[2] == 'completed' then
  local c = redis.call('HMGET', KEYS[2], 'u', 't')
  if tonumber(c[2] or '0') + tonumber(ARGV[4]) > MAX then return {-3} end
  redis.call('HINCRBY', KEYS[2], 't', ARGV[4])
  if not c[1] and not c[2] then
    redis.call('PEXPIREAT', KEYS[2], ARGV[5])
  end
  if redis.call('SADD', KEYS[3], ARGV[6]) == 1 then
    redis.call('PEXPIREAT', KEYS[3], ARGV[5])
  end
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'settled', ARGV[3])
return {1}
";

/// KEYS: brand's top-up id list. ARGV: brand key base (`prefix:{brand}:`), limit (0 = all).
/// Reply: flat {base, status, settled, ...}, newest first.
const LIST_TOPUPS: &str = r"
local limit = tonumber(ARGV[2] or '0')
local ids
if limit and limit > 0 then
  ids = redis.call('LRANGE', KEYS[1], -limit, -1)
else
  ids = redis.call('LRANGE', KEYS[1], 0, -1)
end
local out = {}
for i = #ids, 1, -1 do
  local r = redis.call('HMGET', ARGV[1] .. 'tu:' .. ids[i], 'base', 'status', 'settled')
  if r[1] then
    out[#out + 1] = r[1]
    out[#out + 1] = r[2]
    out[#out + 1] = r[3] or ''
  end
end
return out
";

/// The loaded scripts (their SHA1 is computed once; Redis loads them on first NOSCRIPT).
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) consume: Script,
    pub(crate) release: Script,
    pub(crate) adjust_gauge: Script,
    pub(crate) set_gauge: Script,
    pub(crate) reset_period: Script,
    pub(crate) reset_counter: Script,
    pub(crate) append_event: Script,
    pub(crate) claim_alert: Script,
    pub(crate) insert_topup: Script,
    pub(crate) set_topup_status: Script,
    pub(crate) list_topups: Script,
}

/// A script with the domain's bound.
fn bounded(body: &str) -> Script {
    Script::new(&format!("{MAX_LINE}{body}"))
}

/// A script with the domain's bound and the number formatter.
fn with_format(body: &str) -> Script {
    Script::new(&format!("{MAX_LINE}{FORMAT}{body}"))
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            // the hot path builds no closure: it formats at most one number, inline
            consume: bounded(CONSUME),
            release: with_format(RELEASE),
            adjust_gauge: with_format(ADJUST_GAUGE),
            set_gauge: Script::new(SET_GAUGE),
            reset_period: Script::new(RESET_PERIOD),
            reset_counter: bounded(RESET_COUNTER),
            append_event: Script::new(APPEND_EVENT),
            claim_alert: Script::new(CLAIM_ALERT),
            insert_topup: Script::new(INSERT_TOPUP),
            set_topup_status: bounded(SET_TOPUP_STATUS),
            list_topups: Script::new(LIST_TOPUPS),
        }
    }

    /// Every script, to preload them.
    pub(crate) fn all(&self) -> [&Script; 11] {
        [
            &self.consume,
            &self.release,
            &self.adjust_gauge,
            &self.set_gauge,
            &self.reset_period,
            &self.reset_counter,
            &self.append_event,
            &self.claim_alert,
            &self.insert_topup,
            &self.set_topup_status,
            &self.list_topups,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scripts_bound_is_the_domains() {
        let line = MAX_LINE
            .trim()
            .strip_prefix("local MAX = ")
            .map(str::to_owned);
        assert_eq!(
            line,
            Some(quota_core::domain::MAX_UNITS.to_string()),
            "the Lua prelude must carry MAX_UNITS"
        );
    }
}
