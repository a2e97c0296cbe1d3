-- wrk script: BEP 3 announces from random peers over a fixed set of info hashes.
-- Usage: wrk -s announce.lua URL -- HASHES_FILE   (one 40-char hex info hash a line)
-- Each request: a random hash of the file, a fresh random 20-byte peer_id, a random port,
-- left randomly 0 (seeder) or not, compact=1, numwant=50. Binary values are percent-encoded
-- the way clients do it (RFC 3986 unreserved bytes as they are, every other byte as %XX).
-- With WRK_VERIFY=1 in the environment every response is checked (a bencoded dictionary
-- with `peers` and no `failure reason`); that costs wrk time, so it is for the warm-up only.
-- With WRK_CONNECTION_CLOSE=1 every request says `Connection: close`, as classic clients
-- announce (a new connection each; wrk opens the next when the server closes).
-- done() prints one line `WRK_RESULT {json}` for bench/tracker-http/index.js.

local encoded = {}
for b = 0, 255 do
  local c = string.char(b)
  if c:match('[%w%-%._~]') then
    encoded[b] = c
  else
    encoded[b] = string.format('%%%02X', b)
  end
end

local function percent_encode_hex(hex)
  local out = {}
  for i = 1, #hex, 2 do
    out[#out + 1] = encoded[tonumber(hex:sub(i, i + 1), 16)]
  end
  return table.concat(out)
end

local threads = {}
local next_id = 1

function setup(thread)
  thread:set('thread_id', next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local close_headers = nil
if os.getenv('WRK_CONNECTION_CLOSE') == '1' then
  close_headers = { ['Connection'] = 'close' }
end

local hashes = {}
ok, bad, sample = 0, 0, ''

function init(args)
  for line in io.lines(args[1]) do
    if #line == 40 then
      hashes[#hashes + 1] = percent_encode_hex(line)
    end
  end
  assert(#hashes > 0, 'no info hashes in ' .. tostring(args[1]))
  math.randomseed(os.time() * 100 + (thread_id or 0))
end

function request()
  local peer_id = {}
  for i = 1, 20 do
    peer_id[i] = encoded[math.random(0, 255)]
  end
  local left = '0'
  if math.random() < 0.5 then
    left = tostring(math.random(1, 1000000000))
  end
  local path = '/announce?info_hash=' .. hashes[math.random(#hashes)]
    .. '&peer_id=' .. table.concat(peer_id)
    .. '&port=' .. math.random(1, 65535)
    .. '&uploaded=0&downloaded=0&left=' .. left
    .. '&compact=1&numwant=50'
  return wrk.format('GET', path, close_headers)
end

if os.getenv('WRK_VERIFY') == '1' then
  function response(status, headers, body)
    if status == 200 and body:sub(1, 1) == 'd' and body:find('5:peers', 1, true)
        and not body:find('failure reason', 1, true) then
      ok = ok + 1
    else
      bad = bad + 1
      if sample == '' then
        sample = status .. ' ' .. body:sub(1, 120):gsub('[^%w%s%p]', '.')
      end
    end
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format('\\u%04x', c:byte())
  end) .. '"'
end

function done(summary, latency, requests)
  local verified_ok, verified_bad, bad_sample = 0, 0, ''
  for _, t in ipairs(threads) do
    verified_ok = verified_ok + (t:get('ok') or 0)
    verified_bad = verified_bad + (t:get('bad') or 0)
    if bad_sample == '' then bad_sample = t:get('sample') or '' end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p99":%d,"max":%d},'
      .. '"verified_ok":%d,"verified_bad":%d,"bad_sample":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max,
    verified_ok, verified_bad, json_string(bad_sample)))
end
