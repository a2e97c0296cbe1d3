-- wrk script for bench/dns: RFC 8484 GETs cycling through the base64url queries given
-- after `--`; prints one line WRK_RESULT <requests> <non-2xx> <socket errors> <duration us>.
local paths = {}
local n = 0

init = function(args)
  for i, q in ipairs(args) do paths[i] = "/dns-query?dns=" .. q end
end

request = function()
  n = n % #paths + 1
  return wrk.format("GET", paths[n], { ["Accept"] = "application/dns-message" })
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_RESULT %d %d %d %d\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, summary.duration))
end
