#!/usr/bin/env python3
"""Other clients' latency while slow and abusive clients hold connections (issue 15, item 3).

    bench/slow_clients.py [--requests 2000] [--idle 10000]

Starts a release `tessera serve` (SQLite) and measures `GET /api/v1/users/me` latency of a
well-behaved client (one keep-alive connection, sequential requests): first idle, then while
`--idle` connections sit open sending nothing, 100 clients dribble their headers a byte at a
time and 20 trickle request bodies. Prints p50/p99 both ways and the ratio (goal: p99 under
abuse ≤ 2 × idle), and the server's RSS per idle connection.
"""
from __future__ import annotations

import argparse
import base64
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, free_port, rss_kib, wait_until_serving  # noqa: E402

OWNER = "owner@example.com"
PASSWORD = "slow-Bench-passw0rd"


def latencies(site: str, auth, n: int) -> list[float]:
    s = requests.Session()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = s.get(f"{site}/api/v1/users/me", auth=auth, timeout=30)
        out.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
    return sorted(out)


def pct(xs: list[float], q: float) -> float:
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--idle", type=int, default=10_000)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.idle + 2000), hard))
    with tempfile.TemporaryDirectory(prefix="tessera-slow-") as tmp:
        data = Path(tmp) / "data"
        subprocess.run([str(BIN), "init", "--org-name", "Slow", "--email", OWNER, "--data-dir", str(data)],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        port = free_port()
        site = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data),
                                 "--api-rate-limit", "1000000", "--header-timeout", "60", "--body-timeout", "60"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_serving(site)
            key = requests.post(f"{site}/api/v1/fetch_api_key", timeout=30,
                                data={"username": OWNER, "password": PASSWORD}).json()["api_key"]
            auth = (OWNER, key)
            latencies(site, auth, 200)  # warm up
            idle = latencies(site, auth, a.requests)
            rss0 = rss_kib(proc.pid)
            conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(a.idle)]
            time.sleep(1)
            rss1 = rss_kib(proc.pid)
            stop = threading.Event()
            basic = base64.b64encode(f"{OWNER}:{key}".encode())

            def slowloris() -> None:
                socks = []
                for _ in range(100):
                    s = socket.create_connection(("127.0.0.1", port))
                    s.sendall(b"GET /api/v1/users/me HTTP/1.1\r\nHost: x\r\n")
                    socks.append(s)
                while not stop.is_set():
                    for s in socks:
                        try:
                            s.sendall(b"X")
                        except OSError:
                            pass
                    time.sleep(0.5)

            def trickle() -> None:
                socks = []
                for _ in range(20):
                    s = socket.create_connection(("127.0.0.1", port))
                    s.sendall(b"POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + basic +
                              b"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n")
                    socks.append(s)
                while not stop.is_set():
                    for s in socks:
                        try:
                            s.sendall(b"a")
                        except OSError:
                            pass
                    time.sleep(0.2)

            threads = [threading.Thread(target=slowloris), threading.Thread(target=trickle)]
            for t in threads:
                t.start()
            time.sleep(1)
            busy = latencies(site, auth, a.requests)
            stop.set()
            for t in threads:
                t.join()
            for c in conns:
                c.close()
        finally:
            proc.terminate()
            proc.wait(20)
    ratio = pct(busy, 0.99) / pct(idle, 0.99)
    print(f"users/me idle:       p50 {pct(idle, 0.5):.2f} ms  p99 {pct(idle, 0.99):.2f} ms")
    print(f"users/me under abuse ({a.idle} idle connections, 100 slowloris, 20 trickled bodies): "
          f"p50 {pct(busy, 0.5):.2f} ms  p99 {pct(busy, 0.99):.2f} ms")
    print(f"p99 under abuse ÷ idle: {ratio:.2f} (goal ≤ 2)")
    print(f"RSS per idle connection: {(rss1 - rss0) * 1024 / a.idle:.0f} bytes")
    sys.exit(0 if ratio <= 2 else 1)


if __name__ == "__main__":
    main()
