#!/usr/bin/env python3
"""The soak (issue 15, item 4): hold 80 % of measured capacity for 10 minutes with the mix a
deployment sees, and watch errors, latency and memory minute by minute.

    bench/soak.py --engine sqlite|postgres [--minutes 10] [--load 0.8] [--workers 16]

1. Starts a release `tessera serve` on a fresh store (SQLite in a temporary data folder, or a
   new PostgreSQL database), creates 40 people and their keys.
2. Measures capacity: the mix below, closed-loop with every worker, for 20 s → requests/s.
3. Holds `--load` × capacity (open loop: requests are paced, not sent as fast as answers
   come) for `--minutes`, with this mix: authenticated reads (`users/me`, `GET /messages`,
   `GET /users`), sends, event polls (`register` then `GET /events` with `dont_block`), bad
   keys (expected: 401), and at fixed low rates password logins (`fetch_api_key`, Argon2),
   key rotations and bot creation.
4. Prints per minute: requests, errors by kind (expected refusals counted apart), p50/p99 ms
   and the server's RSS; then the goals: 0 unexpected errors, RSS growth after the first
   minute ≤ 5 %, p99 of the last minute ≤ 1.2 × the first. Exit status 1 when a goal fails.

Needs the release binary (cargo build --release -p tessera) and, for PostgreSQL, psql.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BIN, free_port, rss_kib, wait_until_serving  # noqa: E402

OWNER = "owner@example.com"
PASSWORD = "soak-Passw0rd-owner"
PEOPLE = 40
PG = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
LOGINS_PER_S = 0.3      # Argon2 at 19 MiB: a handful a second at most on 2 cores
ROTATIONS_PER_S = 0.5
BOTS_PER_S = 0.2


class Server:
    def __init__(self, engine: str, work: Path) -> None:
        self.work = work
        self.data = work / "data"
        self.db = None
        args = []
        if engine == "postgres":
            self.db = f"tessera_soak_{secrets.token_hex(4)}"
            subprocess.run(["psql", PG, "-qc", f"CREATE DATABASE {self.db}"], check=True)
            url = urllib.parse.urlparse(PG)._replace(path=f"/{self.db}").geturl()
            args = ["--database-url", url]
        self.args = args
        self.url = url if self.db else None
        subprocess.run([str(BIN), "init", "--org-name", "Soak", "--email", OWNER, "--data-dir",
                        str(self.data), *args], input=PASSWORD + "\n", text=True, check=True,
                       capture_output=True)
        self.port = free_port()
        self.site = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data),
             *args, "--api-rate-limit", "1000000"],
            stdout=(work / "serve.log").open("w"), stderr=subprocess.STDOUT,
            env={**os.environ, "TESSERA_LOG": "warn"})
        wait_until_serving(self.site)

    def autovacuum_off(self) -> bool:
        if not self.url:
            return False
        out = subprocess.run(["psql", self.url, "-Atc", "SHOW autovacuum"], capture_output=True, text=True)
        return out.stdout.strip() == "off"

    def analyze(self) -> None:
        subprocess.run(["psql", self.url, "-qc", "ANALYZE"], capture_output=True)

    def create_user(self, email: str, password: str) -> None:
        subprocess.run([str(BIN), "user", "create", "--email", email, "--full-name",
                        email.split("@")[0].replace(".", " ").title(), "--data-dir", str(self.data),
                        *self.args], input=password + "\n", text=True, check=True, capture_output=True)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.db:
            subprocess.run(["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)"])


class Person:
    def __init__(self, email: str, password: str, key: str) -> None:
        self.email, self.password, self.key = email, password, key
        self.lock = threading.Lock()
        self.queue = None


class Load:
    """The request mix; each call returns (kind, outcome) where outcome is 'ok', an expected
    refusal ('expected:<status>') or an unexpected error ('error:<status or exception>')."""

    def __init__(self, server: Server, people: list[Person], rotators: list[Person]) -> None:
        self.s = server
        self.people = people
        self.rotators = rotators
        self.local = threading.local()
        self.bots = 0
        self.bot_lock = threading.Lock()

    def http(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def call(self, method: str, path: str, auth, **kw) -> requests.Response:
        return self.http().request(method, self.s.site + path, auth=auth, timeout=30, **kw)

    def read(self) -> tuple[str, str]:
        p = random.choice(self.people)
        path = random.choice(["/api/v1/users/me", "/api/v1/users",
                              "/api/v1/messages?anchor=newest&num_before=20&num_after=0"])
        r = self.call("GET", path, (p.email, p.key))
        return "read", "ok" if r.status_code == 200 else f"error:{r.status_code}"

    def send(self) -> tuple[str, str]:
        p = random.choice(self.people)
        r = self.call("POST", "/api/v1/messages", (p.email, p.key),
                      data={"type": "stream", "to": "general", "topic": f"soak {random.randint(1, 20)}",
                            "content": f"soak message {random.random()}"})
        return "send", "ok" if r.status_code == 200 else f"error:{r.status_code}"

    def poll(self) -> tuple[str, str]:
        p = random.choice(self.people)
        with p.lock:
            queue = p.queue
            if queue is None:
                # One queue per person, as a real client keeps (registered under the lock, so
                # two threads never leave an orphan queue filling up for 10 minutes).
                r = self.call("POST", "/api/v1/register", (p.email, p.key),
                              data={"event_types": '["message"]', "fetch_event_types": '["message"]'})
                if r.status_code != 200:
                    return "poll", f"error:{r.status_code}"
                p.queue = (r.json()["queue_id"], -1)
                return "poll", "ok"
        qid, last = queue
        r = self.call("GET", "/api/v1/events", (p.email, p.key),
                      params={"queue_id": qid, "last_event_id": last, "dont_block": "true"})
        if r.status_code == 200:
            ids = [e["id"] for e in r.json()["events"]]
            with p.lock:
                p.queue = (qid, max(ids, default=last))
            return "poll", "ok"
        if r.status_code == 400 and r.json().get("code") == "BAD_EVENT_QUEUE_ID":
            with p.lock:
                p.queue = None
            return "poll", "expected:400 BAD_EVENT_QUEUE_ID"
        return "poll", f"error:{r.status_code}"

    def bad_key(self) -> tuple[str, str]:
        p = random.choice(self.people)
        r = self.call("GET", "/api/v1/users/me", (p.email, secrets.token_urlsafe(24)[:32]))
        return "bad key", "expected:401" if r.status_code == 401 else f"error:{r.status_code}"

    def login(self) -> tuple[str, str]:
        p = random.choice(self.people)
        r = self.http().post(self.s.site + "/api/v1/fetch_api_key", timeout=30,
                             data={"username": p.email, "password": p.password})
        if r.status_code == 200:
            # Each login gets a key of its own (a device key), so any well-formed key is right.
            key = r.json()["api_key"]
            return "login", "ok" if len(key) == 32 and key.isalnum() else "error:wrong key"
        if r.status_code == 429:
            return "login", "expected:429"
        return "login", f"error:{r.status_code}"

    def rotate(self) -> tuple[str, str]:
        p = random.choice(self.rotators)
        with p.lock:
            r = self.call("POST", "/api/v1/users/me/api_key/regenerate", (p.email, p.key))
            if r.status_code == 200:
                p.key = r.json()["api_key"]
                return "rotation", "ok"
        return "rotation", f"error:{r.status_code}"

    def bot(self) -> tuple[str, str]:
        p = random.choice(self.people)
        with self.bot_lock:
            self.bots += 1
            n = self.bots
        r = self.call("POST", "/api/v1/bots", (p.email, p.key),
                      data={"full_name": f"Soak Bot {n}", "short_name": f"soak{n}", "bot_type": "1"})
        return "bot", "ok" if r.status_code == 200 else f"error:{r.status_code}"

    # Weights of the paced mix (the fixed-rate kinds run on their own timers).
    MIX = [("read", 60), ("send", 15), ("poll", 15), ("bad_key", 10)]

    def one(self) -> tuple[str, str, float]:
        name = random.choices([m[0] for m in self.MIX], [m[1] for m in self.MIX])[0]
        start = time.perf_counter()
        try:
            kind, outcome = getattr(self, name)()
        except requests.RequestException as e:
            kind, outcome = name, f"error:{type(e).__name__}"
        return kind, outcome, time.perf_counter() - start


def capacity(load: Load, workers: int, seconds: float) -> float:
    done = 0
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def worker() -> None:
        nonlocal done
        while time.monotonic() < end:
            load.one()
            with lock:
                done += 1

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done / seconds


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def soak(load: Load, server: Server, rate: float, minutes: float, workers: int) -> list[dict]:
    stats: dict[int, dict] = defaultdict(lambda: {"n": 0, "lat": [], "by_kind": defaultdict(list),
                                                  "errors": Counter(), "expected": Counter()})
    lock = threading.Lock()
    t0 = time.monotonic()
    end = t0 + minutes * 60
    rss: dict[int, int] = {}

    def record(kind: str, outcome: str, latency: float) -> None:
        minute = int((time.monotonic() - t0) // 60)
        with lock:
            st = stats[minute]
            st["n"] += 1
            st["lat"].append(latency)
            st["by_kind"][kind].append(latency)
            if outcome.startswith("error"):
                st["errors"][f"{kind} {outcome}"] += 1
            elif outcome.startswith("expected"):
                st["expected"][f"{kind} {outcome}"] += 1

    # Paced (open-loop) mix: each worker takes the next slot of a shared schedule.
    next_slot = [t0]
    slot_lock = threading.Lock()
    interval = workers / rate if rate > 0 else 1.0

    def paced() -> None:
        while True:
            with slot_lock:
                at = next_slot[0]
                next_slot[0] = at + 1.0 / rate
            # Stop at the end of the run even when the server fell behind the schedule (the
            # requests it could not take by then are counted as missed, not sent late).
            if at >= end or time.monotonic() >= end:
                return
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            kind, outcome, latency = load.one()
            record(kind, outcome, latency)

    def fixed(fn, per_s: float) -> None:
        at = t0
        while True:
            at += 1.0 / per_s
            if at >= end or time.monotonic() >= end:
                return
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            start = time.perf_counter()
            try:
                kind, outcome = fn()
            except requests.RequestException as e:
                kind, outcome = fn.__name__, f"error:{type(e).__name__}"
            record(kind, outcome, time.perf_counter() - start)

    def sample_rss() -> None:
        shown = 0
        while time.monotonic() < end:
            minute = int((time.monotonic() - t0) // 60)
            rss[minute] = rss_kib(server.proc.pid)
            if minute > shown:
                # Progress, so that a run cut short still says what it saw.
                with lock:
                    st = stats[shown]
                    print(f"  minute {shown + 1}: {st['n']} requests, p99 {pct(st['lat'], 0.99):.1f} ms, "
                          f"RSS {rss.get(shown, 0) / 1024:.1f} MiB, errors {dict(st['errors'])}; p99 by kind: "
                          + ", ".join(f"{k} {pct(v, 0.99):.0f}" for k, v in sorted(st["by_kind"].items())),
                          flush=True)
                shown = minute
            time.sleep(5)

    def analyze() -> None:
        # This machine's PostgreSQL runs with autovacuum off (it is a test server). A
        # deployment has it on, and its analyze keeps the planner's row counts near the truth
        # as the tables grow from nothing; without it every estimate stays "empty table". So
        # the soak does autovacuum's analyze itself, every 30 s.
        while time.monotonic() < end:
            time.sleep(30)
            server.analyze()

    _ = interval
    threads = [threading.Thread(target=paced) for _ in range(workers)]
    if server.autovacuum_off():
        print("  PostgreSQL has autovacuum off: the soak runs ANALYZE every 30 s as autovacuum would", flush=True)
        threads.append(threading.Thread(target=analyze))
    threads += [threading.Thread(target=fixed, args=(load.login, LOGINS_PER_S)),
                threading.Thread(target=fixed, args=(load.rotate, ROTATIONS_PER_S)),
                threading.Thread(target=fixed, args=(load.bot, BOTS_PER_S)),
                threading.Thread(target=sample_rss)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = []
    for minute in sorted(stats):
        if minute >= minutes:
            continue
        st = stats[minute]
        out.append({"minute": minute + 1, "requests": st["n"], "per_s": round(st["n"] / 60, 1),
                    "p50_ms": round(pct(st["lat"], 0.5), 2), "p99_ms": round(pct(st["lat"], 0.99), 2),
                    "p99_ms_by_kind": {k: round(pct(v, 0.99), 1) for k, v in sorted(st["by_kind"].items())},
                    "errors": dict(st["errors"]), "expected": dict(st["expected"]),
                    "rss_kib": rss.get(minute, 0)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["sqlite", "postgres"], required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--load", type=float, default=0.8)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--capacity-seconds", type=float, default=20)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--mix", help="weights of the paced mix, e.g. read=60,send=15,poll=15,bad_key=10 "
                                  "(for finding what costs what)")
    ap.add_argument("--rate", type=float, help="hold this many requests/s instead of measuring capacity")
    ap.add_argument("--no-fixed", action="store_true", help="no logins, rotations or bot creation")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tessera-soak-") as tmp:
        server = Server(a.engine, Path(tmp))
        try:
            owner_key = requests.post(server.site + "/api/v1/fetch_api_key", timeout=30,
                                      data={"username": OWNER, "password": PASSWORD}).json()["api_key"]
            people, rotators = [], []
            for i in range(PEOPLE):
                email, password = f"soak.person{i}@example.com", f"soak-Passw0rd-{i}-long"
                server.create_user(email, password)
                key = requests.post(server.site + "/api/v1/fetch_api_key", timeout=30,
                                    data={"username": email, "password": password}).json()["api_key"]
                (rotators if i < 5 else people).append(Person(email, password, key))
            _ = owner_key
            load = Load(server, people, rotators)
            if a.mix:
                load.MIX = [(k, float(v)) for k, v in (kv.split("=") for kv in a.mix.split(","))]
            if a.no_fixed:
                global LOGINS_PER_S, ROTATIONS_PER_S, BOTS_PER_S
                LOGINS_PER_S = ROTATIONS_PER_S = BOTS_PER_S = 1e-9
            cap = a.rate / a.load if a.rate else capacity(load, a.workers, a.capacity_seconds)
            rate = cap * a.load
            print(f"engine {a.engine}: capacity {cap:.0f} req/s (mix, {a.workers} workers); "
                  f"holding {rate:.0f} req/s for {a.minutes:g} min", flush=True)
            minutes = soak(load, server, rate, a.minutes, a.workers)
        finally:
            server.stop()
    print(f"{'min':>3} {'req':>7} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8}  errors / expected refusals")
    for m in minutes:
        print(f"{m['minute']:>3} {m['requests']:>7} {m['per_s']:>6} {m['p50_ms']:>7} {m['p99_ms']:>7} "
              f"{m['rss_kib'] / 1024:>8.1f}  {m['errors'] or 0} / {m['expected']}")
    errors = sum(sum(m["errors"].values()) for m in minutes)
    first, last = minutes[0], minutes[-1]
    base_rss = minutes[1]["rss_kib"] if len(minutes) > 1 else first["rss_kib"]
    growth = (last["rss_kib"] - base_rss) / base_rss if base_rss else 0.0
    p99_ratio = last["p99_ms"] / first["p99_ms"] if first["p99_ms"] else 0.0
    goals = {"unexpected errors": (errors, errors == 0),
             "RSS growth after minute 1": (f"{growth * 100:+.1f} %", growth <= 0.05),
             "p99 last ÷ first minute": (f"{p99_ratio:.2f}", p99_ratio <= 1.2)}
    for name, (value, ok) in goals.items():
        print(f"goal {name}: {value} — {'met' if ok else 'NOT met'}")
    if a.json:
        a.json.write_text(json.dumps({"engine": a.engine, "capacity": cap, "rate": rate,
                                      "minutes": minutes, "goals": {k: v[0] for k, v in goals.items()}},
                                     indent=1))
    sys.exit(0 if all(ok for _, ok in goals.values()) else 1)


if __name__ == "__main__":
    main()
