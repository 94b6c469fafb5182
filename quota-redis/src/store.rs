//! `RedisStore`: the store traits of `quota-core` on Redis or Redis Cluster.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use quota_core::StoreError;
use quota_core::domain::MAX_UNITS;
use quota_core::period::PeriodKey;
use quota_core::store::{
    AlertStore, ConsumeOutcome, ConsumeRequest, CounterKey, CounterReset, GaugeOutcome,
    StoreResult, SubscriptionStore, TopUpStore, Usage, UsageStore,
};
use quota_core::subscription::Subscription;
use quota_core::timeline::TimelineEvent;
use quota_core::topup::{TopUpStatus, TopUpTransition, UsageTopUp};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{Cmd, FromRedisValue, Script, Value};

use crate::conn::{Conn, bounded};
use crate::keys::{Keys, check_brand};
use crate::lua::Scripts;
use crate::options::RedisOptions;

/// Longest a monthly billing period lasts, in days: bounds its end from its start alone.
const MAX_PERIOD_DAYS: i64 = 31;
/// The statuses in the order the scripts number them.
const STATUSES: [TopUpStatus; 5] = [
    TopUpStatus::Pending,
    TopUpStatus::Completed,
    TopUpStatus::Failed,
    TopUpStatus::Expired,
    TopUpStatus::Cancelled,
];
/// A quantity past the domain: every larger one decides the same way (it never fits), and
/// the scripts' numbers stay exact.
const PAST_DOMAIN: u64 = MAX_UNITS + 1;

/// A [`quota_core::Store`] on Redis (one server) or Redis Cluster. Cheap to clone: clones
/// share one multiplexed connection, on which concurrent calls are pipelined.
///
/// Every decision (consume with its idempotency key, release, gauge change, top-up status
/// change, alert claim, timeline append, period or counter reset) is one Lua script run with
/// EVALSHA: one round trip, atomic on the server, hence exact across any number of processes
/// sharing the Redis.
#[derive(Clone, Debug)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Conn,
    keys: Keys,
    scripts: Scripts,
    opts: RedisOptions,
}

fn invalid_config(message: String) -> StoreError {
    StoreError::Backend {
        message,
        source: None,
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

impl RedisStore {
    /// Connects to one Redis server (`redis://host:port/db`). Fails with
    /// [`StoreError::Unavailable`] or [`StoreError::Timeout`] when the server does not answer;
    /// once built, the store reconnects by itself after an outage.
    pub async fn connect(url: &str, opts: RedisOptions) -> StoreResult<Self> {
        check_options(&opts)?;
        let client = redis::Client::open(url)
            .map_err(|e| invalid_config(format!("invalid redis url {url:?}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(opts.connect_timeout()))
            .set_response_timeout(Some(opts.response_timeout()))
            .set_number_of_retries(2)
            .set_max_delay(opts.connect_timeout());
        let manager = bounded(
            opts.connect_timeout()
                .saturating_add(opts.response_timeout()),
            "connect",
            ConnectionManager::new_with_config(client, config),
        )
        .await?;
        Ok(RedisStore::from_conn(Conn::Single(manager), opts))
    }

    /// Connects to a Redis Cluster through any of its nodes (`redis://host:port` each).
    pub async fn connect_cluster<I, S>(urls: I, opts: RedisOptions) -> StoreResult<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        check_options(&opts)?;
        let urls: Vec<String> = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        let client = ClusterClientBuilder::new(urls.iter().map(String::as_str))
            .connection_timeout(opts.connect_timeout())
            .response_timeout(opts.response_timeout())
            .retries(opts.cluster_retries())
            .build()
            .map_err(|e| invalid_config(format!("invalid redis cluster urls {urls:?}: {e}")))?;
        let conn = bounded(
            opts.connect_timeout()
                .saturating_add(opts.response_timeout()),
            "connect",
            client.get_async_connection(),
        )
        .await?;
        Ok(RedisStore::from_conn(Conn::Cluster(conn), opts))
    }

    fn from_conn(conn: Conn, opts: RedisOptions) -> Self {
        RedisStore {
            inner: Arc::new(Inner {
                conn,
                keys: Keys::new(opts.key_prefix().to_owned()),
                scripts: Scripts::new(),
                opts,
            }),
        }
    }

    /// The options the store was built with.
    pub fn options(&self) -> &RedisOptions {
        &self.inner.opts
    }

    /// Loads every script on the server(s) now, so the first decisions skip the NOSCRIPT
    /// round trip. Optional: a missing script is loaded on demand.
    pub async fn preload_scripts(&self) -> StoreResult<()> {
        for script in self.inner.scripts.all() {
            let mut conn = self.inner.conn.clone();
            let _sha: String = self
                .bounded("script load", script.load_async(&mut conn))
                .await?;
        }
        Ok(())
    }

    async fn bounded<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> StoreResult<T> {
        bounded(self.inner.opts.response_timeout(), what, fut).await
    }

    /// Revokes a share link until `until` (the key expires then, with the link): every
    /// instance that shares this Redis refuses it. Ids are opaque (1 to 128 visible ASCII
    /// characters).
    pub async fn revoke_share_link(
        &self,
        id: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        check_share_id(id)?;
        let ms = until
            .signed_duration_since(now)
            .num_milliseconds()
            .max(1_000);
        let key = self.inner.keys.share_revoked(id);
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(1).arg("PX").arg(ms);
        self.query::<()>("revoke share link", &cmd).await
    }

    /// Whether a share link was revoked (and its revocation has not expired).
    pub async fn is_share_link_revoked(&self, id: &str) -> StoreResult<bool> {
        check_share_id(id)?;
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(self.inner.keys.share_revoked(id));
        Ok(self.query::<u64>("is share link revoked", &cmd).await? > 0)
    }

    async fn query<T: FromRedisValue>(&self, what: &'static str, cmd: &Cmd) -> StoreResult<T> {
        let mut conn = self.inner.conn.clone();
        self.bounded(what, cmd.query_async(&mut conn)).await
    }

    /// Runs a script whose reply is an array of integers.
    async fn script_ints<const N: usize>(
        &self,
        what: &'static str,
        script: &Script,
        keys: &[&str],
        args: &[&str],
    ) -> StoreResult<[i64; N]> {
        let mut inv = script.prepare_invoke();
        for k in keys {
            inv.key(*k);
        }
        for a in args {
            inv.arg(*a);
        }
        let mut conn = self.inner.conn.clone();
        let reply: Vec<i64> = self.bounded(what, inv.invoke_async(&mut conn)).await?;
        let len = reply.len();
        reply.try_into().map_err(|_| {
            corrupt(format!(
                "the {what} script answered {len} integers instead of {N}"
            ))
        })
    }

    /// The expiry (Unix ms) of a period's keys: `until`, but never sooner than one grace from
    /// now, so writes to a period that already ended stay readable for a while.
    fn expire_at(&self, until: DateTime<Utc>) -> i64 {
        let grace = duration_ms(self.inner.opts.retention_grace());
        let floor = now_ms().saturating_add(grace);
        until.timestamp_millis().max(floor)
    }

    /// The expiry of a period's keys known only by its key (start date): a billing period
    /// lasts at most 31 days, then the retention grace.
    fn period_expire_at(&self, period: PeriodKey) -> i64 {
        let end = period_start(period)
            .and_then(|start| start.checked_add_signed(chrono::Duration::days(MAX_PERIOD_DAYS)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let grace = chrono::Duration::from_std(self.inner.opts.retention_grace())
            .unwrap_or(chrono::Duration::MAX);
        self.expire_at(
            end.checked_add_signed(grace)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        )
    }

    async fn topup_index(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let key = self.inner.keys.topup_index(id);
        let json: Option<String> = self
            .query("get top-up", redis::cmd("GET").arg(&key))
            .await?;
        json.map(|j| parse_json::<UsageTopUp>(&j, "top-up"))
            .transpose()
    }

    async fn topup_record(&self, brand: &str, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let key = self.inner.keys.topup(brand, id);
        let (base, status, settled): (Option<String>, Option<String>, Option<String>) = self
            .query(
                "get top-up",
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg("base")
                    .arg("status")
                    .arg("settled"),
            )
            .await?;
        match (base, status) {
            (Some(base), Some(status)) => {
                build_topup(&base, &status, settled.as_deref().unwrap_or("")).map(Some)
            }
            _ => Ok(None),
        }
    }
}

fn check_options(opts: &RedisOptions) -> StoreResult<()> {
    if opts.key_prefix().contains(['{', '}']) {
        return Err(invalid_config(format!(
            "key prefix {:?} must not contain braces (they would change the cluster hash tag)",
            opts.key_prefix()
        )));
    }
    Ok(())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, duration_ms)
}

fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn period_start(period: PeriodKey) -> Option<DateTime<Utc>> {
    let ymd = period.0;
    let year = i32::try_from(ymd / 10_000).ok()?;
    let date = NaiveDate::from_ymd_opt(year, (ymd / 100) % 100, ymd % 100)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// The counter hash field of a day's bucket.
fn day_field(day: u16) -> String {
    format!("d{day}")
}

/// A count a script returns: within the domain (a larger or negative one means the keys
/// hold something this store did not write).
fn units(v: i64) -> StoreResult<u64> {
    u64::try_from(v)
        .ok()
        .filter(|u| *u <= MAX_UNITS)
        .ok_or_else(|| corrupt(format!("a script answered {v}, outside 0..={MAX_UNITS}")))
}

/// Every status, comma-framed, in the order the scripts number them (`,pending,...,`).
fn status_list(statuses: impl IntoIterator<Item = TopUpStatus>) -> String {
    statuses
        .into_iter()
        .fold(",".to_owned(), |acc, s| acc + s.as_str() + ",")
}

/// The timeline member of an event: the zero-padded sequence number, `:`, the JSON.
fn parse_event(member: &str) -> StoreResult<TimelineEvent> {
    let (seq, json) = member
        .split_once(':')
        .ok_or_else(|| corrupt(format!("timeline member {member:?} has no sequence number")))?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| corrupt(format!("timeline sequence {seq:?} is not a number")))?;
    Ok(parse_json::<TimelineEvent>(json, "timeline event")?.with_seq(seq))
}

/// An event as the timeline keeps it: its time to the microsecond (the precision of its
/// score), without a sequence number (the member carries it). Returns the score and JSON.
fn stored_event(event: &TimelineEvent) -> StoreResult<(i64, String)> {
    let mut stored = event.clone();
    stored.at = event.at.trunc_subsecs(6);
    stored.seq = 0;
    Ok((
        stored.at.timestamp_micros(),
        to_json(&stored, "timeline event")?,
    ))
}

fn parse_u64(s: Option<&str>, what: &str) -> StoreResult<u64> {
    s.map_or(Ok(0), |s| {
        s.parse::<u64>()
            .map_err(|_| corrupt(format!("{what} {s:?} is not an unsigned integer")))
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(json).map_err(|e| corrupt(format!("{what} record does not parse: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T, what: &str) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::backend(format!("{what} to JSON"), e))
}

fn build_topup(base: &str, status: &str, settled: &str) -> StoreResult<UsageTopUp> {
    let mut topup: UsageTopUp = parse_json(base, "top-up")?;
    topup.status = TopUpStatus::parse(status)
        .ok_or_else(|| corrupt(format!("top-up {:?} has status {status:?}", topup.id)))?;
    if !settled.is_empty() {
        topup.settled_at = parse_json(settled, "top-up settlement")?;
    }
    Ok(topup)
}

#[async_trait]
impl UsageStore for RedisStore {
    async fn consume(&self, req: &ConsumeRequest<'_>) -> StoreResult<ConsumeOutcome> {
        let k = req.key;
        check_brand(k.brand)?;
        let keys = &self.inner.keys;
        let counter = keys.counter(k);
        let metrics = keys.metrics(k.brand, k.period);
        let idem = req.idempotency_key.map(|i| keys.idempotency(k.brand, i));

        // Bounds past the domain decide as the domain's bound does (a total never passes
        // MAX_UNITS), so the script only ever sees exact numbers.
        let mut inv = self.inner.scripts.consume.prepare_invoke();
        inv.key(&counter).key(&metrics);
        inv.arg(req.quantity.min(PAST_DOMAIN));
        match req.ceiling {
            Some(c) => inv.arg(c.min(MAX_UNITS)),
            None => inv.arg(""),
        };
        inv.arg(day_field(req.day))
            .arg(self.expire_at(req.retain_until))
            .arg(k.metric);
        match req.free_units {
            Some(f) => inv.arg(f.min(MAX_UNITS)),
            None => inv.arg(""),
        };
        if let Some(idem) = &idem {
            let ttl = self.inner.opts.idempotency_ttl();
            let at_us = req.at_us;
            let ttl_us = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
            // Redis refuses a zero or absurd PX; the deadline is what decides a replay.
            let px = duration_ms(ttl).clamp(1, 100 * 365 * 86_400_000);
            inv.key(idem)
                .arg(at_us)
                .arg(at_us.saturating_add(ttl_us))
                .arg(px)
                .arg(req.fingerprint);
        }
        let mut conn = self.inner.conn.clone();
        let reply: Vec<i64> = self.bounded("consume", inv.invoke_async(&mut conn)).await?;
        let [admitted, used, topup, overage, charged, flag]: [i64; 6] = reply
            .try_into()
            .map_err(|_| corrupt("the consume script answered a malformed reply"))?;
        if flag == 2 {
            return Ok(ConsumeOutcome::key_reused());
        }
        let outcome = ConsumeOutcome::new(
            admitted == 1,
            units(used)?,
            units(topup)?,
            units(overage)?,
            units(charged)?,
        );
        Ok(if flag == 1 {
            outcome.as_replay()
        } else {
            outcome
        })
    }

    async fn release(&self, key: CounterKey<'_>, quantity: u64, day: u16) -> StoreResult<Usage> {
        check_brand(key.brand)?;
        let keys = &self.inner.keys;
        // No counter passes MAX_UNITS: giving back more is giving back everything.
        let [used, topup, overage] = self
            .script_ints::<3>(
                "release",
                &self.inner.scripts.release,
                &[&keys.counter(key)],
                &[&quantity.min(MAX_UNITS).to_string(), &day_field(day)],
            )
            .await?;
        Ok(Usage::new(units(used)?, units(topup)?, units(overage)?))
    }

    async fn usage(&self, key: CounterKey<'_>) -> StoreResult<Usage> {
        check_brand(key.brand)?;
        let (used, topup, overage): (Option<String>, Option<String>, Option<String>) = self
            .query(
                "usage",
                redis::cmd("HMGET")
                    .arg(self.inner.keys.counter(key))
                    .arg("u")
                    .arg("t")
                    .arg("o"),
            )
            .await?;
        Ok(Usage::new(
            parse_u64(used.as_deref(), "usage")?,
            parse_u64(topup.as_deref(), "top-up units")?,
            parse_u64(overage.as_deref(), "overage units")?,
        ))
    }

    async fn daily_usage(&self, key: CounterKey<'_>) -> StoreResult<Vec<u64>> {
        check_brand(key.brand)?;
        let fields: Vec<(String, String)> = self
            .query(
                "daily usage",
                redis::cmd("HGETALL").arg(self.inner.keys.counter(key)),
            )
            .await?;
        let mut by_day = BTreeMap::new();
        for (field, units) in &fields {
            let Some(day) = field.strip_prefix('d') else {
                continue;
            };
            let day: u16 = day
                .parse()
                .map_err(|_| corrupt(format!("day bucket {field:?} is not a day index")))?;
            by_day.insert(usize::from(day), parse_u64(Some(units), "day bucket")?);
        }
        let len = by_day
            .last_key_value()
            .map_or(0, |(d, _)| d.saturating_add(1));
        let mut out = vec![0; len];
        for (day, units) in by_day {
            if let Some(slot) = out.get_mut(day) {
                *slot = units;
            }
        }
        Ok(out)
    }

    async fn adjust_gauge(
        &self,
        brand: &str,
        metric: &str,
        delta: i64,
        ceiling: Option<u64>,
    ) -> StoreResult<GaugeOutcome> {
        check_brand(brand)?;
        // A level never passes MAX_UNITS, whatever the ceiling; a larger step never fits (up)
        // or empties the gauge (down).
        let ceiling = ceiling
            .map(|c| c.min(MAX_UNITS).to_string())
            .unwrap_or_default();
        let sign = if delta >= 0 { "+" } else { "-" };
        let step = delta.unsigned_abs().min(PAST_DOMAIN);
        let [admitted, level] = self
            .script_ints::<2>(
                "adjust gauge",
                &self.inner.scripts.adjust_gauge,
                &[&self.inner.keys.gauges(brand)],
                &[metric, sign, &step.to_string(), &ceiling],
            )
            .await?;
        Ok(GaugeOutcome {
            admitted: admitted == 1,
            level: units(level)?,
        })
    }

    async fn set_gauge(&self, brand: &str, metric: &str, level: u64) -> StoreResult<u64> {
        check_brand(brand)?;
        if level > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "gauge level {level} is above {MAX_UNITS}"
            )));
        }
        let [previous] = self
            .script_ints::<1>(
                "set gauge",
                &self.inner.scripts.set_gauge,
                &[&self.inner.keys.gauges(brand)],
                &[metric, &level.to_string()],
            )
            .await?;
        units(previous)
    }

    async fn gauge(&self, brand: &str, metric: &str) -> StoreResult<u64> {
        check_brand(brand)?;
        let level: Option<String> = self
            .query(
                "gauge",
                redis::cmd("HGET")
                    .arg(self.inner.keys.gauges(brand))
                    .arg(metric),
            )
            .await?;
        parse_u64(level.as_deref(), "gauge")
    }

    async fn reset_period(
        &self,
        brand: &str,
        metric: Option<&str>,
        period: PeriodKey,
    ) -> StoreResult<()> {
        check_brand(brand)?;
        let keys = &self.inner.keys;
        let base = keys.base(brand);
        let period_arg = period.to_string();
        let mut args: Vec<&str> = vec![&base, &period_arg];
        args.extend(metric);
        let [_metrics] = self
            .script_ints::<1>(
                "reset period",
                &self.inner.scripts.reset_period,
                &[&keys.metrics(brand, period)],
                &args,
            )
            .await?;
        Ok(())
    }

    async fn reset_counter(&self, reset: &CounterReset<'_>) -> StoreResult<Usage> {
        let key = reset.key;
        check_brand(key.brand)?;
        if reset.used > MAX_UNITS {
            return Err(StoreError::OutOfRange(format!(
                "usage {} is above {MAX_UNITS}",
                reset.used
            )));
        }
        let events = reset
            .events
            .iter()
            .map(stored_event)
            .collect::<StoreResult<Vec<_>>>()?;
        let topup = match reset.topup {
            Some(t) if t.brand != key.brand => {
                return Err(invalid_config(format!(
                    "top-up {:?} of brand {:?} cannot join a counter of brand {:?}",
                    t.id, t.brand, key.brand
                )));
            }
            Some(t) => Some((
                t,
                to_json(t, "top-up")?,
                to_json(&t.settled_at, "top-up settlement")?,
            )),
            None => None,
        };
        let keys = &self.inner.keys;
        let mut inv = self.inner.scripts.reset_counter.prepare_invoke();
        inv.key(keys.counter(key))
            .key(keys.claims(key))
            .key(keys.metrics(key.brand, key.period))
            .key(keys.timeline(key.brand))
            .key(keys.timeline_seq(key.brand));
        inv.arg(reset.used)
            .arg(day_field(reset.day))
            .arg(self.expire_at(reset.retain_until))
            .arg(key.metric);
        // The id -> top-up index lives outside the brand's slot: it is claimed before the
        // script (which is all or nothing) and given back if the script refuses.
        let mut claimed = None;
        match &topup {
            Some((t, json, settled)) => {
                if let Claim::New(index) = self.claim_topup_id(&t.id, json).await? {
                    claimed = Some(index);
                }
                inv.key(keys.topup(key.brand, &t.id))
                    .key(keys.topup_list(key.brand))
                    .arg(t.units.min(PAST_DOMAIN))
                    .arg(&t.id)
                    .arg(json)
                    .arg(t.status.as_str())
                    .arg(settled);
            }
            None => {
                inv.arg("").arg("").arg("").arg("").arg("");
            }
        }
        for (score, json) in &events {
            inv.arg(*score).arg(json);
        }
        let mut conn = self.inner.conn.clone();
        // On a transport error it is unknown whether the script ran: the claim stays (a retry
        // with the same top-up finds its own JSON there, as an insert's retry does).
        let reply: Vec<i64> = self
            .bounded("reset counter", inv.invoke_async(&mut conn))
            .await?;
        let refused = match reply.as_slice() {
            [1, used, topup_units] => {
                return Ok(Usage::new(units(*used)?, units(*topup_units)?, 0));
            }
            [-1] => StoreError::Conflict(format!(
                "top-up {:?} already exists",
                reset.topup.map_or("", |t| t.id.as_str())
            )),
            [-2] => {
                StoreError::OutOfRange(format!("the period's top-up units would pass {MAX_UNITS}"))
            }
            other => corrupt(format!("the reset counter script answered {other:?}")),
        };
        if let Some(index) = claimed {
            // Best effort: the refusal is the answer; a claim left behind (Redis went away
            // just now) only holds the id for this very top-up.
            let _gone: StoreResult<i64> = self
                .query("reset counter", redis::cmd("DEL").arg(index))
                .await;
        }
        Err(refused)
    }

    async fn ping(&self) -> StoreResult<()> {
        let _pong: String = self.query("ping", &redis::cmd("PING")).await?;
        Ok(())
    }
}

/// How [`RedisStore::claim_topup_id`] found a top-up id.
enum Claim {
    /// This call claimed it: the index key.
    New(String),
    /// It was claimed already, by a write of this very top-up that failed half-way or
    /// succeeded (the record's script tells which).
    Own,
}

impl RedisStore {
    /// Claims a top-up id in the id -> top-up index (`SET NX` with the top-up's JSON). An
    /// index that holds this top-up's JSON already is a retry's ([`Claim::Own`]); any other
    /// holder is a [`StoreError::Conflict`].
    async fn claim_topup_id(&self, id: &str, json: &str) -> StoreResult<Claim> {
        let index = self.inner.keys.topup_index(id);
        let set: Value = self
            .query(
                "insert top-up",
                redis::cmd("SET").arg(&index).arg(json).arg("NX"),
            )
            .await?;
        if set != Value::Nil {
            return Ok(Claim::New(index));
        }
        let existing: Option<String> = self
            .query("insert top-up", redis::cmd("GET").arg(&index))
            .await?;
        if existing.as_deref() == Some(json) {
            Ok(Claim::Own)
        } else {
            Err(StoreError::Conflict(format!(
                "top-up {id:?} already exists"
            )))
        }
    }
}

#[async_trait]
impl TopUpStore for RedisStore {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        check_brand(&topup.brand)?;
        let keys = &self.inner.keys;
        let conflict = || StoreError::Conflict(format!("top-up {:?} already exists", topup.id));
        let json = to_json(topup, "top-up")?;
        // The id -> top-up index lives outside the brand's slot, so it is claimed first.
        let _claim = self.claim_topup_id(&topup.id, &json).await?;
        let settled = to_json(&topup.settled_at, "top-up settlement")?;
        let [inserted] = self
            .script_ints::<1>(
                "insert top-up",
                &self.inner.scripts.insert_topup,
                &[
                    &keys.topup(&topup.brand, &topup.id),
                    &keys.topup_list(&topup.brand),
                ],
                &[&topup.id, &json, topup.status.as_str(), &settled],
            )
            .await?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(conflict())
        }
    }

    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let Some(base) = self.topup_index(id).await? else {
            return Ok(None);
        };
        check_brand(&base.brand)?;
        self.topup_record(&base.brand, id).await
    }

    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        let not_found = || StoreError::NotFound(format!("top-up {id:?}"));
        let base = self.topup_index(id).await?.ok_or_else(not_found)?;
        check_brand(&base.brand)?;
        let target = if to == TopUpStatus::Completed && base.expires_at <= at {
            TopUpStatus::Expired
        } else {
            to
        };
        // Which statuses may become `to` is the core's rule; the script only checks it.
        let allowed = status_list(STATUSES.into_iter().filter(|s| s.can_become(to)));
        let keys = &self.inner.keys;
        let counter_key = CounterKey::new(&base.brand, &base.metric, base.period);
        let settled = to_json(&Some(at), "top-up settlement")?;
        let reply: Vec<i64> = {
            let mut inv = self.inner.scripts.set_topup_status.prepare_invoke();
            inv.key(keys.topup(&base.brand, id))
                .key(keys.counter(counter_key))
                .key(keys.metrics(&base.brand, base.period))
                .arg(to.as_str())
                .arg(target.as_str())
                .arg(&settled)
                .arg(base.units.min(PAST_DOMAIN))
                .arg(self.period_expire_at(base.period))
                .arg(&base.metric)
                .arg(&allowed)
                .arg(status_list(STATUSES));
            let mut conn = self.inner.conn.clone();
            self.bounded("set top-up status", inv.invoke_async(&mut conn))
                .await?
        };
        match reply.as_slice() {
            [1] => {
                let mut topup = base;
                topup.status = target;
                topup.settled_at = Some(at);
                Ok(TopUpTransition::new(topup, true))
            }
            [0] => {
                // Already in a final status, which never changes again: reading it back
                // after the script is not racy.
                let topup = self
                    .topup_record(&base.brand, id)
                    .await?
                    .ok_or_else(not_found)?;
                Ok(TopUpTransition::new(topup, false))
            }
            [-1] => Err(not_found()),
            [-3] => Err(StoreError::OutOfRange(format!(
                "top-up {id:?} would take the period's top-up units past {MAX_UNITS}"
            ))),
            [-2, current] => {
                let current = usize::try_from(*current)
                    .ok()
                    .and_then(|i| STATUSES.get(i))
                    .map_or("in an unknown status", TopUpStatus::as_str);
                Err(StoreError::Conflict(format!(
                    "top-up {id:?} is {current} and cannot become {to}"
                )))
            }
            other => Err(corrupt(format!(
                "the set top-up status script answered {other:?}"
            ))),
        }
    }

    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.list_topups(brand, 0).await
    }

    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        if limit == 0 {
            check_brand(brand)?;
            return Ok(Vec::new());
        }
        self.list_topups(brand, limit).await
    }
}

impl RedisStore {
    /// The newest `limit` top-ups of a brand (0 = all), newest first, in one script.
    async fn list_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        check_brand(brand)?;
        let keys = &self.inner.keys;
        let mut inv = self.inner.scripts.list_topups.prepare_invoke();
        inv.key(keys.topup_list(brand))
            .arg(keys.base(brand))
            .arg(limit);
        let mut conn = self.inner.conn.clone();
        let flat: Vec<String> = self
            .bounded("list top-ups", inv.invoke_async(&mut conn))
            .await?;
        flat.chunks(3)
            .map(|r| match r {
                [base, status, settled] => build_topup(base, status, settled),
                _ => Err(corrupt(
                    "the list top-ups script answered a malformed reply",
                )),
            })
            .collect()
    }
}

#[async_trait]
impl AlertStore for RedisStore {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        check_brand(key.brand)?;
        let keys = &self.inner.keys;
        let [claimed] = self
            .script_ints::<1>(
                "claim alert",
                &self.inner.scripts.claim_alert,
                &[&keys.claims(key), &keys.metrics(key.brand, key.period)],
                &[
                    &threshold.to_string(),
                    &self.period_expire_at(key.period).to_string(),
                    key.metric,
                ],
            )
            .await?;
        Ok(claimed == 1)
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        check_brand(key.brand)?;
        let removed: i64 = self
            .query(
                "release alert",
                redis::cmd("SREM")
                    .arg(self.inner.keys.claims(key))
                    .arg(threshold),
            )
            .await?;
        Ok(removed == 1)
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        check_brand(key.brand)?;
        let members: Vec<String> = self
            .query(
                "claimed alerts",
                redis::cmd("SMEMBERS").arg(self.inner.keys.claims(key)),
            )
            .await?;
        let mut out = members
            .iter()
            .map(|m| {
                m.parse::<u16>()
                    .map_err(|_| corrupt(format!("alert claim {m:?} is not a threshold")))
            })
            .collect::<StoreResult<Vec<u16>>>()?;
        out.sort_unstable();
        Ok(out)
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        check_brand(&event.brand)?;
        let (score, json) = stored_event(event)?;
        let keys = &self.inner.keys;
        let [seq] = self
            .script_ints::<1>(
                "append event",
                &self.inner.scripts.append_event,
                &[
                    &keys.timeline(&event.brand),
                    &keys.timeline_seq(&event.brand),
                ],
                &[&score.to_string(), &json],
            )
            .await?;
        u64::try_from(seq).map_err(|_| corrupt(format!("timeline sequence {seq}")))
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        check_brand(brand)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Newest first: by score (time) descending, and members of one score (zero-padded
        // sequence numbers first) descending.
        let stop = i64::try_from(limit).map_or(-1, |l| l.saturating_sub(1));
        let raw: Vec<String> = self
            .query(
                "events",
                redis::cmd("ZREVRANGE")
                    .arg(self.inner.keys.timeline(brand))
                    .arg(0)
                    .arg(stop),
            )
            .await?;
        raw.iter().map(|m| parse_event(m)).collect()
    }
}

#[async_trait]
impl SubscriptionStore for RedisStore {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        check_brand(&sub.brand)?;
        let json = to_json(sub, "subscription")?;
        let keys = &self.inner.keys;
        // Two slots on a cluster, so two commands: the record first, then the listing.
        let _ok: Value = self
            .query(
                "put subscription",
                redis::cmd("SET")
                    .arg(keys.subscription(&sub.brand))
                    .arg(json),
            )
            .await?;
        let _added: i64 = self
            .query(
                "put subscription",
                redis::cmd("SADD")
                    .arg(keys.subscribed_brands())
                    .arg(&sub.brand),
            )
            .await?;
        Ok(())
    }

    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        check_brand(brand)?;
        let json: Option<String> = self
            .query(
                "subscription",
                redis::cmd("GET").arg(self.inner.keys.subscription(brand)),
            )
            .await?;
        json.map(|j| parse_json(&j, "subscription")).transpose()
    }

    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        let mut brands: Vec<String> = self
            .query(
                "subscriptions",
                redis::cmd("SMEMBERS").arg(self.inner.keys.subscribed_brands()),
            )
            .await?;
        brands.sort_unstable();
        let mut out = Vec::with_capacity(brands.len());
        for brand in brands {
            if check_brand(&brand).is_err() {
                continue;
            }
            if let Some(sub) = self.subscription(&brand).await? {
                out.push(sub);
            }
        }
        out.sort_by(|a, b| a.brand.cmp(&b.brand));
        Ok(out)
    }
}

// The alert outbox (`OutboxStore`), in its own file; a child module so it shares the
// connection and timeouts above.
#[path = "outbox.rs"]
mod outbox;

fn check_share_id(id: &str) -> StoreResult<()> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::OutOfRange(
            "a share link id is 1 to 128 visible ASCII characters".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use quota_core::threshold::Severity;
    use quota_core::timeline::EventKind;

    use super::*;

    #[test]
    fn every_status_is_listed_once_and_parses_back() {
        let list = status_list(STATUSES);
        assert_eq!(list, ",pending,completed,failed,expired,cancelled,");
        for (i, name) in list.trim_matches(',').split(',').enumerate() {
            assert_eq!(TopUpStatus::parse(name), Some(STATUSES[i]));
        }
    }

    #[test]
    fn counts_outside_the_domain_are_corrupt() {
        assert_eq!(units(0).unwrap(), 0);
        assert_eq!(units(1_000_000_000_000_000).unwrap(), MAX_UNITS);
        for bad in [-1, 1_000_000_000_000_001, i64::MAX] {
            let e = units(bad).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        }
    }

    #[test]
    fn a_stored_event_keeps_microseconds_and_reads_back_with_its_sequence() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let event = TimelineEvent::new(
            "b",
            at,
            PeriodKey(20261101),
            None,
            Severity::Info,
            EventKind::PeriodReset { reason: "r".into() },
        )
        .with_seq(77);
        let (score, json) = stored_event(&event).unwrap();
        assert_eq!(score, at.timestamp_micros());
        let back = parse_event(&format!("{:020}:{json}", 12)).unwrap();
        let mut want = event.with_seq(12);
        want.at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(back, want);
        for bad in ["", "12", "x:{}", "12:{"] {
            let e = parse_event(bad).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{bad:?}: {e}");
        }
    }
}
