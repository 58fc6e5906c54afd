-- Console sign-in: credentials and sessions. Like API keys they are not
-- authorization data: no change is logged for them and they are in no
-- snapshot, so they have tables of their own, with columns rather than a
-- JSON object. user_id is '' for the operator's credential and sessions,
-- which belong to no user; so no foreign key stands behind it, and the
-- store checks it when it writes one and deletes a user's credential and
-- sessions in the transaction that deletes the user.
--
-- A credential: the password's hash (PHC string format), the base32 TOTP
-- secret ('' until the user enrols), the last TOTP step accepted, and the
-- time of its last change (NULL when zero). A session: the console's data
-- under a random token, and its expiry; sessions are looked up by token,
-- deleted by user and swept by expiry.

-- +goose Up
CREATE TABLE credentials (
    user_id   text PRIMARY KEY,
    password  text   NOT NULL,
    totp      text   NOT NULL,
    totp_step bigint NOT NULL,
    updated   timestamptz
);

CREATE TABLE sessions (
    token   text PRIMARY KEY,
    user_id text        NOT NULL,
    data    bytea       NOT NULL,
    expiry  timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
DROP TABLE credentials;
