-- Console sign-in: credentials and sessions. A credential belongs to a
-- user (user_id), or to the operator (user_id ''): password is the hash of
-- the password in the PHC string format, totp the base32 TOTP secret (''
-- until the user enrols), totp_step the last time step whose code was
-- accepted, updated the Unix nanoseconds (UTC) of the credential's last
-- change, NULL when zero. A session is the console's data under a random
-- token, with its user ('' for the operator) and its expiry in Unix
-- nanoseconds.
--
-- Like API keys, neither is authorization data: they are neither in the
-- change log nor in snapshots, and writing them does not advance the
-- revision. The store checks user_id when it writes one, and deletes a
-- user's credential and sessions with the user; no foreign key stands
-- behind them (the operator is no user).
--
-- Keep to SQL that PostgreSQL also runs.

-- +goose Up

CREATE TABLE credentials (
	user_id   TEXT PRIMARY KEY,
	password  TEXT    NOT NULL,
	totp      TEXT    NOT NULL,
	totp_step INTEGER NOT NULL,
	updated   INTEGER
);

CREATE TABLE sessions (
	token   TEXT PRIMARY KEY,
	user_id TEXT    NOT NULL,
	data    BLOB    NOT NULL,
	expiry  INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
DROP TABLE credentials;
