package approvals

import "github.com/redis/go-redis/v9"

// Every transition script takes the same leading keys and arguments:
//
//	KEYS[1] request hash   KEYS[2] pending zset   KEYS[3] retention zset
//	KEYS[4] audit stream   KEYS[5] audit chain head
//	KEYS[6] active zset (approved or executing, for Stalled)
//	ARGV[1] now (unix ms)  ARGV[2] now (RFC 3339)  ARGV[3] actor
//	ARGV[4] retention (ms) ARGV[5...] per script
//
// It replies {code, HGETALL of the request}. The audit event is appended
// before anything else is written: if it fails, the script stops with nothing
// changed (fail closed).
const luaPrelude = `
local now = tonumber(ARGV[1])
local actor = ARGV[3]
local retention = tonumber(ARGV[4])
local K = {req = KEYS[1], pending = KEYS[2], retain = KEYS[3],
  audit = KEYS[4], head = KEYS[5], active = KEYS[6]}

local function load()
  local v = redis.call('HMGET', K.req, 'id', 'state', 'requester', 't_label',
    't_user', 'plan_hash', 'expires', 'required', 'approvals', 'claim_owner',
    'claim_until', 'attempt', 'ix_label', 'ix_user')
  if not v[1] then return nil end
  return {id = v[1], state = v[2], requester = v[3], label = v[4] or '',
    user = v[5] or '', hash = v[6] or '', expires = tonumber(v[7]),
    required = tonumber(v[8]), approvals = v[9] or '', owner = v[10] or '',
    lease = tonumber(v[11] or '0'), attempt = tonumber(v[12] or '0'),
    ixl = v[13] or '', ixu = v[14] or ''}
end

local function reply(code)
  return {code, redis.call('HGETALL', K.req)}
end

local function audit(r, from, to, who, details)
  local prev = redis.call('GET', K.head)
  if not prev then prev = '' end
  local ev = table.concat({
    '{"time":', cjson.encode(ARGV[2]),
    ',"actor":', cjson.encode(who),
    ',"request_id":', cjson.encode(r.id),
    ',"target":{"label":', cjson.encode(r.label),
    ',"slack_user":', cjson.encode(r.user), '}',
    ',"from":', cjson.encode(from), ',"to":', cjson.encode(to),
    ',"plan_hash":', cjson.encode(r.hash),
    ',"details":', details or 'null',
    ',"prev_hash":', cjson.encode(prev), '}'})
  local h = redis.sha1hex(prev .. ev)
  redis.call('XADD', K.audit, '*', 'event', ev, 'hash', h)
  redis.call('SET', K.head, h)
end

local function member(r)
  return r.id .. '\n' .. r.ixl .. '\n' .. r.ixu
end

-- finalize moves r to a decided state and schedules it for dropping after
-- the retention period; the PEXPIRE a day later is only a backstop.
local function finalize(r, from, to, who, details)
  audit(r, from, to, who, details)
  redis.call('HSET', K.req, 'state', to, 'decided_at', ARGV[1])
  redis.call('ZREM', K.pending, r.id)
  redis.call('ZREM', K.active, r.id)
  redis.call('ZADD', K.retain, now + retention, member(r))
  redis.call('PEXPIRE', K.req, retention + 86400000)
end

-- open returns nil when r can still be decided, else the refusal code; a
-- request past its expiry is expired here, atomically with the refusal.
local function open(r)
  if not r then return 'NOT_FOUND' end
  if r.state == 'expired' then return 'EXPIRED' end
  if r.state ~= 'pending' then return 'DECIDED' end
  if now >= r.expires then
    finalize(r, 'pending', 'expired', 'system',
      '{"noticed_by":' .. cjson.encode(actor) .. '}')
    return 'EXPIRED'
  end
  return nil
end

local function decider(r)
  if r.user ~= '' and actor == r.user then return 'TARGET' end
  if actor == r.requester then return 'SELF' end
  return nil
end

local function holder(r)
  if not r then return 'NOT_FOUND' end
  if r.state ~= 'executing' or r.owner ~= actor then return 'NOT_OWNER' end
  return nil
end
`

// ARGV[5] id, [6] label, [7] slack user, [8] plan hash, [9] expires,
// [10] details JSON, [11...] field/value pairs. KEYS[7], KEYS[8] target
// index sets.
const luaCreate = `
if redis.call('EXISTS', K.req) == 1 then return {'EXISTS', {}} end
if ARGV[7] ~= '' and actor == ARGV[7] then return {'TARGET', {}} end
local r = {id = ARGV[5], label = ARGV[6], user = ARGV[7], hash = ARGV[8]}
audit(r, '', 'pending', actor, ARGV[10])
local fields = {}
for i = 11, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', K.req, unpack(fields))
redis.call('ZADD', K.pending, ARGV[9], r.id)
redis.call('SADD', KEYS[7], r.id)
redis.call('SADD', KEYS[8], r.id)
return reply('OK')
`

// ARGV[5] plan hash the approver saw.
const luaApprove = `
local r = load()
local c = open(r) or decider(r)
if c then return reply(c) end
local list = {}
if r.approvals ~= '' then list = cjson.decode(r.approvals) end
for _, a in ipairs(list) do
  if a.by == actor then return reply('ALREADY_APPROVED') end
end
if ARGV[5] ~= r.hash then return reply('PLAN') end
list[#list + 1] = {by = actor, at = ARGV[1]}
local to = 'pending'
if #list >= r.required then to = 'approved' end
audit(r, 'pending', to, actor,
  '{"approvals":' .. #list .. ',"required":' .. r.required .. '}')
redis.call('HSET', K.req, 'approvals', cjson.encode(list), 'state', to)
if to == 'approved' then
  redis.call('ZREM', K.pending, r.id)
  redis.call('ZADD', K.active, now, r.id)
end
return reply('OK')
`

// ARGV[5] reason, [6] details JSON.
const luaDeny = `
local r = load()
local c = open(r) or decider(r)
if c then return reply(c) end
if ARGV[5] == '' then return reply('REASON') end
finalize(r, 'pending', 'denied', actor, ARGV[6])
redis.call('HSET', K.req, 'denied_by', actor, 'deny_reason', ARGV[5])
return reply('OK')
`

const luaCancel = `
local r = load()
local c = open(r)
if c then return reply(c) end
if actor ~= r.requester then return reply('NOT_REQUESTER') end
finalize(r, 'pending', 'cancelled', actor, nil)
redis.call('HSET', K.req, 'cancelled_by', actor)
return reply('OK')
`

// ARGV[5] plan JSON, [6] plan hash.
const luaUpdatePlan = `
local r = load()
local c = open(r)
if c then return reply(c) end
if actor ~= r.requester then return reply('NOT_REQUESTER') end
local n = 0
if r.approvals ~= '' then n = #cjson.decode(r.approvals) end
local old = r.hash
r.hash = ARGV[6]
audit(r, 'pending', 'pending', actor, '{"old_plan_hash":' .. cjson.encode(old) ..
  ',"voided_approvals":' .. n .. '}')
redis.call('HSET', K.req, 'plan', ARGV[5], 'plan_hash', ARGV[6])
redis.call('HDEL', K.req, 'approvals')
return reply('OK')
`

// ARGV[5] lease (ms).
const luaClaim = `
local r = load()
if not r then return reply('NOT_FOUND') end
local untilMs = now + tonumber(ARGV[5])
if r.state == 'approved' then
  audit(r, 'approved', 'executing', actor, '{"attempt":' .. (r.attempt + 1) .. '}')
  redis.call('HSET', K.req, 'state', 'executing', 'claim_owner', actor,
    'claim_until', untilMs, 'attempt', r.attempt + 1)
  return reply('OK')
end
if r.state == 'executing' then
  if r.lease > now then return reply('CLAIMED') end
  audit(r, 'executing', 'executing', actor, '{"takeover_from":' ..
    cjson.encode(r.owner) .. ',"attempt":' .. r.attempt .. '}')
  redis.call('HSET', K.req, 'claim_owner', actor, 'claim_until', untilMs)
  return reply('OK')
end
if r.state == 'pending' then return reply('NOT_APPROVED') end
return reply('DECIDED')
`

// ARGV[5] lease (ms).
const luaRenew = `
local r = load()
local c = holder(r)
if c then return reply(c) end
redis.call('HSET', K.req, 'claim_until', now + tonumber(ARGV[5]))
return reply('OK')
`

const luaRelease = `
local r = load()
local c = holder(r)
if c then return reply(c) end
audit(r, 'executing', 'executing', actor, '{"released":true}')
redis.call('HSET', K.req, 'claim_until', now)
return reply('OK')
`

// ARGV[5] results JSON.
const luaRecord = `
local r = load()
local c = holder(r)
if c then return reply(c) end
redis.call('HSET', K.req, 'results', ARGV[5])
return reply('OK')
`

// ARGV[5] results JSON, [6] final state, [7] details JSON.
const luaFinish = `
local r = load()
local c = holder(r)
if c then return reply(c) end
finalize(r, 'executing', ARGV[6], actor, ARGV[7])
redis.call('HSET', K.req, 'results', ARGV[5])
return reply('OK')
`

const luaRetry = `
local r = load()
if not r then return reply('NOT_FOUND') end
if r.state ~= 'failed' then return reply('NOT_FAILED') end
local c = decider(r)
if c then return reply(c) end
audit(r, 'failed', 'approved', actor, '{"next_attempt":' .. (r.attempt + 1) .. '}')
redis.call('HSET', K.req, 'state', 'approved')
redis.call('HDEL', K.req, 'decided_at')
redis.call('ZREM', K.retain, member(r))
redis.call('ZADD', K.active, now, r.id)
redis.call('PERSIST', K.req)
return reply('OK')
`

// KEYS[1] is the sweep lease instead of a request; ARGV[5] lease (ms),
// [6] key prefix, [7] batch size. Request and index keys are built here from
// the prefix; they share the hash tag of the declared keys.
//
// TODO: declare them in KEYS (a read of the due ids first would cost a
// second round trip); Redis Cluster accepts same-slot undeclared keys, a
// strict proxy may not.
const luaSweep = `
local ok = redis.call('SET', KEYS[1], actor, 'NX', 'PX', ARGV[5])
if not ok then
  if redis.call('GET', KEYS[1]) ~= actor then return {'BUSY', {}} end
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
local prefix, limit = ARGV[6], tonumber(ARGV[7])
local out = {}
local due = redis.call('ZRANGEBYSCORE', K.pending, '-inf', now, 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  K.req = prefix .. 'req:' .. id
  local r = load()
  if r and r.state == 'pending' then
    finalize(r, 'pending', 'expired', 'system',
      '{"swept_by":' .. cjson.encode(actor) .. '}')
    out[#out + 1] = redis.call('HGETALL', K.req)
  else
    redis.call('ZREM', K.pending, id)
  end
end
local drop = redis.call('ZRANGEBYSCORE', K.retain, '-inf', now, 'LIMIT', 0, limit)
for _, m in ipairs(drop) do
  local id, ixl, ixu = string.match(m, '^([^\n]*)\n([^\n]*)\n([^\n]*)$')
  if id then
    redis.call('DEL', prefix .. 'req:' .. id)
    redis.call('SREM', prefix .. 'target:' .. ixl, id)
    if ixu ~= '' then redis.call('SREM', prefix .. 'target:' .. ixu, id) end
  end
  redis.call('ZREM', K.retain, m)
end
return {'OK', out}
`

// KEYS[1] request hash; ARGV[1] messages JSON. Not a transition: no event.
const luaSetMessages = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOT_FOUND' end
redis.call('HSET', KEYS[1], 'messages', ARGV[1])
return 'OK'
`

// KEYS[1] index (zset or set); ARGV[1] "z" or "s", [2] key prefix. Replies
// with the HGETALL of each indexed request that still exists.
const luaList = `
local ids
if ARGV[1] == 'z' then ids = redis.call('ZRANGE', KEYS[1], 0, -1)
else ids = redis.call('SMEMBERS', KEYS[1]) end
local out = {}
for _, id in ipairs(ids) do
  local h = redis.call('HGETALL', ARGV[2] .. 'req:' .. id)
  if #h > 0 then out[#out + 1] = h end
end
return out
`

// script pairs a go-redis Script with its source, which LoadScripts needs:
// redis.Script.Load on a pipeline would reset the script's hash to "".
type script struct {
	*redis.Script
	src string
}

func newScript(src string) script { return script{redis.NewScript(src), src} }

func transition(body string) script { return newScript(luaPrelude + body) }

var (
	scriptCreate      = transition(luaCreate)
	scriptApprove     = transition(luaApprove)
	scriptDeny        = transition(luaDeny)
	scriptCancel      = transition(luaCancel)
	scriptUpdatePlan  = transition(luaUpdatePlan)
	scriptClaim       = transition(luaClaim)
	scriptRenew       = transition(luaRenew)
	scriptRelease     = transition(luaRelease)
	scriptRecord      = transition(luaRecord)
	scriptFinish      = transition(luaFinish)
	scriptRetry       = transition(luaRetry)
	scriptSweep       = transition(luaSweep)
	scriptSetMessages = newScript(luaSetMessages)
	scriptList        = newScript(luaList)
)

var allScripts = []script{
	scriptCreate, scriptApprove, scriptDeny, scriptCancel, scriptUpdatePlan,
	scriptClaim, scriptRenew, scriptRelease, scriptRecord, scriptFinish,
	scriptRetry, scriptSweep, scriptSetMessages, scriptList,
}
