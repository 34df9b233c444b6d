//! The Lua scripts that make cache writes atomic on the server, without WATCH round trips.
//! Scripts only ever raise values: nothing in here can un-revoke.

use redis::Script;

/// Raises each key to its value if the value is greater than what is stored (or nothing is).
///
/// `KEYS[i]` from `first_key` on pairs with two arguments from `first_arg` on: the kind (`v` for
/// a token version, `d` for a denylist entry) and the value (the version, or the deny-until in
/// Unix ms, which is also the key's expiry). The stored value is the caller's exact text, so no
/// number ever passes through Lua's doubles on its way back into Redis. Returns how many keys
/// changed.
const RAISE_FUNCTION: &str = r#"
local function raise(first_key, first_arg)
  local changed = 0
  for i = first_key, #KEYS do
    local key = KEYS[i]
    local kind = ARGV[first_arg + 2 * (i - first_key)]
    local text = ARGV[first_arg + 2 * (i - first_key) + 1]
    local current = redis.call('GET', key)
    if not current or tonumber(text) > tonumber(current) then
      if kind == 'v' then
        redis.call('SET', key, text)
      else
        redis.call('SET', key, text, 'PXAT', text)
      end
      changed = changed + 1
    end
  end
  return changed
end
"#;

/// Raises every key (see [`RAISE_FUNCTION`]) without announcing anything: used to fill the
/// cache with facts every listener already holds.
const RAISE: &str = "return raise(1, 1)";

/// Raises the facts from `KEYS[3]` on (arguments from `ARGV[5]` on) and announces them, in one
/// atomic step, so no listener can see the cache hold a fact it was not told about.
///
/// `KEYS[1]` holds the stream's generation: set to the candidate `ARGV[2]` unless it exists, so
/// a cache that lost its data starts a new one. `KEYS[2]` counts the epoch. The announcement
/// (see `wire`) goes to shard channel `ARGV[1]` (under the keys' hash tag, so on the keys' node
/// of a cluster, where every listener subscribes), from writer `ARGV[3]`, with body `ARGV[4]`.
/// Returns the generation, the epoch and how many listeners received it.
const ANNOUNCE: &str = r#"
raise(3, 5)
redis.call('SET', KEYS[1], ARGV[2], 'NX')
local generation = redis.call('GET', KEYS[1])
local epoch = redis.call('INCR', KEYS[2])
local message = generation .. ' ' .. epoch .. ' ' .. ARGV[3] .. ' ' .. ARGV[4]
local listeners = redis.call('SPUBLISH', ARGV[1], message)
return {generation, epoch, listeners}
"#;

/// Finishes a load: writes the marker only if the load's own sentinel (`KEYS[1]`) survived,
/// that is if Redis did not lose data while the load was writing. Returns 1 when marked.
const MARK_LOADED: &str = r#"
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('SET', KEYS[2], ARGV[1])
  return 1
end
return 0
"#;

/// Reserves one login attempt under every counter, or none: `portcullis_core::throttle`'s
/// `retry_after` and `reserved`, transcribed so the decision and the write are one atomic step
/// that every replica's attempts serialise on.
///
/// Each counter `KEYS[i]` is a hash (`n`: attempts reserved, `r`: a refusal was recorded) that
/// expires when its window ends; `ARGV[2i-1]` is its limit (0: none) and `ARGV[2i]` its window
/// in ms. A counter whose count has reached its limit refuses; then nothing is reserved and the
/// script returns `{i, count, ms left, first}` for each such counter, `first` being 1 only for
/// the first refusal of the window. Otherwise it returns an empty list.
const RESERVE: &str = r#"
local refused = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i - 1])
  if limit > 0 then
    local count = tonumber(redis.call('HGET', key, 'n') or '0')
    local left = redis.call('PTTL', key)
    if count >= limit and left > 0 then
      local first = redis.call('HSETNX', key, 'r', 1)
      table.insert(refused, {i, count, left, first})
    end
  end
end
if #refused > 0 then
  return refused
end
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('PEXPIRE', key, ARGV[2 * i], 'NX')
end
return {}
"#;

/// Gives back one reservation of `KEYS[1]`, never below zero, and never recreates a counter
/// whose window has ended (it would have no expiry).
const RELEASE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HINCRBY', KEYS[1], 'n', -1) < 0 then
    redis.call('HSET', KEYS[1], 'n', 0)
  end
end
"#;

/// Records the single-use key `KEYS[1]` until `ARGV[1]` (Unix ms, also its expiry) unless it is
/// recorded with an until after `ARGV[2]` (the caller's now), so the caller's clock decides when
/// a key lapses, as on the embedded tier. The check and the write are one atomic step. Returns
/// 1 when recorded.
const FIRST_USE: &str = r#"
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) > tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
return 1
"#;

pub(crate) struct Scripts {
    pub raise: Script,
    pub announce: Script,
    pub mark_loaded: Script,
    pub reserve: Script,
    pub release: Script,
    pub first_use: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            raise: Script::new(&format!("{RAISE_FUNCTION}{RAISE}")),
            announce: Script::new(&format!("{RAISE_FUNCTION}{ANNOUNCE}")),
            mark_loaded: Script::new(MARK_LOADED),
            reserve: Script::new(RESERVE),
            release: Script::new(RELEASE),
            first_use: Script::new(FIRST_USE),
        }
    }
}
