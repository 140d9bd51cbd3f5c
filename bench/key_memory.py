#!/usr/bin/env python3
"""Bytes per cached API key (see bench/README.md).

Seeds a SQLite store with N accounts whose keys are real tessera keys (right shape and
checksum, digest computed with the server secret exactly as the server does), starts the
release server, then with wrk authenticates every key once and reads the server's RSS:

  phase 1: GET /api/v1/get_stream_id (authentication only; nothing else is cached per caller);
  phase 2: GET /api/v1/users/me over the same keys (adds each caller's cached profile).

Everything else a new caller costs a node (the per-user API rate-limit log, the client-use
log, SQLite's page cache filling with user rows) grows RSS too, so the whole run is done twice
in one go: with a key cache big enough for every key, and with --key-cache-capacity 1 (every
key is looked up and dropped again). The difference of the two RSS growths, divided by N, is
what the cache itself holds per key; the growth without the cache is reported as well.
The key-cache miss counter (from --metrics-listen) shows every key was looked up.

With --named, every account's key is instead a named key (a row of `api_keys`, full scope;
the account keys are random digests nobody holds), so the entries measured are named-key
entries: id, scope and expiry beside the principal.

Usage: bench/key_memory.py [--keys 50000] [--named]
Needs: a release binary (cargo build --release -p tessera), wrk (apt).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path
from common import BIN, free_port, rss_kib, wait_until_serving

WARM = 1000
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Each wrk connection walks its own slice of the header list, so every key is used once
# before any is used twice.
LUA = r"""
local headers = {}
for line in io.lines(os.getenv("KEYS_FILE")) do headers[#headers + 1] = line end
local path = os.getenv("BENCH_PATH")
local i = 0
local done = 0
request = function()
  i = i + 1
  if i > #headers then i = 1 end
  return wrk.format("GET", path, {["Authorization"] = headers[i]})
end
response = function(status, hdrs, body)
  done = done + 1
  if done >= #headers then wrk.thread:stop() end
end
"""


def checksum(random_part: str) -> str:
    value = zlib.crc32(random_part.encode())
    out = []
    for _ in range(6):
        out.append(BASE62[value % 62])
        value //= 62
    return "".join(reversed(out))


def new_key() -> str:
    random_part = "".join(secrets.choice(BASE62) for _ in range(26))
    return random_part + checksum(random_part)


def metric(url: str, name: str) -> float:
    text = urllib.request.urlopen(url).read().decode()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def wrk(base: str, metrics: str, path: str, keys_file: Path, lua: Path) -> int:
    """One request per line of `keys_file`: the Lua script stops sending after that many
    answers, and wrk (whose main thread would wait out -d) is interrupted once the key cache
    has seen that many lookups. Returns how many requests wrk made."""
    n = sum(1 for _ in keys_file.open())
    env = {**os.environ, "KEYS_FILE": str(keys_file), "BENCH_PATH": path}

    def lookups() -> float:
        return (metric(metrics, "tessera_key_cache_hits_total")
                + metric(metrics, "tessera_key_cache_misses_total"))

    start = lookups()
    proc = subprocess.Popen(["wrk", "-t1", "-c1", "-d600s", "-s", str(lua), base + path],
                            env=env, stdout=subprocess.PIPE, text=True)
    while lookups() - start < n and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=30)[0]
    return int(re.search(r"(\d+) requests in", out).group(1))


def run(data: Path, headers: Path, lua: Path, capacity: int) -> dict:
    """Start a server with this key-cache capacity; RSS before and after each phase."""
    port, mport = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    metrics = f"http://127.0.0.1:{mport}/metrics"
    proc = subprocess.Popen(
        [str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--metrics-listen",
         f"127.0.0.1:{mport}", "--data-dir", str(data), "--api-rate-limit", "1000000000",
         "--key-cache-capacity", str(capacity)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # One malloc arena: RSS then follows what is allocated, not which thread allocated it.
        env={**os.environ, "TESSERA_LOG": "error", "MALLOC_ARENA_MAX": "1"})
    try:
        wait_until_serving(base)
        # Warm the allocator and every per-process structure with the first WARM keys.
        warm = data / "warm.txt"
        warm.write_text("".join(headers.read_text().splitlines(keepends=True)[:WARM]))
        for _ in range(3):
            wrk(base, metrics, "/api/v1/get_stream_id?stream=general", warm, lua)
        time.sleep(1)
        r = {"misses0": metric(metrics, "tessera_key_cache_misses_total"), "rss0": rss_kib(proc.pid)}
        r["made1"] = wrk(base, metrics, "/api/v1/get_stream_id?stream=general", headers, lua)
        time.sleep(1)
        r["rss1"] = rss_kib(proc.pid)
        r["misses1"] = metric(metrics, "tessera_key_cache_misses_total")
        r["made2"] = wrk(base, metrics, "/api/v1/users/me", headers, lua)
        time.sleep(1)
        r["rss2"] = rss_kib(proc.pid)
        r["misses2"] = metric(metrics, "tessera_key_cache_misses_total")
        return r
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=50_000)
    ap.add_argument("--named", action="store_true")
    args = ap.parse_args()
    n = args.keys
    data = Path(tempfile.mkdtemp(prefix="tessera-keymem-"))
    try:
        subprocess.run([str(BIN), "init", "--org-name", "Bench", "--email", "owner@example.com",
                        "--data-dir", str(data)], input="bench-Passw0rd-tessera\n", text=True,
                       check=True, capture_output=True)
        master = bytes.fromhex((data / "secret.key").read_text().strip())
        mac_key = hmac.new(master, b"tessera/v1/lookup-hmac", hashlib.sha256).digest()
        keys = [new_key() for _ in range(n)]
        con = sqlite3.connect(data / "tessera.db")
        digests = [hmac.new(mac_key, b"api_key\0" + k.encode(), hashlib.sha256).digest() for k in keys]
        con.executemany(
            "INSERT INTO users (realm_id, email, delivery_email, email_lower, full_name, role, "
            "is_active, is_bot, api_key_digest, api_key_nonce, api_key_sealed, date_joined) "
            "VALUES (1, ?, ?, ?, ?, 400, 1, 0, ?, randomblob(24), randomblob(48), 0)",
            ((f"k{i}@example.com", f"k{i}@example.com", f"k{i}@example.com", f"Key Holder {i}",
              os.urandom(32) if args.named else d)
             for i, d in enumerate(digests)))
        if args.named:
            ids = dict(con.execute("SELECT email, id FROM users"))
            con.executemany(
                "INSERT INTO api_keys (user_id, name, digest, scope, created_at, created_by) "
                "VALUES (?, 'bench', ?, 63, 0, 1)",
                ((ids[f"k{i}@example.com"], d) for i, d in enumerate(digests)))
        con.commit()
        con.close()
        headers = data / "keys.txt"
        headers.write_text("".join(
            "Basic " + base64.b64encode(f"k{i}@example.com:{k}".encode()).decode() + "\n"
            for i, k in enumerate(keys)))
        lua = data / "keys.lua"
        lua.write_text(LUA)
        with_cache = run(data, headers, lua, 2 * n)
        without = run(data, headers, lua, 1)
        for name, r in (("cache for every key", with_cache), ("cache of 1", without)):
            print(f"{name}: phase 1 {r['made1']} requests, {r['misses1'] - r['misses0']:.0f} misses; "
                  f"phase 2 {r['made2']} requests, {r['misses2'] - r['misses1']:.0f} misses; "
                  f"RSS {r['rss0'] / 1024:.1f} -> {r['rss1'] / 1024:.1f} -> {r['rss2'] / 1024:.1f} MiB")
        # The first WARM keys were already seen in the warm-up of both runs.
        new = n - WARM
        per_key = ((with_cache["rss1"] - with_cache["rss0"]) - (without["rss1"] - without["rss0"])) * 1024 / new
        per_profile = ((with_cache["rss2"] - with_cache["rss1"]) - (without["rss2"] - without["rss1"])) * 1024 / n
        other = (without["rss1"] - without["rss0"]) * 1024 / new
        print(f"keys: {n} ({'named keys' if args.named else 'account keys'})")
        print(f"bytes per cached key (cache) : {per_key:.0f}")
        print(f"extra bytes per cached users/me profile: {per_profile:.0f}")
        print(f"bytes per new caller outside the cache (rate-limit and client logs, SQLite page cache): {other:.0f}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
