package storetest

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
)

// credentials returns the store as rolecall.Credentials, failing the test
// when it is not one: every back end keeps the console's credentials.
func credentials(t *testing.T, s rolecall.Store) rolecall.Credentials {
	t.Helper()
	c, ok := s.(rolecall.Credentials)
	if !ok {
		t.Fatalf("%T does not implement rolecall.Credentials", s)
	}
	return c
}

// Password hashes for the tests: the store keeps them as given.
const (
	hashA = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdGE$aGFzaGE"
	hashB = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdGI$aGFzaGI"
)

// setCredential sets a credential and fails the test if it cannot.
func setCredential(t *testing.T, cs rolecall.Credentials, c rolecall.Credential) {
	t.Helper()
	if err := cs.SetCredential(t.Context(), c); err != nil {
		t.Fatalf("SetCredential(%q): %v", c.User, err)
	}
}

// wantCredential fails the test unless the user's credential is want, or
// there is none when want is nil.
func wantCredential(t *testing.T, what string, cs rolecall.Credentials, user string, want *rolecall.Credential) {
	t.Helper()
	got, found, err := cs.Credential(t.Context(), user)
	switch {
	case err != nil:
		t.Errorf("%s: Credential(%q): %v", what, user, err)
	case want == nil && found:
		t.Errorf("%s: Credential(%q) = %+v, want none", what, user, got)
	case want == nil:
	case !found:
		t.Errorf("%s: Credential(%q) found none, want %+v", what, user, *want)
	case got.User != want.User || got.Password != want.Password || got.TOTP != want.TOTP ||
		got.TOTPStep != want.TOTPStep || !got.Updated.Equal(want.Updated):
		t.Errorf("%s: Credential(%q) = %+v, want %+v", what, user, got, *want)
	}
}

// commitSession commits a session and fails the test if it cannot.
func commitSession(t *testing.T, cs rolecall.Credentials, token, user, data string, expiry time.Time) {
	t.Helper()
	if err := cs.CommitSession(t.Context(), token, user, []byte(data), expiry); err != nil {
		t.Fatalf("CommitSession(%q, %q): %v", token, user, err)
	}
}

// wantSession fails the test unless the session with token holds data,
// or is not found when data is nil.
func wantSession(t *testing.T, what string, cs rolecall.Credentials, token string, data []byte) {
	t.Helper()
	got, found, err := cs.FindSession(t.Context(), token)
	switch {
	case err != nil:
		t.Errorf("%s: FindSession(%q): %v", what, token, err)
	case data == nil && found:
		t.Errorf("%s: FindSession(%q) = %q, want not found", what, token, got)
	case data != nil && !found:
		t.Errorf("%s: FindSession(%q) found nothing, want %q", what, token, data)
	case !bytes.Equal(got, data):
		t.Errorf("%s: FindSession(%q) = %q, want %q", what, token, got, data)
	}
}

// testCredentials: credentials of users and of the operator are set, read
// back and replaced; a credential needs an existing user and a password
// hash, and a refused one leaves nothing behind.
func testCredentials(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	cs := credentials(t, s)
	wantCredential(t, "new store", cs, "ann", nil)
	wantCredential(t, "new store", cs, "", nil)

	// Each step sets one credential; afterwards every credential set so
	// far reads back as last set.
	want := map[string]rolecall.Credential{}
	for _, step := range []struct {
		name string
		c    rolecall.Credential
	}{
		{"a user's", rolecall.Credential{User: "ann", Password: hashA, Updated: t0}},
		{"the operator's", rolecall.Credential{User: "", Password: hashB, TOTP: "JBSWY3DPEHPK3PXP", TOTPStep: 7, Updated: t0}},
		{"a user with an odd id", rolecall.Credential{User: "cat@globex.com", Password: hashB}},
		{"a replaced password and an enrolment", rolecall.Credential{User: "ann", Password: hashB, TOTP: "KRSXG5CTMVRXEZLU", TOTPStep: 3, Updated: t1}},
		{"a replacement that drops TOTP", rolecall.Credential{User: "", Password: hashA, Updated: t1}},
	} {
		setCredential(t, cs, step.c)
		want[step.c.User] = step.c
		for user, c := range want {
			wantCredential(t, "after "+step.name, cs, user, &c)
		}
	}
	wantCredential(t, "a user never given one", cs, "bob", nil)

	for _, tc := range []struct {
		name     string
		c        rolecall.Credential
		kind     rolecall.Kind
		mentions []string
	}{
		{"unknown user", rolecall.Credential{User: "zed", Password: hashA}, rolecall.FailedPrecondition, []string{`"zed"`}},
		{"user named like a scope", rolecall.Credential{User: "acme", Password: hashA}, rolecall.FailedPrecondition, []string{`"acme"`}},
		{"no password hash", rolecall.Credential{User: "bob", TOTP: "JBSWY3DPEHPK3PXP"}, rolecall.Invalid, []string{`"bob"`}},
		{"operator without a password hash", rolecall.Credential{User: ""}, rolecall.Invalid, nil},
	} {
		err := cs.SetCredential(t.Context(), tc.c)
		wantErr(t, tc.name, err, tc.kind, tc.mentions...)
		if w, ok := want[tc.c.User]; ok {
			wantCredential(t, tc.name+" refused", cs, tc.c.User, &w)
		} else {
			wantCredential(t, tc.name+" refused", cs, tc.c.User, nil)
		}
	}
}

// testTOTPSteps: UseTOTPStep accepts only steps later than the last one
// accepted, each once even when sign-ins race, and needs a credential.
func testTOTPSteps(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	cs := credentials(t, s)
	setCredential(t, cs, rolecall.Credential{User: "ann", Password: hashA, TOTP: "JBSWY3DPEHPK3PXP", Updated: t0})
	setCredential(t, cs, rolecall.Credential{User: "", Password: hashB, TOTP: "KRSXG5CTMVRXEZLU", TOTPStep: 50, Updated: t0})

	for _, tc := range []struct {
		user string
		step int64
		ok   bool
	}{
		{"ann", 5, true},
		{"ann", 5, false}, // the same code again: a replay
		{"ann", 4, false}, // an older code
		{"ann", 6, true},
		{"ann", 1000, true},
		{"ann", 999, false},
		{"", 50, false}, // the step the operator's credential was set with
		{"", 49, false},
		{"", 51, true},
		{"ann", 1000, false}, // the operator's steps are not ann's
	} {
		ok, err := cs.UseTOTPStep(t.Context(), tc.user, tc.step)
		if err != nil || ok != tc.ok {
			t.Errorf("UseTOTPStep(%q, %d) = %v, %v; want %v", tc.user, tc.step, ok, err, tc.ok)
		}
	}
	wantCredential(t, "after the steps", cs, "ann", &rolecall.Credential{User: "ann", Password: hashA, TOTP: "JBSWY3DPEHPK3PXP", TOTPStep: 1000, Updated: t0})
	// a replacement read before the steps were used keeps the last one
	setCredential(t, cs, rolecall.Credential{User: "ann", Password: hashB, TOTP: "JBSWY3DPEHPK3PXP", TOTPStep: 5, Updated: t0})
	wantCredential(t, "replaced from an older read", cs, "ann", &rolecall.Credential{User: "ann", Password: hashB, TOTP: "JBSWY3DPEHPK3PXP", TOTPStep: 1000, Updated: t0})
	if ok, err := cs.UseTOTPStep(t.Context(), "ann", 999); ok || err != nil {
		t.Errorf("a used code accepted again after a replacement: %v, %v", ok, err)
	}
	setCredential(t, cs, rolecall.Credential{User: "ann", Password: hashA, TOTP: "JBSWY3DPEHPK3PXP", TOTPStep: 1000, Updated: t0})
	wantCredential(t, "after the steps", cs, "", &rolecall.Credential{Password: hashB, TOTP: "KRSXG5CTMVRXEZLU", TOTPStep: 51, Updated: t0})

	for _, user := range []string{"bob", "zed"} {
		ok, err := cs.UseTOTPStep(t.Context(), user, 1)
		if ok {
			t.Errorf("UseTOTPStep(%q) accepted a step of a user without a credential", user)
		}
		wantErr(t, "UseTOTPStep of "+user+", who has no credential", err, rolecall.NotFound, `"`+user+`"`)
	}

	// Sign-ins racing with one code: exactly one is accepted.
	const racers = 8
	var wg sync.WaitGroup
	accepted := make(chan bool, racers)
	for range racers {
		wg.Go(func() {
			ok, err := cs.UseTOTPStep(t.Context(), "ann", 2000)
			if err != nil {
				t.Errorf("UseTOTPStep racing: %v", err)
			}
			accepted <- ok
		})
	}
	wg.Wait()
	close(accepted)
	n := 0
	for ok := range accepted {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d of %d racing sign-ins with one code were accepted, want 1", n, racers)
	}
}

// testSessions: sessions are committed, found, replaced and deleted, one
// by one or all of a user's; expired ones are not found and are removed by
// DeleteExpiredSessions.
func testSessions(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	cs := credentials(t, s)
	ctx := t.Context()
	now := time.Now()
	later := now.Add(time.Hour)

	commitSession(t, cs, "tok-ann", "ann", "one", later)
	wantSession(t, "committed", cs, "tok-ann", []byte("one"))
	commitSession(t, cs, "tok-ann", "ann", "two", later)
	wantSession(t, "replaced", cs, "tok-ann", []byte("two"))
	commitSession(t, cs, "tok-op", "", "operator", later)
	wantSession(t, "the operator's", cs, "tok-op", []byte("operator"))
	wantSession(t, "unknown token", cs, "tok-nope", nil)
	wantSession(t, "empty token", cs, "", nil)

	for _, tc := range []struct {
		name, token, user string
		kind              rolecall.Kind
		mentions          []string
	}{
		{"unknown user", "tok-zed", "zed", rolecall.FailedPrecondition, []string{`"zed"`}},
		{"no token", "", "ann", rolecall.Invalid, nil},
	} {
		err := cs.CommitSession(ctx, tc.token, tc.user, []byte("x"), later)
		wantErr(t, "CommitSession with "+tc.name, err, tc.kind, tc.mentions...)
		if tc.token != "" {
			wantSession(t, tc.name+" refused", cs, tc.token, nil)
		}
	}

	if err := cs.DeleteSession(ctx, "tok-ann"); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	wantSession(t, "deleted", cs, "tok-ann", nil)
	wantSession(t, "another after a deletion", cs, "tok-op", []byte("operator"))
	if err := cs.DeleteSession(ctx, "tok-ann"); err != nil {
		t.Errorf("DeleteSession of a deleted session: %v, want no error", err)
	}

	// A session can move to another user, and its expiry with it.
	commitSession(t, cs, "tok-moved", "ann", "ann's", later)
	commitSession(t, cs, "tok-moved", "bob", "bob's", now.Add(2*time.Hour))

	// Expiry: a session whose expiry has passed is not found; one that
	// has passed by the time given to DeleteExpiredSessions is removed.
	commitSession(t, cs, "tok-old1", "ann", "old", now.Add(-time.Minute))
	commitSession(t, cs, "tok-old2", "", "old", now.Add(-time.Hour))
	commitSession(t, cs, "tok-refreshed", "bob", "stale", now.Add(-time.Minute))
	commitSession(t, cs, "tok-refreshed", "bob", "fresh", later)
	for _, tok := range []string{"tok-old1", "tok-old2"} {
		wantSession(t, "expired", cs, tok, nil)
	}
	wantSession(t, "refreshed after expiring", cs, "tok-refreshed", []byte("fresh"))
	for _, tc := range []struct {
		now  time.Time
		want int
	}{
		{now, 2},                         // tok-old1 and tok-old2
		{now, 0},                         // nothing more
		{later, 2},                       // expiring at later, which counts as expired: tok-op and tok-refreshed
		{now.Add(2 * time.Hour), 1},      // tok-moved, with the expiry of its replacement
		{now.Add(24 * time.Hour * 7), 0}, // none left
	} {
		n, err := cs.DeleteExpiredSessions(ctx, tc.now)
		if err != nil || n != tc.want {
			t.Errorf("DeleteExpiredSessions(now%+v) = %d, %v; want %d", tc.now.Sub(now), n, err, tc.want)
		}
	}
	for _, tok := range []string{"tok-old1", "tok-op", "tok-refreshed", "tok-moved"} {
		wantSession(t, "after DeleteExpiredSessions", cs, tok, nil)
	}
}

// testDeleteSessions: DeleteSessions removes every session of one user
// (or of the operator) and no other, and counts them.
func testDeleteSessions(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	cs := credentials(t, s)
	later := time.Now().Add(time.Hour)
	sessions := map[string]string{ // token: user
		"a1": "ann", "a2": "ann", "a3": "ann",
		"b1": "bob",
		"o1": "", "o2": "",
	}
	for tok, user := range sessions {
		commitSession(t, cs, tok, user, "data of "+tok, later)
	}
	for _, tc := range []struct {
		user string
		want int
	}{
		{"ann", 3},
		{"ann", 0},
		{"cat@globex.com", 0},
		{"zed", 0},
		{"", 2},
	} {
		n, err := cs.DeleteSessions(t.Context(), tc.user)
		if err != nil || n != tc.want {
			t.Errorf("DeleteSessions(%q) = %d, %v; want %d", tc.user, n, err, tc.want)
		}
		for tok, user := range sessions {
			if user == tc.user {
				delete(sessions, tok)
				wantSession(t, "deleted with its user's", cs, tok, nil)
			}
		}
		for tok := range sessions {
			wantSession(t, "of another user", cs, tok, []byte("data of "+tok))
		}
	}
}

// testCredentialsOfDeletedUser: deleting a user deletes its credential
// and sessions, in the same transaction: a rolled back deletion keeps
// them, and a user created again under the id has none.
func testCredentialsOfDeletedUser(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	cs := credentials(t, s)
	later := time.Now().Add(time.Hour)
	update(t, s, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "dan"}) })
	dan := rolecall.Credential{User: "dan", Password: hashA, TOTP: "JBSWY3DPEHPK3PXP", TOTPStep: 9, Updated: t0}
	ann := rolecall.Credential{User: "ann", Password: hashB, Updated: t0}
	op := rolecall.Credential{Password: hashA, Updated: t0}
	for _, c := range []rolecall.Credential{dan, ann, op} {
		setCredential(t, cs, c)
	}
	commitSession(t, cs, "dan1", "dan", "d1", later)
	commitSession(t, cs, "dan2", "dan", "d2", later)
	commitSession(t, cs, "ann1", "ann", "a1", later)
	commitSession(t, cs, "op1", "", "o1", later)

	_, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
		if err := tx.Delete(rolecall.ObjUser, "dan"); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Update = %v, want %v", err, errBoom)
	}
	wantCredential(t, "deletion rolled back", cs, "dan", &dan)
	wantSession(t, "deletion rolled back", cs, "dan1", []byte("d1"))

	update(t, s, func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjUser, "dan") })
	wantCredential(t, "user deleted", cs, "dan", nil)
	wantSession(t, "user deleted", cs, "dan1", nil)
	wantSession(t, "user deleted", cs, "dan2", nil)
	if n, err := cs.DeleteSessions(t.Context(), "dan"); err != nil || n != 0 {
		t.Errorf("DeleteSessions(dan) after deleting dan = %d, %v; want 0", n, err)
	}
	if _, err := cs.UseTOTPStep(t.Context(), "dan", 10); rolecall.KindOf(err) != rolecall.NotFound {
		t.Errorf("UseTOTPStep(dan) after deleting dan: %v, want %s", err, rolecall.NotFound)
	}
	wantCredential(t, "another user deleted", cs, "ann", &ann)
	wantCredential(t, "a user deleted", cs, "", &op)
	wantSession(t, "another user deleted", cs, "ann1", []byte("a1"))
	wantSession(t, "a user deleted", cs, "op1", []byte("o1"))

	wantErr(t, "SetCredential of a deleted user", cs.SetCredential(t.Context(), dan), rolecall.FailedPrecondition, `"dan"`)
	wantErr(t, "CommitSession of a deleted user", cs.CommitSession(t.Context(), "dan3", "dan", nil, later), rolecall.FailedPrecondition, `"dan"`)
	update(t, s, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "dan"}) })
	wantCredential(t, "user created again", cs, "dan", nil)
	wantSession(t, "user created again", cs, "dan1", nil)
}

// testCredentialsRacingDeletion: a credential or session written while
// its user is being deleted either is refused or goes with the user;
// none outlives it.
func testCredentialsRacingDeletion(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	cs := credentials(t, s)
	ctx := t.Context()
	later := time.Now().Add(time.Hour)
	for i := range 100 {
		user := fmt.Sprintf("u%d", i)
		update(t, s, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: user}) })
		refusedOrNil := func(what string, err error) {
			if err != nil && rolecall.KindOf(err) != rolecall.FailedPrecondition {
				t.Errorf("%s of %s, deleted meanwhile: %v; want success or %s", what, user, err, rolecall.FailedPrecondition)
			}
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			refusedOrNil("SetCredential", cs.SetCredential(ctx, rolecall.Credential{User: user, Password: hashA}))
		})
		wg.Go(func() {
			refusedOrNil("CommitSession", cs.CommitSession(ctx, "tok-"+user, user, []byte("x"), later))
		})
		wg.Go(func() {
			if _, err := s.Update(ctx, func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjUser, user) }); err != nil {
				t.Errorf("deleting %s: %v", user, err)
			}
		})
		wg.Wait()
		wantCredential(t, "written while its user was deleted", cs, user, nil)
		wantSession(t, "written while its user was deleted", cs, "tok-"+user, nil)
	}
}

// testCredentialsOutsideLog: credentials and sessions are not
// authorization data: writing them logs no change, advances no revision
// and leaves the snapshot as it was; objects loaded or imported later
// leave them alone.
func testCredentialsOutsideLog(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	cs := credentials(t, s)
	ctx := t.Context()
	before := snapshot(t, s)
	ann := rolecall.Credential{User: "ann", Password: hashA, TOTP: "JBSWY3DPEHPK3PXP", Updated: t0}
	op := rolecall.Credential{Password: hashB, Updated: t0}
	setCredential(t, cs, ann)
	setCredential(t, cs, op)
	if ok, err := cs.UseTOTPStep(ctx, "ann", 4); !ok || err != nil {
		t.Fatalf("UseTOTPStep = %v, %v", ok, err)
	}
	ann.TOTPStep = 4
	later := time.Now().Add(time.Hour)
	commitSession(t, cs, "s1", "ann", "one", later)
	commitSession(t, cs, "s2", "", "two", later)
	commitSession(t, cs, "s3", "bob", "three", later)
	if err := cs.DeleteSession(ctx, "s3"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.DeleteExpiredSessions(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}

	for _, c := range allChanges(t, s, rev) {
		t.Errorf("a credential or session write logged a change: %s %s", c.Kind, c.Key)
	}
	if h := head(t, s); h != rev {
		t.Errorf("credential and session writes moved the head from %d to %d", rev, h)
	}
	if after := snapshot(t, s); !reflect.DeepEqual(after, before) {
		t.Errorf("credential and session writes changed the snapshot:\n got  %+v\n want %+v", after, before)
	}

	// More objects, as an import writes them: by Load when the store has
	// it, else by Update.
	more := &rolecall.Snapshot{
		Scopes:      []rolecall.Scope{{ID: "initech", Level: "org"}},
		Users:       []rolecall.User{{ID: "eve"}},
		Memberships: []rolecall.Membership{{User: "eve", Scope: "initech"}, {User: "ann", Scope: "initech"}},
	}
	if l, ok := s.(rolecall.Loader); ok {
		if _, err := l.Load(ctx, more); err != nil {
			t.Fatalf("Load: %v", err)
		}
	} else {
		update(t, s, func(tx rolecall.Tx) error {
			return firstErr(tx.CreateScope(more.Scopes[0]), tx.CreateUser(more.Users[0]),
				tx.CreateMembership(more.Memberships[0]), tx.CreateMembership(more.Memberships[1]))
		})
	}
	wantCredential(t, "after loading more", cs, "ann", &ann)
	wantCredential(t, "after loading more", cs, "", &op)
	wantCredential(t, "after loading more", cs, "eve", nil)
	wantSession(t, "after loading more", cs, "s1", []byte("one"))
	wantSession(t, "after loading more", cs, "s2", []byte("two"))
	for _, c := range allChanges(t, s, rev) {
		if c.Kind != rolecall.ObjScope && c.Kind != rolecall.ObjUser && c.Kind != rolecall.ObjMembership {
			t.Errorf("loading logged a change of kind %s (%s)", c.Kind, c.Key)
		}
	}
}

// firstErr returns the first error that is not nil.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
