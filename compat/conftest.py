"""Harness for driving the official Zulip Python bindings against tessera.

Every test that uses the ``tessera`` fixture gets its own data directory, an
initialised organization with an owner, and a ``tessera serve`` process on a
free loopback port. The server is killed in teardown. When a test fails, the
server's log and every CLI command the test ran are attached to the failure
report.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import requests
import zulip

DEFAULT_BIN = "/work/main/target/debug/tessera"
CLIENT_NAME = "tessera-compat"
API_KEY_RE = re.compile(r"[A-Za-z0-9]{32}")
STARTUP_TIMEOUT = float(os.environ.get("TESSERA_STARTUP_TIMEOUT", "30"))
CLI_TIMEOUT = 60.0

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "owner-password-Compat-1"
ORG_NAME = "Tessera Compat"


def is_api_key(value: Any) -> bool:
    return isinstance(value, str) and API_KEY_RE.fullmatch(value) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_zuliprc(text: str) -> Dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser.has_section("api"), f"zuliprc has no [api] section:\n{text}"
    return dict(parser.items("api"))


@dataclass
class Account:
    email: str
    password: str


class CommandFailed(AssertionError):
    pass


class Tessera:
    """One data directory plus (optionally) one running ``tessera serve``."""

    def __init__(self, binary: str, workdir: Path, transcript: List[str]) -> None:
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "serve.log"
        self.transcript = transcript
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.site: Optional[str] = None
        self.owner = Account(OWNER_EMAIL, OWNER_PASSWORD)
        self._rc_counter = 0

    # ----------------------------------------------------------------- CLI
    def run(
        self,
        *args: str,
        stdin: Optional[str] = None,
        check: bool = True,
        use_flag: bool = True,
        extra_env: Optional[Dict[str, str]] = None,
    ) -> subprocess.CompletedProcess:
        """Run ``tessera ARGS... --data-dir DIR``.

        With ``use_flag=False`` the data dir is passed via TESSERA_DATA_DIR
        instead of ``--data-dir``.
        """
        argv = [self.binary, *args]
        env = dict(os.environ)
        env.pop("TESSERA_DATA_DIR", None)
        if use_flag:
            argv += ["--data-dir", str(self.data_dir)]
        else:
            env["TESSERA_DATA_DIR"] = str(self.data_dir)
        if extra_env:
            env.update(extra_env)
        try:
            cp = subprocess.run(
                argv,
                input=stdin if stdin is not None else "",
                capture_output=True,
                text=True,
                env=env,
                timeout=CLI_TIMEOUT,
            )
        except subprocess.TimeoutExpired as e:
            self.transcript.append(f"$ {shlex.join(argv)}\n  TIMED OUT after {CLI_TIMEOUT}s")
            raise CommandFailed(f"command timed out: {shlex.join(argv)}") from e
        self.transcript.append(
            f"$ {shlex.join(argv)}{'  (TESSERA_DATA_DIR set)' if not use_flag else ''}\n"
            f"  exit={cp.returncode}\n  stdout={cp.stdout!r}\n  stderr={cp.stderr!r}"
        )
        if check and cp.returncode != 0:
            raise CommandFailed(
                f"command failed (exit {cp.returncode}): {shlex.join(argv)}\n"
                f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
            )
        return cp

    def init(self) -> None:
        self.run(
            "init",
            "--org-name", ORG_NAME,
            "--email", self.owner.email,
            stdin=self.owner.password + "\n",
        )

    def create_user(
        self, email: str, full_name: str, password: str, role: Optional[str] = None
    ) -> Account:
        args = ["user", "create", "--email", email, "--full-name", full_name]
        if role is not None:
            args += ["--role", role]
        self.run(*args, stdin=password + "\n")
        return Account(email, password)

    def create_bot_cli(self, name: str, short_name: str, bot_type: str = "generic") -> str:
        cp = self.run(
            "bot", "create",
            "--owner", self.owner.email,
            "--name", name,
            "--short-name", short_name,
            "--type", bot_type,
        )
        email = cp.stdout.strip()
        assert "@" in email and "\n" not in email, (
            f"`tessera bot create` should print just the bot email, got {cp.stdout!r}"
        )
        return email

    def zuliprc_text(self, email: str, **kw: Any) -> str:
        return self.run("zuliprc", "--email", email, **kw).stdout

    def zuliprc(self, email: str) -> Path:
        """Write ``tessera zuliprc --email EMAIL`` output to a fresh file."""
        self._rc_counter += 1
        path = self.workdir / f"zuliprc-{self._rc_counter}"
        path.write_text(self.zuliprc_text(email))
        return path

    def regenerate_key_cli(self, email: str) -> str:
        return self.run("key", "regenerate", "--email", email).stdout.strip()

    # -------------------------------------------------------------- server
    def serve(self) -> None:
        assert self.proc is None
        self.port = free_port()
        self.site = f"http://127.0.0.1:{self.port}"
        argv = [
            self.binary, "serve",
            "--data-dir", str(self.data_dir),
            "--listen", f"127.0.0.1:{self.port}",
        ]
        env = dict(os.environ)
        env.pop("TESSERA_DATA_DIR", None)
        self.transcript.append(f"$ {shlex.join(argv)} &   (log: {self.log_path})")
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        finally:
            log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self.proc is not None and self.site is not None
        url = self.site + "/api/v1/server_settings"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = "no attempt made"
        with requests.Session() as s:
            s.trust_env = False
            while True:
                rc = self.proc.poll()
                if rc is not None:
                    self.proc = None
                    pytest.fail(
                        f"tessera serve exited with code {rc} before becoming ready.\n"
                        f"--- server log ---\n{self.read_log()}",
                        pytrace=False,
                    )
                try:
                    r = s.get(url, timeout=2)
                    if r.status_code == 200 and r.json().get("result") == "success":
                        return
                    last = f"HTTP {r.status_code}: {r.text[:500]}"
                except (requests.RequestException, ValueError) as e:
                    last = repr(e)
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(
                        f"tessera serve did not answer GET {url} with success within "
                        f"{STARTUP_TIMEOUT}s; last attempt: {last}\n"
                        f"--- server log ---\n{self.read_log()}",
                        pytrace=False,
                    )
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def read_log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log file)"

    # ------------------------------------------------------------- clients
    def client_from_zuliprc(self, path: Path) -> zulip.Client:
        site = parse_zuliprc(path.read_text()).get("site")
        if site != self.site:
            pytest.fail(
                f"zuliprc site is {site!r}, but the running server is {self.site!r}; "
                f"zuliprc:\n{path.read_text()}",
                pytrace=False,
            )
        return zulip.Client(config_file=str(path), client=CLIENT_NAME, retry_on_errors=False)

    def client(self, email: str, api_key: str) -> zulip.Client:
        return zulip.Client(
            email=email,
            api_key=api_key,
            site=self.site,
            client=CLIENT_NAME,
            retry_on_errors=False,
        )

    def owner_client(self) -> zulip.Client:
        return self.client_from_zuliprc(self.zuliprc(self.owner.email))

    def http(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # no proxies, no ~/.netrc
        return s


# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def tessera_bin() -> str:
    path = os.environ.get("TESSERA_BIN", DEFAULT_BIN)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(
            f"tessera binary not found or not executable at {path!r} "
            f"(set TESSERA_BIN, or build it with `cargo build`)",
            pytrace=False,
        )
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the user's ~/.zuliprc, ZULIP_* variables and proxies out of the tests."""
    for var in list(os.environ):
        if var.startswith("ZULIP_") or var.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("TESSERA_DATA_DIR", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


def fresh_postgres_database(base_url: str) -> str:
    """Create an empty database on the server of ``base_url`` and return its URL."""
    import secrets
    import urllib.parse

    name = "tessera_py_" + secrets.token_hex(6)
    subprocess.run(["psql", base_url, "-qc", f"CREATE DATABASE {name}"], check=True,
                   capture_output=True, timeout=30)
    parts = urllib.parse.urlparse(base_url)
    return urllib.parse.urlunparse(parts._replace(path="/" + name))


@pytest.fixture
def tessera_dir(tessera_bin: str, tmp_path: Path, request: pytest.FixtureRequest,
                monkeypatch: pytest.MonkeyPatch) -> Tessera:
    """An initialised data dir (org + owner), no server running.

    With TESSERA_TEST_DATABASE_URL set, the store is a fresh PostgreSQL database instead of
    the data dir's SQLite file (the secret still lives in the data dir).
    """
    pg = os.environ.get("TESSERA_TEST_DATABASE_URL")
    if pg:
        monkeypatch.setenv("TESSERA_DATABASE_URL", fresh_postgres_database(pg))
    transcript: List[str] = []
    request.node._tessera_transcript = transcript
    t = Tessera(tessera_bin, tmp_path, transcript)
    request.node._tessera_instances = [t]
    t.init()
    return t


@pytest.fixture
def tessera(tessera_dir: Tessera) -> Tessera:
    """An initialised data dir with ``tessera serve`` running on a free port."""
    tessera_dir.serve()
    try:
        yield tessera_dir
    finally:
        tessera_dir.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed:
        transcript = getattr(item, "_tessera_transcript", None)
        if transcript:
            report.sections.append(("tessera commands", "\n".join(transcript)))
        for t in getattr(item, "_tessera_instances", []):
            if t.log_path.exists():
                report.sections.append((f"tessera serve log ({t.site})", t.read_log()))
    return report
