#!/usr/bin/env python3
"""Crash-safety test for tessera: SIGKILL the server at random points under load.

One data store (SQLite in a data folder, or a fresh PostgreSQL database) lives for the whole
run. Worker threads each own a few member accounts (created with the CLI before the first
start) and the bots those members create, and loop over random operations against the running
server: rotate a member's key, create a bot, rotate a bot's key, change a member's password
(web session + PATCH /json/settings), probe a key. Every state-changing operation records its
intent before the request is sent and its acknowledgement only once a 2xx response body has
been received completely.

A killer sleeps a random 50-600 ms after the server is ready and SIGKILLs it. Workers see
transport errors; the operation each of them had in flight becomes an "unknown outcome" (it
may or may not have landed). With all workers parked, the store is checked while the server
is down (SQLite: PRAGMA integrity_check / foreign_key_check on a read-only connection;
PostgreSQL: consistency queries; both: the audit log and the users table are read), the
server is restarted on the same store, and everything is verified:

* every account (owner, members, bots): the key the server has is the last acknowledged one,
  or — only when a rotation was in flight — a new key the client never saw; exactly one key
  authenticates (the current one; superseded keys are refused); the key the server reveals
  (fetch_api_key for people, GET /bots/{id}/api_key for bots) is that same key;
* every acknowledged bot exists and works; a bot whose creation was in flight either exists
  completely (user row, audit 101, a working key) or not at all;
* passwords: exactly one of {last acknowledged password, in-flight new password} logs in
  through fetch_api_key (at most two attempts per account and restart);
* audit log: per account, the number of 127 (key changed) and 122 (password changed) rows is
  exactly the acknowledged changes plus the in-flight ones found to have landed (so within
  [acknowledged, acknowledged + unknown]); 101 (user created) rows are exactly the known
  accounts, one each;
* every account is in the users table (active, right owner) and subscribed to the default
  channels — also a bot whose creation was in flight and landed: creating an account must not
  be left half done by a crash (`--no-onboarding-check` skips this one);
* `tessera healthcheck --url` succeeds.

Workers then adopt whatever the server has and go on. After the last kill a final sweep checks
every account again against (a large sample of) every key ever issued, the server is stopped
gracefully and the store is checked once more.

The first violation stops the run with a description, the account's recent history and the
tail of the server log; the exit status is then 1 (2 for a setup problem).

Run it through scripts/crash-test (`--kills N --engine sqlite|postgres`). `--seed` fixes the
operation mix and the kill delays; where a kill lands still depends on timing.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Set, Tuple

import requests

DEFAULT_BIN = "/work/main/target/debug/tessera"
DEFAULT_PG = os.environ.get(
    "TESSERA_CRASH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)

OWNER_EMAIL = "owner@example.com"
ORG_NAME = "Crash Test"

EV_USER_CREATED = 101
EV_USER_DEACTIVATED = 103
EV_PASSWORD_CHANGED = 122
EV_KEY_CHANGED = 127
AUDIT_EVENTS = (EV_USER_CREATED, EV_USER_DEACTIVATED, EV_PASSWORD_CHANGED, EV_KEY_CHANGED)

HTTP_TIMEOUT = (5.0, 30.0)
STARTUP_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0
MEMBERS_PER_WORKER = 2
ACTIVE_BOTS_PER_WORKER = 4  # a worker's ops use its newest bots; older ones are "retired"
RETIRED_SAMPLE = 3  # retired bots checked per worker and restart (all in the final sweep)
OLD_KEYS_PER_ACCOUNT = 4  # superseded keys re-tried per touched account and restart
FINAL_OLD_KEYS = 6000  # superseded keys re-tried in the final sweep (random sample if more)

API_KEY_RE = re.compile(r"[A-Za-z0-9]{32}")
CSRF_META_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Violation(Exception):
    """A crash-safety property does not hold (or the server misbehaved)."""


class SetupError(Exception):
    """The test could not be set up (not a finding about the server)."""


class Transport(Exception):
    """A request failed below HTTP: the server went away (or was never there).

    `refused`: the connection was refused, so the request never reached any server (requests
    does not retry, so it cannot have been sent on another connection either)."""

    def __init__(self, msg: str, refused: bool) -> None:
        super().__init__(msg)
        self.refused = refused


def new_password() -> str:
    # Long and random: far above the zxcvbn threshold.
    return "Crash-" + secrets.token_urlsafe(15) + "-9z"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxies, no ~/.netrc
    return s


def short(key: Optional[str]) -> str:
    return "-" if key is None else key[:6] + "…"


# ----------------------------------------------------------------------------- statistics
class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.c: Dict[str, int] = collections.Counter()

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.c[name] += n

    def get(self, name: str) -> int:
        with self.lock:
            return self.c[name]

    def total(self, prefix: str) -> int:
        with self.lock:
            return sum(v for k, v in self.c.items() if k.startswith(prefix))

    def by_prefix(self, prefix: str) -> Dict[str, int]:
        with self.lock:
            return {k[len(prefix):]: v for k, v in sorted(self.c.items()) if k.startswith(prefix)}


STATS = Stats()


# ----------------------------------------------------------------------------- model
@dataclass
class Pending:
    """An operation whose request may have reached the server but was never acknowledged."""

    kind: str  # "rotate" | "password"
    kill_no: int  # the kill interval it was sent in (1-based: before kill #kill_no)
    new_password: Optional[str] = None
    refused: bool = False  # the connection was refused: it cannot have landed


@dataclass
class PendingBot:
    owner: "Account"
    full_name: str
    short_name: str
    email: str
    kill_no: int
    refused: bool = False


@dataclass
class Account:
    kind: str  # "owner" | "member" | "bot"
    email: str
    user_id: int
    key: str  # the key the server has: last acknowledged, or adopted after a restart
    password: Optional[str] = None  # people: last acknowledged (or adopted) password
    prev_password: Optional[str] = None
    owner: Optional["Account"] = None  # bots
    issued: List[str] = field(default_factory=list)  # every key ever seen, oldest first
    fresh_old: List[str] = field(default_factory=list)  # superseded since the last restart
    acked_rotations: int = 0
    landed_rotations: int = 0  # unknown-outcome rotations found to have landed
    acked_passwords: int = 0
    landed_passwords: int = 0
    password_touched: bool = False  # a password op since the last restart
    touched: bool = False  # any op since the last restart
    retired: bool = False
    pending: Optional[Pending] = None
    history: collections.deque = field(default_factory=lambda: collections.deque(maxlen=14))

    def __post_init__(self) -> None:
        if not self.issued:
            self.issued.append(self.key)

    def note(self, kill_no: int, text: str) -> None:
        self.history.append(f"interval {kill_no}: {text}")

    def adopt_key(self, key: str) -> None:
        if key != self.key:
            self.fresh_old.append(self.key)
            self.key = key
            if key not in self.issued:
                self.issued.append(key)

    def describe(self) -> str:
        lines = [
            f"account {self.email} (user id {self.user_id}, {self.kind}"
            + (f", owner {self.owner.email}" if self.owner else "")
            + ")",
            f"  current key {short(self.key)} = issued key #{self.issued.index(self.key) + 1}"
            f" of {len(self.issued)}; rotations acknowledged {self.acked_rotations}, "
            f"unknown-and-landed {self.landed_rotations}",
        ]
        if self.kind != "bot":
            lines.append(
                f"  password changes acknowledged {self.acked_passwords}, "
                f"unknown-and-landed {self.landed_passwords}"
            )
        if self.pending:
            lines.append(f"  in flight at the kill: {self.pending.kind} (sent in interval "
                         f"{self.pending.kill_no})")
        lines.append("  recent history:")
        lines.extend("    " + h for h in self.history)
        return "\n".join(lines)


@dataclass
class StoreState:
    """What the store holds, read while the server is down."""

    audit: Dict[Tuple[int, int], int]  # (modified_user_id, event_type) -> rows
    users: Dict[int, Tuple[str, str, bool, Optional[int], bool]]  # id -> email, name, bot, owner, active
    by_email: Dict[str, int]
    missing_default_subs: Set[int]  # users not subscribed to every default channel

    def count(self, user_id: int, event: int) -> int:
        return self.audit.get((user_id, event), 0)


# ----------------------------------------------------------------------------- the store
class Store:
    def __init__(self, engine: str, binary: str, data_dir: Path, pg_base: str) -> None:
        self.engine = engine
        self.binary = binary
        self.data_dir = data_dir
        self.pg_base = pg_base
        self.db_url: Optional[str] = None
        self.db_name: Optional[str] = None

    # --- lifecycle
    def create(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.engine == "postgres":
            self.db_name = "tessera_crash_" + secrets.token_hex(6)
            self._psql_admin(f"CREATE DATABASE {self.db_name}")
            parts = urllib.parse.urlparse(self.pg_base)
            self.db_url = urllib.parse.urlunparse(parts._replace(path="/" + self.db_name))

    def drop(self) -> None:
        if self.engine == "postgres" and self.db_name:
            try:
                self._psql_admin(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
            except SetupError as e:
                print(f"warning: could not drop {self.db_name}: {e}", file=sys.stderr)
            self.db_name = None

    def _psql_admin(self, sql: str) -> None:
        cp = subprocess.run(
            ["psql", "-X", "-q", self.pg_base, "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=CLI_TIMEOUT,
        )
        if cp.returncode != 0:
            raise SetupError(f"psql {sql!r} failed: {cp.stderr.strip()}")

    def store_args(self) -> List[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.db_url:
            args += ["--database-url", self.db_url]
        return args

    def cli(self, *args: str, stdin: str = "") -> str:
        argv = [self.binary, *args, *self.store_args()]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        cp = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env,
                            timeout=CLI_TIMEOUT)
        if cp.returncode != 0:
            raise SetupError(
                f"command failed (exit {cp.returncode}): {' '.join(argv)}\n{cp.stdout}{cp.stderr}"
            )
        return cp.stdout

    # --- reading (server stopped)
    def read_state(self) -> StoreState:
        if self.engine == "sqlite":
            return self._read_sqlite()
        return self._read_postgres()

    CONSISTENCY = [
        ("users without a realm",
         "SELECT count(*) FROM users u LEFT JOIN realms r ON r.id = u.realm_id "
         "WHERE r.id IS NULL"),
        ("api_key_digest values shared by several users",
         "SELECT count(*) FROM (SELECT api_key_digest FROM users GROUP BY api_key_digest "
         "HAVING count(*) > 1) d"),
        ("users without a key (empty digest or sealed copy)",
         "SELECT count(*) FROM users WHERE api_key_digest IS NULL OR length(api_key_digest) = 0 "
         "OR api_key_sealed IS NULL OR length(api_key_sealed) = 0"),
        ("bots whose owner does not exist",
         "SELECT count(*) FROM users b LEFT JOIN users o ON o.id = b.bot_owner_id "
         "WHERE b.bot_owner_id IS NOT NULL AND o.id IS NULL"),
        ("audit rows about a user that does not exist",
         "SELECT count(*) FROM audit_log a LEFT JOIN users u ON u.id = a.modified_user_id "
         "WHERE a.modified_user_id IS NOT NULL AND u.id IS NULL"),
        ("audit rows of a realm that does not exist",
         "SELECT count(*) FROM audit_log a LEFT JOIN realms r ON r.id = a.realm_id "
         "WHERE r.id IS NULL"),
    ]
    AUDIT_SQL = (
        "SELECT modified_user_id, event_type, count(*) FROM audit_log "
        "WHERE modified_user_id IS NOT NULL AND event_type IN (101, 103, 122, 127) "
        "GROUP BY modified_user_id, event_type"
    )
    # Accounts whose channels are not what a completed creation gives: a person not in every
    # default channel, or a bot in any channel (bots join none, as in Zulip; this test never
    # subscribes one).
    MISSING_SUBS_SQL = (
        "SELECT u.id FROM users u WHERE NOT u.is_bot AND EXISTS (SELECT 1 FROM streams s WHERE "
        "s.realm_id = u.realm_id AND s.is_default AND NOT EXISTS (SELECT 1 FROM subscriptions x "
        "WHERE x.user_id = u.id AND x.stream_id = s.id)) "
        "UNION SELECT u.id FROM users u WHERE u.is_bot AND EXISTS "
        "(SELECT 1 FROM subscriptions x WHERE x.user_id = u.id)"
    )
    USERS_SQL = (
        "SELECT id, email, full_name, CASE WHEN is_bot THEN 1 ELSE 0 END, "
        "COALESCE(bot_owner_id, 0), CASE WHEN is_active THEN 1 ELSE 0 END FROM users"
    )

    @staticmethod
    def _state(audit_rows, user_rows, missing_rows) -> StoreState:
        audit = {(int(u), int(e)): int(n) for u, e, n in audit_rows}
        users = {}
        by_email = {}
        for uid, email, name, bot, owner, active in user_rows:
            users[int(uid)] = (email, name, bool(int(bot)), int(owner) or None, bool(int(active)))
            by_email[email.lower()] = int(uid)
        return StoreState(audit=audit, users=users, by_email=by_email,
                          missing_default_subs={int(r[0]) for r in missing_rows})

    def _read_sqlite(self) -> StoreState:
        path = self.data_dir / "tessera.db"
        uri = "file:" + urllib.parse.quote(str(path)) + "?mode=ro"
        try:
            con = sqlite3.connect(uri, uri=True, timeout=10)
        except sqlite3.Error as e:
            raise Violation(f"SQLite: cannot open {path} read-only after the kill: {e}")
        try:
            integrity = [r[0] for r in con.execute("PRAGMA integrity_check").fetchall()]
            STATS.add("check:integrity")
            if integrity != ["ok"]:
                raise Violation("SQLite PRAGMA integrity_check failed:\n  " +
                                "\n  ".join(map(str, integrity[:30])))
            fk = con.execute("PRAGMA foreign_key_check").fetchall()
            if fk:
                raise Violation("SQLite PRAGMA foreign_key_check reports rows:\n  " +
                                "\n  ".join(map(str, fk[:30])))
            for what, sql in self.CONSISTENCY:
                n = con.execute(sql).fetchone()[0]
                if n:
                    raise Violation(f"store consistency: {n} {what}")
            return self._state(con.execute(self.AUDIT_SQL).fetchall(),
                               con.execute(self.USERS_SQL).fetchall(),
                               con.execute(self.MISSING_SUBS_SQL).fetchall())
        except sqlite3.Error as e:
            raise Violation(f"SQLite: reading the store after the kill failed: {e}")
        finally:
            con.close()

    def _wait_backends_gone(self) -> None:
        """Wait until the killed server's PostgreSQL sessions have ended: a COMMIT it sent just
        before dying is then either done or abandoned, so what we read is what will stay."""
        assert self.db_url
        deadline = time.monotonic() + 30
        while True:
            cp = subprocess.run(
                ["psql", "-X", "-q", "-A", "-t", self.db_url, "-c",
                 "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND pid <> pg_backend_pid()"],
                capture_output=True, text=True, timeout=CLI_TIMEOUT)
            if cp.returncode == 0 and cp.stdout.strip() == "0":
                return
            if time.monotonic() > deadline:
                raise Violation(f"PostgreSQL sessions of the killed server still there after "
                                f"30 s: {cp.stdout.strip()} {cp.stderr.strip()}")
            time.sleep(0.02)

    def _read_postgres(self) -> StoreState:
        assert self.db_url
        self._wait_backends_gone()
        script = ["\\echo @@checks"]
        script += [f"{sql};" for _, sql in self.CONSISTENCY]
        script += ["\\echo @@audit", self.AUDIT_SQL + ";", "\\echo @@users", self.USERS_SQL + ";",
                   "\\echo @@missing", self.MISSING_SUBS_SQL + ";"]
        cp = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", self.db_url],
            input="\n".join(script) + "\n", capture_output=True, text=True, timeout=CLI_TIMEOUT,
        )
        if cp.returncode != 0:
            raise Violation(f"PostgreSQL: reading the store after the kill failed: {cp.stderr}")
        STATS.add("check:integrity")
        sections: Dict[str, List[List[str]]] = {}
        cur: Optional[str] = None
        for line in cp.stdout.splitlines():
            if line.startswith("@@"):
                cur = line[2:]
                sections[cur] = []
            elif line and cur is not None:
                sections[cur].append(line.split("\t"))
        checks = sections.get("checks", [])
        if len(checks) != len(self.CONSISTENCY):
            raise Violation(f"PostgreSQL consistency queries: unexpected output {cp.stdout!r}")
        for (what, _), row in zip(self.CONSISTENCY, checks):
            if int(row[0]):
                raise Violation(f"store consistency (PostgreSQL): {row[0]} {what}")
        return self._state(sections.get("audit", []), sections.get("users", []),
                           sections.get("missing", []))


# ----------------------------------------------------------------------------- the server
class Server:
    def __init__(self, binary: str, store: Store, port: int, log_path: Path) -> None:
        self.binary = binary
        self.store = store
        self.port = port
        self.site = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    def start(self, label: str) -> float:
        assert self.proc is None
        self.starts += 1
        argv = [
            self.binary, "serve", *self.store.store_args(),
            "--listen", f"127.0.0.1:{self.port}",
            "--api-rate-limit", "1000000",
            # The verification's deliberate wrong-password logins (a superseded or a not-landed
            # password must fail) add up over hundreds of restarts, and the failure log lives in
            # the store, so restarts do not reset it. The per-username limit stays as it is:
            # every verification ends an account's attempts with a success, which clears it.
            "--auth-failures-per-ip", "1000000000",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env["TESSERA_LOG"] = os.environ.get("TESSERA_LOG", "info,sqlx=warn")
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== crash-test: start #{self.starts} ({label}) =====\n".encode())
            log.flush()
            t0 = time.monotonic()
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env)
        self._wait_ready()
        return time.monotonic() - t0

    def _wait_ready(self) -> None:
        assert self.proc is not None
        url = self.site + "/api/v1/server_settings"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = "no attempt"
        with http_session() as s:
            while True:
                rc = self.proc.poll()
                if rc is not None:
                    self.proc = None
                    raise Violation(f"tessera serve exited with code {rc} while starting "
                                    f"(start #{self.starts})")
                try:
                    r = s.get(url, timeout=2)
                    if r.status_code == 200 and r.json().get("result") == "success":
                        return
                    last = f"HTTP {r.status_code}: {r.text[:300]}"
                except (requests.RequestException, ValueError) as e:
                    last = repr(e)
                if time.monotonic() > deadline:
                    raise Violation(f"tessera serve did not become ready within "
                                    f"{STARTUP_TIMEOUT:.0f}s (start #{self.starts}); last: {last}")
                time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL the server (by pid) and reap it."""
        assert self.proc is not None
        proc, self.proc = self.proc, None
        rc = proc.poll()
        if rc is not None:
            raise Violation(f"tessera serve exited on its own with code {rc} before the kill "
                            f"(start #{self.starts})")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> Optional[int]:
        """Graceful stop (SIGTERM, then SIGKILL after 10 s); returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                return None
        return proc.returncode

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])


# ----------------------------------------------------------------------------- HTTP helpers
def call(fn: Callable[[], requests.Response], what: str) -> requests.Response:
    """Run one request; transport failures become Transport, a hang a Violation."""
    try:
        r = fn()
        _ = r.content  # the whole body
        return r
    except requests.exceptions.ReadTimeout as e:
        raise Violation(f"{what}: no answer within {HTTP_TIMEOUT[1]:.0f}s (server hung?): {e}")
    except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError) as e:
        raise Transport(f"{what}: {e.__class__.__name__}: {e}", connection_refused(e))


def connection_refused(e: BaseException) -> bool:
    """Whether a requests error is a refused connection (the request was never sent)."""
    seen: Set[int] = set()
    stack: List[object] = [e]
    while stack:
        x = stack.pop()
        if id(x) in seen or x is None:
            continue
        seen.add(id(x))
        if isinstance(x, ConnectionRefusedError):
            return True
        if isinstance(x, BaseException):
            stack.extend(x.args)
            stack.append(x.__cause__)
            stack.append(x.__context__)
        reason = getattr(x, "reason", None)
        if reason is not None:
            stack.append(reason)
    return False


def success_json(r: requests.Response, what: str) -> dict:
    """The JSON of a fully received 2xx success answer, else a Violation."""
    try:
        data = r.json()
    except ValueError:
        data = None
    if not (200 <= r.status_code < 300) or not isinstance(data, dict) \
            or data.get("result") != "success":
        raise Violation(f"{what}: unexpected answer HTTP {r.status_code}: {r.text[:500]}")
    return data


def need_key(data: dict, what: str) -> str:
    key = data.get("api_key")
    if not (isinstance(key, str) and API_KEY_RE.fullmatch(key)):
        raise Violation(f"{what}: no valid api_key in {data!r}")
    return key


def key_works(http: requests.Session, site: str, acct: Account, key: str) -> bool:
    """GET /users/me with `key`: True (200, the right user), False (401), else a Violation."""
    what = f"GET /api/v1/users/me as {acct.email} with key {short(key)}"
    r = call(lambda: http.get(site + "/api/v1/users/me", auth=(acct.email, key),
                              timeout=HTTP_TIMEOUT), what)
    STATS.add("check:key-auth")
    if r.status_code == 401:
        return False
    data = success_json(r, what)
    if data.get("user_id") != acct.user_id:
        raise Violation(f"{what}: authenticated as user {data.get('user_id')}, expected "
                        f"{acct.user_id}\n{acct.describe()}")
    return True


def password_login(http: requests.Session, site: str, acct: Account,
                   password: str) -> Optional[str]:
    """POST /fetch_api_key: the revealed key on success, None on 401, else a Violation."""
    what = f"POST /api/v1/fetch_api_key for {acct.email}"
    r = call(lambda: http.post(site + "/api/v1/fetch_api_key",
                               data={"username": acct.email, "password": password},
                               timeout=HTTP_TIMEOUT), what)
    STATS.add("check:password-login")
    if r.status_code == 401:
        return None
    data = success_json(r, what)
    if data.get("user_id") != acct.user_id:
        raise Violation(f"{what}: answered for user {data.get('user_id')}, expected "
                        f"{acct.user_id}")
    return need_key(data, what)


def reveal_bot_key(http: requests.Session, site: str, bot: Account) -> str:
    assert bot.owner is not None
    what = f"GET /api/v1/bots/{bot.user_id}/api_key as its owner {bot.owner.email}"
    r = call(lambda: http.get(site + f"/api/v1/bots/{bot.user_id}/api_key",
                              auth=(bot.owner.email, bot.owner.key), timeout=HTTP_TIMEOUT), what)
    STATS.add("check:reveal")
    return need_key(success_json(r, what), what)


# ----------------------------------------------------------------------------- coordination
class Controller:
    """Runs and parks the workers; records the first failure."""

    def __init__(self, n_workers: int) -> None:
        self.cond = threading.Condition()
        self.running = False
        self.stopping = False
        self.epoch = 0
        self.kill_no = 1  # the kill the current interval ends with
        self.site = ""
        self.idle: Set[int] = set()
        self.n_workers = n_workers
        self.failure: Optional[str] = None

    def fail(self, msg: str) -> None:
        with self.cond:
            if self.failure is None:
                self.failure = msg
            self.stopping = True
            self.cond.notify_all()

    def resume(self, site: str, kill_no: int) -> None:
        with self.cond:
            self.epoch += 1
            self.site = site
            self.kill_no = kill_no
            self.running = True
            self.cond.notify_all()

    def pause(self) -> None:
        with self.cond:
            self.running = False
            self.cond.notify_all()

    def shutdown(self) -> None:
        with self.cond:
            self.stopping = True
            self.running = False
            self.cond.notify_all()

    def wait_all_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.idle) < self.n_workers and self.failure is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early if a worker reports a failure."""
        deadline = time.monotonic() + seconds
        with self.cond:
            while self.failure is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.cond.wait(left)

    # --- called by workers
    def wait_for_run(self, wid: int) -> Optional[Tuple[int, str, int]]:
        with self.cond:
            self.idle.add(wid)
            self.cond.notify_all()
            while not self.running and not self.stopping:
                self.cond.wait()
            if self.stopping:
                return None
            self.idle.discard(wid)
            return self.epoch, self.site, self.kill_no

    def wait_after_transport_error(self, wid: int, epoch: int) -> None:
        """The server is gone: park until the controller has restarted it (a later epoch)."""
        with self.cond:
            self.idle.add(wid)
            self.cond.notify_all()
            while self.epoch == epoch and not self.stopping:
                self.cond.wait()


# ----------------------------------------------------------------------------- workers
class Worker(threading.Thread):
    def __init__(self, wid: int, ctl: Controller, members: List[Account], seed: int,
                 bot_domain_ref: Dict[str, str]) -> None:
        super().__init__(name=f"worker-{wid}", daemon=True)
        self.wid = wid
        self.ctl = ctl
        self.members = members
        self.bots: List[Account] = []  # every bot this worker's members own (incl. retired)
        self.pending_bot: Optional[PendingBot] = None
        self.rng = random.Random(seed)
        self.bot_seq = 0
        self.bot_domain_ref = bot_domain_ref
        self.site = ""
        self.kill_no = 0
        self.http: Optional[requests.Session] = None
        self.final_old_keys: Dict[int, List[str]] = {}  # the final sweep's superseded keys

    # --- accounts
    def accounts(self) -> List[Account]:
        return [*self.members, *self.bots]

    def active_bots(self) -> List[Account]:
        return [b for b in self.bots if not b.retired]

    # --- main loop
    def run(self) -> None:
        try:
            epoch_seen = -1
            while True:
                got = self.ctl.wait_for_run(self.wid)
                if got is None:
                    return
                epoch, self.site, self.kill_no = got
                if epoch != epoch_seen or self.http is None:
                    if self.http is not None:
                        self.http.close()
                    self.http = http_session()
                    epoch_seen = epoch
                try:
                    self.one_op()
                except Transport as e:
                    # Whatever was in flight keeps its Pending mark: an unknown outcome.
                    for a in self.accounts():
                        if a.pending is not None:
                            a.pending.refused = e.refused
                    if self.pending_bot is not None:
                        self.pending_bot.refused = e.refused
                    self.ctl.wait_after_transport_error(self.wid, epoch)
        except Violation as v:
            self.ctl.fail(f"[worker {self.wid}, interval {self.kill_no}] {v}")
        except Exception:
            self.ctl.fail(f"[worker {self.wid}] crashed:\n{traceback.format_exc()}")

    def one_op(self) -> None:
        rng = self.rng
        choices: List[Tuple[float, Callable[[], None]]] = [
            (30, lambda: self.op_rotate_member(rng.choice(self.members))),
            (12, lambda: self.op_change_password(rng.choice(self.members))),
            (6, lambda: self.op_create_bot(rng.choice(self.members))),
            (8, lambda: self.op_probe(rng.choice(self.accounts()))),
        ]
        if self.active_bots():
            choices.append((30, lambda: self.op_rotate_bot(rng.choice(self.active_bots()))))
        total = sum(w for w, _ in choices)
        x = rng.uniform(0, total)
        for w, fn in choices:
            x -= w
            if x <= 0:
                fn()
                return
        choices[-1][1]()

    # --- operations
    def op_probe(self, acct: Account) -> None:
        assert self.http is not None
        if not key_works(self.http, self.site, acct, acct.key):
            raise Violation(f"the acknowledged key {short(acct.key)} of {acct.email} was "
                            f"refused by the running server\n{acct.describe()}")

    def _after_rotation(self, acct: Account, old: str, new: str) -> None:
        """Right after an acknowledged rotation, on the same server: old refused, new works."""
        assert self.http is not None
        if self.rng.random() < 0.5:
            if key_works(self.http, self.site, acct, old):
                raise Violation(f"{acct.email}: the old key {short(old)} still works right after "
                                f"the rotation to {short(new)} was acknowledged\n"
                                f"{acct.describe()}")
            if not key_works(self.http, self.site, acct, new):
                raise Violation(f"{acct.email}: the new key {short(new)} does not work right "
                                f"after its rotation was acknowledged\n{acct.describe()}")

    def _rotate(self, acct: Account, url: str, auth: Tuple[str, str], label: str) -> None:
        assert self.http is not None
        what = f"POST {url} ({label} {acct.email})"
        acct.touched = True
        acct.pending = Pending("rotate", self.kill_no)  # intent, before sending
        STATS.add(f"sent:{label}")
        r = call(lambda: self.http.post(self.site + url, auth=auth, timeout=HTTP_TIMEOUT), what)
        new = need_key(success_json(r, what), what)
        # Acknowledged.
        old = acct.key
        if new in acct.issued:
            raise Violation(f"{what}: the server handed out a key this account had before "
                            f"({short(new)})\n{acct.describe()}")
        acct.pending = None
        acct.adopt_key(new)
        acct.acked_rotations += 1
        acct.note(self.kill_no, f"{label}: acknowledged, {short(old)} -> {short(new)}")
        STATS.add(f"acked:{label}")
        self._after_rotation(acct, old, new)

    def op_rotate_member(self, m: Account) -> None:
        self._rotate(m, "/api/v1/users/me/api_key/regenerate", (m.email, m.key), "rotate-own-key")

    def op_rotate_bot(self, bot: Account) -> None:
        assert bot.owner is not None
        self._rotate(bot, f"/api/v1/bots/{bot.user_id}/api_key/regenerate",
                     (bot.owner.email, bot.owner.key), "rotate-bot-key")

    def op_create_bot(self, owner: Account) -> None:
        assert self.http is not None
        domain = self.bot_domain_ref.get("domain")
        if domain is None:
            return
        self.bot_seq += 1
        short_name = f"crash-w{self.wid}-b{self.bot_seq}"
        full_name = f"Crash W{self.wid} Bot {self.bot_seq}"
        email = f"{short_name}-bot@{domain}"
        what = f"POST /api/v1/bots {short_name!r} as {owner.email}"
        self.pending_bot = PendingBot(owner, full_name, short_name, email, self.kill_no)
        STATS.add("sent:create-bot")
        r = call(lambda: self.http.post(
            self.site + "/api/v1/bots", auth=(owner.email, owner.key),
            data={"full_name": full_name, "short_name": short_name, "bot_type": "1"},
            timeout=HTTP_TIMEOUT), what)
        data = success_json(r, what)
        key = need_key(data, what)
        uid = data.get("user_id")
        if not isinstance(uid, int):
            raise Violation(f"{what}: no user_id in {data!r}")
        self.pending_bot = None
        self.add_bot(Account("bot", email, uid, key, owner=owner, touched=True),
                     f"created by {owner.email}: acknowledged, key {short(key)}")
        STATS.add("acked:create-bot")

    def add_bot(self, bot: Account, how: str) -> None:
        bot.note(self.kill_no, how)
        self.bots.append(bot)
        active = self.active_bots()
        if len(active) > ACTIVE_BOTS_PER_WORKER:
            active[0].retired = True

    def op_change_password(self, m: Account) -> None:
        assert m.password is not None
        site = self.site
        with http_session() as s:
            r = call(lambda: s.get(site + "/login/", timeout=HTTP_TIMEOUT), "GET /login/")
            match = CSRF_META_RE.search(r.text)
            if r.status_code != 200 or not match:
                raise Violation(f"GET /login/: HTTP {r.status_code}, no csrf-token meta tag")
            what = f"POST /accounts/login/ as {m.email}"
            r = call(lambda: s.post(site + "/accounts/login/", data={
                "csrfmiddlewaretoken": match.group(1),
                "username": m.email,
                "password": m.password,
            }, allow_redirects=False, timeout=HTTP_TIMEOUT), what)
            if r.status_code not in (302, 303) or not s.cookies.get("sessionid"):
                raise Violation(f"{what} with the acknowledged password failed: HTTP "
                                f"{r.status_code} {r.text[:300]!r}\n{m.describe()}")
            pw = new_password()
            what = f"PATCH /json/settings (password change of {m.email})"
            m.touched = True
            m.password_touched = True
            m.pending = Pending("password", self.kill_no, new_password=pw)  # intent
            STATS.add("sent:change-password")
            r = call(lambda: s.patch(site + "/json/settings", data={
                "old_password": m.password, "new_password": pw,
            }, headers={"X-CSRFToken": s.cookies.get("csrftoken") or ""},
                timeout=HTTP_TIMEOUT), what)
            success_json(r, what)
        m.pending = None
        m.prev_password, m.password = m.password, pw
        m.acked_passwords += 1
        m.note(self.kill_no, "password change: acknowledged")
        STATS.add("acked:change-password")

    # --- verification after a restart (workers parked; runs in a pool thread)
    def verify(self, site: str, state: StoreState, kill_no: int, final: bool) -> None:
        self.site = site
        self.kill_no = kill_no
        with http_session() as http:
            for m in self.members:
                self.verify_person(http, site, m, state, final)
            if self.pending_bot is not None:
                self.resolve_pending_bot(http, site, state)
            retired = [b for b in self.bots if b.retired]
            sample = set(id(b) for b in (retired if final else
                                         self.rng.sample(retired, min(RETIRED_SAMPLE,
                                                                      len(retired)))))
            for b in self.bots:
                if not b.retired or b.touched or id(b) in sample:
                    self.verify_bot(http, site, b, final)
            for a in self.accounts():
                a.touched = False
                a.password_touched = False
                a.fresh_old.clear()

    @staticmethod
    def count_unknown(refused: bool) -> None:
        STATS.add("unknown-how:" + ("refused (sent after the kill, never reached a server)"
                                    if refused else "in flight when the server was killed"))

    def verify_person(self, http: requests.Session, site: str, m: Account, state: StoreState,
                      final: bool) -> None:
        assert m.password is not None
        p = m.pending
        # Passwords: at most two fetch_api_key attempts, at most one of them failing.
        if p is not None and p.kind == "password":
            assert p.new_password is not None
            # Both candidates (at most one may fail). The in-flight one first: most of them did
            # not land, and then the acknowledged one's success clears the per-username log.
            with_new = password_login(http, site, m, p.new_password)
            with_old = password_login(http, site, m, m.password)
            if (with_new is None) == (with_old is None):
                raise Violation(
                    f"{m.email}: a password change was in flight at the kill; after the restart "
                    f"{'both' if with_new else 'neither'} the last acknowledged password "
                    f"{'and' if with_new else 'nor'} the in-flight new one log in (exactly one "
                    f"must)\n{m.describe()}")
            if with_new is not None:
                m.prev_password, m.password = m.password, p.new_password
                m.landed_passwords += 1
                m.note(kill_no_of(p), "password change: unknown outcome -> landed")
                STATS.add("landed:change-password")
                revealed = with_new
            else:
                m.note(kill_no_of(p), "password change: unknown outcome -> not landed")
                STATS.add("lost:change-password")
                revealed = with_old  # type: ignore[assignment]
            STATS.add("unknown:change-password")
            self.count_unknown(p.refused)
            if p.refused and with_new is not None:
                raise Violation(f"{m.email}: a password change whose connection was refused "
                                f"(never sent) took effect\n{m.describe()}")
            m.pending = None
        else:
            # The failing attempt first: the success after it clears the per-username log.
            if m.prev_password and (m.password_touched or final):
                if password_login(http, site, m, m.prev_password) is not None:
                    raise Violation(f"{m.email}: the password before the last acknowledged "
                                    f"change still logs in after the restart\n{m.describe()}")
            revealed_opt = password_login(http, site, m, m.password)
            if revealed_opt is None:
                raise Violation(f"{m.email}: the last acknowledged password no longer logs in "
                                f"after the restart (an acknowledged password change was lost "
                                f"or an unacknowledged one appeared)\n{m.describe()}")
            revealed = revealed_opt
        self.verify_key(http, site, m, revealed, final)

    def verify_bot(self, http: requests.Session, site: str, b: Account, final: bool) -> None:
        revealed = reveal_bot_key(http, site, b)
        self.verify_key(http, site, b, revealed, final)

    def verify_key(self, http: requests.Session, site: str, a: Account, revealed: str,
                   final: bool) -> None:
        p = a.pending
        if p is not None and p.kind == "rotate":
            STATS.add(f"unknown:rotate-{'bot' if a.kind == 'bot' else 'own'}-key")
            self.count_unknown(p.refused)
            if key_works(http, site, a, a.key):
                if revealed != a.key:
                    raise Violation(f"{a.email}: the last acknowledged key {short(a.key)} works "
                                    f"but the server reveals {short(revealed)}\n{a.describe()}")
                a.note(kill_no_of(p), "rotation: unknown outcome -> not landed")
                STATS.add("lost:rotate")
            else:
                if revealed in a.issued:
                    raise Violation(
                        f"{a.email}: after the restart the last acknowledged key "
                        f"{short(a.key)} is refused and the server has an older key "
                        f"{short(revealed)} (issued key #{a.issued.index(revealed) + 1} of "
                        f"{len(a.issued)}): an acknowledged rotation was lost\n{a.describe()}")
                if not key_works(http, site, a, revealed):
                    raise Violation(
                        f"{a.email}: no key authenticates after the restart: the last "
                        f"acknowledged key {short(a.key)} is refused, and so is the key the "
                        f"server reveals ({short(revealed)})\n{a.describe()}")
                if p.refused:
                    raise Violation(f"{a.email}: a key rotation whose connection was refused "
                                    f"(never sent) took effect\n{a.describe()}")
                a.adopt_key(revealed)
                a.landed_rotations += 1
                a.note(kill_no_of(p), f"rotation: unknown outcome -> landed, now "
                                      f"{short(revealed)}")
                STATS.add("landed:rotate")
            a.pending = None
        else:
            if revealed != a.key:
                where = (f"issued key #{a.issued.index(revealed) + 1} of {len(a.issued)}"
                         if revealed in a.issued else "a key this client never saw")
                raise Violation(
                    f"{a.email}: after the restart the server has key {short(revealed)} ({where}),"
                    f" not the last acknowledged key {short(a.key)}; no rotation was in flight"
                    f"\n{a.describe()}")
            if not key_works(http, site, a, a.key):
                raise Violation(f"{a.email}: the last acknowledged key {short(a.key)} is "
                                f"refused after the restart\n{a.describe()}")
        # Exactly one key: the superseded ones must all be refused.
        if final:
            old = self.final_old_keys.get(a.user_id, [])
        else:
            older = [k for k in a.issued if k != a.key and k not in a.fresh_old]
            old = [k for k in a.fresh_old[-OLD_KEYS_PER_ACCOUNT:] if k != a.key]
            old += self.rng.sample(older, min(1, len(older)))
        for k in old:
            if key_works(http, site, a, k):
                raise Violation(
                    f"{a.email}: two keys authenticate after the restart: the current "
                    f"{short(a.key)} and the superseded {short(k)} (issued key "
                    f"#{a.issued.index(k) + 1} of {len(a.issued)})\n{a.describe()}")

    def resolve_pending_bot(self, http: requests.Session, site: str, state: StoreState) -> None:
        pb = self.pending_bot
        assert pb is not None
        self.pending_bot = None
        STATS.add("unknown:create-bot")
        self.count_unknown(pb.refused)
        uid = state.by_email.get(pb.email.lower())
        if uid is None:
            if any(u[1] == pb.full_name for u in state.users.values()):
                raise Violation(f"bot creation {pb.short_name!r} in flight at the kill: no user "
                                f"with its email, but one with its name {pb.full_name!r}")
            STATS.add("lost:create-bot")
            pb.owner.note(pb.kill_no, f"create bot {pb.short_name}: unknown outcome -> "
                                      f"not landed")
            return
        email, name, is_bot, owner_id, active = state.users[uid]
        if not (is_bot and owner_id == pb.owner.user_id and name == pb.full_name and active):
            raise Violation(f"bot creation {pb.short_name!r} in flight at the kill: user {uid} "
                            f"has its email but is {state.users[uid]!r}")
        if pb.refused:
            raise Violation(f"bot creation {pb.short_name!r}: its connection was refused (never "
                            f"sent), yet user {uid} exists")
        STATS.add("landed:create-bot")
        bot = Account("bot", pb.email, uid, "", owner=pb.owner, touched=True)
        bot.issued.clear()
        key = reveal_bot_key(http, site, bot)
        bot.key = key
        bot.issued.append(key)
        self.add_bot(bot, f"created by {pb.owner.email} (sent in interval {pb.kill_no}): "
                          f"unknown outcome -> landed, key {short(key)}")
        pb.owner.note(pb.kill_no, f"create bot {pb.short_name}: unknown outcome -> landed "
                                  f"(user {uid})")


def kill_no_of(p: Pending) -> int:
    return p.kill_no


# ----------------------------------------------------------------------------- the run
class CrashTest:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = Path(args.workdir) if args.workdir else Path(
            tempfile.mkdtemp(prefix=f"tessera-crash-{args.engine}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = str(self.workdir / "tessera")
        self.store = Store(args.engine, self.binary, self.workdir / "data", args.pg_url)
        self.server = Server(self.binary, self.store, free_port(), self.workdir / "serve.log")
        self.ctl = Controller(args.workers)
        self.workers: List[Worker] = []
        self.owner: Optional[Account] = None
        self.bot_domain: Dict[str, str] = {}
        self.baseline: Optional[StoreState] = None
        self.kills_done = 0
        self.verifications = 0
        self.start_times: List[float] = []
        self.phase = "setup"

    # --- setup
    def snapshot_binary(self) -> None:
        """Copy the binary: the run must not change its server half-way if it is rebuilt."""
        src = Path(self.args.binary)
        deadline = time.monotonic() + 120
        while True:
            try:
                shutil.copy2(src, self.binary)
                os.chmod(self.binary, 0o755)
                return
            except (FileNotFoundError, OSError) as e:
                if time.monotonic() > deadline:
                    raise SetupError(f"cannot copy the tessera binary {src}: {e}")
                time.sleep(2)

    def setup(self) -> None:
        self.snapshot_binary()
        self.store.create()
        owner_pw = new_password()
        self.store.cli("init", "--org-name", ORG_NAME, "--email", OWNER_EMAIL,
                       stdin=owner_pw + "\n")
        member_specs = []
        for w in range(self.args.workers):
            for j in range(MEMBERS_PER_WORKER):
                email = f"crash-w{w}-m{j}@example.com"
                pw = new_password()
                self.store.cli("user", "create", "--email", email, "--full-name",
                               f"Crash W{w} Member {j}", "--role", "member", stdin=pw + "\n")
                member_specs.append((w, email, pw))
        self.baseline = self.store.read_state()
        self.start_times.append(self.server.start("first start"))
        site = self.server.site
        with http_session() as http:
            self.one_key_per_account(http, site, OWNER_EMAIL, owner_pw)
            self.owner = self.person_from_password(http, site, "owner", OWNER_EMAIL, owner_pw)
            members: Dict[int, List[Account]] = collections.defaultdict(list)
            for w, email, pw in member_specs:
                members[w].append(self.person_from_password(http, site, "member", email, pw))
            for w in range(self.args.workers):
                self.workers.append(Worker(w, self.ctl, members[w], self.rng.randrange(2**32),
                                           self.bot_domain))
            # One bot per worker up front (acknowledged, no kill pending); it also tells the
            # bot email domain.
            for i, wk in enumerate(self.workers):
                wk.site, wk.kill_no, wk.http = site, 0, http
                if i == 0:
                    self.learn_bot_domain(http, site, wk.members[0], wk)
                else:
                    wk.op_create_bot(wk.members[0])
                wk.http = None
        for a in self.all_accounts():
            a.touched = False
        for wk in self.workers:
            wk.start()

    def learn_bot_domain(self, http: requests.Session, site: str, owner: Account,
                         wk: Worker) -> None:
        what = "POST /api/v1/bots (setup)"
        r = call(lambda: http.post(site + "/api/v1/bots", auth=(owner.email, owner.key), data={
            "full_name": f"Crash W{wk.wid} Bot 0", "short_name": f"crash-w{wk.wid}-b0",
            "bot_type": "1"}, timeout=HTTP_TIMEOUT), what)
        data = success_json(r, what)
        key, uid = need_key(data, what), data.get("user_id")
        r = call(lambda: http.get(site + "/api/v1/bots", auth=(owner.email, owner.key),
                                  timeout=HTTP_TIMEOUT), "GET /api/v1/bots")
        bots = success_json(r, "GET /api/v1/bots").get("bots", [])
        email = next((b.get("username") for b in bots
                      if b.get("full_name") == f"Crash W{wk.wid} Bot 0"), None)
        if not email or "@" not in email:
            raise SetupError(f"cannot find the setup bot in GET /bots: {bots!r}")
        self.bot_domain["domain"] = email.split("@", 1)[1]
        wk.add_bot(Account("bot", email, uid, key, owner=owner), "created in setup")
        STATS.add("acked:create-bot")

    def one_key_per_account(self, http: requests.Session, site: str, email: str,
                            pw: str) -> None:
        """These invariants are about each account's one key, as Zulip has it: turn the
        organization's `api_key_per_login` off (so fetch_api_key reveals the account key), then
        sign out the device key the login for that got."""
        what = f"POST /api/v1/fetch_api_key for {email} (setup, a device key)"
        r = call(lambda: http.post(site + "/api/v1/fetch_api_key",
                                   data={"username": email, "password": pw},
                                   timeout=HTTP_TIMEOUT), what)
        device = need_key(success_json(r, what), what)
        auth = (email, device)
        what = "PATCH /api/v1/realm api_key_per_login=false (setup)"
        success_json(call(lambda: http.patch(site + "/api/v1/realm", auth=auth,
                                             data={"api_key_per_login": "false"},
                                             timeout=HTTP_TIMEOUT), what), what)
        what = "GET /api/v1/users/me/api_keys (setup)"
        keys = success_json(call(lambda: http.get(site + "/api/v1/users/me/api_keys", auth=auth,
                                                  timeout=HTTP_TIMEOUT), what), what)
        for k in keys.get("api_keys", []):
            what = f"DELETE /api/v1/users/me/api_keys/{k['id']} (setup)"
            success_json(call(lambda: http.delete(
                site + f"/api/v1/users/me/api_keys/{k['id']}", auth=auth,
                timeout=HTTP_TIMEOUT), what), what)

    def person_from_password(self, http: requests.Session, site: str, kind: str, email: str,
                             pw: str) -> Account:
        what = f"POST /api/v1/fetch_api_key for {email} (setup)"
        r = call(lambda: http.post(site + "/api/v1/fetch_api_key",
                                   data={"username": email, "password": pw},
                                   timeout=HTTP_TIMEOUT), what)
        data = success_json(r, what)
        acct = Account(kind, email, int(data["user_id"]), need_key(data, what), password=pw)
        if not key_works(http, site, acct, acct.key):
            raise SetupError(f"the key fetched for {email} does not work")
        return acct

    def all_accounts(self) -> List[Account]:
        assert self.owner is not None
        return [self.owner] + [a for w in self.workers for a in w.accounts()]

    # --- one kill
    def kill_cycle(self, k: int) -> None:
        self.phase = f"interval {k} (workers running)"
        self.ctl.resume(self.server.site, k)
        lo, hi = self.args.min_delay_ms, self.args.max_delay_ms
        self.ctl.sleep(self.rng.uniform(lo, hi) / 1000.0)
        self.check_failure()
        self.phase = f"kill {k}"
        self.server.kill()
        self.kills_done = k
        self.ctl.pause()
        if not self.ctl.wait_all_idle(60):
            raise Violation("workers did not stop within 60 s after the kill")
        self.check_failure()
        self.phase = f"store check after kill {k}"
        state = self.store.read_state()
        self.phase = f"restart after kill {k}"
        self.start_times.append(self.server.start(f"after kill {k}"))
        self.phase = f"verification after kill {k}"
        self.verify(state, k, final=False)

    def check_failure(self) -> None:
        if self.ctl.failure is not None:
            raise Violation(self.ctl.failure)

    def verify(self, state: StoreState, k: int, final: bool) -> None:
        assert self.owner is not None
        site = self.server.site
        with http_session() as http:
            if not self.ifok(lambda: key_works(http, site, self.owner, self.owner.key)):
                raise Violation(f"the owner's key (never rotated) is refused after the restart"
                                f"\n{self.owner.describe()}")
        if final:
            self.plan_final_old_keys()
        with ThreadPoolExecutor(max_workers=len(self.workers)) as pool:
            futures = [pool.submit(w.verify, site, state, k, final) for w in self.workers]
            for f in futures:
                try:
                    f.result()  # re-raises a Violation
                except Transport as e:
                    raise Violation(f"the server went away during the verification: {e}")
        self.verify_store_rows(state)
        self.verify_audit(state)
        self.healthcheck()
        self.verifications += 1

    def plan_final_old_keys(self) -> None:
        """Superseded keys for the final sweep: every account's last three, then a uniform
        sample of the rest up to FINAL_OLD_KEYS in all (all of them if there are fewer)."""
        plan: Dict[int, List[str]] = {}
        rest: List[Tuple[int, str]] = []
        for a in self.all_accounts():
            old = [k for k in a.issued if k != a.key]
            plan[a.user_id] = old[-3:]
            rest += [(a.user_id, k) for k in old[:-3]]
        budget = max(0, FINAL_OLD_KEYS - sum(len(v) for v in plan.values()))
        for uid, k in (rest if len(rest) <= budget else self.rng.sample(rest, budget)):
            plan[uid].append(k)
        STATS.add("final:superseded-keys-issued", sum(1 for a in self.all_accounts()
                                                       for k in a.issued if k != a.key))
        STATS.add("final:superseded-keys-tried", sum(len(v) for v in plan.values()))
        for w in self.workers:
            w.final_old_keys = {a.user_id: plan[a.user_id] for a in w.accounts()}

    @staticmethod
    def ifok(fn: Callable[[], bool]) -> bool:
        try:
            return fn()
        except Transport as e:
            raise Violation(f"the server went away during the verification: {e}")

    def verify_store_rows(self, state: StoreState) -> None:
        """Every account we know is in the users table, active, a bot of the right owner."""
        for a in self.all_accounts():
            row = state.users.get(a.user_id)
            if row is None:
                raise Violation(f"{a.email} (user {a.user_id}) has no row in the users table "
                                f"after the kill\n{a.describe()}")
            email, name, is_bot, owner_id, active = row
            if email.lower() != a.email.lower() or not active or is_bot != (a.kind == "bot") or \
                    (a.owner is not None and owner_id != a.owner.user_id):
                raise Violation(f"users row of {a.email} after the kill is {row!r}\n"
                                f"{a.describe()}")
            if self.args.onboarding_check:
                STATS.add("check:default-channels")
            if self.args.onboarding_check and a.user_id in state.missing_default_subs:
                raise Violation(
                    f"{a.email} (user {a.user_id}) exists but its channels are wrong (a person "
                    f"joins every default channel, a bot none): its creation was only partly "
                    f"done when the server was killed, and the restart did not complete it\n"
                    f"{a.describe()}")

    def verify_audit(self, state: StoreState) -> None:
        base = self.baseline
        assert base is not None
        STATS.add("check:audit")
        known: Set[int] = set()
        for a in self.all_accounts():
            known.add(a.user_id)
            for ev, acked, landed, label in (
                (EV_KEY_CHANGED, a.acked_rotations, a.landed_rotations, "key changed"),
                (EV_PASSWORD_CHANGED, a.acked_passwords, a.landed_passwords, "password changed"),
            ):
                rows = state.count(a.user_id, ev) - base.count(a.user_id, ev)
                if rows != acked + landed:
                    lost = landed == 0 and rows < acked
                    raise Violation(
                        f"audit log: {a.email} (user {a.user_id}) has {rows} new '{label}' "
                        f"({ev}) rows; acknowledged {acked}, in-flight changes found landed "
                        f"{landed} (so exactly {acked + landed} expected"
                        f"{'; acknowledged rows lost' if lost else ''})\n{a.describe()}")
            if state.count(a.user_id, EV_USER_DEACTIVATED) != base.count(a.user_id,
                                                                         EV_USER_DEACTIVATED):
                raise Violation(f"audit log: a deactivation row for {a.email}, which nobody "
                                f"deactivated")
            if a.kind == "bot" and state.count(a.user_id, EV_USER_CREATED) != 1:
                raise Violation(f"audit log: bot {a.email} (user {a.user_id}) has "
                                f"{state.count(a.user_id, EV_USER_CREATED)} 'user created' (101) "
                                f"rows, expected 1\n{a.describe()}")
        created = {u for (u, ev), n in state.audit.items() if ev == EV_USER_CREATED}
        base_created = {u for (u, ev), n in base.audit.items() if ev == EV_USER_CREATED}
        phantom = created - base_created - known
        if phantom:
            raise Violation(f"audit log: 'user created' rows for users {sorted(phantom)} that no "
                            f"acknowledged or in-flight creation explains: "
                            f"{[state.users.get(u) for u in sorted(phantom)]}")
        extra_users = set(state.users) - set(base.users) - known
        if extra_users:
            raise Violation(f"users table: unexpected users {[state.users[u] for u in extra_users]}")

    def healthcheck(self) -> None:
        argv = [self.binary, "healthcheck", *self.store.store_args(), "--url", self.server.site]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        cp = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT)
        STATS.add("check:healthcheck")
        if cp.returncode != 0:
            raise Violation(f"tessera healthcheck failed (exit {cp.returncode}): "
                            f"{cp.stdout}{cp.stderr}")

    # --- the whole run
    def progress(self, k: int, t0: float) -> None:
        acked = STATS.total("acked:")
        unknown = STATS.total("unknown:")
        landed = STATS.total("landed:")
        bots = sum(len(w.bots) for w in self.workers)
        print(f"[{self.args.engine}] kill {k}/{self.args.kills}  {time.monotonic() - t0:6.1f}s  "
              f"ops acknowledged {acked}  unknown outcomes {unknown} (landed {landed})  "
              f"accounts {len(self.all_accounts())} ({bots} bots)  verifications "
              f"{self.verifications}", flush=True)

    def run(self) -> int:
        t0 = time.monotonic()
        print(f"[{self.args.engine}] crash test: {self.args.kills} kills, {self.args.workers} "
              f"workers, seed {self.args.seed}, workdir {self.workdir}"
              + (f", database {self.store.db_name}" if self.store.db_name else ""), flush=True)
        self.setup()
        for k in range(1, self.args.kills + 1):
            self.kill_cycle(k)
            if k % 20 == 0 or k == self.args.kills:
                self.progress(k, t0)
        self.phase = "final sweep"
        self.ctl.shutdown()
        for w in self.workers:
            w.join(timeout=30)
        # The final sweep needs the store state for the audit comparison: take it after a
        # graceful stop, then start once more for the API checks; stop gracefully again and
        # check the store a last time.
        self.graceful_stop()
        final_state = self.store.read_state()
        self.start_times.append(self.server.start("final sweep"))
        self.verify(final_state, self.args.kills, final=True)
        self.graceful_stop()
        self.phase = "final store check"
        self.store.read_state()
        elapsed = time.monotonic() - t0
        self.summary(elapsed)
        return 0

    def graceful_stop(self) -> None:
        rc = self.server.stop()
        if rc is None:
            print("warning: tessera serve did not exit within 10 s of SIGTERM (killed)",
                  file=sys.stderr)
        elif rc != 0:
            raise Violation(f"tessera serve exited with code {rc} on SIGTERM")

    def summary(self, elapsed: float) -> None:
        keys = sum(len(a.issued) for a in self.all_accounts())
        starts = sorted(self.start_times)
        med = starts[len(starts) // 2] if starts else 0.0
        print(f"\n[{self.args.engine}] crash test passed in {elapsed:.1f}s")
        print(f"  kills (SIGKILL):        {self.kills_done}")
        print(f"  server starts:          {len(starts)} (ready in median {med * 1000:.0f} ms, "
              f"max {max(starts) * 1000:.0f} ms)")
        print(f"  ops acknowledged:       {STATS.total('acked:')}  "
              f"{STATS.by_prefix('acked:')}")
        print(f"  unknown outcomes:       {STATS.total('unknown:')}  "
              f"{STATS.by_prefix('unknown:')}")
        for how, n in STATS.by_prefix("unknown-how:").items():
            print(f"    {n:5d} {how}")
        print(f"    of which landed:      {STATS.total('landed:')}  {STATS.by_prefix('landed:')}")
        print(f"    of which not landed:  {STATS.total('lost:')}  {STATS.by_prefix('lost:')}")
        print(f"  verifications:         {self.verifications} (after every restart, plus the "
              f"final sweep)")
        print(f"  checks:                 {STATS.by_prefix('check:')}")
        fin = STATS.by_prefix("final:")
        print(f"  final sweep:            every account; {fin.get('superseded-keys-tried', 0)} of "
              f"{fin.get('superseded-keys-issued', 0)} superseded keys re-tried (all refused)")
        print(f"  accounts:               {len(self.all_accounts())} "
              f"({sum(len(w.bots) for w in self.workers)} bots); keys issued {keys}")
        log = self.server.log_path.read_text(errors="replace") if self.server.log_path.exists() \
            else ""
        panics = sum(1 for line in log.splitlines() if "panicked" in line)
        errors = sum(1 for line in log.splitlines() if " ERROR " in line)
        print(f"  server log:             {errors} ERROR lines, {panics} panics")

    def cleanup(self, keep: bool) -> None:
        self.ctl.shutdown()
        try:
            self.server.stop()
        except Exception as e:  # noqa: BLE001 - cleanup must go on
            print(f"warning: stopping the server: {e}", file=sys.stderr)
        for w in self.workers:
            w.join(timeout=10)
        if keep:
            print(f"kept: {self.workdir}" + (
                f" and database {self.store.db_url} (drop it with: psql {self.store.pg_base} "
                f"-c 'DROP DATABASE {self.store.db_name}')" if self.store.db_url else ""),
                file=sys.stderr)
        else:
            self.store.drop()
            shutil.rmtree(self.workdir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--binary", default=os.environ.get("TESSERA_BIN", DEFAULT_BIN))
    ap.add_argument("--pg-url", default=DEFAULT_PG,
                    help="PostgreSQL server to create the run's database on (admin database URL)")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--min-delay-ms", type=float, default=50)
    ap.add_argument("--max-delay-ms", type=float, default=600)
    ap.add_argument("--no-onboarding-check", dest="onboarding_check", action="store_false",
                    help="skip the check that every account's channels are those a completed "
                         "creation gives (a person: every default channel; a bot, also one whose "
                         "creation was in flight at a kill and landed: none)")
    ap.add_argument("--workdir", default=None, help="data folder and log (default: a temp dir)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the workdir and the database (always kept on failure)")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = secrets.randbelow(2**31)
    if args.kills < 1 or args.workers < 1:
        ap.error("--kills and --workers must be positive")
    test = CrashTest(args)
    ok = False
    try:
        rc = test.run()
        ok = True
        return rc
    except Violation as v:
        print(f"\nCRASH TEST FAILED [{args.engine}, seed {args.seed}] during {test.phase} "
              f"(kills done: {test.kills_done}):\n{v}", file=sys.stderr)
        print(f"\n--- server log tail ({test.server.log_path}) ---\n{test.server.log_tail()}",
              file=sys.stderr)
        return 1
    except SetupError as e:
        print(f"\ncrash test setup failed: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        test.cleanup(keep=args.keep or not ok)


if __name__ == "__main__":
    sys.exit(main())
