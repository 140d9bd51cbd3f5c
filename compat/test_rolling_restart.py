"""A rolling restart of two nodes behind nginx loses no request (issue 15, item 5).

Two tessera nodes share one PostgreSQL database behind nginx, configured from
`deploy/nginx.conf.template`. Clients keep reading and sending through nginx while each node
in turn gets SIGTERM (it must exit 0 within the bound) and is started again. Every request
must succeed, and every acknowledged message must be there afterwards.

Runs only with TESSERA_TEST_DATABASE_URL (the PostgreSQL pass of scripts/test) and nginx
(scripts/test installs Debian's).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Dict, List

import pytest
import requests

from conftest import DEFAULT_BIN, free_port, psql, wait_serving

PG = os.environ.get("TESSERA_TEST_DATABASE_URL")
pytestmark = [
    pytest.mark.skipif(not PG, reason="needs PostgreSQL (TESSERA_TEST_DATABASE_URL)"),
    pytest.mark.skipif(shutil.which("nginx") is None, reason="needs nginx"),
]
BIN = os.environ.get("TESSERA_BIN", DEFAULT_BIN)
ROOT = Path(__file__).resolve().parent.parent
OWNER = "owner@example.com"
PASSWORD = "rolling-Restart-passw0rd"
SHUTDOWN_BOUND = 10.0


class Node:
    def __init__(self, name: str, port: int, db_url: str, work: Path, site: str) -> None:
        self.name, self.port, self.db_url, self.work, self.site = name, port, db_url, work, site
        self.proc: subprocess.Popen = None  # type: ignore[assignment]
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.work / f"{self.name}-{self.starts}.log"
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.work / "data"),
             "--database-url", f"{self.db_url}?application_name=tessera-{self.name}",
             "--site-url", self.site, "--api-rate-limit", "100000"],
            stdout=log.open("w"), stderr=subprocess.STDOUT)
        wait_serving(f"http://127.0.0.1:{self.port}", self.name, log)

    def stop(self) -> float:
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(SHUTDOWN_BOUND + 5)
        took = time.monotonic() - start
        assert rc == 0, f"{self.name} exited {rc}"
        return took


@pytest.fixture
def cluster(tmp_path: Path):
    db = f"tessera_py_rolling_{secrets.token_hex(4)}"
    base = urllib.parse.urlparse(PG)
    db_url = base._replace(path=f"/{db}").geturl()
    psql(PG, f"CREATE DATABASE {db}")
    port = free_port()
    site = f"http://127.0.0.1:{port}"
    subprocess.run([BIN, "init", "--org-name", "Rolling", "--email", OWNER, "--data-dir",
                    str(tmp_path / "data"), "--database-url", db_url, "--site-url", site],
                   input=PASSWORD + "\n", check=True, capture_output=True, text=True)
    nodes = [Node(n, free_port(), db_url, tmp_path, site) for n in ("node-a", "node-b")]
    for n in nodes:
        n.start()
    conf = (ROOT / "deploy" / "nginx.conf.template").read_text()
    conf = conf.replace("@PREFIX@", str(tmp_path)).replace("@LISTEN@", f"127.0.0.1:{port}")
    # As deploy/local-cluster: a node is never marked down, so one that is back is used at once
    # (a refused connection to one that is away costs one loopback connect before the next).
    conf = conf.replace("@UPSTREAMS@", "".join(f"        server 127.0.0.1:{n.port} max_fails=0;\n" for n in nodes))
    (tmp_path / "nginx.conf").write_text(conf)
    nginx = subprocess.Popen(["nginx", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path),
                              "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_serving(site, "nginx", tmp_path / "error.log")
        yield site, nodes
    finally:
        nginx.terminate()
        nginx.wait(10)
        for n in nodes:
            if n.proc and n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait(10)
        psql(PG, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def test_rolling_restart_loses_no_request(cluster) -> None:
    site, nodes = cluster
    key = requests.post(f"{site}/api/v1/fetch_api_key", data={"username": OWNER, "password": PASSWORD},
                        timeout=30).json()["api_key"]
    auth = (OWNER, key)
    stop = threading.Event()
    failures: List[str] = []
    acknowledged: List[int] = []
    counts: Dict[str, int] = {"reads": 0, "sends": 0}
    lock = threading.Lock()

    def client(n: int) -> None:
        s = requests.Session()
        i = 0
        while not stop.is_set():
            i += 1
            try:
                if i % 2:
                    r = s.get(f"{site}/api/v1/users/me", auth=auth, timeout=30)
                    kind = "reads"
                else:
                    r = s.post(f"{site}/api/v1/messages", auth=auth, timeout=30,
                               data={"type": "stream", "to": "general", "topic": "rolling",
                                     "content": f"client {n} message {i}"})
                    kind = "sends"
                if r.status_code != 200:
                    failures.append(f"{kind}: {r.status_code} {r.text[:120]}")
                    continue
                with lock:
                    counts[kind] += 1
                    if kind == "sends":
                        acknowledged.append(r.json()["id"])
            except requests.RequestException as e:
                failures.append(f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    took = []
    try:
        time.sleep(1.5)
        for node in nodes:
            took.append(node.stop())
            time.sleep(1.0)  # one node serves alone for a moment
            node.start()
            time.sleep(1.5)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert not failures, failures[:10]
    assert counts["reads"] > 50 and counts["sends"] > 50, counts
    assert all(t < SHUTDOWN_BOUND for t in took), took
    # Every acknowledged message is there.
    r = requests.get(f"{site}/api/v1/messages", auth=auth, timeout=60,
                     params={"anchor": "newest", "num_before": 5000, "num_after": 0,
                             "narrow": '[{"operator":"topic","operand":"rolling"}]'}).json()
    stored = {m["id"] for m in r["messages"]}
    missing = [m for m in acknowledged if m not in stored]
    assert not missing, missing[:10]
    print(f"rolling restart: {counts}, shutdowns took {[f'{t:.2f}s' for t in took]}")
