#!/usr/bin/env python3
"""Regenerate a key on node A → the old key refused on node B: p50/p99 over N rotations
(default 1,000), two nodes on one PostgreSQL (LISTEN/NOTIFY eviction).

Usage: bench/rotation.py [--rotations 1000]
Needs: a release binary (TESSERA_BIN, default target/release/tessera), PostgreSQL (PG_URL).
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests
from common import BIN, free_port, wait_until_serving

PG = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/test")
OWNER = "owner@example.com"
PASSWORD = "bench-Passw0rd-tessera"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rotations", type=int, default=1000)
    n = ap.parse_args().rotations
    work = Path(tempfile.mkdtemp(prefix="tessera-rot-"))
    db = f"tessera_rot_{secrets.token_hex(4)}"
    db_url = PG.rsplit("/", 1)[0] + "/" + db
    subprocess.run(["psql", PG, "-qc", f"CREATE DATABASE {db}"], check=True)
    procs = []
    try:
        subprocess.run([str(BIN), "init", "--org-name", "Rot", "--email", OWNER, "--data-dir", str(work),
                        "--database-url", db_url], input=PASSWORD + "\n", text=True, check=True, capture_output=True)
        sites = []
        for name in ("a", "b"):
            port = free_port()
            procs.append(subprocess.Popen(
                [str(BIN), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(work),
                 "--database-url", db_url, "--api-rate-limit", "1000000000"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TESSERA_LOG": "error"}))
            sites.append(f"http://127.0.0.1:{port}")
        for site in sites:
            wait_until_serving(site)
        a, b = requests.Session(), requests.Session()
        key = a.post(f"{sites[0]}/api/v1/fetch_api_key", data={"username": OWNER, "password": PASSWORD}).json()["api_key"]
        latencies = []
        for _ in range(n):
            assert b.get(f"{sites[1]}/api/v1/users/me", auth=(OWNER, key)).status_code == 200
            r = a.post(f"{sites[0]}/api/v1/users/me/api_key/regenerate", auth=(OWNER, key))
            done = time.perf_counter()
            new = r.json()["api_key"]
            while b.get(f"{sites[1]}/api/v1/users/me", auth=(OWNER, key)).status_code != 401:
                if time.perf_counter() - done > 5:
                    raise SystemExit("old key still accepted on B after 5 s")
            latencies.append((time.perf_counter() - done) * 1000)
            key = new
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(f"{n} rotations: regenerate on A → refused on B: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {latencies[-1]:.2f} ms")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        subprocess.run(["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
