-- Keys beside the account key come in kinds: 'named' (made by a person, with a scope and an
-- optional expiry), 'device' (handed to one app login by fetch_api_key or the mobile
-- hand-off) and 'previous' (a bot's replaced account key, kept for an overlap window until
-- it ends or the new key is first used). allowed_networks: a JSON list of addresses/CIDRs
-- the key may be used from (NULL: anywhere). expiry_reminded_at: when the owner was told
-- the key expires soon. A push registration remembers the device key that made it, so
-- signing that device out removes it too.
-- Keep in step with ../sqlite/0010_key_kinds.sql.
ALTER TABLE api_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'named';
ALTER TABLE api_keys ADD COLUMN allowed_networks TEXT;
ALTER TABLE api_keys ADD COLUMN expiry_reminded_at BIGINT;
ALTER TABLE api_keys ADD COLUMN created_address TEXT;
ALTER TABLE push_devices ADD COLUMN api_key_id BIGINT REFERENCES api_keys (id);
CREATE INDEX api_keys_expiring ON api_keys (expires_at) WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
