"""Two tessera nodes on one PostgreSQL: a key regenerated through node A is refused by node B
at once (LISTEN/NOTIFY), and still within the bound after B's listener connection is killed
(the listener reconnects and flushes its cache; polling and a 30 s cache TTL back it up).

Runs only with TESSERA_TEST_DATABASE_URL (the PostgreSQL pass of scripts/test).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from conftest import DEFAULT_BIN, free_port, psql, wait_serving

PG = os.environ.get("TESSERA_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG, reason="needs PostgreSQL (TESSERA_TEST_DATABASE_URL)")
BIN = os.environ.get("TESSERA_BIN", DEFAULT_BIN)
OWNER = "owner@example.com"
PASSWORD = "multi-Node-passw0rd"
BOUND_SECONDS = 5.0


def with_app_name(url: str, name: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}application_name={name}"


class Node:
    def __init__(self, name: str, db_url: str, data: Path, secret: Path) -> None:
        self.name = name
        self.port = free_port()
        self.site = f"http://127.0.0.1:{self.port}"
        self.log = data / f"{name}.log"
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data),
             "--database-url", with_app_name(db_url, f"tessera-{name}"),
             "--secret-file", str(secret), "--site-url", "http://127.0.0.1:1"],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            env={**os.environ, "TESSERA_LOG": "info,sqlx=warn"},
        )
        wait_serving(self.site, name, self.log)

    def me(self, key: str) -> requests.Response:
        return requests.get(f"{self.site}/api/v1/users/me", auth=(OWNER, key), timeout=5)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def refused_within(node: Node, key: str, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        r = node.me(key)
        if r.status_code == 401:
            assert r.json()["msg"] == "Invalid API key"
            return time.monotonic() - start
        time.sleep(0.01)
    raise AssertionError(f"{node.name} still accepts the old key after {seconds}s")


@pytest.fixture
def cluster(tmp_path: Path):
    db = f"tessera_py_multi_{secrets.token_hex(4)}"
    base = urllib.parse.urlparse(PG)
    db_url = base._replace(path=f"/{db}").geturl()
    psql(PG, f"CREATE DATABASE {db}")
    data = tmp_path / "data"
    subprocess.run([BIN, "init", "--org-name", "Multi", "--email", OWNER, "--data-dir", str(data),
                    "--database-url", db_url], input=PASSWORD + "\n", check=True,
                   capture_output=True, text=True)
    secret = data / "secret.key"
    nodes = [Node("node-a", db_url, data, secret), Node("node-b", db_url, data, secret)]
    try:
        yield db_url, nodes
    finally:
        for n in nodes:
            n.stop()
        psql(PG, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def test_regeneration_on_a_is_refused_on_b(cluster) -> None:
    db_url, (a, b) = cluster
    key = requests.post(f"{a.site}/api/v1/fetch_api_key", data={"username": OWNER, "password": PASSWORD}, timeout=10).json()["api_key"]
    assert b.me(key).status_code == 200  # cached on B
    new = requests.post(f"{a.site}/api/v1/users/me/api_key/regenerate", auth=(OWNER, key), timeout=10).json()["api_key"]
    took = refused_within(b, key, BOUND_SECONDS)
    assert took < 1.0, f"NOTIFY should evict at once; took {took:.3f}s"
    assert b.me(new).status_code == 200

    # Kill B's LISTEN connection, then rotate again through A: B must still refuse the old
    # key within the bound.
    killed = psql(PG, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE application_name = 'tessera-node-b' AND query ILIKE 'LISTEN%'").strip()
    assert int(killed) >= 1, "B's listener connection was found and killed"
    newer = requests.post(f"{a.site}/api/v1/users/me/api_key/regenerate", auth=(OWNER, new), timeout=10).json()["api_key"]
    took = refused_within(b, new, BOUND_SECONDS)
    assert b.me(newer).status_code == 200
    # And B's listener is back: a third rotation is seen at once again.
    time.sleep(0.5)
    assert b.me(newer).status_code == 200
    newest = requests.post(f"{a.site}/api/v1/users/me/api_key/regenerate", auth=(OWNER, newer), timeout=10).json()["api_key"]
    assert refused_within(b, newer, BOUND_SECONDS) < 1.0
    assert b.me(newest).status_code == 200
    assert a.proc.poll() is None and b.proc.poll() is None


def test_events_reach_queues_on_every_node(cluster) -> None:
    db_url, (a, b) = cluster
    key = requests.post(f"{a.site}/api/v1/fetch_api_key", data={"username": OWNER, "password": PASSWORD}, timeout=10).json()["api_key"]
    auth = (OWNER, key)
    reg = requests.post(f"{b.site}/api/v1/register", data={"event_types": '["message"]'}, auth=auth, timeout=10).json()
    assert reg["result"] == "success", reg
    sent = requests.post(f"{a.site}/api/v1/messages", data={"type": "stream", "to": "general", "topic": "nodes", "content": "from node A"}, auth=auth, timeout=10).json()
    assert sent["result"] == "success", sent
    # A long poll on B returns the message sent through A.
    events = requests.get(f"{b.site}/api/v1/events", params={"queue_id": reg["queue_id"], "last_event_id": -1}, auth=auth, timeout=70).json()
    assert events["result"] == "success", events
    messages = [e for e in events["events"] if e["type"] == "message"]
    assert messages and messages[0]["message"]["id"] == sent["id"], events
    assert messages[0]["message"]["content"] == "from node A"
    # Regenerating the key through A drops B's queues too.
    new = requests.post(f"{a.site}/api/v1/users/me/api_key/regenerate", auth=auth, timeout=10).json()["api_key"]
    deadline = time.time() + BOUND_SECONDS
    while time.time() < deadline:
        r = requests.get(f"{b.site}/api/v1/events", params={"queue_id": reg["queue_id"], "last_event_id": 0, "dont_block": "true"}, auth=(OWNER, new), timeout=10).json()
        if r.get("code") == "BAD_EVENT_QUEUE_ID":
            break
        time.sleep(0.05)
    else:
        raise AssertionError("B's queue survived the key change")


def test_key_changes_on_a_reach_b(cluster) -> None:
    """Item 7 of #14: a named key revoked, a device signed out, and a bot's overlap ended
    through node A are refused by node B within the bound (at once, by NOTIFY)."""
    db_url, (a, b) = cluster
    account = requests.post(f"{a.site}/api/v1/fetch_api_key", data={"username": OWNER, "password": PASSWORD}, timeout=10).json()["api_key"]
    auth = (OWNER, account)
    named = requests.post(f"{a.site}/api/v1/users/me/api_keys", data={"name": "ci", "scope": "read"}, auth=auth, timeout=10).json()
    device = requests.post(f"{b.site}/api/v1/fetch_api_key", data={"username": OWNER, "password": PASSWORD}, headers={"User-Agent": "ZulipMobile/27.200 (Android 14)"}, timeout=10).json()["api_key"]
    for key in (named["api_key"], device):
        assert b.me(key).status_code == 200  # cached on B
    # A named key's scope holds on B as on A: a send is a 403, not a logout.
    r = requests.post(f"{b.site}/api/v1/messages", data={"type": "stream", "to": "general", "topic": "t", "content": "x"}, auth=(OWNER, named["api_key"]), timeout=10)
    assert r.status_code == 403 and r.json()["code"] == "API_KEY_SCOPE", r.text
    requests.delete(f"{a.site}/api/v1/users/me/api_keys/{named['key']['id']}", auth=auth, timeout=10).raise_for_status()
    assert refused_within(b, named["api_key"], BOUND_SECONDS) < 1.0
    listed = requests.get(f"{a.site}/api/v1/users/me/api_keys", auth=auth, timeout=10).json()["api_keys"]
    phone = next(k for k in listed if k["kind"] == "device")
    requests.delete(f"{a.site}/api/v1/users/me/api_keys/{phone['id']}", auth=auth, timeout=10).raise_for_status()
    assert refused_within(b, device, BOUND_SECONDS) < 1.0
    assert b.me(account).status_code == 200

    # A bot regenerated with an overlap: its first use of the new key on A ends the old key
    # on B.
    bot = requests.post(f"{a.site}/api/v1/bots", data={"bot_type": "1", "full_name": "Overlap Bot", "short_name": "overlap"}, auth=auth, timeout=10).json()
    bot_email = requests.get(f"{a.site}/api/v1/users/{bot['user_id']}", auth=auth, timeout=10).json()["user"]["email"]
    old = bot["api_key"]
    new = requests.post(f"{a.site}/api/v1/bots/{bot['user_id']}/api_key/regenerate", data={"overlap_seconds": "3600"}, auth=auth, timeout=10).json()["api_key"]
    bme = lambda node, key: requests.get(f"{node.site}/api/v1/users/me", auth=(bot_email, key), timeout=5)
    assert bme(b, old).status_code == 200, "the old key still works on B during the overlap"
    assert bme(a, new).status_code == 200
    start = time.monotonic()
    while bme(b, old).status_code != 401:
        assert time.monotonic() - start < BOUND_SECONDS, "B still accepts the bot's old key"
        time.sleep(0.01)
