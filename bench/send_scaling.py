#!/usr/bin/env python3
"""Send-message cost against the size of the organization, as ratios measured in one run.

  POST /api/v1/messages (a channel message that @-mentions its sender by name, to a channel
  only the sender is subscribed to) on a store of 10^2 users and on one of 10^5 users, both
  served at once, in alternating rounds. Reported per engine: server CPU µs per send (from
  /proc/<pid>/stat) and sends/s at each size, and the ratio CPU at 10^2 ÷ CPU at 10^5
  (goal ≥ 0.9: a send costs the same whatever the organization's size).

Usage: bench/send_scaling.py [--engine sqlite|postgres|both] [--rounds 4] [--sends 300]
Needs: a release binary (cargo build --release -p tessera), taskset, psql.
"""
from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
import urllib.parse
from auth_path import Server, cpu_split

THREADS = 4


def call(server: Server, method: str, path: str, form: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = urllib.parse.urlencode(form)
    conn.request(method, path, body=body, headers={
        "Authorization": server.auth, "Content-Type": "application/x-www-form-urlencoded"})
    out = json.loads(conn.getresponse().read())
    conn.close()
    return out


def sends(server: Server, n: int, content: str) -> dict:
    """n channel messages over THREADS keep-alive connections; server CPU per send."""
    errors = []
    per_thread = n // THREADS

    def worker(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        for i in range(per_thread):
            body = urllib.parse.urlencode({"type": "stream", "to": "bench", "topic": f"t{t}",
                                           "content": f"{content} {i}"})
            conn.request("POST", "/api/v1/messages", body=body, headers={
                "Authorization": server.auth,
                "Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                errors.append(data[:200])
        conn.close()

    u0, s0 = cpu_split(server.proc.pid)
    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    u1, s1 = cpu_split(server.proc.pid)
    done = per_thread * THREADS
    if errors:
        raise SystemExit(f"{len(errors)} sends failed, e.g. {errors[0]!r}")
    return {"sends": done, "seconds": elapsed, "cpu_s": (u1 - u0) + (s1 - s0)}


def total(runs: list[dict]) -> dict:
    n = sum(r["sends"] for r in runs)
    return {"sends": n, "sends_per_s": n / sum(r["seconds"] for r in runs),
            "cpu_us_per_send": sum(r["cpu_s"] for r in runs) / n * 1e6}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="both")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--sends", type=int, default=300)
    a = ap.parse_args()
    engines = ["sqlite", "postgres"] if a.engine == "both" else [a.engine]
    results = {}
    for engine in engines:
        small = Server(engine, 100 - 1)  # the owner and 99 others
        big = Server(engine, 100_000 - 1)
        try:
            for s in (small, big):
                r = call(s, "POST", "/api/v1/users/me/subscriptions",
                         {"subscriptions": json.dumps([{"name": "bench"}])})
                assert r["result"] == "success", r
                me = call(s, "GET", "/api/v1/users/me", {})
                s.content = f"hello @**{me['full_name']}**"
                sends(s, 40, s.content)  # warm up
            runs: dict[str, list] = {"small": [], "big": []}
            for _ in range(a.rounds):
                runs["small"].append(sends(small, a.sends, small.content))
                runs["big"].append(sends(big, a.sends, big.content))
            r = {"users_100": total(runs["small"]), "users_100000": total(runs["big"])}
            r["cpu_ratio_100_over_100000"] = (r["users_100"]["cpu_us_per_send"]
                                             / r["users_100000"]["cpu_us_per_send"])
            r["throughput_ratio_100000_over_100"] = (r["users_100000"]["sends_per_s"]
                                                    / r["users_100"]["sends_per_s"])
            results[engine] = r
        finally:
            small.stop()
            big.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
