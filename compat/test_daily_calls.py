"""The calls clients make every day, through the official ``zulip`` 0.9.1 client: settings,
organization settings, channel reads, typing, mark-as-read, user groups, emoji, alert words.
Each checks the real outcome (read back, or the event another client's queue gets)."""

from __future__ import annotations

from typing import Any, Dict, List

from conftest import Tessera, assert_success


def events_of(client: Any, queue_id: str, kind: str) -> List[Dict[str, Any]]:
    res = assert_success(
        client.get_events(queue_id=queue_id, last_event_id=-1, dont_block=True), "get_events"
    )
    return [e for e in res["events"] if e["type"] == kind]


def test_settings_and_realm_changes_reach_queues(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    member = tessera.person("daily-member@example.com", "Daily Member")
    caps = {"user_settings_object": True}
    queue = assert_success(
        member.client.register(event_types=["user_settings", "realm"], client_capabilities=caps),
        "register",
    )["queue_id"]

    res = member.client.call_endpoint(
        url="settings", method="PATCH",
        request={"emojiset": "text", "twenty_four_hour_time": True, "web_font_size_px": 16},
    )
    assert_success(res, "PATCH /settings")
    state = assert_success(member.client.register(fetch_event_types=["user_settings"],
                                                  client_capabilities=caps), "register")
    assert state["user_settings"]["emojiset"] == "text"
    assert state["user_settings"]["twenty_four_hour_time"] is True
    changed = {(e["property"], e["value"]) for e in events_of(member.client, queue, "user_settings")}
    assert changed == {("emojiset", "text"), ("twenty_four_hour_time", True), ("web_font_size_px", 16)}

    bad = member.client.call_endpoint(url="settings", method="PATCH", request={"emojiset": "comic"})
    assert bad == {"result": "error", "msg": "Invalid emojiset", "code": "BAD_REQUEST"}

    res = owner.client.call_endpoint(
        url="realm", method="PATCH", request={"mandatory_topics": True, "name": "Daily Org"}
    )
    assert assert_success(res, "PATCH /realm")["mandatory_topics"] is True
    assert res["name"] == "updated"
    realm = {(e["property"], e["value"]) for e in events_of(member.client, queue, "realm")}
    assert realm == {("mandatory_topics", True), ("name", "Daily Org")}
    refused = member.client.call_endpoint(url="realm", method="PATCH",
                                          request={"mandatory_topics": False})
    assert refused == {"result": "error", "msg": "Must be an organization administrator",
                       "code": "UNAUTHORIZED_PRINCIPAL"}


def test_channel_reads_typing_and_mark_as_read(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    member = tessera.person("daily-reader@example.com", "Daily Reader")
    stream_id = assert_success(member.client.get_stream_id("general"), "get_stream_id")["stream_id"]
    owner.client.send_message({"type": "stream", "to": "general", "topic": "daily", "content": "a"})
    owner.client.send_message({"type": "stream", "to": "general", "topic": "daily", "content": "b"})

    topics = assert_success(member.client.get_stream_topics(stream_id), "get_stream_topics")["topics"]
    assert topics[0]["name"] == "daily"
    subscribers = assert_success(member.client.get_subscribers(stream="general"), "get_subscribers")
    assert {owner.user_id, member.user_id} <= set(subscribers["subscribers"])
    one = member.client.call_endpoint(url=f"streams/{stream_id}", method="GET")
    assert assert_success(one, "GET /streams/{id}")["stream"]["name"] == "general"

    queue = assert_success(member.client.register(event_types=["typing", "update_message_flags"]),
                           "register")["queue_id"]
    assert_success(owner.client.set_typing_status({"op": "start", "to": [member.user_id]}),
                   "set_typing_status")
    typing = events_of(member.client, queue, "typing")
    assert typing and typing[0]["sender"]["user_id"] == owner.user_id and typing[0]["op"] == "start"

    assert_success(member.client.mark_topic_as_read(stream_id, "daily"), "mark_topic_as_read")
    assert_success(member.client.mark_stream_as_read(stream_id), "mark_stream_as_read")
    assert assert_success(member.client.mark_all_as_read(), "mark_all_as_read")["complete"] is True
    flags = events_of(member.client, queue, "update_message_flags")
    assert flags[0]["flag"] == "read" and len(flags[0]["messages"]) == 2
    assert flags[-1]["all"] is True
    missing = member.client.mark_topic_as_read(stream_id, "nothing here")
    assert missing == {"result": "error", "msg": "No such topic 'nothing here'", "code": "BAD_REQUEST"}


def test_groups_emoji_and_alert_words(tessera: Tessera) -> None:
    client = tessera.owner_person().client
    groups = assert_success(client.get_user_groups(), "get_user_groups")["user_groups"]
    assert [g["name"] for g in groups][:2] == ["role:nobody", "role:owners"]
    assert assert_success(client.get_realm_emoji(), "get_realm_emoji")["emoji"] == {}
    assert assert_success(client.get_alert_words(), "get_alert_words")["alert_words"] == []
