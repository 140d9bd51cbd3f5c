#!/usr/bin/env python3
"""Bytes per cached API key (see bench/README.md).

Seeds a SQLite store with N accounts whose keys are real tessera keys (right shape and
checksum, digest computed with the server secret exactly as the server does), starts the
release server, then with wrk authenticates every key once and reads the server's RSS:

  phase 1: GET /api/v1/get_stream_id (authentication only; nothing else is cached per caller)
           -> (RSS after - RSS before) / N = bytes per cached key;
  phase 2: GET /api/v1/users/me over the same keys (adds each caller's cached profile and
           newest message id) -> extra bytes per caller.

The key-cache miss counter (from --metrics-listen) shows every key was cached exactly once.

Usage: bench/key_memory.py [--keys 100000]
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
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("TESSERA_BIN", ROOT / "target/release/tessera"))
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# Each wrk connection walks its own slice of the header list, so every key is used once
# before any is used twice.
LUA = r"""
local headers = {}
for line in io.lines(os.getenv("KEYS_FILE")) do headers[#headers + 1] = line end
local path = os.getenv("BENCH_PATH")
local i = 0
request = function()
  i = i + 1
  if i > #headers then i = 1 end
  return wrk.format("GET", path, {["Authorization"] = headers[i]})
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def metric(url: str, name: str) -> float:
    text = urllib.request.urlopen(url).read().decode()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def wrk(base: str, path: str, keys_file: Path, lua: Path, requests: int) -> int:
    """Run wrk long enough for `requests` requests; returns how many it made."""
    env = {**os.environ, "KEYS_FILE": str(keys_file), "BENCH_PATH": path}
    seconds = max(3, requests // 4000 + 3)
    out = subprocess.run(["wrk", "-t1", "-c1", f"-d{seconds}s", "-s", str(lua), base + path],
                         env=env, capture_output=True, text=True, check=True).stdout
    return int(re.search(r"(\d+) requests in", out).group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100_000)
    n = ap.parse_args().keys
    data = Path(tempfile.mkdtemp(prefix="tessera-keymem-"))
    try:
        subprocess.run([str(BIN), "init", "--org-name", "Bench", "--email", "owner@example.com",
                        "--data-dir", str(data)], input="bench-Passw0rd-tessera\n", text=True,
                       check=True, capture_output=True)
        master = bytes.fromhex((data / "secret.key").read_text().strip())
        mac_key = hmac.new(master, b"tessera/v1/lookup-hmac", hashlib.sha256).digest()
        keys = [new_key() for _ in range(n)]
        con = sqlite3.connect(data / "tessera.db")
        con.executemany(
            "INSERT INTO users (realm_id, email, delivery_email, email_lower, full_name, role, "
            "is_active, is_bot, api_key_digest, api_key_nonce, api_key_sealed, date_joined) "
            "VALUES (1, ?, ?, ?, ?, 400, 1, 0, ?, randomblob(24), randomblob(48), 0)",
            ((f"k{i}@example.com", f"k{i}@example.com", f"k{i}@example.com", f"Key Holder {i}",
              hmac.new(mac_key, b"api_key\0" + k.encode(), hashlib.sha256).digest())
             for i, k in enumerate(keys)))
        con.commit()
        con.close()
        headers = data / "keys.txt"
        headers.write_text("".join(
            "Basic " + base64.b64encode(f"k{i}@example.com:{k}".encode()).decode() + "\n"
            for i, k in enumerate(keys)))
        lua = data / "keys.lua"
        lua.write_text(LUA)
        port, mport = free_port(), free_port()
        base = f"http://127.0.0.1:{port}"
        metrics = f"http://127.0.0.1:{mport}/metrics"
        proc = subprocess.Popen(
            [str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--metrics-listen",
             f"127.0.0.1:{mport}", "--data-dir", str(data), "--api-rate-limit", "1000000000",
             "--key-cache-capacity", str(2 * n)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "TESSERA_LOG": "error"})
        try:
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{base}/api/v1/server_settings", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            # Warm the allocator and every per-process structure with the first 1,000 keys.
            small = data / "warm.txt"
            small.write_text("".join(headers.read_text().splitlines(keepends=True)[:1000]))
            wrk(base, "/api/v1/get_stream_id?stream=general", small, lua, 20_000)
            time.sleep(1)
            misses0 = metric(metrics, "tessera_key_cache_misses_total")
            rss0 = rss_kib(proc.pid)
            made = wrk(base, "/api/v1/get_stream_id?stream=general", headers, lua, n)
            time.sleep(1)
            rss1 = rss_kib(proc.pid)
            misses1 = metric(metrics, "tessera_key_cache_misses_total")
            made2 = wrk(base, "/api/v1/users/me", headers, lua, n)
            time.sleep(1)
            rss2 = rss_kib(proc.pid)
            misses2 = metric(metrics, "tessera_key_cache_misses_total")
        finally:
            proc.terminate()
            proc.wait(10)
        cached = misses1 - misses0
        print(f"keys: {n}; phase 1: {made} requests, {cached:.0f} keys newly cached; "
              f"phase 2: {made2} requests, {misses2 - misses1:.0f} further misses")
        print(f"RSS: {rss0 / 1024:.1f} MiB -> {rss1 / 1024:.1f} MiB (keys) -> "
              f"{rss2 / 1024:.1f} MiB (profiles)")
        print(f"bytes per cached key: {(rss1 - rss0) * 1024 / cached:.0f}")
        print(f"extra bytes per cached users/me profile: {(rss2 - rss1) * 1024 / n:.0f}")
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
