package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/rolecall/rolecall"
)

// This file holds the console's credentials and sessions
// (migrations/00004_credentials.sql). Like API keys they are not
// authorization data: they log no change, advance no revision and are in
// no snapshot. Each write is one statement on the write connection, so it
// queues behind Updates like any writer, and a check it makes (that the
// user exists) holds when it commits. Tx.Delete of a user deletes the
// user's credential and sessions (see remove).

var _ rolecall.Credentials = (*Store)(nil)

// credentialName names a user's credential in messages.
func credentialName(user string) string {
	if user == "" {
		return "the operator's credential"
	}
	return "credential of user " + strconv.Quote(user)
}

// noUser reports a credential or session of a user that does not exist.
func noUser(op, name, user string) error {
	return rolecall.E(op, rolecall.FailedPrecondition, name,
		fmt.Sprintf("its user %q does not exist; create the user first (the operator's is user \"\")", user))
}

// userExists is the condition, on the statement's arguments user and user
// again, that the user is the operator or a stored user.
const userExists = `(? = '' OR EXISTS (SELECT 1 FROM users WHERE key = ?))`

// Credential reads the credential of a user ("" for the operator).
func (s *Store) Credential(ctx context.Context, user string) (rolecall.Credential, bool, error) {
	const op = "sqlite.Credential"
	c := rolecall.Credential{User: user}
	var updated sql.NullInt64
	err := s.r.QueryRowContext(ctx, "SELECT password, totp, totp_step, updated FROM credentials WHERE user_id = ?", user).
		Scan(&c.Password, &c.TOTP, &c.TOTPStep, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return rolecall.Credential{}, false, nil
	case err != nil:
		return rolecall.Credential{}, false, dbError(op, err)
	}
	if updated.Valid {
		c.Updated = time.Unix(0, updated.Int64).UTC()
	}
	return c, true, nil
}

// SetCredential creates or replaces a credential, whose user must be the
// operator ("") or a stored user.
func (s *Store) SetCredential(ctx context.Context, c rolecall.Credential) error {
	const op = "sqlite.SetCredential"
	name := credentialName(c.User)
	if c.Password == "" {
		return missing(op, name, "password hash")
	}
	// One statement checks the user and writes, so no deletion of the
	// user comes between.
	res, err := s.w.ExecContext(ctx, `INSERT INTO credentials (user_id, password, totp, totp_step, updated)
		SELECT ?, ?, ?, ?, ? WHERE `+userExists+`
		ON CONFLICT (user_id) DO UPDATE SET password = excluded.password, totp = excluded.totp,
			totp_step = CASE WHEN credentials.totp = excluded.totp THEN MAX(credentials.totp_step, excluded.totp_step) ELSE excluded.totp_step END,
			updated = excluded.updated`,
		c.User, c.Password, c.TOTP, c.TOTPStep, nullTime(c.Updated), c.User, c.User)
	if err != nil {
		return dbError(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(op, err)
	} else if n == 0 {
		return noUser(op, name, c.User)
	}
	return nil
}

// UseTOTPStep records step as the user's last accepted TOTP step if it is
// later than the one recorded, in one conditional update, so that of two
// sign-ins with one code only one succeeds.
func (s *Store) UseTOTPStep(ctx context.Context, user string, step int64) (bool, error) {
	const op = "sqlite.UseTOTPStep"
	res, err := s.w.ExecContext(ctx, "UPDATE credentials SET totp_step = ? WHERE user_id = ? AND totp_step < ?", step, user, step)
	if err != nil {
		return false, dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError(op, err)
	}
	if n == 1 {
		return true, nil
	}
	_, found, err := s.Credential(ctx, user)
	switch {
	case err != nil:
		return false, err
	case !found:
		return false, rolecall.E(op, rolecall.NotFound, credentialName(user), "does not exist; set the user's credential first")
	}
	return false, nil
}

// FindSession returns the data of the session with a token, unless it has
// expired by the clock of this process.
func (s *Store) FindSession(ctx context.Context, token string) ([]byte, bool, error) {
	const op = "sqlite.FindSession"
	var data []byte
	err := s.r.QueryRowContext(ctx, "SELECT data FROM sessions WHERE token = ? AND expiry > ?", token, unixNano(time.Now())).Scan(&data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, dbError(op, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// CommitSession creates or replaces a session, whose user must be the
// operator ("") or a stored user.
func (s *Store) CommitSession(ctx context.Context, token, user string, data []byte, expiry time.Time) error {
	const op = "sqlite.CommitSession"
	if token == "" {
		return rolecall.E(op, rolecall.Invalid, "session", "has no token; give the session's token")
	}
	if data == nil {
		data = []byte{}
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO sessions (token, user_id, data, expiry)
		SELECT ?, ?, ?, ? WHERE `+userExists+`
		ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expiry = excluded.expiry`,
		token, user, data, unixNano(expiry), user, user)
	if err != nil {
		return dbError(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(op, err)
	} else if n == 0 {
		return noUser(op, "session of user "+strconv.Quote(user), user)
	}
	return nil
}

// DeleteSession removes the session with a token, if there is one.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.deleteSessions(ctx, "sqlite.DeleteSession", "token = ?", token)
	return err
}

// DeleteSessions removes every session of a user ("" for the operator).
func (s *Store) DeleteSessions(ctx context.Context, user string) (int, error) {
	return s.deleteSessions(ctx, "sqlite.DeleteSessions", "user_id = ?", user)
}

// DeleteExpiredSessions removes the sessions whose expiry is at or before
// now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return s.deleteSessions(ctx, "sqlite.DeleteExpiredSessions", "expiry <= ?", unixNano(now))
}

// deleteSessions deletes the sessions a condition selects and returns how
// many it deleted.
func (s *Store) deleteSessions(ctx context.Context, op, where string, args ...any) (int, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM sessions WHERE "+where, args...)
	if err != nil {
		return 0, dbError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError(op, err)
	}
	return int(n), nil
}

// forgetUser deletes a user's credential and sessions, in the transaction
// deleting the user.
func (t *tx) forgetUser(user string) error {
	if err := t.exec("DELETE FROM credentials WHERE user_id = ?", user); err != nil {
		return err
	}
	return t.exec("DELETE FROM sessions WHERE user_id = ?", user)
}
