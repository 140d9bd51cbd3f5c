"""``POST /register`` through the official client, against Zulip's own API document.

``Client.register()`` with no event types asks for every state type. Every key of the answer
must be one Zulip's document (../shared/reference/zulip-openapi.yaml, feature level 275)
lists, and every key the document lists must be there, except the few Zulip itself sends
only in conditions tessera never meets (named below with the condition). The coverage line
(keys served / keys in Zulip's document) is printed and asserted.

Then each state type on its own: exactly the keys the document says ``Present if`` that type
is requested (plus the keys every answer has).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Set

import pytest
import yaml

from conftest import Tessera, assert_success

DOC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "zulip-openapi.yaml"

# Keys in every answer (the queue and the server's version); `event_queue_longpoll_timeout_seconds`
# is sent with every answer by tessera (the Flutter app requires it; Zulip sends it with `realm`).
ALWAYS = {"result", "msg", "queue_id", "last_event_id", "zulip_feature_level", "zulip_version",
          "zulip_merge_base", "event_queue_longpoll_timeout_seconds"}

# Keys Zulip sends only in conditions a tessera organization never has.
CONDITIONAL = {
    # Only for demo organizations (zerver/lib/events.py: `if realm.demo_organization_scheduled_deletion_date`).
    "demo_organization_scheduled_deletion_date",
    # Only when the request has unsupported parameters.
    "ignored_parameters_unsupported",
}

# Keys the document gives no `Present if` for, with the state type Zulip gates them on
# (zerver/lib/events.py fetch_initial_state_data).
UNGATED = {
    "realm_date_created": "realm",
    "drafts": "drafts",
    "server_presence_ping_interval_seconds": "realm",
    "server_presence_offline_threshold_seconds": "realm",
    "server_typing_started_expiry_period_milliseconds": "realm",
    "server_typing_stopped_wait_period_milliseconds": "realm",
    "server_typing_started_wait_period_milliseconds": "realm",
    "receives_typing_notifications": "update_display_settings",
    "realm_can_create_public_channel_group": "realm",
    "realm_can_create_private_channel_group": "realm",
    "realm_create_multiuse_invite_group": "realm",
    "realm_require_unique_names": "realm",
    "realm_jitsi_server_url": "realm",
    "realm_direct_message_initiator_group": "realm",
    "realm_direct_message_permission_group": "realm",
    "realm_can_access_all_users_group": "realm",
    "server_thumbnail_formats": "realm",
    "server_jitsi_server_url": "realm",
}


def _documented() -> Dict[str, str]:
    """Every top-level key of the register answer in Zulip's document -> its state type."""
    doc = yaml.safe_load(DOC.read_text())
    schema = doc["paths"]["/register"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    props: Dict[str, dict] = {}
    for part in schema.get("allOf", [schema]):
        props.update(part.get("properties", {}))
    out = {}
    for key, prop in props.items():
        text = prop.get("description", "") or ""
        for sub in prop.get("allOf", []):
            text += sub.get("description", "") or ""
        m = re.search(r"Present if `(\w+)`", text)
        if key in ALWAYS or key in CONDITIONAL:
            out[key] = "-"
        elif m:
            out[key] = m.group(1)
        else:
            out[key] = UNGATED[key]
    return out


@pytest.fixture(scope="module")
def documented() -> Dict[str, str]:
    if not DOC.exists():
        pytest.fail(f"Zulip's OpenAPI document is not at {DOC}")
    return _documented()


def test_register_serves_every_documented_key(tessera: Tessera, documented: Dict[str, str]) -> None:
    owner = tessera.owner_person()
    state = assert_success(owner.client.register())
    served: Set[str] = set(state)
    undocumented = served - set(documented)
    assert not undocumented, f"keys Zulip's document does not list: {sorted(undocumented)}"
    missing = set(documented) - served - CONDITIONAL
    assert not missing, f"documented keys tessera does not send: {sorted(missing)}"
    body = set(documented) - {"result", "msg", "ignored_parameters_unsupported"}
    got = len(body & served)
    print(f"\nregister key coverage: {got} of the {len(body)} keys in Zulip's document "
          f"(not sent: {sorted(body - served)})")
    assert got == len(body) - 1  # only demo_organization_scheduled_deletion_date


def test_register_per_state_type(tessera: Tessera, documented: Dict[str, str]) -> None:
    owner = tessera.owner_person()
    types = sorted({t for t in documented.values() if t != "-"})
    for event_type in types:
        state = assert_success(owner.client.register(event_types=[event_type]))
        want = {k for k, t in documented.items() if t == event_type} - CONDITIONAL
        # Zulip sends unread_msgs only when both `message` and `update_message_flags` are
        # requested.
        if event_type == "message":
            want.discard("unread_msgs")
        extra = set(state) - want - ALWAYS
        lacking = want - set(state)
        assert not lacking, f"{event_type}: missing {sorted(lacking)}"
        assert not extra, f"{event_type}: not asked for {sorted(extra)}"
        owner.client.deregister(state["queue_id"])
