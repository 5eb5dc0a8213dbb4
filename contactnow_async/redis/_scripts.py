"""The Lua scripts of the relay (each checks, inside Redis, that the caller's lease is
current), and the one that creates a reader's consumer group."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import ResponseError

__all__ = ["ACCOUNT", "CREATE_GROUP", "PUBLISH", "SEED", "create_group"]

# Append a batch of events if, and only if, the caller's lease is current, and
# move the cursor (the last published log uid) with them, atomically (a first
# leader's start time, which the cursor replaces, is deleted).
# KEYS: lease, stream, cursor, start time. ARGV: lease value, maxlen (0: none), fence,
# then (log uid or "", event JSON) per event. An event whose uid is at or
# below the cursor is skipped, so no uid is ever appended twice.
# Returns the number appended, or -1 when the lease is not the caller's.
# The fields written are those of event_to_fields().
# Uids are compared as the decimal text they are (whole numbers >= 0, no leading
# zero: str(int)), the longer the later: a Lua number is a double, which past
# 2**53 takes neighbouring uids for one.
PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local function later(uid, than)
  if not than then return true end
  if #uid ~= #than then return #uid > #than end
  for i = 1, #uid do  -- byte by byte: Lua's < on strings follows Redis's locale
    local a, b = string.byte(uid, i), string.byte(than, i)
    if a ~= b then return a > b end
  end
  return false
end
local last = redis.call('GET', KEYS[3])
local moved = nil
local maxlen = tonumber(ARGV[2])
local appended = 0
for i = 4, #ARGV, 2 do
  local uid = ARGV[i]
  local entry = {'event', ARGV[i + 1]}
  if uid ~= '' then
    entry[3] = 'log_id'
    entry[4] = uid
  end
  entry[#entry + 1] = 'fence'
  entry[#entry + 1] = ARGV[3]
  if uid == '' or later(uid, last) then
    if maxlen > 0 then
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', maxlen, '*', unpack(entry))
    else
      redis.call('XADD', KEYS[2], '*', unpack(entry))
    end
    appended = appended + 1
    if uid ~= '' then
      last = uid
      moved = uid
    end
  end
end
if moved then
  redis.call('SET', KEYS[3], moved)
  redis.call('DEL', KEYS[4])
end
return appended
"""


# Record where a leader with no cursor to resume from starts, if the caller's lease is
# current and no cursor exists yet: its log uid as the cursor (the start time goes), or
# without one ("") its start time (the server's unix seconds), unless an earlier
# leader's is there. KEYS: lease, cursor, start time. ARGV: lease value, log uid, time.
# Returns 1 when set, 0 when a cursor exists, -1 when the lease is not the caller's.
SEED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if ARGV[2] == '' then
  redis.call('SET', KEYS[3], ARGV[3], 'NX')
else
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[3])
end
return 1
"""


# Record the account a stream is relayed for, or check it, if the caller's lease is current.
# KEYS: lease, account. ARGV: lease value, account ("<base URL>|<username>").
# Returns 1 when the stream is (now) this account's, -1 when the lease is not the
# caller's, and the account recorded when it is another.
ACCOUNT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local recorded = redis.call('GET', KEYS[2])
if not recorded then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
if recorded == ARGV[2] then return 1 end
return recorded
"""


# Create a consumer group (and its stream) and record how many entries the stream had
# up to the group's position (ENTRIESREAD, Redis 7): XGROUP CREATE leaves that count
# unknown, and Redis 7.0 then reckons the group's lag from the entries left, so entries
# trimmed before its first read were never counted as lost. The count is Redis's own
# estimate at creation (its lag then), when nothing has been trimmed unread yet.
# KEYS: stream. ARGV: group, start. Returns 1, or the BUSYGROUP error of a group that exists.
CREATE_GROUP = """
local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], ARGV[2], 'MKSTREAM')
if type(created) == 'table' and created.err then return created end
local function fields(reply)
  local found = {}
  for i = 1, #reply - 1, 2 do found[reply[i]] = reply[i + 1] end
  return found
end
-- The group exists: a command refused from here on (an ACL rule) leaves it without a count.
local stream = redis.pcall('XINFO', 'STREAM', KEYS[1])
if stream.err then return 1 end
local added = fields(stream)['entries-added']
if not added then return 1 end  -- before Redis 7: no count to record
local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
if groups.err then return 1 end
for _, group in ipairs(groups) do
  local info = fields(group)
  if info['name'] == ARGV[1] and not info['entries-read'] and info['lag'] then
    redis.pcall('XGROUP', 'SETID', KEYS[1], ARGV[1], info['last-delivered-id'],
                'ENTRIESREAD', added - info['lag'])
  end
end
return 1
"""


async def create_group(redis: Redis, stream: str, group: str, start: str) -> None:
    """Create ``group`` of ``stream`` at ``start`` with CREATE_GROUP (raises BUSYGROUP's
    ResponseError); a script Redis refuses (an ACL user that may not run scripts, or
    XGROUP in one) falls back to a plain ``XGROUP CREATE``, which raises its own error."""
    try:
        await redis.register_script(CREATE_GROUP)(keys=[stream], args=[group, start])
    except ResponseError as exc:
        if "BUSYGROUP" in str(exc):
            raise
        await redis.xgroup_create(stream, group, id=start, mkstream=True)
