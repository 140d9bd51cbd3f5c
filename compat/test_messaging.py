"""The messaging slice through the official clients: zulip==0.9.1 and zulip-bots==0.9.1.

- ``zulip-send`` to a channel and as a direct message; ``Client.get_messages`` finds both,
  whole and through narrows.
- ``zulip-run-bot helloworld`` answers a direct message and an ``@**helloworld**`` mention.
- ``Client.call_on_each_message`` receives what someone else sends.
- Regenerating a running bot's key: its requests get 401 and it stops answering; a new run
  with the new zuliprc works.
- An outgoing-webhook bot POSTs to a local receiver (with its token) and posts the reply.
- An incoming-webhook bot posts through ``/api/v1/external/json`` and cannot read messages.

Clients run unmodified. Bots run as subprocesses of the venv's ``zulip-run-bot``, behind a
transparent recording proxy (``RecordingProxy``) so the test can see when the bot's
``POST /register`` succeeded (no message is sent before the bot listens) and what status
its requests got.

Messages are read back with ``apply_markdown=false``, so ``content`` is the raw Markdown
that was sent (Zulip's behaviour); the one read with the client's default parameters
accepts either the raw text or its rendering ``<p>…</p>``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import zulip

from conftest import (
    Background,
    Bot,
    RecordingProxy,
    Tessera,
    assert_success,
    dm_narrow,
    is_api_key,
    parse_zuliprc,
    recent_messages,
    stream_narrow,
    subscribe,
    wait_for_message,
)

GENERAL = "general"
# zulip_bots/bots/helloworld/helloworld.py: content = "beep boop"
HELLOWORLD_REPLY = "beep boop"
INVALID_KEY = {"result": "error", "msg": "Invalid API key", "code": "UNAUTHORIZED"}
BOT_START_TIMEOUT = 40.0
REPLY_TIMEOUT = 20.0


def tag() -> str:
    """A short random marker that makes each message text unique."""
    return secrets.token_hex(4)


def emails_of(display_recipient: Any) -> set:
    assert isinstance(display_recipient, list), (
        f"a direct message's display_recipient must be a list of users: {display_recipient!r}"
    )
    for r in display_recipient:
        assert isinstance(r, dict) and isinstance(r.get("id"), int) and r.get("email") and (
            isinstance(r.get("full_name"), str)
        ), f"display_recipient entries need id, email, full_name: {display_recipient!r}"
    return {r["email"] for r in display_recipient}


def send(client: zulip.Client, request: Dict[str, Any]) -> int:
    res = assert_success(client.send_message(request), f"send_message({request!r})")
    assert isinstance(res.get("id"), int), f"send_message: no int id in {res!r}"
    return res["id"]


def start_bot(
    t: Tessera, bot: Bot, label: Optional[str] = None, rc: Optional[Path] = None
) -> Tuple[Background, RecordingProxy]:
    """Run ``zulip-run-bot helloworld --config-file <bot zuliprc>`` through a recording proxy
    and wait until its ``POST /register`` has succeeded (from then on it gets every message)."""
    label = label or f"zulip-run-bot helloworld ({bot.email})"
    proxy = t.recording_proxy(f"proxy for {label}")
    proxied_rc = t.zuliprc_for_site(rc or bot.rc, proxy.url)
    proc = t.start_script("zulip-run-bot", "helloworld", "--config-file", str(proxied_rc),
                          label=label)
    proxy.wait_for(
        lambda e: e["method"] == "POST" and e["path"] == "/api/v1/register"
        and e["status"] == 200,
        "the bot's POST /api/v1/register to succeed",
        timeout=BOT_START_TIMEOUT,
        watch=[proc],
    )
    return proc, proxy


def is_reply(bot: Bot, after_id: int, content: str = HELLOWORLD_REPLY):
    return lambda m: (
        m.get("sender_email") == bot.email and m.get("id", 0) > after_id
        and m.get("content") == content
    )


# ---------------------------------------------------------------------------
# a. zulip-send, get_messages, narrows


def test_zulip_send_and_get_messages(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    subscribe(owner.client)  # creates "general" unless the realm already has it
    alice = tessera.person("alice@example.com", "Alice Sender")
    bob = tessera.person("bob@example.com", "Bob Receiver")
    subscribe(alice.client)
    subscribe(bob.client)

    stream_text = f"Hello channel from zulip-send {tag()}"
    dm_text = f"Hello Bob, a direct message from zulip-send {tag()}"
    tessera.run_script("zulip-send", "--config-file", str(alice.rc),
                       "-s", GENERAL, "-S", "greetings", "-m", stream_text)
    tessera.run_script("zulip-send", "--config-file", str(alice.rc), bob.email, "-m", dm_text)

    # The client's plain call (server's default apply_markdown): both are there.
    res = assert_success(bob.client.get_messages(
        {"anchor": "newest", "num_before": 10, "num_after": 0, "narrow": []}
    ))
    plain = res.get("messages")
    assert isinstance(plain, list), res
    ids = [m.get("id") for m in plain]
    assert all(isinstance(i, int) for i in ids) and ids == sorted(ids), (
        f"messages must carry int ids, oldest first: {ids!r}"
    )
    for text in (stream_text, dm_text):
        assert any(m.get("content") in (text, f"<p>{text}</p>") for m in plain), (
            f"get_messages(narrow=[]) as the recipient lacks {text!r}: {plain!r}"
        )

    # Raw content and every field the clients read.
    messages = recent_messages(bob.client, [], num_before=10)
    by_content = {m.get("content"): m for m in messages}
    assert stream_text in by_content and dm_text in by_content, (
        f"get_messages(apply_markdown=false) should return the raw texts: {messages!r}"
    )
    sm, dm = by_content[stream_text], by_content[dm_text]
    assert sm.get("type") == "stream", sm
    assert sm.get("display_recipient") == GENERAL, sm
    assert sm.get("subject") == "greetings", f"channel messages carry the topic as subject: {sm!r}"
    assert sm.get("sender_email") == alice.email, sm
    assert sm.get("sender_id") == alice.user_id, sm
    assert dm.get("type") == "private", dm
    assert emails_of(dm.get("display_recipient")) == {alice.email, bob.email}, dm
    assert dm.get("sender_email") == alice.email and dm.get("sender_id") == alice.user_id, dm
    assert sm["id"] < dm["id"], (sm, dm)

    # The sender sees both too.
    sender_view = {m.get("content") for m in recent_messages(alice.client, [], num_before=10)}
    assert {stream_text, dm_text} <= sender_view, sender_view

    # Narrow by channel (+ topic): only the channel message.
    for narrow in (
        stream_narrow(GENERAL),
        stream_narrow(GENERAL, "greetings"),
        [["stream", GENERAL], ["topic", "greetings"]],  # legacy pair form
    ):
        got = {m.get("content") for m in recent_messages(bob.client, narrow)}
        assert stream_text in got and dm_text not in got, (narrow, got)
    got = {m.get("content") for m in recent_messages(bob.client, stream_narrow(GENERAL, "other"))}
    assert stream_text not in got, got

    # Narrow by direct-message conversation: only the DM, from both sides.
    got = {m.get("content") for m in recent_messages(bob.client, dm_narrow(alice.email))}
    assert dm_text in got and stream_text not in got, got
    got = {m.get("content") for m in recent_messages(alice.client, dm_narrow(bob.email))}
    assert dm_text in got and stream_text not in got, got

    # zulip-send reports a failed send with exit status 1.
    cp = tessera.run_script("zulip-send", "--config-file", str(alice.rc), "nobody@example.com",
                            "-m", "to nobody", check=False)
    assert cp.returncode == 1, f"zulip-send to an unknown user should exit 1: {cp!r}"


# ---------------------------------------------------------------------------
# b. zulip-run-bot helloworld


def test_helloworld_bot_replies_to_dm_and_mention(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    subscribe(owner.client)
    carol = tessera.person("carol@example.com", "Carol Human")
    subscribe(carol.client)
    bot = tessera.create_bot(owner.client, "helloworld", "helloworld")
    subscribe(tessera.client_from_zuliprc(bot.rc))  # a generic bot hears only its channels

    proc, _ = start_bot(tessera, bot)

    # A 1:1 direct message gets "beep boop" back in the same conversation.
    dm_id = send(carol.client, {"type": "private", "to": [bot.email], "content": "hello bot"})
    reply = wait_for_message(carol.client, is_reply(bot, dm_id), "the bot's reply to the DM",
                             narrow=dm_narrow(bot.email), timeout=REPLY_TIMEOUT, watch=[proc])
    assert reply.get("type") == "private", reply
    assert emails_of(reply.get("display_recipient")) == {carol.email, bot.email}, reply

    # In a channel: a message without the mention is ignored, the mention is answered in the
    # same channel and topic.
    topic = f"bot test {tag()}"
    plain_id = send(carol.client, {"type": "stream", "to": GENERAL, "subject": topic,
                                   "content": "no mention here"})
    mention_id = send(carol.client, {"type": "stream", "to": GENERAL, "subject": topic,
                                     "content": "@**helloworld** hi"})
    assert plain_id < mention_id
    reply = wait_for_message(carol.client, is_reply(bot, mention_id),
                             "the bot's reply to @**helloworld** in the channel",
                             narrow=stream_narrow(GENERAL, topic), timeout=REPLY_TIMEOUT,
                             watch=[proc])
    assert reply.get("type") == "stream" and reply.get("display_recipient") == GENERAL, reply
    assert reply.get("subject") == topic, reply
    bot_messages = [m for m in recent_messages(carol.client, stream_narrow(GENERAL, topic))
                    if m.get("sender_email") == bot.email]
    assert [m["id"] for m in bot_messages] == [reply["id"]], (
        "the bot must answer only the mention (a message without it must not carry the "
        f"'mentioned' flag for the bot): {bot_messages!r}"
    )
    proc.check_alive("after answering")


# ---------------------------------------------------------------------------
# c. call_on_each_message


class EventLoop:
    """``client.call_on_each_message`` in a daemon thread of the test process.

    The library loops forever; this wraps the client's ``register``/``get_events`` (same
    requests, same answers) to learn when the queue exists and to end the loop in teardown.
    """

    class Stop(BaseException):  # not an Exception: the library's loop catches those
        pass

    def __init__(self, client: zulip.Client) -> None:
        self.client = client
        self.received: List[Dict[str, Any]] = []
        self.registered = threading.Event()
        self.errors: List[Dict[str, Any]] = []
        self._stop = threading.Event()
        self._cond = threading.Condition()
        real_register, real_get_events = client.register, client.get_events

        def register(*args: Any, **kwargs: Any) -> Dict[str, Any]:
            if self._stop.is_set():
                raise EventLoop.Stop()
            res = real_register(*args, **kwargs)
            if res.get("result") == "success":
                self.registered.set()
            else:
                self.errors.append(res)
            return res

        def get_events(**kwargs: Any) -> Dict[str, Any]:
            if self._stop.is_set():
                raise EventLoop.Stop()
            try:
                res = real_get_events(**kwargs)
            except Exception:
                if self._stop.is_set():  # the server went away in teardown
                    raise EventLoop.Stop()
                raise
            if self._stop.is_set():
                raise EventLoop.Stop()
            if res.get("result") != "success":
                self.errors.append(res)
            return res

        client.register = register  # type: ignore[method-assign]
        client.get_events = get_events  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self._run, name="call_on_each_message",
                                       daemon=True)

    def _run(self) -> None:
        try:
            self.client.call_on_each_message(self._callback)
        except EventLoop.Stop:
            pass

    def _callback(self, message: Dict[str, Any]) -> None:
        with self._cond:
            self.received.append(message)
            self._cond.notify_all()

    def start(self) -> None:
        self.thread.start()

    def wait_for(self, predicate, what: str, timeout: float = 20.0) -> Dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.received:
                    if predicate(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"call_on_each_message: no {what} within {timeout}s; received "
                        f"{self.received!r}; error answers {self.errors[-5:]!r}"
                    )
                self._cond.wait(min(left, 0.5))

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=2)  # a long-poll in flight ends when the server stops


def test_call_on_each_message(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    subscribe(owner.client)
    alice = tessera.person("alice@example.com", "Alice Listener")
    bob = tessera.person("bob@example.com", "Bob Talker")
    subscribe(alice.client)
    subscribe(bob.client)

    loop = EventLoop(tessera.client_from_zuliprc(alice.rc))
    tessera.add_cleanup("stop call_on_each_message", loop.stop)
    loop.start()
    assert loop.registered.wait(20), (
        f"call_on_each_message never registered a queue; answers: {loop.errors[-5:]!r}"
    )

    dm_text = f"psst Alice {tag()}"
    dm_id = send(bob.client, {"type": "private", "to": [alice.email], "content": dm_text})
    got = loop.wait_for(lambda m: m.get("id") == dm_id, "direct message from Bob")
    assert got.get("content") == dm_text, f"register defaults to raw content: {got!r}"
    assert got.get("type") == "private", got
    assert got.get("sender_email") == bob.email and got.get("sender_id") == bob.user_id, got
    assert emails_of(got.get("display_recipient")) == {alice.email, bob.email}, got

    stream_text = f"hello channel {tag()}"
    sm_id = send(bob.client, {"type": "stream", "to": GENERAL, "topic": "events",
                              "content": stream_text})
    got = loop.wait_for(lambda m: m.get("id") == sm_id, "channel message from Bob")
    assert got.get("content") == stream_text and got.get("type") == "stream", got
    assert got.get("display_recipient") == GENERAL and got.get("subject") == "events", got


# ---------------------------------------------------------------------------
# d. regenerating a running bot's key


def test_bot_key_regeneration_stops_running_bot(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    carol = tessera.person("carol@example.com", "Carol Human")
    bot = tessera.create_bot(owner.client, "helloworld", "helloworld")

    old_proc, old_proxy = start_bot(tessera, bot, label="helloworld bot, old key")
    first = send(carol.client, {"type": "private", "to": [bot.email], "content": "first"})
    wait_for_message(carol.client, is_reply(bot, first), "the bot's reply before rotation",
                     narrow=dm_narrow(bot.email), timeout=REPLY_TIMEOUT, watch=[old_proc])

    res = assert_success(owner.client.call_endpoint(
        url=f"bots/{bot.user_id}/api_key/regenerate", method="POST"
    ))
    new_key = res.get("api_key")
    assert is_api_key(new_key) and new_key != bot.api_key, res
    regenerated_at = time.monotonic()

    # The old zuliprc is dead.
    old = tessera.client_from_zuliprc(bot.rc).get_profile()
    assert {k: old.get(k) for k in INVALID_KEY} == INVALID_KEY, old

    # The running bot: a new message wakes its long-poll; from then on its requests get 401
    # and it cannot answer.
    second = send(carol.client, {"type": "private", "to": [bot.email], "content": "second"})
    old_proxy.wait_for(
        lambda e: e["status"] == 401 and e["t"] >= regenerated_at,
        "a 401 answer to the running bot after the key was regenerated",
        timeout=15,
    )
    time.sleep(3)
    late = [m for m in recent_messages(carol.client, dm_narrow(bot.email))
            if m.get("sender_email") == bot.email and m["id"] > second]
    assert late == [], f"the bot answered with a revoked key: {late!r}"
    # Every request the old bot started after the rotation was refused.
    after = [e for e in old_proxy.snapshot() if e["t"] >= regenerated_at and e["status"]]
    assert [e for e in after if e["status"] != 401] == [], (
        "every request of the old bot after rotation should get 401:\n" + old_proxy.describe()
    )

    # A new run with a freshly fetched zuliprc works (the old process is still polling).
    new_rc = tessera.zuliprc(bot.email)
    assert parse_zuliprc(new_rc.read_text()).get("key") == new_key
    new_proc, _ = start_bot(tessera, bot, label="helloworld bot, new key", rc=new_rc)
    third = send(carol.client, {"type": "private", "to": [bot.email], "content": "third"})
    wait_for_message(carol.client, is_reply(bot, third), "the restarted bot's reply",
                     narrow=dm_narrow(bot.email), timeout=REPLY_TIMEOUT, watch=[new_proc])
    old_proc.stop()
    new_proc.stop()


# ---------------------------------------------------------------------------
# e. outgoing webhook bot


def test_outgoing_webhook_bot(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    subscribe(owner.client)
    alice = tessera.person("alice@example.com", "Alice Human")
    subscribe(alice.client)
    receiver = tessera.webhook_receiver({"content": "pong from webhook"})

    bot = tessera.create_bot(
        owner.client, "Pinger", "pinger", bot_type=3,
        payload_url=json.dumps(receiver.url), interface_type=1,
    )
    token = bot.rc_fields.get("token")
    assert token, f"an outgoing-webhook bot's zuliprc needs token=: {bot.rc_fields!r}"
    subscribe(tessera.client_from_zuliprc(bot.rc))

    # A mention in a channel.
    topic = f"webhooks {tag()}"
    content = "@**Pinger** ping"
    msg_id = send(alice.client, {"type": "stream", "to": GENERAL, "subject": topic,
                                 "content": content})
    hit = receiver.wait_for(
        lambda r: isinstance(r["json"], dict) and (r["json"].get("message") or {}).get("id") == msg_id,
        "the outgoing webhook for the mention", server_log=tessera.read_log,
    )
    assert hit["headers"].get("content-type", "").startswith("application/json"), hit
    payload = hit["json"]
    assert payload.get("token") == token, f"payload token must be the bot's token: {payload!r}"
    assert payload.get("bot_email") == bot.email, payload
    assert payload.get("bot_full_name") == "Pinger", payload
    assert payload.get("trigger") == "mention", payload
    assert payload.get("data") == content, payload
    message = payload.get("message")
    assert isinstance(message, dict), payload
    assert message.get("content") == content, message
    assert message.get("sender_email") == alice.email, message
    assert message.get("type") == "stream", message
    assert message.get("display_recipient") == GENERAL, message
    assert message.get("subject") == topic, message

    reply = wait_for_message(alice.client, is_reply(bot, msg_id, "pong from webhook"),
                             "the webhook's reply in the channel",
                             narrow=stream_narrow(GENERAL, topic))
    assert reply.get("type") == "stream" and reply.get("subject") == topic, reply

    # A direct message to the bot.
    dm_content = f"ping by dm {tag()}"
    dm_id = send(alice.client, {"type": "private", "to": [bot.email], "content": dm_content})
    hit = receiver.wait_for(
        lambda r: isinstance(r["json"], dict) and (r["json"].get("message") or {}).get("id") == dm_id,
        "the outgoing webhook for the direct message", server_log=tessera.read_log,
    )
    payload = hit["json"]
    assert payload.get("token") == token and payload.get("bot_email") == bot.email, payload
    assert payload.get("trigger") == "direct_message", payload
    assert payload.get("data") == dm_content, payload
    assert payload["message"].get("type") == "private", payload
    reply = wait_for_message(alice.client, is_reply(bot, dm_id, "pong from webhook"),
                             "the webhook's reply to the direct message",
                             narrow=dm_narrow(bot.email))
    assert emails_of(reply.get("display_recipient")) == {alice.email, bot.email}, reply

    # Exactly one webhook call per triggering message.
    ids = [(r["json"] or {}).get("message", {}).get("id") for r in receiver.snapshot()]
    assert sorted(ids) == [msg_id, dm_id], f"webhook calls: {receiver.describe()}"


# ---------------------------------------------------------------------------
# f. incoming webhook bot


def test_incoming_webhook_bot(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    subscribe(owner.client)
    bot = tessera.create_bot(owner.client, "Hooks In", "hooksin", bot_type=2)

    with tessera.http() as http:
        r = http.post(
            tessera.site + "/api/v1/external/json",
            params={"api_key": bot.api_key, "stream": GENERAL, "topic": "hooks"},
            json={"hello": "world"},
            timeout=15,
        )
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.json().get("result") == "success", r.text

    msg = wait_for_message(owner.client, lambda m: m.get("sender_email") == bot.email,
                           "the incoming webhook's message", narrow=stream_narrow(GENERAL, "hooks"))
    assert msg.get("type") == "stream" and msg.get("display_recipient") == GENERAL, msg
    assert msg.get("subject") == "hooks", msg
    content = msg.get("content", "")
    assert content.startswith("```json\n") and content.rstrip().endswith("```"), (
        f"the JSON integration posts the payload in a ```json code block: {content!r}"
    )
    inner = content.strip()[len("```json"):-3]
    assert json.loads(inner) == {"hello": "world"}, content

    # An incoming-webhook bot's key is for webhooks only.
    res = tessera.client_from_zuliprc(bot.rc).get_messages(
        {"anchor": "newest", "num_before": 10, "num_after": 0, "narrow": []}
    )
    assert res.get("result") == "error", f"an incoming-webhook bot must not read messages: {res!r}"
    assert res.get("msg") == "This API is not available to incoming webhook bots.", res
    assert res.get("code") == "UNAUTHORIZED", res
