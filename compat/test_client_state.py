"""What clients keep on the server and the channel, message and file calls of a normal day,
through the official ``zulip`` 0.9.1 client: drafts, user status, topic muting (the client's
legacy ``mute_topic`` and ``/user_topics``), subscription settings, channel edits and
archiving, message edit history and previews, and uploading a file that a recipient then
downloads. Each checks the real outcome: read back, or downloaded."""

from __future__ import annotations

import io
from typing import Any, Dict, List

import requests

from conftest import Tessera, assert_success


def events_of(client: Any, queue_id: str, kind: str) -> List[Dict[str, Any]]:
    res = assert_success(
        client.get_events(queue_id=queue_id, last_event_id=-1, dont_block=True), "get_events"
    )
    return [e for e in res["events"] if e["type"] == kind]


def test_drafts_status_and_topic_muting(tessera: Tessera) -> None:
    member = tessera.person("state-member@example.com", "State Member")
    client = member.client
    stream_id = assert_success(client.get_stream_id("general"), "get_stream_id")["stream_id"]

    made = client.call_endpoint(url="drafts", method="POST", request={"drafts": [
        {"type": "stream", "to": [stream_id], "topic": "later", "content": "half a thought"}]})
    [draft_id] = assert_success(made, "POST /drafts")["ids"]
    edited = client.call_endpoint(url=f"drafts/{draft_id}", method="PATCH", request={"draft": {
        "type": "stream", "to": [stream_id], "topic": "later", "content": "a whole thought"}})
    assert_success(edited, "PATCH /drafts/{id}")
    listed = assert_success(client.call_endpoint(url="drafts", method="GET"), "GET /drafts")
    assert [d["content"] for d in listed["drafts"]] == ["a whole thought"]
    gone = client.call_endpoint(url=f"drafts/{draft_id + 1000}", method="DELETE")
    assert gone == {"result": "error", "msg": "Draft does not exist", "code": "BAD_REQUEST"}

    res = client.call_endpoint(url="users/me/status", method="POST",
                               request={"status_text": "On a train", "emoji_name": "train"})
    assert_success(res, "POST /users/me/status")
    status = client.call_endpoint(url=f"users/{member.user_id}/status", method="GET")
    assert assert_success(status, "GET /users/{id}/status")["status"]["status_text"] == "On a train"

    queue = assert_success(client.register(event_types=["user_topic"]), "register")["queue_id"]
    assert_success(client.mute_topic({"stream": "general", "topic": "noise", "op": "add"}),
                   "mute_topic")
    again = client.mute_topic({"stream": "general", "topic": "noise", "op": "add"})
    assert again == {"result": "error", "msg": "Topic already muted", "code": "BAD_REQUEST"}
    follow = client.call_endpoint(url="user_topics", method="POST", request={
        "stream_id": stream_id, "topic": "news", "visibility_policy": 3})
    assert_success(follow, "POST /user_topics")
    policies = {(e["topic_name"], e["visibility_policy"])
                for e in events_of(client, queue, "user_topic")}
    assert policies == {("noise", 1), ("news", 3)}
    state = assert_success(client.register(fetch_event_types=["user_topic"]), "register")
    assert {(t["topic_name"], t["visibility_policy"]) for t in state["user_topics"]} == policies


def test_subscription_settings_and_channel_administration(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    member = tessera.person("state-admin@example.com", "State Admin Member")
    assert_success(owner.client.add_subscriptions([{"name": "handbook"}]), "add_subscriptions")
    assert_success(member.client.add_subscriptions([{"name": "handbook"}]), "add_subscriptions")
    stream_id = assert_success(member.client.get_stream_id("handbook"), "get_stream_id")["stream_id"]

    res = member.client.update_subscription_settings([
        {"stream_id": stream_id, "property": "pin_to_top", "value": True},
        {"stream_id": stream_id, "property": "color", "value": "#f00"},
    ])
    assert_success(res, "update_subscription_settings")
    subs = assert_success(member.client.get_subscriptions(), "get_subscriptions")["subscriptions"]
    mine = next(s for s in subs if s["stream_id"] == stream_id)
    assert mine["pin_to_top"] is True and mine["color"] == "#f00"
    status = member.client.get_subscription_status(user_id=owner.user_id, stream_id=stream_id)
    assert assert_success(status, "get_subscription_status")["is_subscribed"] is True

    refused = member.client.update_stream({"stream_id": stream_id, "description": "mine"})
    assert refused == {"result": "error", "msg": "Must be an organization administrator",
                       "code": "UNAUTHORIZED_PRINCIPAL"}
    res = owner.client.update_stream({"stream_id": stream_id, "new_name": "Handbook",
                                      "description": "How we work"})
    assert_success(res, "update_stream")
    one = member.client.call_endpoint(url=f"streams/{stream_id}", method="GET")
    stream = assert_success(one, "GET /streams/{id}")["stream"]
    assert (stream["name"], stream["description"]) == ("Handbook", "How we work")

    assert_success(owner.client.delete_stream(stream_id), "delete_stream")
    subs = assert_success(member.client.get_subscriptions(), "get_subscriptions")["subscriptions"]
    assert stream_id not in [s["stream_id"] for s in subs]


def test_history_preview_and_uploads(tessera: Tessera) -> None:
    owner = tessera.owner_person()
    member = tessera.person("state-reader@example.com", "State Reader")
    sent = owner.client.send_message({"type": "stream", "to": "general", "topic": "draft",
                                      "content": "first version"})
    message_id = assert_success(sent, "send_message")["id"]
    assert_success(owner.client.update_message({"message_id": message_id,
                                                "content": "second version"}), "update_message")
    history = assert_success(owner.client.get_message_history(message_id),
                             "get_message_history")["message_history"]
    assert [h["content"] for h in history] == ["first version", "second version"]
    assert history[1]["prev_content"] == "first version"

    preview = assert_success(owner.client.render_message({"content": "**bold**"}),
                             "render_message")
    assert preview["rendered"] == "<p><strong>bold</strong></p>"

    upload = io.BytesIO(b"the minutes of the meeting")
    upload.name = "minutes.txt"
    url = assert_success(owner.client.upload_file(upload), "upload_file")["url"]
    assert url.startswith("/user_uploads/")
    site = owner.client.base_url.split("/api")[0]
    # Not shared yet: the member may not read it.
    refused = requests.get(site + url, auth=(member.email, member.client.api_key))
    assert refused.status_code == 403
    owner.client.send_message({"type": "private", "to": [member.email],
                               "content": f"[minutes]({url})"})
    got = requests.get(site + url, auth=(member.email, member.client.api_key))
    assert got.status_code == 200 and got.content == b"the minutes of the meeting"
