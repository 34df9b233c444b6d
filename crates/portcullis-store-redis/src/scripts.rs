//! The Lua scripts that make cache writes atomic on the server, without WATCH round trips.
//! Scripts only ever raise values: nothing in here can un-revoke.

use redis::Script;

/// Raises each key to its value if the value is greater than what is stored (or nothing is).
///
/// `KEYS[i]` pairs with `ARGV[2i-1]` (`v` for a token version, `d` for a denylist entry) and
/// `ARGV[2i]` (the version, or the deny-until in Unix ms, which is also the key's expiry).
/// The stored value is the caller's exact text, so no number ever passes through Lua's doubles
/// on its way back into Redis. Returns how many keys changed.
const RAISE: &str = r#"
local changed = 0
for i, key in ipairs(KEYS) do
  local kind = ARGV[2 * i - 1]
  local text = ARGV[2 * i]
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

pub(crate) struct Scripts {
    pub raise: Script,
    pub mark_loaded: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            raise: Script::new(RAISE),
            mark_loaded: Script::new(MARK_LOADED),
        }
    }
}
