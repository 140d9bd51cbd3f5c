#!/usr/bin/env python3
"""Benchmarks of the key path, as ratios measured in one run (see bench/README.md).

  authenticated GET /api/v1/users/me ÷ unauthenticated GET /api/v1/server_settings
  (server pinned to CPU 0, wrk to CPU 1): throughput ratio and server CPU µs per request from
  /proc/<pid>/stat;  the same with 10^6 extra users in the store ÷ with 10^3 (SQLite and
  PostgreSQL);  API p99 during a fetch_api_key storm ÷ idle p99;  idle RSS.

Both stores (10^3 and 10^6 users) are served at once and every measurement alternates with its
counterpart in --rounds rounds of seconds/2 each, so noise on this shared machine falls on
both sides of each ratio.

Usage: bench/auth_path.py [--engine sqlite|postgres|both] [--seconds 8] [--rounds 4]
Needs: a release binary (cargo build --release -p tessera), wrk (apt), taskset, psql.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from common import BIN, free_port, rss_kib, wait_until_serving

PG = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
OWNER = "owner@example.com"
PASSWORD = "bench-Passw0rd-tessera"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


class Server:
    def __init__(self, engine: str, extra_users: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
        self.db = None
        args = ["--data-dir", str(self.dir)]
        if engine == "postgres":
            self.db = f"tessera_bench_{secrets.token_hex(4)}"
            subprocess.run(["psql", PG, "-qc", f"CREATE DATABASE {self.db}"], check=True)
            args += ["--database-url", PG.rsplit("/", 1)[0] + "/" + self.db]
        subprocess.run([str(BIN), "init", "--org-name", "Bench", "--email", OWNER, *args],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        if extra_users:
            self.fill(engine, extra_users)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", str(BIN), "serve", "--listen", f"127.0.0.1:{self.port}",
             "--api-rate-limit", "1000000000", "--auth-failures-per-ip", "1000000000", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "TESSERA_LOG": "error"})
        wait_until_serving(self.base)
        # The account's own key (Zulip's one key), from its zuliprc: fetch_api_key would hand
        # this login a device key of its own, a key of the api_keys table.
        rc = subprocess.run([str(BIN), "zuliprc", "--email", OWNER, *args], text=True,
                            check=True, capture_output=True).stdout
        self.key = re.search(r"^key=(\S+)$", rc, re.M).group(1)
        self.auth = "Basic " + base64.b64encode(f"{OWNER}:{self.key}".encode()).decode()

    def fill(self, engine: str, n: int) -> None:
        """n filler users with random key digests: a big users table and digest index."""
        cols = ("realm_id, email, delivery_email, email_lower, full_name, role, is_active, is_bot, "
                "api_key_digest, api_key_nonce, api_key_sealed, date_joined")
        if engine == "sqlite":
            con = sqlite3.connect(self.dir / "tessera.db")
            con.execute(
                f"WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n}) "
                f"INSERT INTO users ({cols}) SELECT 1, 'filler' || i || '@example.com', 'filler' || i || '@example.com', "
                "'filler' || i || '@example.com', 'Filler ' || i, 400, 1, 0, randomblob(32), randomblob(24), randomblob(48), 0 FROM seq")
            con.commit()
            con.close()
        else:
            url = PG.rsplit("/", 1)[0] + "/" + self.db
            subprocess.run(["psql", url, "-qc",
                f"INSERT INTO users ({cols}) SELECT 1, 'filler' || i || '@example.com', 'filler' || i || '@example.com', "
                "'filler' || i || '@example.com', 'Filler ' || i, 400, TRUE, FALSE, "
                "decode(md5(i::text) || md5('x' || i::text), 'hex'), decode(md5('n' || i::text), 'hex'), "
                f"decode(md5('s' || i::text), 'hex'), 0 FROM generate_series(1, {n}) AS i; ANALYZE users;"], check=True)

    def wrk(self, path: str, seconds: int, auth: bool, conns: int = 16) -> dict:
        cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency"]
        if auth:
            cmd += ["-H", f"Authorization: {self.auth}"]
        cmd.append(self.base + path)
        u0, s0 = cpu_split(self.proc.pid)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        u1, s1 = cpu_split(self.proc.pid)
        used = (u1 - u0) + (s1 - s0)
        if "99%" not in out:
            raise SystemExit(f"wrk produced no latency distribution for {path}:\n{out}")
        total = int(re.search(r"(\d+) requests in", out).group(1))
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = parse_ms(re.search(r"99%\s+(\S+)", out).group(1))
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {"rps": rps, "requests": total, "cpu_us_per_req": used / total * 1e6,
                "user_us_per_req": (u1 - u0) / total * 1e6, "sys_us_per_req": (s1 - s0) / total * 1e6,
                "p99_ms": p99,
                "errors": int(non2xx.group(1)) if non2xx else 0}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.db:
            subprocess.run(["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"], check=False)


def parse_ms(s: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", s)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


STORM_LUA = r"""
math.randomseed(os.time())
request = function()
  local u = "ghost" .. math.random(1, 1000000000) .. "@example.com"
  return wrk.format("POST", "/api/v1/fetch_api_key", {["Content-Type"]="application/x-www-form-urlencoded"},
                    "username=" .. u .. "&password=wrong-password")
end
"""


def combine(runs: list[dict]) -> dict:
    """Totals of several wrk rounds of one measurement."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["requests"] / r["rps"] for r in runs)
    cpu = sum(r["cpu_us_per_req"] * r["requests"] for r in runs)
    user = sum(r["user_us_per_req"] * r["requests"] for r in runs)
    p99s = sorted(r["p99_ms"] for r in runs)
    return {"rps": requests / seconds, "requests": requests, "cpu_us_per_req": cpu / requests,
            "user_us_per_req": user / requests, "sys_us_per_req": (cpu - user) / requests,
            "p99_ms": p99s[len(p99s) // 2], "errors": sum(r["errors"] for r in runs),
            "rounds": len(runs)}


def wrk_args() -> tuple[argparse.Namespace, list[str]]:
    """The options every wrk-driven ratio benchmark takes, and the engines they name."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="both")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=4)
    a = ap.parse_args()
    return a, ["sqlite", "postgres"] if a.engine == "both" else [a.engine]


def main() -> None:
    a, engines = wrk_args()
    secs = a.seconds
    per_round = max(1, secs // 2)
    results = {}
    for engine in engines:
        # Both stores are served at once (each server pinned to CPU 0; the one not being
        # measured is idle), and the measurements alternate in rounds, so a slow spell of this
        # shared machine hits every side of a ratio alike.
        small = Server(engine, 1_000)
        big = Server(engine, 1_000_000)
        try:
            time.sleep(1)
            rss = rss_kib(small.proc.pid)
            for s in (small, big):
                s.wrk("/api/v1/users/me", 2, True)  # warm the cache
            runs: dict[str, list] = {k: [] for k in ("me", "settings", "big_me", "big_settings")}
            for _ in range(a.rounds):
                runs["me"].append(small.wrk("/api/v1/users/me", per_round, True))
                runs["settings"].append(small.wrk("/api/v1/server_settings", per_round, False))
                runs["big_me"].append(big.wrk("/api/v1/users/me", per_round, True))
                runs["big_settings"].append(big.wrk("/api/v1/server_settings", per_round, False))
            r = {"idle_rss_kib": rss, "users_me": combine(runs["me"]),
                 "server_settings": combine(runs["settings"]),
                 "big_users_me": combine(runs["big_me"]),
                 "big_server_settings": combine(runs["big_settings"])}
            # p99 of users/me while another wrk runs a fetch_api_key storm, alternating in rounds
            # with the same measurement without the storm.
            lua = small.dir / "storm.lua"
            lua.write_text(STORM_LUA)
            storms, idles, storm_rps = [], [], []
            for _ in range(a.rounds):
                idles.append(small.wrk("/api/v1/users/me", per_round, True, conns=4))
                storm = subprocess.Popen(["taskset", "-c", "1", "wrk", "-t1", "-c8", f"-d{per_round + 2}s",
                                          "-s", str(lua), small.base + "/api/v1/fetch_api_key"],
                                         stdout=subprocess.PIPE, text=True)
                time.sleep(1)
                storms.append(small.wrk("/api/v1/users/me", per_round, True, conns=4))
                storm_out = storm.communicate()[0]
                storm_rps.append(float(re.search(r"Requests/sec:\s+([\d.]+)", storm_out).group(1)))
                time.sleep(0.5)
            r["users_me_during_storm"] = combine(storms)
            r["users_me_idle_4conns"] = combine(idles)
            r["storm_p99s_ms"] = [x["p99_ms"] for x in storms]
            r["idle_p99s_ms"] = [x["p99_ms"] for x in idles]
            r["storm_rps"] = sum(storm_rps) / len(storm_rps)
            results[engine] = r
            print(json.dumps({engine: r}), flush=True)
        finally:
            small.stop()
            big.stop()
    print("\nsummary")
    for engine in engines:
        r = results[engine]
        me, st = r["users_me"], r["server_settings"]
        print(f"{engine}: users/me {me['rps']:.0f} rps, server_settings {st['rps']:.0f} rps, "
              f"ratio {me['rps'] / st['rps']:.3f}; CPU/request {me['cpu_us_per_req']:.1f} µs vs "
              f"{st['cpu_us_per_req']:.1f} µs (+{me['cpu_us_per_req'] - st['cpu_us_per_req']:.1f})")
        print(f"{engine}: of which user {me['user_us_per_req']:.1f} vs {st['user_us_per_req']:.1f} µs, "
              f"kernel {me['sys_us_per_req']:.1f} vs {st['sys_us_per_req']:.1f} µs")
        big = r["big_users_me"]
        print(f"{engine}: 10^6 users ÷ 10^3: users/me throughput ratio {big['rps'] / me['rps']:.3f} "
              f"({big['rps']:.0f} ÷ {me['rps']:.0f} rps; server_settings "
              f"{r['big_server_settings']['rps'] / st['rps']:.3f}); CPU/request {big['cpu_us_per_req']:.1f} µs")
        storm, idle = r["users_me_during_storm"], r["users_me_idle_4conns"]
        print(f"{engine}: p99 during fetch_api_key storm {storm['p99_ms']:.2f} ms ÷ idle {idle['p99_ms']:.2f} ms = "
              f"{storm['p99_ms'] / idle['p99_ms']:.2f} (medians of {storm['rounds']} rounds: storm "
              f"{r['storm_p99s_ms']}, idle {r['idle_p99s_ms']}; storm {r['storm_rps']:.0f} rps)")
        print(f"{engine}: idle RSS {r['idle_rss_kib'] / 1024:.1f} MiB")
        errs = sum(x["errors"] for x in r.values() if isinstance(x, dict))
        if errs:
            print(f"{engine}: WARNING {errs} non-2xx responses", file=sys.stderr)


if __name__ == "__main__":
    main()
