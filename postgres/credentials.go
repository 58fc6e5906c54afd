package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolecall/rolecall"
)

// This file holds the console's credentials and sessions
// (migrations/00004_credentials.sql). Like API keys they are not
// authorization data: they log no change, advance no revision and are in
// no snapshot. Their writes do not take the head row, so a console
// request never waits for an Update; instead a write that needs its user
// to exist locks the user's row (FOR SHARE) until it commits. A
// concurrent deletion of the user therefore either comes first, and the
// write finds no user, or waits, and then deletes what the write wrote
// (Tx.Delete deletes the user's row before its credential and sessions,
// see forgetUsers).

var _ rolecall.Credentials = (*Store)(nil)

// credentialName names a user's credential in messages.
func credentialName(user string) string {
	if user == "" {
		return "the operator's credential"
	}
	return "credential of user " + strconv.Quote(user)
}

// Credential reads the credential of a user ("" for the operator).
func (s *Store) Credential(ctx context.Context, user string) (rolecall.Credential, bool, error) {
	const op = "postgres.Credential"
	c := rolecall.Credential{User: user}
	var updated *time.Time
	err := s.pool.QueryRow(ctx, `SELECT password, totp, totp_step, updated FROM credentials WHERE user_id = $1`, user).
		Scan(&c.Password, &c.TOTP, &c.TOTPStep, &updated)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return rolecall.Credential{}, false, nil
	case err != nil:
		return rolecall.Credential{}, false, dbErr(op, credentialName(user), err)
	}
	if updated != nil {
		c.Updated = updated.UTC()
	}
	return c, true, nil
}

// SetCredential creates or replaces a credential, whose user must be the
// operator ("") or a stored user.
func (s *Store) SetCredential(ctx context.Context, c rolecall.Credential) error {
	const op = "postgres.SetCredential"
	n := credentialName(c.User)
	if c.Password == "" {
		return rolecall.E(op, rolecall.Invalid, n, "has no password hash; give one")
	}
	return s.forUser(ctx, op, n, c.User, func(ptx pgx.Tx) error {
		_, err := ptx.Exec(ctx, `INSERT INTO credentials (user_id, password, totp, totp_step, updated)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id) DO UPDATE SET password = excluded.password, totp = excluded.totp,
				totp_step = CASE WHEN credentials.totp = excluded.totp THEN GREATEST(credentials.totp_step, excluded.totp_step) ELSE excluded.totp_step END,
				updated = excluded.updated`,
			c.User, c.Password, c.TOTP, c.TOTPStep, nullTime(c.Updated))
		return err
	})
}

// forUser runs fn in a transaction once it has locked the row of user,
// which must be the operator ("") or a stored user (FailedPrecondition
// naming it otherwise; fn does not run). name is how messages name what
// fn writes.
func (s *Store) forUser(ctx context.Context, op, name, user string, fn func(pgx.Tx) error) error {
	var exists bool
	err := retry(ctx, func() error {
		exists = user == ""
		return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(ptx pgx.Tx) error {
			if !exists {
				err := ptx.QueryRow(ctx, `SELECT true FROM users WHERE key = $1 FOR SHARE`, user).Scan(&exists)
				switch {
				case errors.Is(err, pgx.ErrNoRows):
					return nil // nothing written
				case err != nil:
					return err
				}
			}
			return fn(ptx)
		})
	})
	switch {
	case err != nil:
		return dbErr(op, name, err)
	case !exists:
		return rolecall.E(op, rolecall.FailedPrecondition, name,
			fmt.Sprintf("its user %q does not exist; create the user first (the operator's is user \"\")", user))
	}
	return nil
}

// UseTOTPStep records step as the user's last accepted TOTP step if it is
// later than the one recorded, in one conditional update: of two
// concurrent updates with one step, the second waits for the first and
// then finds its condition false.
func (s *Store) UseTOTPStep(ctx context.Context, user string, step int64) (bool, error) {
	const op = "postgres.UseTOTPStep"
	var ok, found bool
	err := retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `UPDATE credentials SET totp_step = $2 WHERE user_id = $1 AND totp_step < $2`, user, step)
		if err != nil {
			return err
		}
		ok = tag.RowsAffected() == 1
		if ok {
			return nil
		}
		return s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM credentials WHERE user_id = $1)`, user).Scan(&found)
	})
	switch {
	case err != nil:
		return false, dbErr(op, credentialName(user), err)
	case !ok && !found:
		return false, rolecall.E(op, rolecall.NotFound, credentialName(user), "does not exist; set the user's credential first")
	}
	return ok, nil
}

// sessionTime is a time as the sessions table keeps it: PostgreSQL keeps
// microseconds, and an expiry compared with a time must be rounded the
// same way.
func sessionTime(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// FindSession returns the data of the session with a token, unless it has
// expired by the clock of this process.
func (s *Store) FindSession(ctx context.Context, token string) ([]byte, bool, error) {
	const op = "postgres.FindSession"
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM sessions WHERE token = $1 AND expiry > $2`, token, sessionTime(time.Now())).Scan(&data)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, dbErr(op, "session", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// CommitSession creates or replaces a session, whose user must be the
// operator ("") or a stored user.
func (s *Store) CommitSession(ctx context.Context, token, user string, data []byte, expiry time.Time) error {
	const op = "postgres.CommitSession"
	if token == "" {
		return rolecall.E(op, rolecall.Invalid, "session", "has no token; give the session's token")
	}
	if data == nil {
		data = []byte{}
	}
	return s.forUser(ctx, op, "session of user "+strconv.Quote(user), user, func(ptx pgx.Tx) error {
		_, err := ptx.Exec(ctx, `INSERT INTO sessions (token, user_id, data, expiry) VALUES ($1, $2, $3, $4)
			ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, expiry = excluded.expiry`,
			token, user, data, sessionTime(expiry))
		return err
	})
}

// DeleteSession removes the session with a token, if there is one.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.deleteSessions(ctx, "postgres.DeleteSession", `token = $1`, token)
	return err
}

// DeleteSessions removes every session of a user ("" for the operator).
func (s *Store) DeleteSessions(ctx context.Context, user string) (int, error) {
	return s.deleteSessions(ctx, "postgres.DeleteSessions", `user_id = $1`, user)
}

// DeleteExpiredSessions removes the sessions whose expiry is at or before
// now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return s.deleteSessions(ctx, "postgres.DeleteExpiredSessions", `expiry <= $1`, sessionTime(now))
}

// deleteSessions deletes the sessions a condition selects and returns how
// many it deleted.
func (s *Store) deleteSessions(ctx context.Context, op, where string, arg any) (int, error) {
	var n int64
	err := retry(ctx, func() error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE `+where, arg)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, dbErr(op, "sessions", err)
	}
	return int(n), nil
}

// forgetUsers deletes the credentials and sessions of users, in the
// transaction that deleted the users' rows. It must come after those
// deletions: a credential or session written meanwhile held the user's row
// until it committed, so this statement, reading what committed before
// it, deletes it too.
func (t *tx) forgetUsers(op string, users []string) error {
	for _, table := range []string{"credentials", "sessions"} {
		if _, err := t.tx.Exec(t.ctx, `DELETE FROM `+table+` WHERE user_id = ANY($1)`, users); err != nil {
			return t.fail(op, name(rolecall.ObjUser, users[0]), err)
		}
	}
	return nil
}
