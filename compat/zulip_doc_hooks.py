"""schemathesis hooks for checking tessera against Zulip's own API document.

Zulip's document is stricter than Zulip itself in two ways, so the check is adjusted (not
tessera), each with the Zulip source that shows the real behaviour:

1. Error statuses documented only globally. The document lists 400/401 per operation only for
   some operations; Zulip's error-handling page (api/rest-error-handling) documents them for
   every endpoint, and zerver/lib/exceptions.py (JsonableError.http_status_code = 400,
   UnauthorizedError 401, RateLimitedError 429) plus zerver/middleware.py (a JSON 404 for
   unknown /api/ paths, 405 for a method a route lacks) send them from any endpoint. Every
   operation therefore also accepts 400, 401, 404, 405 and 429 with Zulip's error shape.
2. Extra error fields. JsonableError subclasses add their `data_fields` to the body
   (RequestVariableMissingError: var_name; InvalidJSONError...; zerver/lib/exceptions.py),
   which the document's error schemas (additionalProperties: false) forbid. Error schemas
   accept additional properties (and a status's alternative errors are `anyOf`).
3. GET /users/me for a bot: zerver/views/users.py get_profile_backend returns format_user_row
   for the caller, which adds bot_type and bot_owner_id for bots (zerver/lib/users.py
   format_user_row); the document's response omits them.
4. GET /user_uploads/{realm_id_str}/{filename} (a temporary URL): zerver/views/upload.py
   serve_file answers an unknown file with HttpResponseNotFound("<p>File not found.</p>")
   and a file the caller may not read with HttpResponseForbidden("<p>You are not authorized
   to view this file.</p>") before it looks at url_only, so those answers are HTML; the
   document lists only JSON.
"""

import schemathesis

ERROR = {
    "type": "object",
    "required": ["result", "msg"],
    "properties": {
        "result": {"type": "string", "enum": ["error"]},
        "msg": {"type": "string"},
        "code": {"type": "string"},
    },
    "additionalProperties": True,
}
GLOBAL_ERRORS = ("400", "401", "404", "405", "429")


def _open_errors(node):
    """Let every error schema (one with a `code` property) carry extra fields. The document
    lists alternative errors of one status as `oneOf`; once they may carry extra fields they
    overlap, so they become `anyOf` (any listed error shape is fine)."""
    if isinstance(node, dict):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")
        props = node.get("properties")
        if isinstance(props, dict) and "code" in props and node.get("additionalProperties") is False:
            node["additionalProperties"] = True
        for v in node.values():
            _open_errors(v)
    elif isinstance(node, list):
        for v in node:
            _open_errors(v)


@schemathesis.hook
def before_load_schema(context, raw_schema):
    for name in ("CodedError", "CodedErrorBase", "BadEventQueueIdError", "InvalidMessageError",
                 "InvalidChannelError", "NonExistingChannelNameError", "NonExistingChannelIdError",
                 "InvalidApiKeyError", "MissingArgumentError", "IncompatibleParametersError",
                 "UserNotAuthorizedError", "UserDeactivatedError", "RateLimitedError",
                 "RealmDeactivatedError", "InvalidPushDeviceTokenError",
                 "InvalidRemotePushDeviceTokenError", "InvitationFailedError"):
        _open_errors(raw_schema.get("components", {}).get("schemas", {}).get(name))
    _open_errors(raw_schema.get("components", {}).get("responses"))
    for item in raw_schema.get("paths", {}).values():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, resp in op["responses"].items():
                if status.startswith(("4", "5")):
                    _open_errors(resp)
            for status in GLOBAL_ERRORS:
                op["responses"].setdefault(
                    status,
                    {"description": "Zulip error (documented globally)",
                     "content": {"application/json": {"schema": ERROR}}},
                )
    me = raw_schema.get("paths", {}).get("/users/me", {}).get("get")
    if me:
        schema = me["responses"]["200"]["content"]["application/json"]["schema"]
        for part in schema.get("allOf", []):
            if "properties" in part:
                part["properties"].setdefault("bot_type", {"type": "integer", "nullable": True})
                part["properties"].setdefault("bot_owner_id", {"type": "integer", "nullable": True})
    uploads = raw_schema.get("paths", {}).get("/user_uploads/{realm_id_str}/{filename}", {}).get("get")
    if uploads:
        html = {"text/html": {"schema": {"type": "string"}}}
        for status in ("403", "404"):
            resp = uploads["responses"].setdefault(status, {"description": "serve_file's HTML answer"})
            resp.setdefault("content", {}).update(html)
