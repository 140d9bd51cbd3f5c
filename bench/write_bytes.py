#!/usr/bin/env python3
"""Bytes the server writes per request, by kind (issue 15's soak investigation).

    bench/write_bytes.py [--engine sqlite|postgres] [--rounds 3] [--requests 300]

Starts a release `tessera serve` on a fresh store with 40 people, then for each round measures
the server's `/proc/<pid>/io` `wchar` and `syscw` over N sends to `general`, N bad keys, N
`users/me` and N `GET /messages`, and adds 3,000 more sends so that the next round runs on a
larger database. `wchar` counts every write the process makes: database files, the WAL,
temporary files and sockets, so reads show their response bytes. Needs the release binary
(cargo build --release -p tessera).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import soak  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tessera-write-bytes-"))
    server = soak.Server(args.engine, work)
    try:
        people = []
        for i in range(40):
            email, password = f"p{i}@example.com", f"write-bytes-{i}-Passw0rd"
            server.create_user(email, password)
            r = requests.post(f"{server.site}/api/v1/fetch_api_key",
                              data={"username": email, "password": password}, timeout=30)
            people.append((email, r.json()["api_key"]))
        s = requests.Session()
        email, key = people[0]

        def io() -> tuple[int, int]:
            fields = dict(line.split(": ") for line in
                          Path(f"/proc/{server.proc.pid}/io").read_text().splitlines())
            return int(fields["wchar"]), int(fields["syscw"])

        def send(i: int) -> None:
            r = s.post(f"{server.site}/api/v1/messages", auth=(email, key), timeout=30,
                       data={"type": "stream", "to": "general", "topic": "bytes",
                             "content": f"hello {i} " * 5})
            assert r.status_code == 200, r.text

        def bad_key(i: int) -> None:
            s.get(f"{server.site}/api/v1/users/me", auth=(email, "x" * 32), timeout=30)

        def users_me(i: int) -> None:
            s.get(f"{server.site}/api/v1/users/me", auth=people[i % 40], timeout=30)

        def messages(i: int) -> None:
            s.get(f"{server.site}/api/v1/messages", auth=people[i % 40], timeout=30,
                  params={"anchor": "newest", "num_before": 20, "num_after": 0, "narrow": "[]"})

        for rnd in range(1, args.rounds + 1):
            for name, call in [("send", send), ("bad key", bad_key), ("users/me", users_me),
                               ("GET /messages", messages)]:
                w0, c0 = io()
                for i in range(args.requests):
                    call(i)
                time.sleep(0.5)
                w1, c1 = io()
                print(f"round {rnd} {name}: {(w1 - w0) / args.requests / 1024:.1f} KiB, "
                      f"{(c1 - c0) / args.requests:.1f} write calls per request")
            for i in range(3000):
                send(i)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
