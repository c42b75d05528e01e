"""``wrk`` (a native load generator) driven by a generated Lua script.

Each scenario writes its requests to a file, one a line (method, path, headers, body, separated
by tabs); the script cycles through them, each thread from its own starting point, so ids vary
across the seeded rows. ``{{N}}`` in a path or body becomes a value unique to the request (a
new account per registration); ``{{TOKEN}}`` takes a refresh token from the thread's pool, and
the token each answer returns goes back into it (refresh token rotation). A ``done()`` hook
prints the counts and the latency percentiles (p99.9 too) as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

RESULT_PREFIX = "BENCH_RESULT "
#: What a thread prints once it has had its share of a request limit (wrk itself waits out ``-d``).
LIMIT_MARK = "BENCH_LIMIT_REACHED"
INSTALL_HINT = "install it with `sudo apt-get install wrk` (Debian, Ubuntu) or `brew install wrk` (macOS)"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def line(self) -> str:
        headers = "\x1f".join(f"{name}: {value}" for name, value in self.headers)
        return f"{self.method}\t{self.path}\t{headers}\t{self.body}"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    non_2xx: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        """Successful responses per second: an error answered fast is not throughput."""
        return (self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """The path of ``wrk``; installed from the Debian packages when this runs as root with apt-get."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=environment)  # noqa: S607 - apt-get from PATH
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=environment)  # noqa: S607 - same
        found = shutil.which("wrk")
        if found:
            return found
    msg = f"the benchmark needs wrk: {INSTALL_HINT}"
    raise SystemExit(msg)


_LUA = r"""
local data_file = %(data_file)s
local tokens_file = %(tokens_file)s
local thread_count = %(threads)d
local per_thread_limit = %(per_thread_limit)d
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

local function parse_headers(text)
  local headers = {}
  for pair in string.gmatch(text, "[^\31]+") do
    local name, value = string.match(pair, "^([^:]+): (.*)$")
    headers[name] = value
  end
  return headers
end

function init(args)
  items = {}
  for line in io.lines(data_file) do
    local method, path, headers, body = string.match(line, "^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if body == "" then body = nil end
    local item = {method = method, path = path, headers = parse_headers(headers), body = body}
    if not string.find(line, "{{", 1, true) then item.raw = wrk.format(method, path, item.headers, body) end
    items[#items + 1] = item
  end
  index = (tid * 7919) %% #items
  serial = 0
  responses = 0
  tokens = {}
  if tokens_file ~= "" then
    local i = 0
    for line in io.lines(tokens_file) do
      if i %% thread_count == tid then tokens[#tokens + 1] = line end
      i = i + 1
    end
  end
end

function request()
  index = index %% #items + 1
  local item = items[index]
  if item.raw then return item.raw end
  serial = serial + 1
  local unique = tid .. "x" .. serial
  local token = "spent"
  if string.find(item.path .. (item.body or ""), "{{TOKEN}}", 1, true) then token = table.remove(tokens) or "spent" end
  local function fill(text)
    if text == nil then return nil end
    return (string.gsub(string.gsub(text, "{{N}}", unique), "{{TOKEN}}", token))
  end
  return wrk.format(item.method, fill(item.path), item.headers, fill(item.body))
end
%(response)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(prefix)s{"requests":%%d,"duration_us":%%d,"errors":%%d,"non_2xx":%%d,' ..
    '"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"p999_us":%%d,"max_us":%%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
"""

_RESPONSE = r"""
function response(status, headers, body)
  responses = responses + 1
  if tokens_file ~= "" and status == 200 then
    local token = string.match(body, '"refresh_token":"([^"]+)"')
    if token then tokens[#tokens + 1] = token end
  end
  if per_thread_limit > 0 and responses == per_thread_limit then
    io.write("%(limit_mark)s\n")
    io.flush()
    wrk.thread:stop()
  end
end
"""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string with these characters is a valid Lua string


def write_script(
    directory: Path,
    name: str,
    requests: list[HttpRequest],
    *,
    threads: int,
    tokens: list[str] | None = None,
    total_limit: int = 0,
) -> Path:
    """Write the requests and the Lua script that sends them; the script's path."""
    directory.mkdir(parents=True, exist_ok=True)
    data_file = directory / f"{name}.requests"
    data_file.write_text("".join(request.line() + "\n" for request in requests), encoding="utf-8")
    tokens_file = ""
    if tokens is not None:
        tokens_path = directory / f"{name}.tokens"
        tokens_path.write_text("".join(token + "\n" for token in tokens), encoding="utf-8")
        tokens_file = str(tokens_path)
    wants_response = tokens is not None or total_limit > 0
    script = _LUA % {
        "data_file": _lua_string(str(data_file)),
        "tokens_file": _lua_string(tokens_file),
        "threads": threads,
        "per_thread_limit": -(-total_limit // threads) if total_limit else 0,
        "response": _RESPONSE % {"limit_mark": LIMIT_MARK} if wants_response else "",
        "prefix": RESULT_PREFIX,
    }
    path = directory / f"{name}.lua"
    path.write_text(script, encoding="utf-8")
    return path


def run_wrk(wrk: str, url: str, script: Path, *, seconds: float, threads: int, connections: int) -> WrkResult:
    """One timed run of ``wrk`` against ``url`` (the script's paths are appended to it)."""
    command = [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), url,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603 - our own command
    assert process.stdout is not None  # noqa: S101 - asked for above
    output = []
    finished_threads = 0
    for line in process.stdout:
        output.append(line)
        if line.startswith(LIMIT_MARK):
            finished_threads += 1
            if finished_threads == threads:
                process.send_signal(signal.SIGINT)  # wrk stops early on SIGINT, and still reports
    _, errors = process.communicate()
    for line in output:
        if line.startswith(RESULT_PREFIX):
            raw = json.loads(line.removeprefix(RESULT_PREFIX))
            return WrkResult(
                requests=raw["requests"],
                seconds=raw["duration_us"] / 1e6,
                errors=raw["errors"],
                non_2xx=raw["non_2xx"],
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                p999_ms=raw["p999_us"] / 1000,
                max_ms=raw["max_us"] / 1000,
            )
    msg = f"wrk printed no result (exit {process.returncode}):\n{''.join(output)}\n{errors}"
    raise RuntimeError(msg)
