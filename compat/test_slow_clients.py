"""Slow and abusive clients (issue 15, item 3), and graceful shutdown (item 5).

The server runs with short bounds (`--header-timeout 3 --body-timeout 3`) so the test takes
seconds. What must hold: headers sent byte by byte (slowloris), a body trickled byte by byte,
10,000 connections that send nothing, and a poller that never reads its answers are each cut
off or bounded, while a well-behaved client keeps being served; memory per idle connection is
bounded. On SIGTERM the server stops accepting, answers a waiting long poll at once (a
heartbeat the client follows with another poll), finishes what is in flight and exits 0.

The p99 of other clients under this load (goal: within 2x idle) is measured by
`bench/slow_clients.py`, not asserted here (the machine is shared and noisy).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import List

import pytest
import requests

from conftest import DEFAULT_BIN, free_port, wait_serving

BIN = os.environ.get("TESSERA_BIN", DEFAULT_BIN)
OWNER = "owner@example.com"
PASSWORD = "slow-Clients-passw0rd"
TIMEOUT = 3


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    def __init__(self, tmp: Path, header_timeout: int = TIMEOUT) -> None:
        self.data = tmp / "data"
        subprocess.run([BIN, "init", "--org-name", "Slow", "--email", OWNER, "--data-dir", str(self.data)],
                       input=PASSWORD + "\n", check=True, capture_output=True, text=True)
        self.port = free_port()
        self.site = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "serve.log"
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data),
             "--header-timeout", str(header_timeout), "--body-timeout", str(TIMEOUT),
             "--api-rate-limit", "100000"],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        wait_serving(self.site, log=self.log)
        self.key = requests.post(f"{self.site}/api/v1/fetch_api_key",
                                 data={"username": OWNER, "password": PASSWORD}, timeout=30).json()["api_key"]

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def me(self) -> requests.Response:
        return requests.get(f"{self.site}/api/v1/users/me", auth=(OWNER, self.key), timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# Long enough that opening all 10,000 connections on a loaded 2-core machine (40 s has been
# seen) finishes before the first of them reaches the header timeout.
IDLE_TIMEOUT = 60


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 30000), hard))
    # Opening 10,000 connections takes a few seconds: that test gets a longer header timeout.
    idle = request.node.name == "test_ten_thousand_idle_connections"
    s = Server(tmp_path, IDLE_TIMEOUT if idle else TIMEOUT)
    try:
        yield s
    finally:
        s.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def closed_by_server(sock: socket.socket, within: float) -> bytes:
    """Wait for the server to close (or answer and close); returns what it sent."""
    sock.settimeout(within)
    got = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return got
            got += chunk
    except socket.timeout:
        raise AssertionError(f"the server kept the connection open past {within}s (got {got[:80]!r})")
    except ConnectionResetError:
        return got


def served_meanwhile(server: Server, seconds: float) -> List[int]:
    statuses: List[int] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        statuses.append(server.me().status_code)
    return statuses


def test_slowloris_headers_are_cut_off(server: Server) -> None:
    socks = []
    for _ in range(50):
        s = server.connect()
        s.sendall(b"GET /api/v1/users/me HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    # Keep dribbling header bytes: the bound is on the whole header, not on each byte.
    statuses = []
    start = time.monotonic()
    while time.monotonic() - start < TIMEOUT - 1:
        for s in socks:
            try:
                s.sendall(b"X")
            except OSError:
                pass
        statuses.append(server.me().status_code)
        time.sleep(0.2)
    for s in socks:
        closed_by_server(s, TIMEOUT + 3)
    assert time.monotonic() - start < 2 * TIMEOUT + 4
    assert statuses and set(statuses) == {200}, statuses


def test_trickled_body_gets_408(server: Server) -> None:
    import base64
    basic = base64.b64encode(f"{OWNER}:{server.key}".encode())
    s = server.connect()
    s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
              b"Authorization: Basic " + basic + b"\r\nContent-Length: 1000\r\n\r\n")
    start = time.monotonic()
    s.settimeout(0.3)
    got = b""
    while not got and time.monotonic() - start < TIMEOUT + 5:
        try:
            s.sendall(b"a")  # one byte every 0.3 s: each arrives in time, the whole never does
        except OSError:
            break
        try:
            got = s.recv(4096)
        except socket.timeout:
            pass
    took = time.monotonic() - start
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert b'"code":"REQUEST_TIMEOUT"' in got, got
    assert took < TIMEOUT + 2, took
    assert server.me().status_code == 200


def test_ten_thousand_idle_connections(server: Server) -> None:
    pid = server.proc.pid
    before_rss, before_fds = rss_kib(pid), open_fds(pid)
    socks = [server.connect() for _ in range(10_000)]
    # All accepted and held: the server has a descriptor for each (a loaded machine may still
    # be working through the accept backlog).
    deadline = time.monotonic() + 30
    while open_fds(pid) < before_fds + 9_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    held_fds = open_fds(pid)
    held_rss = rss_kib(pid)
    assert held_fds >= before_fds + 9_000, (before_fds, held_fds)
    # A normal client is served while they sit there.
    statuses = served_meanwhile(server, 1.0)
    assert statuses and set(statuses) == {200}, statuses
    per_conn = (held_rss - before_rss) * 1024 / 10_000
    assert per_conn < 64 * 1024, f"{per_conn:.0f} bytes per idle connection"
    # They send nothing, so each is closed after the header timeout.
    deadline = time.monotonic() + IDLE_TIMEOUT + 10
    while open_fds(pid) > before_fds + 50 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_fds(pid) <= before_fds + 50, ("idle connections were not closed", open_fds(pid))
    for s in socks:
        s.close()
    assert server.me().status_code == 200
    print(f"idle connections: {per_conn:.0f} bytes each (RSS {before_rss} -> {held_rss} KiB)")


def test_poller_that_never_reads(server: Server) -> None:
    auth = (OWNER, server.key)
    queue = requests.post(f"{server.site}/api/v1/register", auth=auth, timeout=10,
                          data={"event_types": '["message"]'}).json()["queue_id"]
    import base64
    basic = base64.b64encode(f"{OWNER}:{server.key}".encode()).decode()
    # Pipelined polls, never read, on one connection.
    s = server.connect()
    req = (f"GET /api/v1/events?queue_id={queue}&last_event_id=-1&dont_block=true HTTP/1.1\r\n"
           f"Host: x\r\nAuthorization: Basic {basic}\r\n\r\n").encode()
    rss_before = rss_kib(server.proc.pid)
    for i in range(200):
        requests.post(f"{server.site}/api/v1/messages", auth=auth, timeout=10,
                      data={"type": "stream", "to": "general", "topic": "t", "content": f"m{i} " + "x" * 500})
    s.setblocking(False)
    sent = 0
    for _ in range(2000):
        try:
            sent += s.send(req)
        except BlockingIOError:
            break
        except OSError:
            break
    # The server stops reading once its answers back up; it keeps serving everyone else.
    statuses = served_meanwhile(server, 1.0)
    assert statuses and set(statuses) == {200}, statuses
    growth = rss_kib(server.proc.pid) - rss_before
    assert growth < 64 * 1024, f"RSS grew {growth} KiB"
    s.close()


def test_sigterm_ends_long_polls_and_exits_0(server: Server) -> None:
    auth = (OWNER, server.key)
    queue = requests.post(f"{server.site}/api/v1/register", auth=auth, timeout=10,
                          data={"event_types": '["message"]'}).json()["queue_id"]
    result = {}

    def poll() -> None:
        start = time.monotonic()
        r = requests.get(f"{server.site}/api/v1/events", auth=auth, timeout=120,
                         params={"queue_id": queue, "last_event_id": -1})
        result["took"] = time.monotonic() - start
        result["body"] = r.json()

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(1.0)  # the poll is waiting
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    rc = server.proc.wait(30)
    took = time.monotonic() - start
    t.join(10)
    assert rc == 0, rc
    assert took < 5, f"shutdown took {took:.1f}s"
    # The waiting poll was answered (not cut off), with a heartbeat the client can follow.
    assert result["body"]["result"] == "success", result
    assert [e["type"] for e in result["body"]["events"]] == ["heartbeat"], result
    assert result["took"] < 5, result
    # And nothing listens any more.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
