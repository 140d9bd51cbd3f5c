"""Drive the official Zulip Python bindings (zulip==0.9.1) against tessera."""

from __future__ import annotations

from typing import Any, Dict, Tuple

import zulip

import time

from conftest import (
    API_KEY_RE,
    CLIENT_NAME,
    OWNER_EMAIL,
    free_port,
    Tessera,
    is_api_key,
    parse_zuliprc,
)

INVALID_KEY = {"result": "error", "msg": "Invalid API key", "code": "UNAUTHORIZED"}
MALFORMED_KEY = {"result": "error", "msg": "Malformed API key", "code": "UNAUTHORIZED"}


def assert_success(res: Dict[str, Any]) -> Dict[str, Any]:
    assert res.get("result") == "success", f"expected success, server answered {res!r}"
    return res


def assert_error(res: Dict[str, Any], expected: Dict[str, str]) -> None:
    got = {k: res.get(k) for k in expected}
    assert got == expected, f"expected {expected!r}, server answered {res!r}"


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def create_bot_via_api(t: Tessera, owner: zulip.Client) -> Tuple[int, str, str]:
    """POST /bots as the owner; returns (user_id, api_key, email)."""
    res = assert_success(
        owner.call_endpoint(
            url="bots",
            method="POST",
            request={"full_name": "Test Bot", "short_name": "test"},
        )
    )
    assert is_int(res.get("user_id")), f"POST /bots: bad user_id in {res!r}"
    assert is_api_key(res.get("api_key")), f"POST /bots: bad api_key in {res!r}"

    bots = assert_success(owner.call_endpoint(url="bots", method="GET"))
    assert isinstance(bots.get("bots"), list), f"GET /bots: {bots!r}"
    mine = [b for b in bots["bots"] if b.get("full_name") == "Test Bot"]
    assert len(mine) == 1, f"GET /bots should list exactly one 'Test Bot': {bots!r}"
    email = mine[0].get("username")
    assert isinstance(email, str) and email.startswith("test-bot@"), (
        f"GET /bots: bot username should be test-bot@<bot domain>: {mine[0]!r}"
    )
    # Decision D5: keys never appear in list payloads.
    assert "api_key" not in mine[0], f"GET /bots must not carry api_key: {mine[0]!r}"
    return res["user_id"], res["api_key"], email


# ---------------------------------------------------------------------------
# 1. person


def test_zuliprc_format(tessera: Tessera) -> None:
    text = tessera.zuliprc_text(tessera.owner.email)
    rc = parse_zuliprc(text)
    assert rc.get("email") == tessera.owner.email, text
    assert is_api_key(rc.get("key")), text
    assert rc.get("site") == tessera.site, (
        f"zuliprc site should be the running server's site {tessera.site!r}:\n{text}"
    )
    assert "token" not in rc, f"a person's zuliprc should have no token:\n{text}"


def test_person_get_profile(tessera: Tessera) -> None:
    client = tessera.owner_client()
    assert isinstance(client.zulip_version, str)
    profile = assert_success(client.get_profile())
    assert profile.get("email") == tessera.owner.email, profile
    assert is_int(profile.get("user_id")), profile
    assert profile.get("is_owner") is True, profile
    assert profile.get("is_admin") is True, profile
    assert profile.get("is_bot") is False, profile


# ---------------------------------------------------------------------------
# 2. bot created through the API


def test_bot_created_via_api(tessera: Tessera) -> None:
    owner = tessera.owner_client()
    user_id, api_key, email = create_bot_via_api(tessera, owner)

    rc_path = tessera.zuliprc(email)
    rc = parse_zuliprc(rc_path.read_text())
    assert rc.get("email") == email, rc
    assert rc.get("key") == api_key, f"bot zuliprc key differs from POST /bots api_key: {rc!r}"

    profile = assert_success(tessera.client_from_zuliprc(rc_path).get_profile())
    assert profile.get("is_bot") is True, profile
    assert profile.get("user_id") == user_id, profile
    assert profile.get("email") == email, profile

    # The same credentials passed directly also work.
    assert_success(tessera.client(email, api_key).get_profile())


# ---------------------------------------------------------------------------
# 3. person key regeneration through the API


def test_person_regenerate_via_api(tessera: Tessera) -> None:
    old_rc = tessera.zuliprc(tessera.owner.email)
    old_key = parse_zuliprc(old_rc.read_text())["key"]
    client = tessera.client_from_zuliprc(old_rc)
    user_id = assert_success(client.get_profile())["user_id"]

    res = assert_success(client.call_endpoint(url="users/me/api_key/regenerate", method="POST"))
    new_key = res.get("api_key")
    assert is_api_key(new_key), res
    assert new_key != old_key, res

    assert_error(tessera.client_from_zuliprc(old_rc).get_profile(), INVALID_KEY)

    new_rc = tessera.zuliprc(tessera.owner.email)
    assert parse_zuliprc(new_rc.read_text())["key"] == new_key
    profile = assert_success(tessera.client_from_zuliprc(new_rc).get_profile())
    assert profile.get("user_id") == user_id, profile


# ---------------------------------------------------------------------------
# 4. bot key regeneration through the API


def test_bot_regenerate_via_api(tessera: Tessera) -> None:
    owner = tessera.owner_client()
    bot_id, old_key, email = create_bot_via_api(tessera, owner)
    old_rc = tessera.zuliprc(email)
    assert_success(tessera.client_from_zuliprc(old_rc).get_profile())

    res = assert_success(
        owner.call_endpoint(url=f"bots/{bot_id}/api_key/regenerate", method="POST")
    )
    new_key = res.get("api_key")
    assert is_api_key(new_key), res
    assert new_key != old_key, res

    assert_error(tessera.client_from_zuliprc(old_rc).get_profile(), INVALID_KEY)

    new_rc = tessera.zuliprc(email)
    assert parse_zuliprc(new_rc.read_text())["key"] == new_key
    profile = assert_success(tessera.client_from_zuliprc(new_rc).get_profile())
    assert profile.get("user_id") == bot_id and profile.get("is_bot") is True, profile

    current = assert_success(owner.call_endpoint(url=f"bots/{bot_id}/api_key", method="GET"))
    assert current.get("api_key") == new_key, current

    # Owner's own key is unaffected by regenerating the bot's.
    assert_success(owner.get_profile())


# ---------------------------------------------------------------------------
# 5. fetch_api_key


def test_fetch_api_key(tessera: Tessera) -> None:
    url = tessera.site + "/api/v1/fetch_api_key"
    rc = parse_zuliprc(tessera.zuliprc_text(tessera.owner.email))
    with tessera.http() as http:
        r = http.post(url, data={"username": tessera.owner.email, "password": "wrong"}, timeout=15)
        assert r.status_code == 401, (r.status_code, r.text)
        body = r.json()
        assert body.get("result") == "error", body
        assert body.get("code") == "AUTHENTICATION_FAILED", body
        assert body.get("msg") == "Your username or password is incorrect", body

        r = http.post(
            url,
            data={"username": tessera.owner.email, "password": tessera.owner.password},
            timeout=15,
        )
        assert r.status_code == 200, (r.status_code, r.text)
        body = r.json()
        assert body.get("result") == "success", body
        # This login's own key (tessera's default), not the account key of the zuliprc.
        assert is_api_key(body.get("api_key")) and body.get("api_key") != rc["key"], body
        assert body.get("email") == tessera.owner.email, body
        assert is_int(body.get("user_id")), body

    profile = assert_success(tessera.client(tessera.owner.email, body["api_key"]).get_profile())
    assert profile["user_id"] == body["user_id"], (profile, body)


def test_device_keys_with_the_unmodified_client(tessera: Tessera) -> None:
    """Each fetch_api_key login gets its own key, which the unmodified bindings use over Basic
    auth for everything (profile, send, register and events); signing that one device out
    ends it alone, and a new account key ends them all."""
    member = tessera.create_user("devices@example.com", "Dev Ice", "devices-Password-Compat-9")
    url = tessera.site + "/api/v1/fetch_api_key"
    keys = []
    with tessera.http() as http:
        for ua in ("ZulipMobile/27.200 (Android 14)", "ZulipTerminal/0.7.0 (Linux)"):
            r = http.post(url, data={"username": member.email, "password": member.password},
                          headers={"User-Agent": ua}, timeout=15)
            assert r.status_code == 200, (r.status_code, r.text)
            keys.append(r.json()["api_key"])
    phone, terminal = (tessera.client(member.email, k) for k in keys)
    account = tessera.client_from_zuliprc(tessera.zuliprc(member.email))
    assert len({*keys, parse_zuliprc(tessera.zuliprc_text(member.email))["key"]}) == 3

    assert assert_success(phone.get_profile())["email"] == member.email
    queue = assert_success(terminal.register(event_types=["message"]))
    assert_success(phone.send_message({
        "type": "stream", "to": "general", "topic": "devices", "content": "from my phone",
    }))
    events = assert_success(terminal.get_events(queue_id=queue["queue_id"], last_event_id=-1))
    assert any(e.get("message", {}).get("content", "").find("from my phone") >= 0
               for e in events["events"]), events

    listed = assert_success(account.call_endpoint(url="users/me/api_keys", method="GET"))
    devices = {k["name"]: k for k in listed["api_keys"] if k["kind"] == "device"}
    assert set(devices) == {"ZulipMobile on Android", "ZulipTerminal on Linux"}, listed
    # Used by the bindings (their client name), from this machine.
    used = devices["ZulipMobile on Android"]["last_used"]
    assert used["client"] == CLIENT_NAME and used["ip"] == "127.0.0.1", devices

    # The phone is signed out: its key is refused as an unknown key; the terminal goes on.
    assert_success(account.call_endpoint(
        url=f"users/me/api_keys/{devices['ZulipMobile on Android']['id']}", method="DELETE"))
    assert_error(phone.get_profile(), INVALID_KEY)
    assert_success(terminal.get_events(queue_id=queue["queue_id"], last_event_id=-1,
                                       dont_block=True))
    # A new account key ends every device key.
    assert_success(account.call_endpoint(url="users/me/api_key/regenerate", method="POST"))
    assert_error(terminal.get_profile(), INVALID_KEY)


def test_fetch_api_key_rate_limit(tessera: Tessera) -> None:
    user = tessera.create_user("ratelimited@example.com", "Rate Limited", "rl-password-Compat-9")
    url = tessera.site + "/api/v1/fetch_api_key"
    with tessera.http() as http:
        for attempt in range(1, 6):
            r = http.post(url, data={"username": user.email, "password": "wrong"}, timeout=15)
            assert r.status_code == 401, f"wrong attempt {attempt}: {r.status_code} {r.text}"
            assert r.json().get("code") == "AUTHENTICATION_FAILED", f"attempt {attempt}: {r.text}"

        r = http.post(url, data={"username": user.email, "password": user.password}, timeout=15)
        assert r.status_code == 429, f"6th attempt: {r.status_code} {r.text}"
        body = r.json()
        assert body.get("result") == "error", body
        assert body.get("code") == "RATE_LIMIT_HIT", body
        assert "retry-after" in body, body
        assert isinstance(body["retry-after"], (int, float)) and body["retry-after"] > 0, body
        assert "Retry-After" in r.headers, dict(r.headers)
        assert float(r.headers["Retry-After"]) > 0, dict(r.headers)


# ---------------------------------------------------------------------------
# 6. bad keys through the client


def test_invalid_api_key(tessera: Tessera) -> None:
    client = tessera.client(tessera.owner.email, "x" * 32)
    assert_error(client.get_profile(), INVALID_KEY)

    with tessera.http() as http:
        r = http.get(
            tessera.site + "/api/v1/users/me",
            auth=(tessera.owner.email, "x" * 32),
            timeout=15,
        )
        assert r.status_code == 401, (r.status_code, r.text)
        assert_error(r.json(), INVALID_KEY)


def test_malformed_api_key(tessera: Tessera) -> None:
    client = tessera.client(tessera.owner.email, "abc")
    assert_error(client.get_profile(), MALFORMED_KEY)


def test_valid_key_with_wrong_email(tessera: Tessera) -> None:
    other = tessera.create_user("member@example.com", "Member", "member-password-Compat-2")
    owner_key = parse_zuliprc(tessera.zuliprc_text(tessera.owner.email))["key"]
    assert_error(tessera.client(other.email, owner_key).get_profile(), INVALID_KEY)


# ---------------------------------------------------------------------------
# 7. CLI key regeneration


def test_cli_key_regenerate(tessera: Tessera) -> None:
    old_rc = tessera.zuliprc(tessera.owner.email)
    old_key = parse_zuliprc(old_rc.read_text())["key"]
    assert_success(tessera.client_from_zuliprc(old_rc).get_profile())

    new_key = tessera.regenerate_key_cli(tessera.owner.email)
    assert API_KEY_RE.fullmatch(new_key), f"`tessera key regenerate` printed {new_key!r}"
    assert new_key != old_key

    assert_error(tessera.client_from_zuliprc(old_rc).get_profile(), INVALID_KEY)

    new_rc = tessera.zuliprc(tessera.owner.email)
    assert parse_zuliprc(new_rc.read_text())["key"] == new_key
    assert_success(tessera.client_from_zuliprc(new_rc).get_profile())


def test_cli_key_check(tessera: Tessera) -> None:
    """`tessera key check` (key on stdin): 0 live, 3 well-formed but not live, 1 not a key;
    never names the account."""
    def check(key: str, *flags: str) -> Any:
        return tessera.run("key", "check", *flags, stdin=key + "\n", check=False)

    member = tessera.create_user("zorbit@example.com", "Zorbit", "zorbit-password-Compat-9")
    old_key = parse_zuliprc(tessera.zuliprc_text(member.email))["key"]
    live = check(old_key)
    assert live.returncode == 0 and live.stdout.startswith("live:"), live
    new_key = tessera.regenerate_key_cli(member.email)
    replaced = check(old_key)
    assert replaced.returncode == 3 and "not live" in replaced.stderr, replaced
    offline = check(old_key, "--offline")
    assert offline.returncode == 0 and offline.stdout.startswith("well-formed:"), offline
    assert check(new_key).returncode == 0
    tessera.run("user", "deactivate", "--email", member.email)
    assert check(new_key).returncode == 3
    typo = new_key[:5] + ("a" if new_key[5] != "a" else "b") + new_key[6:]
    for bad in (typo, "abc", "x" * 33, ""):
        cp = check(bad)
        assert cp.returncode == 1 and "not a tessera key" in cp.stderr, (bad, cp)
    # A key given as an argument works the same; no verdict names whose key it is.
    arg = tessera.run("key", "check", new_key, check=False)
    assert arg.returncode == 3
    for cp in (live, replaced, offline, arg):
        text = (cp.stdout + cp.stderr).lower()
        assert "zorbit" not in text and "example.com" not in text, cp


def test_named_keys_with_the_unmodified_client(tessera: Tessera) -> None:
    """Named keys (tessera's own) work in the unmodified bindings over Basic auth: a full key
    does what the account key does; a read-only key reads and polls events, and a send is
    refused with a 403 (not a 401, which clients take for a logout); revoking one key, or
    regenerating the account key, ends it."""
    member = tessera.create_user("keyring@example.com", "Key Ring", "keyring-password-Compat-9")
    account = tessera.client_from_zuliprc(tessera.zuliprc(member.email))
    # Created through the API by the account key, and through the CLI.
    res = assert_success(account.call_endpoint(
        url="users/me/api_keys", method="POST",
        request={"name": "reader", "scope": "read"},
    ))
    read_key, read_id = res["api_key"], res["key"]["id"]
    assert is_api_key(read_key) and res["key"]["scope"] == "read", res
    cp = tessera.run("key", "create", "--email", member.email, "--name", "deploy")
    full_key = cp.stdout.strip()
    assert is_api_key(full_key), cp
    assert full_key not in cp.stderr and "shown only this once" in cp.stderr, cp

    full = tessera.client(member.email, full_key)
    assert assert_success(full.get_profile())["email"] == member.email
    assert_success(full.send_message({
        "type": "stream", "to": "general", "topic": "named keys", "content": "from a named key",
    }))

    reader = tessera.client(member.email, read_key)
    assert assert_success(reader.get_profile())["email"] == member.email
    queue = assert_success(reader.register(event_types=["message"]))
    assert_success(reader.get_messages({"anchor": "newest", "num_before": 5, "num_after": 0}))
    refused = reader.send_message({
        "type": "stream", "to": "general", "topic": "named keys", "content": "must not land",
    })
    assert refused.get("result") == "error" and refused.get("code") == "API_KEY_SCOPE", refused
    with tessera.http() as http:
        r = http.post(
            tessera.site + "/api/v1/messages",
            auth=(member.email, read_key),
            data={"type": "stream", "to": "general", "topic": "t", "content": "x"},
            timeout=15,
        )
        assert r.status_code == 403 and "WWW-Authenticate" not in r.headers, (r.status_code, r.text)
    assert_success(reader.get_events(queue_id=queue["queue_id"], last_event_id=-1, dont_block=True))

    # The CLI lists them (never the keys), and revokes one alone.
    listed = tessera.run("key", "list", "--email", member.email).stdout
    assert "reader" in listed and "deploy" in listed, listed
    assert read_key not in listed and full_key not in listed, listed
    tessera.run("key", "revoke", "--email", member.email, str(read_id))
    assert_error(reader.get_profile(), INVALID_KEY)
    assert_success(full.get_profile())
    # A new account key ends every named key.
    assert_success(account.call_endpoint(url="users/me/api_key/regenerate", method="POST"))
    assert_error(full.get_profile(), INVALID_KEY)


def test_cli_regenerate_keeps_a_bots_old_key_for_the_overlap(tessera: Tessera) -> None:
    """`tessera key regenerate --overlap-seconds` (tessera's own, as the API's overlap_seconds):
    a bot's old key keeps working until the new key is first used; a person's old key cannot
    be kept, and a refused regeneration changes nothing."""
    bot_email = tessera.create_bot_cli("CLI Overlap Bot", "cli-overlap")
    old = parse_zuliprc(tessera.zuliprc_text(bot_email))["key"]
    new = tessera.run(
        "key", "regenerate", "--email", bot_email, "--overlap-seconds", "3600",
    ).stdout.strip()
    assert is_api_key(new) and new != old, new
    assert parse_zuliprc(tessera.zuliprc_text(bot_email))["key"] == new
    old_client, new_client = tessera.client(bot_email, old), tessera.client(bot_email, new)
    assert assert_success(old_client.get_profile())["email"] == bot_email
    assert assert_success(old_client.get_profile())["email"] == bot_email
    assert assert_success(new_client.get_profile())["email"] == bot_email
    assert_error(old_client.get_profile(), INVALID_KEY)

    too_long = tessera.run(
        "key", "regenerate", "--email", bot_email, "--overlap-seconds", "86401", check=False,
    )
    assert too_long.returncode != 0 and "between 0 and 86400" in too_long.stderr, too_long
    assert assert_success(new_client.get_profile())["email"] == bot_email

    member = tessera.create_user("overlap@example.com", "No Overlap", "overlap-password-Compat-4")
    before = parse_zuliprc(tessera.zuliprc_text(member.email))["key"]
    person = tessera.run(
        "key", "regenerate", "--email", member.email, "--overlap-seconds", "60", check=False,
    )
    assert person.returncode != 0 and "Only a bot's" in person.stderr, person
    assert is_api_key(before) and before not in person.stdout + person.stderr
    assert parse_zuliprc(tessera.zuliprc_text(member.email))["key"] == before
    assert_success(tessera.client(member.email, before).get_profile())


# ---------------------------------------------------------------------------
# 8. server_settings ignores bogus auth


def test_server_settings_ignores_bogus_auth(tessera: Tessera) -> None:
    client = zulip.Client(
        email="nobody@example.com",
        api_key="y" * 32,
        site=tessera.site,
        client=CLIENT_NAME,
        retry_on_errors=False,
    )
    assert isinstance(client.zulip_version, str) and client.zulip_version
    assert isinstance(client.feature_level, int)
    assert_success(client.get_server_settings())
    # ...but authenticated endpoints still reject it.
    assert_error(client.get_profile(), INVALID_KEY)

    with tessera.http() as http:
        r = http.get(tessera.site + "/api/v1/server_settings", timeout=15)
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.json().get("result") == "success", r.text


# ---------------------------------------------------------------------------
# CLI contract extras


def test_cli_bot_create(tessera: Tessera) -> None:
    generic = tessera.create_bot_cli("CLI Bot", "clibot", "generic")
    assert generic.startswith("clibot-bot@"), generic
    rc_path = tessera.zuliprc(generic)
    rc = parse_zuliprc(rc_path.read_text())
    assert rc.get("email") == generic and is_api_key(rc.get("key")), rc
    assert "token" not in rc, f"a generic bot's zuliprc should have no token: {rc!r}"
    profile = assert_success(tessera.client_from_zuliprc(rc_path).get_profile())
    assert profile.get("is_bot") is True and profile.get("email") == generic, profile

    outgoing = tessera.create_bot_cli("Hook Bot", "hook", "outgoing")
    rc = parse_zuliprc(tessera.zuliprc_text(outgoing))
    assert rc.get("email") == outgoing and is_api_key(rc.get("key")), rc
    assert rc.get("token"), f"an outgoing-webhook bot's zuliprc needs token=: {rc!r}"

    owned = assert_success(tessera.owner_client().call_endpoint(url="bots", method="GET"))
    usernames = {b.get("username") for b in owned.get("bots", [])}
    assert {generic, outgoing} <= usernames, owned


def test_cli_data_dir_from_env(tessera: Tessera) -> None:
    via_flag = tessera.zuliprc_text(tessera.owner.email)
    via_env = tessera.zuliprc_text(tessera.owner.email, use_flag=False)
    assert via_env == via_flag


def test_cli_error_is_one_line(tessera: Tessera) -> None:
    cp = tessera.run("zuliprc", "--email", "nosuch@example.com", check=False)
    assert cp.returncode != 0, cp
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line on stderr, got {cp.stderr!r}"


# ---------------------------------------------------------------------------
# CLI set-up rules: init once, healthcheck, the server secret.

def test_cli_init_refuses_to_run_twice(tessera_dir: Tessera) -> None:
    cp = tessera_dir.run(
        "init", "--org-name", "Again", "--email", "second@example.com",
        stdin="another-Strong-pass-9\n", check=False,
    )
    assert cp.returncode == 1, cp
    assert "already initialised" in cp.stderr and len(cp.stderr.strip().splitlines()) == 1, cp.stderr
    # Nothing half-written: the second owner does not exist.
    cp = tessera_dir.run("zuliprc", "--email", "second@example.com", check=False)
    assert cp.returncode != 0 and "No such user" in cp.stderr, cp


def test_cli_user_create_validates_password(tessera_dir: Tessera) -> None:
    cp = tessera_dir.run(
        "user", "create", "--email", "weak@example.com", "--full-name", "Weak One",
        stdin="abc\n", check=False,
    )
    assert cp.returncode == 1 and "The password is too weak." in cp.stderr, cp


def test_healthcheck(tessera: Tessera) -> None:
    cp = tessera.run("healthcheck", "--url", tessera.site)
    assert cp.stdout.startswith("ok"), cp
    cp = tessera.run("healthcheck", "--url", "http://127.0.0.1:9", check=False)
    assert cp.returncode == 2 and "cannot connect" in cp.stderr, cp


def test_secret_file_is_private_and_required(tessera_dir: Tessera) -> None:
    secret = tessera_dir.data_dir / "secret.key"
    assert secret.stat().st_mode & 0o777 == 0o600
    original = secret.read_text()
    # A wrong secret is a clear error, not silent failures.
    secret.write_text("ab" * 32 + "\n")
    cp = tessera_dir.run("zuliprc", "--email", OWNER_EMAIL, check=False)
    assert cp.returncode == 1 and "does not match" in cp.stderr, cp
    # A missing secret is a clear error too (a new one would open nothing).
    secret.unlink()
    cp = tessera_dir.run("zuliprc", "--email", OWNER_EMAIL, check=False)
    assert cp.returncode == 1 and "missing" in cp.stderr, cp
    assert not secret.exists(), "must not invent a new secret for an initialised store"
    secret.write_text(original)
    tessera_dir.run("zuliprc", "--email", OWNER_EMAIL)


def test_first_start_bootstraps_and_prints_how_to_log_in(tessera_bin: str, tmp_path) -> None:
    import subprocess as sp
    port = free_port()
    data = tmp_path / "fresh"
    proc = sp.Popen([tessera_bin, "serve", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}"],
                    stdout=sp.PIPE, stderr=sp.DEVNULL, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(6)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = "".join(lines)
    # Where to log in, once; the owner; the CLI command as this binary is run.
    assert f"log in:   http://127.0.0.1:{port}/login/" in text, text
    assert text.count(f"http://127.0.0.1:{port}") == 1, text
    assert "owner:    owner@tessera.localhost" in text, text
    password = next(l for l in lines if "password:" in l).split()[1]
    api_line = next(l for l in lines if l.strip().startswith("API:"))
    command = api_line.split("API:", 1)[1].split(">", 1)[0].split()
    # A binary built by cargo is named as `cargo run --`; run it as that binary.
    assert command[:3] == ["cargo", "run", "--"], api_line
    out = sp.run([tessera_bin] + command[3:], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "email=owner@tessera.localhost" in out.stdout, out.stdout
    # The printed credentials work.
    import requests
    proc = sp.Popen([tessera_bin, "serve", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}"],
                    stdout=sp.DEVNULL, stderr=sp.DEVNULL)
    try:
        for _ in range(100):
            try:
                r = requests.post(f"http://127.0.0.1:{port}/api/v1/fetch_api_key",
                                  data={"username": "owner@tessera.localhost", "password": password}, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["result"] == "success", r.text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
