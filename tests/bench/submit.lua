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

-- Answers other than 2xx, per status, and the first one's body (per thread).
local refused = {}
refused_text = ""
first_refusal = ""

function response(status, headers, body)
  if status < 300 then
    return
  end
  refused[status] = (refused[status] or 0) + 1
  local parts = {}
  for code, n in pairs(refused) do
    table.insert(parts, string.format("%d x%d", code, n))
  end
  refused_text = table.concat(parts, ", ")
  if first_refusal == "" then
    first_refusal = string.sub(body or "", 1, 160)
  end
end

function done(summary, latency, requests)
  local codes = summary.errors
  io.write(string.format("wrk: requests=%d non2xx=%d connect_err=%d timeouts=%d\n",
    summary.requests, codes.status, codes.connect, codes.timeout))
  for _, t in ipairs(threads) do
    local text = t:get("refused_text")
    if text and text ~= "" then
      io.write(string.format("wrk: thread %d refused: %s; first: %s\n", t:get("tid"), text,
        t:get("first_refusal")))
    end
  end
end

-- Paced load (latency phases). GW_BENCH_DELAY_MS: wait that long between requests on each
-- connection. GW_BENCH_RATE (documents/s over the whole run, GW_BENCH_THREADS wrk threads): each
-- thread hands out send times on a fixed schedule, one every GW_BENCH_THREADS / GW_BENCH_RATE
-- seconds, to whichever of its connections is free; a thread more than one slot late restarts its
-- schedule from now instead of sending a burst to catch up.
local pause = tonumber(os.getenv("GW_BENCH_DELAY_MS") or "0")
local rate = tonumber(os.getenv("GW_BENCH_RATE") or "0")
if pause > 0 then
  function delay()
    return pause
  end
elseif rate > 0 then
  local ffi = require("ffi")
  ffi.cdef([[
    struct gw_bench_ts { long tv_sec; long tv_nsec; };
    int clock_gettime(int clock, struct gw_bench_ts *ts);
  ]])
  local ts = ffi.new("struct gw_bench_ts")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 * tonumber(os.getenv("GW_BENCH_THREADS") or "1") / rate
  local due
  function delay()
    local now = now_ms()
    if due == nil or due < now - interval then
      due = now
    end
    local wait = due - now
    due = due + interval
    return math.max(0, math.floor(wait))
  end
end
