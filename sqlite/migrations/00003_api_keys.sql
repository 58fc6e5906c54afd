-- API keys: credentials for the API. A key of an organization (org set)
-- acts as one of its users (user_id); the operator's key has org '' and
-- no user. hash is the SHA-256 of the secret; created and revoked are Unix
-- nanoseconds (UTC), NULL when zero (revoked: not revoked).
--
-- Keys are not authorization data: they are neither in the change log nor
-- in snapshots, and writing them does not advance the revision. The store
-- checks org and user_id when a key is created; no foreign key stands
-- behind them.
--
-- Keep to SQL that PostgreSQL also runs.

-- +goose Up

CREATE TABLE api_keys (
	id      TEXT PRIMARY KEY,
	org     TEXT    NOT NULL,
	user_id TEXT,
	name    TEXT    NOT NULL,
	hash    BLOB    NOT NULL,
	created INTEGER,
	revoked INTEGER
);
CREATE INDEX api_keys_org ON api_keys (org, id);

-- +goose Down
DROP TABLE api_keys;
