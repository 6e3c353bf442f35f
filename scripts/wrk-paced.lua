-- wrk script for make bench-http: each connection alternates GET /metrics and GET /v1/health
-- (or the comma-separated $WRK_PATHS)
-- and waits 1000/rate ms between its requests, so that `connections * rate` is the offered load.
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/metrics,/v1/health", "[^,]+") do paths[#paths + 1] = p end
local i = 0
local rate = tonumber(os.getenv("WRK_RATE_PER_CONNECTION") or "50")

request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end

delay = function()
  return 1000 / rate
end

done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.1f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
