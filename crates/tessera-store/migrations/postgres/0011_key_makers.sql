-- A key made with another key (a named or device key calling POST …/api_keys) remembers it:
-- it stops working when that key does — signed out, revoked, reported leaked, or ended by a
-- new account key — so a stolen phone's key cannot leave a key behind that outlives it.
-- Keep in step with ../sqlite/0011_key_makers.sql.
ALTER TABLE api_keys ADD COLUMN made_by_key_id BIGINT REFERENCES api_keys (id);
CREATE INDEX api_keys_made_by ON api_keys (made_by_key_id) WHERE made_by_key_id IS NOT NULL;
