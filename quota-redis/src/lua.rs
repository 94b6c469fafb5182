//! The Lua scripts: one per decision, each run with EVALSHA in one round trip.
//!
//! Redis hands Lua numbers as doubles (exact up to 2^53 only), so every `u64` travels as a
//! decimal string and is split into two exact parts `hi * 10^10 + lo` for arithmetic. Replies
//! carry only integers (those parts and status codes); the Rust side joins the parts again.
//! All keys a script touches share the brand's `{brand}` hash tag, so a script never meets
//! CROSSSLOT on a cluster. `reset_period` and the top-up listing build further key names of
//! the same brand inside the script; they hash to the same slot by construction.

use redis::Script;

/// Exact `u64` helpers shared by every script (Lua 5.1 has only doubles).
const PRELUDE: &str = r"
local B = 10000000000
local MAXH, MAXL = 1844674407, 3709551615
local function n(s)
  if not s then return 0, 0 end
  local len = #s
  if len <= 10 then return 0, tonumber(s) end
  return tonumber(string.sub(s, 1, len - 10)), tonumber(string.sub(s, len - 9))
end
local function add(ah, al, bh, bl)
  local h, l = ah + bh, al + bl
  if l >= B then l = l - B; h = h + 1 end
  return h, l
end
local function sub(ah, al, bh, bl)
  local h, l = ah - bh, al - bl
  if l < 0 then l = l + B; h = h - 1 end
  return h, l
end
local function le(ah, al, bh, bl) return ah < bh or (ah == bh and al <= bl) end
local function over(h, l) return not le(h, l, MAXH, MAXL) end
local function s(h, l)
  if h == 0 then return string.format('%.0f', l) end
  return string.format('%.0f%010.0f', h, l)
end
local function zero(h, l) return h == 0 and l == 0 end
";

/// KEYS: counter hash, metric set of the period, [idempotency key].
/// ARGV: quantity, ceiling ('' = none), day field (`d<day>`), expire-at ms, metric, and with an
/// idempotency key: at µs, idempotency deadline µs, idempotency TTL ms.
/// Reply: {admitted, used_hi, used_lo, topup_hi, topup_lo, replayed}.
///
/// The common case (every number below 10^15) runs on plain Lua numbers, which are exact
/// there; larger values take the split arithmetic of the prelude.
const CONSUME: &str = r"
local ik = KEYS[3]
if ik then
  local v = redis.call('GET', ik)
  if v then
    -- `prior:quantity:topup:deadline`: stored without formatting any number in Lua
    local p, pq, t, dl = string.match(v, '^(%d+):(%d+):(%d+):(-?%d+)$')
    if p and tonumber(dl) > tonumber(ARGV[6]) then
      --[[prelude]]
      local ph, pl = n(p)
      local qh, ql = n(pq)
      local uh, ul = add(ph, pl, qh, ql)
      local th, tl = n(t)
      return {1, uh, ul, th, tl, 1}
    end
  end
end
local c = redis.call('HMGET', KEYS[1], 'u', 't', ARGV[3])
local q, cap = ARGV[1], ARGV[2]
if #q <= 15 and #cap <= 15 and (not c[1] or #c[1] <= 15) and (not c[2] or #c[2] <= 15)
    and (not c[3] or #c[3] <= 15) then
  -- Plain numbers are exact here, and HINCRBY adds exactly on the server: no number is
  -- formatted in Lua (string.format costs more than the rest of the script).
  local u, t = tonumber(c[1] or '0'), tonumber(c[2] or '0')
  local after = u + tonumber(q)
  local th = math.floor(t / 1e10)
  if cap ~= '' and after > tonumber(cap) + t then
    local uh = math.floor(u / 1e10)
    return {0, uh, u - uh * 1e10, th, t - th * 1e10, 0}
  end
  if q ~= '0' then
    redis.call('HINCRBY', KEYS[1], 'u', q)
    redis.call('HINCRBY', KEYS[1], ARGV[3], q)
    if not c[1] then
      -- first write of the period (or first after a reset): arm the expiries once
      redis.call('PEXPIREAT', KEYS[1], ARGV[4])
      if redis.call('SADD', KEYS[2], ARGV[5]) == 1 then
        redis.call('PEXPIREAT', KEYS[2], ARGV[4])
      end
    end
  end
  if ik then
    redis.call('SET', ik, (c[1] or '0') .. ':' .. q .. ':' .. (c[2] or '0') .. ':' .. ARGV[7],
      'PX', ARGV[8])
  end
  local ah = math.floor(after / 1e10)
  return {1, ah, after - ah * 1e10, th, t - th * 1e10, 0}
end
--[[prelude]]
local uh, ul = n(c[1])
local th, tl = n(c[2])
local qh, ql = n(q)
local sh, sl = add(uh, ul, qh, ql)
local lh, ll = MAXH, MAXL
if cap ~= '' then
  local ch, cl = n(cap)
  lh, ll = add(ch, cl, th, tl)
  if over(lh, ll) then lh, ll = MAXH, MAXL end
end
if not le(sh, sl, lh, ll) then
  return {0, uh, ul, th, tl, 0}
end
if not zero(qh, ql) then
  local bh, bl = n(c[3])
  bh, bl = add(bh, bl, qh, ql)
  if over(bh, bl) then bh, bl = MAXH, MAXL end
  redis.call('HSET', KEYS[1], 'u', s(sh, sl), ARGV[3], s(bh, bl))
  if not c[1] then
    redis.call('PEXPIREAT', KEYS[1], ARGV[4])
    if redis.call('SADD', KEYS[2], ARGV[5]) == 1 then
      redis.call('PEXPIREAT', KEYS[2], ARGV[4])
    end
  end
end
if ik then
  redis.call('SET', ik, (c[1] or '0') .. ':' .. q .. ':' .. (c[2] or '0') .. ':' .. ARGV[7],
    'PX', ARGV[8])
end
return {1, sh, sl, th, tl, 0}
";

/// KEYS: counter hash. ARGV: quantity, day field (`d<day>`).
/// Reply: {used_hi, used_lo, topup_hi, topup_lo}.
const RELEASE: &str = r"
local c = redis.call('HMGET', KEYS[1], 'u', 't', ARGV[2])
local uh, ul = n(c[1])
local th, tl = n(c[2])
local gh, gl = n(ARGV[1])
if le(uh, ul, gh, gl) then gh, gl = uh, ul end
if not zero(gh, gl) then
  uh, ul = sub(uh, ul, gh, gl)
  if c[3] then
    -- keep an emptied bucket as 0 (like the memory store) rather than dropping the day
    local bh, bl = n(c[3])
    if le(bh, bl, gh, gl) then bh, bl = 0, 0 else bh, bl = sub(bh, bl, gh, gl) end
    redis.call('HSET', KEYS[1], 'u', s(uh, ul), ARGV[2], s(bh, bl))
  else
    redis.call('HSET', KEYS[1], 'u', s(uh, ul))
  end
end
return {uh, ul, th, tl}
";

/// KEYS: gauges hash. ARGV: metric, '+' or '-', step, ceiling ('' = none).
/// Reply: {admitted, level_hi, level_lo}.
const ADJUST_GAUGE: &str = r"
local gh, gl = n(redis.call('HGET', KEYS[1], ARGV[1]))
local dh, dl = n(ARGV[3])
if ARGV[2] == '+' then
  local ah, al = add(gh, gl, dh, dl)
  local ok = not over(ah, al)
  if ok and ARGV[4] ~= '' then
    local ch, cl = n(ARGV[4])
    ok = le(ah, al, ch, cl)
  end
  if ok then
    redis.call('HSET', KEYS[1], ARGV[1], s(ah, al))
    return {1, ah, al}
  end
  return {0, gh, gl}
end
if le(gh, gl, dh, dl) then gh, gl = 0, 0 else gh, gl = sub(gh, gl, dh, dl) end
redis.call('HSET', KEYS[1], ARGV[1], s(gh, gl))
return {1, gh, gl}
";

/// KEYS: gauges hash. ARGV: metric, level. Reply: {previous_hi, previous_lo}.
const SET_GAUGE: &str = r"
local ph, pl = n(redis.call('HGET', KEYS[1], ARGV[1]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {ph, pl}
";

/// KEYS: metric set of the period. ARGV: brand key base (`prefix:{brand}:`), period, and
/// either nothing (every metric the brand touched in the period) or one metric.
/// Clears `used` and the day fields (top-up units stay) and the alert claims.
/// Reply: {number of metrics reset}.
const RESET_PERIOD: &str = r"
local ms
if ARGV[3] then ms = {ARGV[3]} else ms = redis.call('SMEMBERS', KEYS[1]) end
for _, m in ipairs(ms) do
  local suffix = m .. ':' .. ARGV[2]
  local counter = ARGV[1] .. 'c:' .. suffix
  local fields = {'u'}
  for _, f in ipairs(redis.call('HKEYS', counter)) do
    if string.sub(f, 1, 1) == 'd' then fields[#fields + 1] = f end
  end
  redis.call('HDEL', counter, unpack(fields))
  redis.call('DEL', ARGV[1] .. 'a:' .. suffix)
end
return {#ms}
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
/// ARGV: requested status, resulting status, settled JSON, units, expire-at ms, metric,
/// comma-framed list of statuses allowed to become the requested one (`,pending,`).
/// Reply: {1} changed, {0} already there, {-1} not found, {-2, current status index}.
const SET_TOPUP_STATUS: &str = r"
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {-1} end
if st == ARGV[1] and ARGV[1] ~= 'pending' then return {0} end
if not string.find(ARGV[7], ',' .. st .. ',', 1, true) then
  local idx = {pending = 0, completed = 1, failed = 2, expired = 3}
  return {-2, idx[st] or -1}
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'settled', ARGV[3])
if ARGV[2] == 'completed' then
  local c = redis.call('HMGET', KEYS[2], 'u', 't')
  local th, tl = n(c[2])
  local uh, ul = n(ARGV[4])
  th, tl = add(th, tl, uh, ul)
  if over(th, tl) then th, tl = MAXH, MAXL end
  redis.call('HSET', KEYS[2], 't', s(th, tl))
  if not c[1] and not c[2] then
    redis.call('PEXPIREAT', KEYS[2], ARGV[5])
  end
  if redis.call('SADD', KEYS[3], ARGV[6]) == 1 then
    redis.call('PEXPIREAT', KEYS[3], ARGV[5])
  end
end
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
    pub(crate) claim_alert: Script,
    pub(crate) insert_topup: Script,
    pub(crate) set_topup_status: Script,
    pub(crate) list_topups: Script,
}

fn with_prelude(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Scripts {
            // the helpers' closures are only built on the paths that need them
            consume: Script::new(&CONSUME.replace("--[[prelude]]", PRELUDE)),
            release: with_prelude(RELEASE),
            adjust_gauge: with_prelude(ADJUST_GAUGE),
            set_gauge: with_prelude(SET_GAUGE),
            reset_period: Script::new(RESET_PERIOD),
            claim_alert: Script::new(CLAIM_ALERT),
            insert_topup: Script::new(INSERT_TOPUP),
            set_topup_status: with_prelude(SET_TOPUP_STATUS),
            list_topups: Script::new(LIST_TOPUPS),
        }
    }

    /// Every script, to preload them.
    pub(crate) fn all(&self) -> [&Script; 9] {
        [
            &self.consume,
            &self.release,
            &self.adjust_gauge,
            &self.set_gauge,
            &self.reset_period,
            &self.claim_alert,
            &self.insert_topup,
            &self.set_topup_status,
            &self.list_topups,
        ]
    }
}
