"""``python -m servicekit.server --workers 2``: two server processes, each logging through
servicekit's handler, and a SIGTERM that stops them all with exit status 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from devtools.net import free_port, wait_for_http_ok

APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""
DEADLINE_SECONDS = 60.0


def _started_workers(log: Path) -> set[int]:
    """The pids of the server processes that logged their start, in servicekit's JSON format."""
    pids = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["service"] == "probe" and entry["message"].startswith("Started server process"):
            pids.add(int(entry["message"].split("[")[1].rstrip("]")))
    return pids


def test_two_workers_log_through_servicekit_and_stop_cleanly_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "tiny_app.py").write_text(APP, encoding="utf-8")
    log = tmp_path / "server.log"
    port = free_port()
    command = [sys.executable, "-m", "servicekit.server", "tiny_app:app", "--app-dir", str(tmp_path)]
    command += ["--port", str(port), "--workers", "2", "--service-name", "probe"]
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LOG_FORMAT": "json"},
            start_new_session=True,  # its own process group: a failed test kills the workers too
        )
    try:
        wait_for_http_ok(f"http://127.0.0.1:{port}/", server, deadline_seconds=DEADLINE_SECONDS)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while len(_started_workers(log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the log for a condition, with a deadline
        workers = _started_workers(log)
        children = psutil.Process(server.pid).children(recursive=True)

        server.send_signal(signal.SIGTERM)
        status = server.wait(timeout=DEADLINE_SECONDS)
    finally:
        if server.poll() is None:  # the test failed before the supervisor stopped: none may outlive it
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    assert len(workers) == 2
    assert workers <= {child.pid for child in children}
    assert status == 0
    # The supervisor waited for each worker before it exited.
    assert not [child.pid for child in children if child.pid in workers and child.is_running()]
