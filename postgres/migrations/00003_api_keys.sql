-- API keys. They are credentials, not authorization data: no change is
-- logged for them and they are in no snapshot, so they have a table of
-- their own, with columns rather than a JSON object. org is '' for the
-- operator's keys and user_id '' for keys without a user; revoked is NULL
-- until the key is revoked. Keys are listed per organization.

-- +goose Up
CREATE TABLE api_keys (
    id      text PRIMARY KEY,
    org     text        NOT NULL,
    user_id text        NOT NULL,
    name    text        NOT NULL,
    hash    bytea       NOT NULL,
    created timestamptz NOT NULL,
    revoked timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org);

-- +goose Down
DROP TABLE api_keys;
