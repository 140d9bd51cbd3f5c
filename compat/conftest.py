"""Harness for driving the official Zulip Python bindings against tessera.

Every test that uses the ``tessera`` fixture gets its own data directory, an
initialised organization with an owner, and a ``tessera serve`` process on a
free loopback port. The server is killed in teardown. When a test fails, the
server's log and every CLI command the test ran are attached to the failure
report.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pytest
import requests
import zulip

DEFAULT_BIN = "/work/main/target/debug/tessera"
CLIENT_NAME = "tessera-compat"
API_KEY_RE = re.compile(r"[A-Za-z0-9]{32}")
STARTUP_TIMEOUT = float(os.environ.get("TESSERA_STARTUP_TIMEOUT", "30"))
CLI_TIMEOUT = 60.0

# Console scripts (zulip-send, zulip-run-bot) come from the venv that runs pytest. Not
# resolved: the venv's python is a symlink to the system interpreter.
VENV_BIN = Path(sys.executable).parent

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "owner-password-Compat-1"
ORG_NAME = "Tessera Compat"


def is_api_key(value: Any) -> bool:
    return isinstance(value, str) and API_KEY_RE.fullmatch(value) is not None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url: str, sql: str) -> str:
    """Run one SQL statement with psql; its unaligned output."""
    return subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True,
                          text=True).stdout


def wait_serving(site: str, what: str = "tessera", log: Optional[Path] = None,
                 timeout: float = 30.0) -> None:
    """Poll ``GET /api/v1/server_settings`` until ``site`` answers; fail with the log."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(f"{site}/api/v1/server_settings", timeout=1).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    text = log.read_text() if log is not None and log.exists() else ""
    raise AssertionError(f"{what} did not start at {site}:\n{text}")


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
        # Things a test started besides the server (bot processes, proxies, HTTP receivers,
        # event-loop threads): stopped in teardown, last started first, before the server.
        self._cleanups: List[Tuple[str, Callable[[], None]]] = []
        # Extra sections for the failure report: (title, callable returning the text).
        self.reporters: List[Tuple[str, Callable[[], str]]] = []

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

    # ------------------------------------------------- people, bots, scripts
    def person(self, email: str, full_name: str) -> "Person":
        """Create a member with the CLI; return it with its zuliprc and a client."""
        password = email.split("@")[0] + "-password-Compat-7"
        self.create_user(email, full_name, password)
        return self._person(email, full_name)

    def owner_person(self) -> "Person":
        return self._person(self.owner.email, None)

    def _person(self, email: str, full_name: Optional[str]) -> "Person":
        rc = self.zuliprc(email)
        client = self.client_from_zuliprc(rc)
        profile = client.get_profile()
        assert profile.get("result") == "success", f"get_profile for {email}: {profile!r}"
        return Person(
            email=email,
            full_name=full_name if full_name is not None else profile.get("full_name"),
            user_id=profile.get("user_id"),
            rc=rc,
            client=client,
        )

    def create_bot(
        self,
        owner: zulip.Client,
        full_name: str,
        short_name: str,
        bot_type: int = 1,
        **extra: Any,
    ) -> "Bot":
        """``POST /api/v1/bots`` as ``owner``; the email comes from ``GET /bots``, the zuliprc
        from ``tessera zuliprc --email``."""
        request: Dict[str, Any] = {
            "full_name": full_name,
            "short_name": short_name,
            "bot_type": bot_type,
            **extra,
        }
        res = owner.call_endpoint(url="bots", method="POST", request=request)
        assert res.get("result") == "success", f"POST /bots {request!r}: {res!r}"
        user_id, api_key = res.get("user_id"), res.get("api_key")
        assert isinstance(user_id, int) and is_api_key(api_key), f"POST /bots: {res!r}"
        listed = owner.call_endpoint(url="bots", method="GET")
        assert listed.get("result") == "success", f"GET /bots: {listed!r}"
        mine = [b for b in listed.get("bots", []) if b.get("full_name") == full_name]
        assert len(mine) == 1, f"GET /bots should list one bot named {full_name!r}: {listed!r}"
        email = mine[0].get("username")
        assert isinstance(email, str) and "@" in email, f"GET /bots: no username in {mine[0]!r}"
        rc = self.zuliprc(email)
        rc_fields = parse_zuliprc(rc.read_text())
        assert rc_fields.get("key") == api_key, (
            f"`tessera zuliprc --email {email}` key differs from POST /bots api_key: "
            f"{rc_fields!r} vs {api_key!r}"
        )
        return Bot(
            email=email,
            full_name=full_name,
            user_id=user_id,
            api_key=api_key,
            rc=rc,
            rc_fields=rc_fields,
        )

    def zuliprc_for_site(self, rc: Path, site: str) -> Path:
        """A copy of zuliprc ``rc`` whose ``site`` is ``site`` (e.g. a recording proxy)."""
        parser = configparser.ConfigParser()
        parser.read_string(rc.read_text())
        parser["api"]["site"] = site
        self._rc_counter += 1
        path = self.workdir / f"zuliprc-{self._rc_counter}"
        with open(path, "w") as f:
            parser.write(f)
        return path

    def run_script(
        self, name: str, *args: str, stdin: Optional[str] = None, check: bool = True,
        timeout: float = CLI_TIMEOUT,
    ) -> subprocess.CompletedProcess:
        """Run a console script of the venv (``zulip-send`` …) to completion."""
        argv = [venv_script(name), *args]
        try:
            cp = subprocess.run(
                argv, input=stdin if stdin is not None else "", capture_output=True,
                text=True, timeout=timeout, env=child_env(),
            )
        except subprocess.TimeoutExpired as e:
            self.transcript.append(f"$ {shlex.join(argv)}\n  TIMED OUT after {timeout}s")
            raise CommandFailed(f"command timed out: {shlex.join(argv)}") from e
        self.transcript.append(
            f"$ {shlex.join(argv)}\n  exit={cp.returncode}\n"
            f"  stdout={cp.stdout!r}\n  stderr={cp.stderr!r}"
        )
        if check and cp.returncode != 0:
            raise CommandFailed(
                f"command failed (exit {cp.returncode}): {shlex.join(argv)}\n"
                f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}\n"
                f"--- server log ---\n{self.read_log()[-4000:]}"
            )
        return cp

    def start_script(self, name: str, *args: str, label: Optional[str] = None) -> "Background":
        """Start a console script of the venv in the background (stdout+stderr to a file).

        It is stopped in teardown, and its output is attached to the failure report.
        """
        self._rc_counter += 1
        argv = [venv_script(name), *args]
        bg = Background(
            label or shlex.join([name, *args]),
            argv,
            self.workdir / f"{name}-{self._rc_counter}.log",
        )
        self.transcript.append(f"$ {shlex.join(argv)} &   (pid {bg.proc.pid}, log: {bg.log_path})")
        self.add_cleanup(f"stop {bg.label}", bg.stop)
        self.reporters.append((f"output of {bg.label}", bg.describe))
        return bg

    def add_cleanup(self, what: str, fn: Callable[[], None]) -> None:
        self._cleanups.append((what, fn))

    def cleanup(self) -> None:
        while self._cleanups:
            what, fn = self._cleanups.pop()
            try:
                fn()
            except Exception as e:  # teardown must go on
                self.transcript.append(f"(cleanup {what!r} failed: {e!r})")

    def recording_proxy(self, label: str) -> "RecordingProxy":
        """A transparent proxy in front of the running server that logs every request."""
        assert self.site is not None, "start the server first"
        proxy = RecordingProxy(self.site, label)
        self.add_cleanup(f"close {label}", proxy.close)
        self.reporters.append((f"requests through {label}", proxy.describe))
        return proxy

    def webhook_receiver(self, reply: Dict[str, Any]) -> "WebhookReceiver":
        receiver = WebhookReceiver(reply)
        self.add_cleanup("close webhook receiver", receiver.close)
        self.reporters.append(("requests received by the webhook receiver", receiver.describe))
        return receiver

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
# Messaging helpers: people, bots, console scripts, background processes, HTTP helpers.


@dataclass
class Person:
    email: str
    full_name: Optional[str]
    user_id: int
    rc: Path
    client: zulip.Client


@dataclass
class Bot:
    email: str
    full_name: str
    user_id: int
    api_key: str
    rc: Path
    rc_fields: Dict[str, str] = field(default_factory=dict)


def venv_script(name: str) -> str:
    """The path of console script ``name`` in the venv running pytest."""
    path = VENV_BIN / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"{name} not found in {VENV_BIN} (the venv running pytest); install the suite's "
            f"requirements there: {VENV_BIN / 'pip'} install -r compat/requirements.txt",
            pytrace=False,
        )
    return str(path)


def child_env() -> Dict[str, str]:
    """The environment for client subprocesses: the test's (isolated HOME, no ZULIP_*
    variables, no proxies), unbuffered so their output reaches the log at once."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Background:
    """A subprocess whose stdout and stderr go to one log file."""

    def __init__(self, label: str, argv: List[str], log_path: Path) -> None:
        self.label = label
        self.argv = argv
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=child_env(),
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no output file)"

    def describe(self) -> str:
        rc = self.proc.poll()
        state = "still running" if rc is None else f"exited with code {rc}"
        return f"$ {shlex.join(self.argv)}\n({state})\n{self.output()}"

    def check_alive(self, doing: str = "") -> None:
        if not self.alive():
            pytest.fail(
                f"{self.label} exited with code {self.proc.returncode}"
                f"{' ' + doing if doing else ''}.\n--- its output ---\n{self.output()}",
                pytrace=False,
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
    "upgrade", "content-length", "host", "accept-encoding",
}
_NOT_COPIED_BACK = _HOP_BY_HOP | {"content-encoding", "date", "server"}


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, whether sent with Content-Length or chunked."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler may be stuck in a long-poll; never wait for it


def _serve_in_thread(handler: type) -> Tuple[_QuietServer, str]:
    server = _QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="compat-http", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class RecordingProxy:
    """A transparent HTTP proxy to tessera that records every request and its status.

    A client pointed at it (zuliprc ``site=`` = ``proxy.url``) is unmodified; the proxy only
    lets a test see what a black-box client such as ``zulip-run-bot`` did: whether its
    ``POST /register`` succeeded, whether it got 401s after a key rotation.
    """

    def __init__(self, upstream: str, label: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.label = label
        self.entries: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = _read_body(self)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                entry: Dict[str, Any] = {
                    "t": time.monotonic(),
                    "method": self.command,
                    "path": self.path.split("?", 1)[0],
                    "query": self.path.split("?", 1)[1] if "?" in self.path else "",
                    "status": None,
                    "body": "",
                }
                with proxy._lock:
                    proxy.entries.append(entry)
                try:
                    with requests.Session() as s:
                        s.trust_env = False
                        r = s.request(
                            self.command, proxy.upstream + self.path, headers=headers,
                            data=body, timeout=150, allow_redirects=False,
                        )
                    status, rheaders, content = r.status_code, list(r.headers.items()), r.content
                except requests.RequestException as e:
                    status, rheaders, content = 502, [("Content-Type", "text/plain")], repr(e).encode()
                entry["status"] = status
                entry["body"] = content[:300].decode("utf-8", "replace")
                entry["t_done"] = time.monotonic()
                try:
                    self.send_response(status)
                    for k, v in rheaders:
                        if k.lower() not in _NOT_COPIED_BACK:
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(content)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(content)
                except OSError:
                    pass  # the client went away (e.g. killed mid long-poll)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

        self._server, self.url = _serve_in_thread(Handler)

    def snapshot(self) -> List[Dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.entries]

    def wait_for(
        self,
        predicate: Callable[[Dict[str, Any]], bool],
        what: str,
        timeout: float = 30.0,
        watch: Sequence[Background] = (),
    ) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for e in self.snapshot():
                if predicate(e):
                    return e
            for bg in watch:
                bg.check_alive(f"while waiting for {what}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out after {timeout}s waiting for {what} through {self.label}.\n"
                    f"requests seen:\n{self.describe()}"
                    + "".join(f"\n--- output of {bg.label} ---\n{bg.output()}" for bg in watch),
                    pytrace=False,
                )
            time.sleep(0.1)

    def describe(self) -> str:
        entries = self.snapshot()
        if not entries:
            return "(no requests)"
        t0 = entries[0]["t"]
        lines = []
        for e in entries:
            status = e["status"] if e["status"] is not None else "(pending)"
            q = f"?{e['query']}" if e["query"] else ""
            lines.append(
                f"+{e['t'] - t0:7.2f}s {e['method']} {e['path']}{q} -> {status} {e['body'][:160]!r}"
            )
        return "\n".join(lines)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class WebhookReceiver:
    """A tiny HTTP endpoint for outgoing-webhook bots: records each POST, answers ``reply``."""

    def __init__(self, reply: Dict[str, Any]) -> None:
        self.reply = reply
        self.requests: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = _read_body(self)
                try:
                    payload: Any = json.loads(raw)
                except ValueError:
                    payload = None
                with receiver._lock:
                    receiver.requests.append({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "raw": raw.decode("utf-8", "replace"),
                        "json": payload,
                    })
                body = json.dumps(receiver.reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server, base = _serve_in_thread(Handler)
        self.url = base + "/hook"

    def snapshot(self) -> List[Dict[str, Any]]:
        with self._lock:
            return list(self.requests)

    def wait_for(
        self, predicate: Callable[[Dict[str, Any]], bool], what: str, timeout: float = 20.0,
        server_log: Callable[[], str] = lambda: "",
    ) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for r in self.snapshot():
                if predicate(r):
                    return r
            if time.monotonic() > deadline:
                pytest.fail(
                    f"timed out after {timeout}s waiting for {what} at {self.url}.\n"
                    f"received:\n{self.describe()}\n--- server log (tail) ---\n"
                    f"{server_log()[-4000:]}",
                    pytrace=False,
                )
            time.sleep(0.1)

    def describe(self) -> str:
        reqs = self.snapshot()
        if not reqs:
            return "(nothing received)"
        return "\n".join(
            f"POST {r['path']} content-type={r['headers'].get('content-type')!r}\n  {r['raw']}"
            for r in reqs
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def assert_success(res: Dict[str, Any], what: str = "") -> Dict[str, Any]:
    assert res.get("result") == "success", (
        f"{what + ': ' if what else ''}expected success, server answered {res!r}"
    )
    return res


def subscribe(client: zulip.Client, stream: str = "general") -> None:
    """Subscribe the client's user to ``stream`` (creating it if the server has no such
    channel yet); already being subscribed is fine."""
    assert_success(
        client.add_subscriptions([{"name": stream}]), f"add_subscriptions({stream!r})"
    )


def recent_messages(
    client: zulip.Client, narrow: Sequence[Any] = (), num_before: int = 50
) -> List[Dict[str, Any]]:
    """The newest messages matching ``narrow``, with raw (unrendered) content."""
    res = assert_success(
        client.get_messages({
            "anchor": "newest",
            "num_before": num_before,
            "num_after": 0,
            "narrow": list(narrow),
            "apply_markdown": False,
        }),
        f"get_messages narrow={list(narrow)!r}",
    )
    messages = res.get("messages")
    assert isinstance(messages, list), f"get_messages: no messages list in {res!r}"
    return messages


def wait_for_message(
    client: zulip.Client,
    predicate: Callable[[Dict[str, Any]], bool],
    what: str,
    narrow: Sequence[Any] = (),
    timeout: float = 20.0,
    watch: Sequence[Background] = (),
    poll: float = 0.3,
) -> Dict[str, Any]:
    """Poll ``get_messages`` (newest 50 in ``narrow``) until one satisfies ``predicate``.

    ``watch``: background processes (bots) that must stay alive meanwhile; if one dies, fail
    at once with its output.
    """
    deadline = time.monotonic() + timeout
    while True:
        messages = recent_messages(client, narrow)
        for m in messages:
            if predicate(m):
                return m
        for bg in watch:
            bg.check_alive(f"while waiting for {what}")
        if time.monotonic() > deadline:
            shown = [
                {k: m.get(k) for k in ("id", "sender_email", "type", "display_recipient",
                                       "subject", "content")}
                for m in messages[-10:]
            ]
            pytest.fail(
                f"timed out after {timeout}s waiting for {what} (narrow={list(narrow)!r}); "
                f"newest messages there:\n"
                + "\n".join(repr(m) for m in shown)
                + "".join(f"\n--- output of {bg.label} ---\n{bg.output()}" for bg in watch),
                pytrace=False,
            )
        time.sleep(poll)


def stream_narrow(stream: str, topic: Optional[str] = None) -> List[Dict[str, str]]:
    narrow = [{"operator": "stream", "operand": stream}]
    if topic is not None:
        narrow.append({"operator": "topic", "operand": topic})
    return narrow


def dm_narrow(email: str) -> List[Dict[str, str]]:
    return [{"operator": "dm", "operand": email}]



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
        try:
            tessera_dir.cleanup()
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
            for title, text in t.reporters:
                try:
                    report.sections.append((title, text()))
                except Exception as e:
                    report.sections.append((title, f"(could not collect: {e!r})"))
    return report
