-- wrk script: POSTs edXML packages with a unique DocumentId per request to /v1/packages.
local counter = 0
local threads = {}
local template
local phase = os.getenv("GW_BENCH_PHASE") or "run"

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("GW_BENCH_PACKAGE"), "rb"))
  template = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/xml"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("GW_BENCH_TOKEN")
end

function request()
  counter = counter + 1
  local body = template:gsub("BENCHDOCID", string.format("000.00.12.H49,2024/08/01,%s-%d-%d/BENCH", phase, tid, counter), 1)
  return wrk.format(nil, "/v1/packages", nil, body)
end

function done(summary, latency, requests)
  local codes = summary.errors
  io.write(string.format("wrk: requests=%d non2xx=%d connect_err=%d timeouts=%d\n",
    summary.requests, codes.status, codes.connect, codes.timeout))
end

-- Paced load (latency phase): wait GW_BENCH_DELAY_MS between requests on each connection.
local pause = tonumber(os.getenv("GW_BENCH_DELAY_MS") or "0")
if pause > 0 then
  function delay()
    return pause
  end
end
