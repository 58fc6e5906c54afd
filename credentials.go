package rolecall

import (
	"context"
	"time"
)

// Credential is what a person signs in to the console with: a password
// hash and, once enrolled, a TOTP secret. User is a user's id, or "" for
// the platform operator. Like API keys, credentials are not authorization
// data: they are neither in the change log nor in snapshots, and an import
// leaves them alone.
type Credential struct {
	User string `json:"user"`
	// Password is the password's hash in the PHC string format
	// ($argon2id$v=19$m=...,t=...,p=...$salt$hash); the store never sees
	// the password itself.
	Password string `json:"password"`
	// TOTP is the base32 secret of a time-based one-time password, ""
	// until the user enrols.
	TOTP string `json:"totp,omitempty"`
	// TOTPStep is the last time step whose code was accepted, so a code
	// is never accepted twice.
	TOTPStep int64     `json:"totp_step,omitempty"`
	Updated  time.Time `json:"updated"`
}

// Credentials keeps the console's sign-in secrets and its sessions. The
// embedded SQLite and the PostgreSQL stores implement it, so a console
// session survives a restart and any replica can serve it.
type Credentials interface {
	// Credential reads the credential of a user ("" for the operator);
	// found is false when there is none.
	Credential(ctx context.Context, user string) (c Credential, found bool, err error)
	// SetCredential creates or replaces a credential. The user must exist
	// (FailedPrecondition naming it otherwise); deleting the user deletes
	// the credential and the user's sessions with it, in the transaction
	// that deletes the user. A credential without a password hash is
	// Invalid. A replacement with the same TOTP secret never lowers
	// TOTPStep: a caller that read the credential before a sign-in used a
	// code (to change the password, say) cannot make that code good again.
	SetCredential(ctx context.Context, c Credential) error
	// UseTOTPStep records that the code of a time step was accepted, if
	// the step is later than the last one recorded, and reports whether it
	// was; false means the code was used already (a replay). NotFound when
	// the user has no credential.
	UseTOTPStep(ctx context.Context, user string, step int64) (ok bool, err error)

	// FindSession returns a session's data, found false when the token is
	// unknown or the session has expired (its expiry is not after the
	// current time).
	FindSession(ctx context.Context, token string) (data []byte, found bool, err error)
	// CommitSession creates or replaces a session of a user ("" for the
	// operator) with its expiry. As for SetCredential, the user must exist
	// (FailedPrecondition naming it otherwise), so that no session
	// outlives its user's deletion; an empty token is Invalid.
	CommitSession(ctx context.Context, token, user string, data []byte, expiry time.Time) error
	// DeleteSession removes a session; an unknown token is not an error.
	DeleteSession(ctx context.Context, token string) error
	// DeleteSessions removes every session of a user (on a password
	// change) and returns how many it removed.
	DeleteSessions(ctx context.Context, user string) (int, error)
	// DeleteExpiredSessions removes the sessions expired at now and
	// returns how many it removed.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}
