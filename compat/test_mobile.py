"""Mobile devices and sessions: scripted clients that behave like the Zulip apps.

- A mobile app (User-Agent ``ZulipMobile/27.200 (Android 14)``, see
  /work/shared/reference/zulip-clients.md §5) logs in with a password: ``server_settings`` →
  ``fetch_api_key`` → ``android_gcm_reg_id`` → ``register`` → ``events``. Regenerating the
  key (as the web UI does) makes its next ``/register`` a 401 (which logs the app out) and
  drops its push registration from the owner's Devices page.
- A second app logs in through the browser with ``mobile_flow_otp``: the form POST answers a
  bare 302 to ``zulip://login?otp_encrypted_api_key=…`` and the decrypted key works.
- The desktop flow: ``desktop_flow_otp`` → ``#desktop_data`` (AES-256-GCM) → a single-use
  15-second token for ``/accounts/login/subdomain/<token>``.
- OTP validation, the Devices page's API-client list, and the new-login email.
"""

from __future__ import annotations

import email
import email.policy
import re
import secrets
import time
import urllib.parse
from html.parser import HTMLParser
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests

from conftest import ORG_NAME, Tessera, is_api_key, parse_zuliprc

MOBILE_UA = "ZulipMobile/27.200 (Android 14)"
FLUTTER_UA = "ZulipFlutter/30.0.263+263 (Android 14)"
PYTHON_UA = "ZulipPython/0.9.1"
TIMEOUT = 15

INVALID_KEY = {"result": "error", "msg": "Invalid API key", "code": "UNAUTHORIZED"}
DEVICES_PAGE = "/settings/account-and-privacy"


# ---------------------------------------------------------------------------
# Helpers


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def describe(r: requests.Response) -> str:
    return (
        f"{r.request.method} {r.request.url} -> HTTP {r.status_code}\n"
        f"headers: {dict(r.headers)!r}\nbody: {r.text[:1500]}"
    )


def json_of(r: requests.Response) -> Dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        pytest.fail(f"expected a JSON answer:\n{describe(r)}", pytrace=False)
    assert isinstance(body, dict), describe(r)
    return body


def success(r: requests.Response) -> Dict[str, Any]:
    body = json_of(r)
    assert r.status_code == 200 and body.get("result") == "success", (
        f"expected success:\n{describe(r)}"
    )
    return body


def assert_key_refused(r: requests.Response) -> None:
    """What Zulip answers for a key that no longer exists (the app then logs out)."""
    assert r.status_code == 401, f"expected 401 for the old key:\n{describe(r)}"
    body = json_of(r)
    assert {k: body.get(k) for k in INVALID_KEY} == INVALID_KEY, describe(r)
    assert r.headers.get("WWW-Authenticate") == 'Basic realm="zulip"', describe(r)


def assert_bad_request(r: requests.Response, msg: str) -> None:
    assert r.status_code == 400, f"expected 400 {msg!r}:\n{describe(r)}"
    body = json_of(r)
    expected = {"result": "error", "msg": msg, "code": "BAD_REQUEST"}
    assert {k: body.get(k) for k in expected} == expected, describe(r)


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes, and the text inside it."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: List[Dict[str, Any]] = []
        self._open: List[Dict[str, Any]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        el = {"tag": tag, "attrs": {k: (v or "") for k, v in attrs}, "text": ""}
        self.elements.append(el)
        if tag not in self.VOID:
            self._open.append(el)

    def handle_startendtag(self, tag: str, attrs: List[Tuple[str, Optional[str]]]) -> None:
        self.elements.append({"tag": tag, "attrs": {k: (v or "") for k, v in attrs}, "text": ""})

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for el in self._open:
            el["text"] += data

    def by_id(self, id_: str) -> Optional[Dict[str, Any]]:
        return next((e for e in self.elements if e["attrs"].get("id") == id_), None)

    def by_class(self, cls: str) -> List[Dict[str, Any]]:
        return [e for e in self.elements if cls in e["attrs"].get("class", "").split()]

    def meta(self, name: str) -> Optional[str]:
        for e in self.elements:
            if e["tag"] == "meta" and e["attrs"].get("name") == name:
                return e["attrs"].get("content")
        return None

    def form_fields(self, form_id: str) -> Dict[str, str]:
        """Name → value of the <input>s after ``<form id=form_id>`` (up to the next form)."""
        fields: Dict[str, str] = {}
        inside = False
        for e in self.elements:
            if e["tag"] == "form":
                if inside:
                    break
                inside = e["attrs"].get("id") == form_id
                continue
            if inside and e["tag"] == "input" and e["attrs"].get("name"):
                fields[e["attrs"]["name"]] = e["attrs"].get("value", "")
        return fields


def browser(t: Tessera) -> requests.Session:
    """A plain session standing in for a browser (keeps cookies, sends Origin on POST)."""
    s = t.http()
    s.headers["User-Agent"] = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Safari/537.36"
    )
    return s


def login_form(s: requests.Session, t: Tessera, query: str = "") -> Tuple[Elements, Dict[str, str]]:
    """GET /login/[?query]; returns the parsed page and the login form's fields."""
    r = s.get(t.site + "/login/" + (f"?{query}" if query else ""), timeout=TIMEOUT)
    assert r.status_code == 200, describe(r)
    page = Elements(r.text)
    fields = page.form_fields("login_form")
    token = page.meta("csrf-token")
    assert token, f"no <meta name=csrf-token> on the login page:\n{r.text[:2000]}"
    assert s.cookies.get("csrftoken"), f"GET /login/ set no csrftoken cookie: {describe(r)}"
    assert fields.get("csrfmiddlewaretoken") == token, (
        f"the form's csrfmiddlewaretoken differs from the meta tag: {fields!r} vs {token!r}"
    )
    return page, fields


def post_login(
    s: requests.Session, t: Tessera, fields: Dict[str, str], email_: str, password: str
) -> requests.Response:
    data = dict(fields)
    data.update(username=email_, password=password)
    return s.post(
        t.site + "/accounts/login/",
        data=data,
        headers={"Origin": t.site},
        allow_redirects=False,
        timeout=TIMEOUT,
    )


def web_login(t: Tessera, email_: str, password: str) -> requests.Session:
    """A browser-like session signed in through the login form."""
    s = browser(t)
    _, fields = login_form(s, t)
    r = post_login(s, t, fields, email_, password)
    assert r.status_code == 302, f"web login failed:\n{describe(r)}"
    assert s.cookies.get("sessionid"), f"web login set no sessionid:\n{describe(r)}"
    return s


def devices(s: requests.Session, t: Tessera) -> Elements:
    r = s.get(t.site + DEVICES_PAGE, timeout=TIMEOUT, allow_redirects=False)
    assert r.status_code == 200, f"the Devices page:\n{describe(r)}"
    page = Elements(r.text)
    assert page.by_id("devices_section") is not None, f"no #devices_section:\n{r.text[:3000]}"
    return page


def api_clients(page: Elements) -> List[str]:
    return [e["attrs"].get("data-client", "") for e in page.by_class("api_client")]


def outbox(t: Tessera) -> Dict[str, email.message.EmailMessage]:
    """Every mail in the data dir's outbox (the fixture runs without SMTP), by file name."""
    return {
        path.name: email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in (t.data_dir / "outbox").glob("*.eml")
    }


def is_new_login(m: email.message.EmailMessage) -> bool:
    return str(m["Subject"] or "").startswith("New login")


class Outbox:
    """The mails written since it was made (or since the last ``new()``)."""

    def __init__(self, t: Tessera) -> None:
        self.t = t
        self.seen = set(outbox(t))

    def new(self) -> List[email.message.EmailMessage]:
        mails = outbox(self.t)
        fresh = [m for name, m in mails.items() if name not in self.seen]
        self.seen = set(mails)
        return fresh

    def new_logins(self) -> List[Tuple[str, str, str]]:
        """(to, subject, body) of each new-login mail written since the last call."""
        return [(str(m["To"]), str(m["Subject"]), m.get_content()) for m in self.new()
                if is_new_login(m)]


class App:
    """A scripted Zulip mobile app: the requests of zulip-clients.md §5, with its User-Agent."""

    def __init__(self, t: Tessera, user_agent: str) -> None:
        self.t = t
        self.http = t.http()
        self.http.headers["User-Agent"] = user_agent
        self.realm: Optional[str] = None
        self.email: Optional[str] = None
        self.api_key: Optional[str] = None
        self.user_id: Optional[int] = None
        self.queue_id: Optional[str] = None
        self.last_event_id: Optional[int] = None

    def url(self, path: str) -> str:
        base = self.realm or self.t.site
        return base.rstrip("/") + "/api/v1/" + path.lstrip("/")

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        auth = (self.email, self.api_key) if self.api_key else None
        return self.http.request(method, self.url(path), auth=auth, timeout=TIMEOUT, **kw)

    def server_settings(self) -> Dict[str, Any]:
        r = self.http.get(self.t.site + "/api/v1/server_settings", timeout=TIMEOUT)
        body = success(r)
        for k in ("authentication_methods", "external_authentication_methods",
                  "zulip_feature_level", "zulip_version", "zulip_merge_base",
                  "push_notifications_enabled", "is_incompatible", "email_auth_enabled",
                  "require_email_format_usernames", "realm_uri", "realm_name", "realm_icon",
                  "realm_description", "realm_web_public_access_enabled"):
            assert k in body, f"server_settings lacks {k!r}, which the app requires: {body!r}"
        assert body["email_auth_enabled"] is True, body
        self.realm = body["realm_uri"]
        return body

    def fetch_api_key(self, username: str, password: str) -> Dict[str, Any]:
        r = self.http.post(
            self.url("fetch_api_key"),
            data={"username": username, "password": password},
            timeout=TIMEOUT,
        )
        body = success(r)
        assert is_api_key(body.get("api_key")), body
        assert body.get("email") == username, body
        assert is_int(body.get("user_id")), body
        self.email, self.api_key, self.user_id = body["email"], body["api_key"], body["user_id"]
        return body

    def register_fcm(self, token: str) -> None:
        success(self.request("POST", "users/me/android_gcm_reg_id", data={"token": token}))

    def register_apns(self, token: str, appid: str) -> None:
        success(self.request("POST", "users/me/apns_device_token",
                             data={"token": token, "appid": appid}))

    def register(self) -> requests.Response:
        return self.request("POST", "register", data={
            "event_types": '["message"]',
            "apply_markdown": "true",
            "client_gravatar": "false",
            "slim_presence": "true",
        })

    def register_ok(self) -> Dict[str, Any]:
        body = success(self.register())
        assert isinstance(body.get("queue_id"), str), body
        assert is_int(body.get("last_event_id")), body
        self.queue_id, self.last_event_id = body["queue_id"], body["last_event_id"]
        return body

    def poll(self) -> requests.Response:
        return self.request("GET", "events", params={
            "queue_id": self.queue_id,
            "last_event_id": self.last_event_id,
            "dont_block": "true",
        })


def password_login(t: Tessera, user_agent: str = MOBILE_UA) -> App:
    app = App(t, user_agent)
    settings = app.server_settings()
    assert settings["realm_uri"] == t.site, (
        f"realm_uri must be the origin the app reaches: {settings['realm_uri']!r} vs {t.site!r}"
    )
    app.fetch_api_key(t.owner.email, t.owner.password)
    return app


def otp_login(t: Tessera, kind: str) -> Tuple[str, requests.Session, requests.Response]:
    """The app's browser half of an OTP flow: GET /login/?<kind>=<otp>, POST the form.
    Returns (otp, the browser session, the POST's response)."""
    otp = secrets.token_hex(32)
    s = browser(t)
    page, fields = login_form(s, t, f"{kind}={otp}")
    assert fields.get(kind) == otp, f"the login form should carry {kind} as a hidden field: {fields!r}"
    other = "desktop_flow_otp" if kind == "mobile_flow_otp" else "mobile_flow_otp"
    assert other not in fields, fields
    r = post_login(s, t, fields, t.owner.email, t.owner.password)
    return otp, s, r


# ---------------------------------------------------------------------------
# 1. password login like the app; the key is regenerated; the app is logged out


def test_mobile_app_password_login_then_key_regenerated(tessera: Tessera) -> None:
    t = tessera
    app = password_login(t)
    fcm_token = "fcm-" + secrets.token_hex(40)
    app.register_fcm(fcm_token)
    app.register_ok()
    events = success(app.poll())
    assert isinstance(events.get("events"), list), events

    me = success(app.request("GET", "users/me"))
    assert me.get("user_id") == app.user_id and me.get("email") == t.owner.email, me

    # The owner sees the phone and the app on the Devices page.
    web = web_login(t, t.owner.email, t.owner.password)
    page = devices(web, t)
    phones = page.by_class("mobile_device")
    assert len(phones) == 1, f"one push registration listed: {[p['text'] for p in phones]!r}"
    assert page.by_id("no_mobile_devices") is None
    assert fcm_token[:8] in phones[0]["text"], phones[0]
    assert "ZulipMobile" in api_clients(page), api_clients(page)
    row = next(e for e in page.by_class("api_client") if e["attrs"].get("data-client") == "ZulipMobile")
    assert "127.0.0.1" in row["text"], f"the API client row shows the last IP: {row['text']!r}"

    # Regenerate the key the way the web UI does (Basic auth with the revealed key).
    with t.http() as http:
        r = http.post(t.site + "/api/v1/users/me/api_key/regenerate",
                      auth=(t.owner.email, app.api_key), timeout=TIMEOUT)
    new_key = success(r).get("api_key")
    assert is_api_key(new_key) and new_key != app.api_key, r.text

    # The app's next register (what it does on reload) is a 401: it logs out.
    assert_key_refused(app.register())
    assert_key_refused(app.poll())
    assert_key_refused(app.request("GET", "users/me"))
    # Its best-effort unregister with the dead key fails too (and does not matter).
    assert app.request("DELETE", "users/me/android_gcm_reg_id", data={"token": fcm_token}).status_code == 401

    # The push registration is gone from the owner's Devices page.
    page = devices(web, t)
    assert page.by_class("mobile_device") == [], (
        f"push registrations still listed after the key was regenerated: "
        f"{[p['text'] for p in page.by_class('mobile_device')]!r}"
    )
    assert page.by_id("no_mobile_devices") is not None, "#no_mobile_devices is shown"

    # Logging in again works, with a key of its own (the new account key is the zuliprc's).
    again = password_login(t)
    assert is_api_key(again.api_key) and again.api_key not in (app.api_key, new_key)
    assert parse_zuliprc(t.zuliprc_text(t.owner.email))["key"] == new_key
    again.register_ok()


def test_apns_registration_is_listed(tessera: Tessera) -> None:
    t = tessera
    app = password_login(t, "ZulipMobile/27.200 (iOS 17.4)")
    app.register_apns("apns" + secrets.token_hex(32), "org.zulip.Zulip")
    page = devices(web_login(t, t.owner.email, t.owner.password), t)
    phones = page.by_class("mobile_device")
    assert len(phones) == 1, [p["text"] for p in phones]
    assert "iOS" in phones[0]["text"] or "APNs" in phones[0]["text"], phones[0]["text"]


def test_api_clients_are_recorded_by_user_agent(tessera: Tessera) -> None:
    t = tessera
    app = password_login(t)
    for ua in (PYTHON_UA, FLUTTER_UA, "ZulipPython/0.9.1 (Linux; Python 3.12)"):
        with t.http() as http:
            r = http.get(t.site + "/api/v1/users/me", auth=(app.email, app.api_key),
                         headers={"User-Agent": ua}, timeout=TIMEOUT)
        success(r)
    clients = api_clients(devices(web_login(t, t.owner.email, t.owner.password), t))
    for name in ("ZulipMobile", "ZulipPython", "ZulipFlutter"):
        assert clients.count(name) == 1, f"{name} listed once among the API clients: {clients!r}"


# ---------------------------------------------------------------------------
# 2. mobile_flow_otp


def test_mobile_flow_otp_login(tessera: Tessera) -> None:
    t = tessera
    app = App(t, FLUTTER_UA)
    settings = app.server_settings()
    otp, browser_session, r = otp_login(t, "mobile_flow_otp")

    assert r.status_code == 302, f"the mobile flow ends with a bare 302:\n{describe(r)}"
    location = r.headers.get("Location", "")
    assert location.startswith("zulip://login?"), describe(r)
    assert "sessionid" not in r.headers.get("Set-Cookie", ""), (
        f"the mobile flow must not sign the browser in:\n{describe(r)}"
    )
    assert not browser_session.cookies.get("sessionid"), dict(browser_session.cookies)

    params = urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query, keep_blank_values=True)
    assert [k for k, _ in params] == ["otp_encrypted_api_key", "email", "user_id", "realm"], location
    p = dict(params)
    assert all(p.values()), location
    assert re.fullmatch(r"[0-9a-f]{64}", p["otp_encrypted_api_key"]), location
    assert p["email"] == t.owner.email, location
    assert p["realm"] == settings["realm_uri"], (
        f"realm must equal server_settings' realm_uri: {p['realm']!r} vs {settings['realm_uri']!r}"
    )
    user_id = int(p["user_id"])
    key = bytes(
        a ^ b for a, b in zip(bytes.fromhex(p["otp_encrypted_api_key"]), bytes.fromhex(otp))
    ).decode("ascii")
    assert is_api_key(key), f"decrypted key {key!r}"

    # The app uses it.
    app.email, app.api_key, app.user_id = p["email"], key, user_id
    me = success(app.request("GET", "users/me"))
    assert me.get("user_id") == user_id and me.get("email") == t.owner.email, me
    app.register_ok()
    success(app.poll())
    app.register_fcm("fcm-otp-" + secrets.token_hex(20))

    # It is this login's own key (tessera gives each app login one): another login gets
    # another key, and the account's own key (its zuliprc) is neither.
    other = App(t, MOBILE_UA).fetch_api_key(t.owner.email, t.owner.password)["api_key"]
    assert is_api_key(other) and other != key
    assert parse_zuliprc(t.zuliprc_text(t.owner.email))["key"] not in (key, other)

    # The browser that did the hand-off is still signed out.
    r = browser_session.get(t.site + DEVICES_PAGE, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code in (302, 303) and "/login" in r.headers.get("Location", ""), describe(r)


def test_mobile_flow_otp_wrong_password_stays_on_form(tessera: Tessera) -> None:
    t = tessera
    otp = secrets.token_hex(32)
    s = browser(t)
    _, fields = login_form(s, t, f"mobile_flow_otp={otp}")
    r = post_login(s, t, fields, t.owner.email, "not-the-password")
    assert r.status_code == 200, describe(r)
    page = Elements(r.text)
    assert page.by_id("login_error") is not None, r.text[:2000]
    assert page.form_fields("login_form").get("mobile_flow_otp") == otp, (
        "the re-shown form keeps the OTP"
    )
    assert "zulip://" not in r.headers.get("Location", "")


def test_otp_validation(tessera: Tessera) -> None:
    t = tessera
    good = secrets.token_hex(32)
    bad = [
        "abc",
        "g" * 64,
        secrets.token_hex(31),
        secrets.token_hex(33),
        secrets.token_hex(32)[:-1] + "z",
    ]
    with browser(t) as s:
        for kind in ("mobile_flow_otp", "desktop_flow_otp"):
            for otp in bad:
                r = s.get(t.site + "/login/", params={kind: otp}, timeout=TIMEOUT)
                assert_bad_request(r, "Invalid OTP")
        r = s.get(t.site + "/login/",
                  params={"mobile_flow_otp": good, "desktop_flow_otp": secrets.token_hex(32)},
                  timeout=TIMEOUT)
        assert_bad_request(r, "Can't use both mobile_flow_otp and desktop_flow_otp together.")
        # Upper-case hex is what Zulip's `is_valid_otp` accepts too (int(otp, 16)).
        r = s.get(t.site + "/login/", params={"mobile_flow_otp": good.upper()}, timeout=TIMEOUT)
        assert r.status_code == 200, describe(r)

        # The POST checks them as well.
        _, fields = login_form(s, t)
        data = dict(fields, username=t.owner.email, password=t.owner.password,
                    mobile_flow_otp="1234")
        r = s.post(t.site + "/accounts/login/", data=data, headers={"Origin": t.site},
                   allow_redirects=False, timeout=TIMEOUT)
        assert_bad_request(r, "Invalid OTP")
        assert not s.cookies.get("sessionid"), "an invalid OTP must not sign in"


# ---------------------------------------------------------------------------
# 3. desktop_flow_otp


def aes_gcm():
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:
        pytest.skip(
            "the `cryptography` package is not installed in this venv (it is in "
            "compat/requirements.txt): cannot decrypt #desktop_data"
        )
    return AESGCM


def desktop_token(t: Tessera) -> str:
    AESGCM = aes_gcm()
    otp, s, r = otp_login(t, "desktop_flow_otp")
    assert r.status_code == 200, f"the desktop flow answers a page:\n{describe(r)}"
    page = Elements(r.text)
    el = page.by_id("desktop_data")
    assert el is not None, f"no #desktop_data:\n{r.text[:3000]}"
    raw = (el["attrs"].get("value") or el["attrs"].get("content") or el["text"]).strip()
    assert re.fullmatch(r"[0-9a-fA-F]+", raw), f"#desktop_data is hex: {raw!r}"
    data = bytes.fromhex(raw)
    assert len(data) == 12 + 32 + 16, f"iv(12) ‖ ciphertext(32) ‖ tag(16): {len(data)} bytes"
    token = AESGCM(bytes.fromhex(otp)).decrypt(data[:12], data[12:], None).decode("ascii")
    assert re.fullmatch(r"[A-Za-z0-9]{32}", token), token
    assert not s.cookies.get("sessionid"), "the desktop flow's browser is not signed in"
    return token


def test_desktop_flow_otp_login(tessera: Tessera) -> None:
    t = tessera
    token = desktop_token(t)

    desktop = browser(t)
    desktop.headers["User-Agent"] = "ZulipElectron/5.11.1 Mozilla/5.0 Chrome/120 Electron/28"
    r = desktop.get(f"{t.site}/accounts/login/subdomain/{token}", allow_redirects=False,
                    timeout=TIMEOUT)
    assert r.status_code == 302, describe(r)
    assert urllib.parse.urlsplit(r.headers.get("Location", "")).path == DEVICES_PAGE, describe(r)
    assert desktop.cookies.get("sessionid"), f"no session cookie:\n{describe(r)}"
    page = devices(desktop, t)
    sessions = page.by_class("web_session")
    assert len(sessions) == 1, [s["text"] for s in sessions]
    assert page.by_id("this_session") is not None

    # Single use.
    again = browser(t)
    r = again.get(f"{t.site}/accounts/login/subdomain/{token}", allow_redirects=False,
                  timeout=TIMEOUT)
    assert r.status_code == 400, f"a used token must be refused:\n{describe(r)}"
    assert not again.cookies.get("sessionid"), describe(r)

    # Garbage.
    r = again.get(f"{t.site}/accounts/login/subdomain/{'x' * 32}", allow_redirects=False,
                  timeout=TIMEOUT)
    assert r.status_code == 400, describe(r)
    assert not again.cookies.get("sessionid"), describe(r)


def test_desktop_flow_token_expires_after_15_seconds(tessera: Tessera) -> None:
    t = tessera
    token = desktop_token(t)
    time.sleep(16)
    s = browser(t)
    r = s.get(f"{t.site}/accounts/login/subdomain/{token}", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400, f"a 16-second-old token must be refused:\n{describe(r)}"
    assert not s.cookies.get("sessionid"), describe(r)


# ---------------------------------------------------------------------------
# 4. the new-login email


def test_new_login_email(tessera: Tessera) -> None:
    t = tessera
    box = Outbox(t)

    password_login(t, MOBILE_UA)
    mails = box.new_logins()
    assert len(mails) == 1, f"one new-login mail after a new client's fetch_api_key: {mails!r}"
    to, subject, body = mails[0]
    assert to == t.owner.email, mails[0]
    assert subject == f"New login to your account on {ORG_NAME}", subject
    assert re.search(r"^Client: ZulipMobile\s*$", body, re.M), body
    assert re.search(r"^Time: \S+", body, re.M), body
    assert re.search(r"^IP address: 127\.0\.0\.1\s*$", body, re.M), body
    assert f"{t.site}/settings/account-and-privacy#devices_section" in body, body

    # Same client again: no mail. Using the key is not a login: no mail.
    app = password_login(t, MOBILE_UA)
    success(app.request("GET", "users/me"))
    with t.http() as http:
        success(http.get(t.site + "/api/v1/users/me", auth=(app.email, app.api_key),
                         headers={"User-Agent": "SomeNewScript/1.0"}, timeout=TIMEOUT))
    assert box.new() == [], "no mail for a second fetch_api_key by the same client, nor for API use"

    # A different client: a mail naming it.
    password_login(t, PYTHON_UA)
    mails = box.new_logins()
    assert len(mails) == 1, mails
    assert re.search(r"^Client: ZulipPython\s*$", mails[0][2], re.M), mails[0][2]

    # Turned off on the Devices page (PATCH /json/settings): no mail for a new client.
    web = web_login(t, t.owner.email, t.owner.password)
    page = devices(web, t)
    checkbox = page.by_id("enable_login_emails")
    assert checkbox is not None and "checked" in checkbox["attrs"], checkbox
    box.new()
    r = web.patch(t.site + "/json/settings", data={"enable_login_emails": "false"},
                  headers={"X-CSRFToken": page.meta("csrf-token") or "", "Origin": t.site},
                  timeout=TIMEOUT)
    success(r)
    assert "checked" not in (devices(web, t).by_id("enable_login_emails") or {}).get("attrs", {})
    password_login(t, FLUTTER_UA)
    assert box.new_logins() == [], "new-login emails were turned off"


def test_web_login_from_new_client_sends_email(tessera: Tessera) -> None:
    t = tessera
    box = Outbox(t)
    web_login(t, t.owner.email, t.owner.password)
    mails = box.new_logins()
    assert len(mails) == 1, mails
    assert re.search(r"^Client: .*Chrome", mails[0][2], re.M), mails[0][2]
    web_login(t, t.owner.email, t.owner.password)
    assert box.new_logins() == [], "the same browser again: no mail"


# ---------------------------------------------------------------------------
# 5. signing sessions out, "Log out everywhere", and the password-reset option


def csrf_headers(page: Elements, t: Tessera) -> Dict[str, str]:
    return {"X-CSRFToken": page.meta("csrf-token") or "", "Origin": t.site}


def own_session_id(page: Elements) -> str:
    rows = [e for e in page.by_class("web_session")]
    ids = [e["attrs"].get("data-session-id", "") for e in rows if "This browser" in e["text"]]
    assert len(ids) == 1 and ids[0].isdigit(), [e["text"] for e in rows]
    return ids[0]


def signed_in(s: requests.Session, t: Tessera) -> bool:
    r = s.get(t.site + DEVICES_PAGE, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code in (200, 302, 303), describe(r)
    return r.status_code == 200


def test_sign_out_one_session_and_log_out_everywhere(tessera: Tessera) -> None:
    t = tessera
    member = t.create_user("member.sessions@example.com", "Member Sessions", "member-Sessions-pw-4")
    member_web = web_login(t, member.email, member.password)
    member_sid = own_session_id(devices(member_web, t))

    app = password_login(t)
    app.register_fcm("fcm-" + secrets.token_hex(16))
    a = web_login(t, t.owner.email, t.owner.password)
    b = web_login(t, t.owner.email, t.owner.password)
    c = web_login(t, t.owner.email, t.owner.password)
    c_sid = own_session_id(devices(c, t))
    page = devices(a, t)
    assert len(page.by_class("web_session")) == 3, [e["text"] for e in page.by_class("web_session")]

    # Another user's session cannot be signed out from here.
    r = a.delete(f"{t.site}/json/users/me/sessions/{member_sid}", headers=csrf_headers(page, t),
                 timeout=TIMEOUT)
    assert r.status_code == 400 and json_of(r).get("result") == "error", describe(r)
    assert signed_in(member_web, t), "the member's session survived another user's DELETE"
    # Nor without the CSRF token.
    r = a.delete(f"{t.site}/json/users/me/sessions/{c_sid}", timeout=TIMEOUT)
    assert r.status_code == 403, describe(r)
    assert signed_in(c, t)
    # Your own other session can.
    success(a.delete(f"{t.site}/json/users/me/sessions/{c_sid}", headers=csrf_headers(page, t),
                     timeout=TIMEOUT))
    assert not signed_in(c, t), "the signed-out session still works"
    assert signed_in(a, t) and signed_in(b, t)

    # Log out everywhere: CSRF and the password are required.
    url = t.site + "/json/users/me/logout_everywhere"
    r = a.post(url, data={"password": t.owner.password}, timeout=TIMEOUT)
    assert r.status_code == 403, describe(r)
    r = a.post(url, data={"password": "wrong"}, headers=csrf_headers(page, t), timeout=TIMEOUT)
    assert r.status_code in (400, 401, 403) and json_of(r).get("result") == "error", describe(r)
    success(app.request("GET", "users/me"))
    assert signed_in(b, t)
    # (Not with the API key either: it is a browser-only action.)
    r = app.request("POST", "users/me/logout_everywhere", data={"password": t.owner.password})
    assert r.status_code in (400, 401, 404, 405) or json_of(r).get("result") == "error", describe(r)
    success(app.request("GET", "users/me"))

    success(a.post(url, data={"password": t.owner.password}, headers=csrf_headers(page, t),
                   timeout=TIMEOUT))
    assert_key_refused(app.register())
    assert not signed_in(b, t), "another browser is still signed in after Log out everywhere"
    assert signed_in(a, t), "this browser stays signed in"
    assert signed_in(member_web, t), "another user's session is untouched"
    page = devices(a, t)
    assert page.by_class("mobile_device") == [] and page.by_id("no_mobile_devices") is not None
    assert page.by_class("api_client") == [] and page.by_id("no_api_clients") is not None, (
        api_clients(page)
    )
    assert len(page.by_class("web_session")) == 1
    new_key = App(t, MOBILE_UA).fetch_api_key(t.owner.email, t.owner.password)["api_key"]
    assert new_key != app.api_key


def reset_password(t: Tessera, email_: str, new_password: str, regenerate: bool) -> None:
    """The "Forgot your password?" flow with requests, reading the link from the outbox."""
    s = browser(t)
    r = s.get(t.site + "/accounts/password/reset/", timeout=TIMEOUT)
    page = Elements(r.text)
    fields = page.form_fields("password_reset_form")
    assert fields.get("csrfmiddlewaretoken"), fields
    box = Outbox(t)
    r = s.post(t.site + "/accounts/password/reset/", data=dict(fields, email=email_),
               headers={"Origin": t.site}, timeout=TIMEOUT)
    assert r.status_code == 200, describe(r)
    fresh = [m for m in box.new() if not is_new_login(m)]
    assert len(fresh) == 1, [str(m["Subject"]) for m in fresh]
    link = re.search(r"https?://\S+/accounts/password/reset/\S+", fresh[0].get_content())
    assert link, fresh[0].get_content()
    r = s.get(link.group(0).rstrip(".>"), timeout=TIMEOUT)
    assert r.status_code == 200, describe(r)
    page = Elements(r.text)
    box = page.by_id("id_regenerate_api_key")
    assert box is not None and "checked" in box["attrs"], (
        f"#id_regenerate_api_key is checked by default: {box!r}"
    )
    fields = page.form_fields("set_password_form")
    if not regenerate:
        fields.pop("regenerate_api_key", None)  # an unticked checkbox is not sent
    fields.update(new_password1=new_password, new_password2=new_password)
    r = s.post(r.url, data=fields, headers={"Origin": t.site}, allow_redirects=False,
               timeout=TIMEOUT)
    assert r.status_code == 302 and "/accounts/password/done/" in r.headers.get("Location", ""), (
        describe(r)
    )


def test_password_reset_regenerates_key_unless_unticked(tessera: Tessera) -> None:
    t = tessera
    member = t.create_user("member.reset@example.com", "Member Reset", "member-Reset-pw-5")
    app = App(t, MOBILE_UA)
    app.server_settings()
    app.fetch_api_key(member.email, member.password)
    app.register_fcm("fcm-" + secrets.token_hex(16))
    old_key = app.api_key

    # Unticked: the keys keep working (the phone's, and the account's own).
    account_key = parse_zuliprc(t.zuliprc_text(member.email))["key"]
    reset_password(t, member.email, "Reset-Password-one-6", regenerate=False)
    success(app.request("GET", "users/me"))
    assert parse_zuliprc(t.zuliprc_text(member.email))["key"] == account_key
    assert is_api_key(App(t, MOBILE_UA).fetch_api_key(member.email, "Reset-Password-one-6")["api_key"])

    # Ticked (the default): the old key is refused and the phone's registration is gone.
    reset_password(t, member.email, "Reset-Password-two-7", regenerate=True)
    assert_key_refused(app.register())
    fresh = App(t, MOBILE_UA)
    fresh.fetch_api_key(member.email, "Reset-Password-two-7")
    assert fresh.api_key != old_key
    page = devices(web_login(t, member.email, "Reset-Password-two-7"), t)
    assert page.by_class("mobile_device") == [], [e["text"] for e in page.by_class("mobile_device")]
