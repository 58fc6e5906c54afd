package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/storetest"
)

// open opens a store in a fresh file and closes it when the test ends.
func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) rolecall.Store {
		return open(t, filepath.Join(t.TempDir(), "rolecall.db"))
	})
}

// TestReopen: a reopened file holds the same objects, revision and log,
// and the console's credentials and sessions, and goes on from its
// revision.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolecall.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	rev, err := s.Update(ctx, func(tx rolecall.Tx) error {
		if err := tx.CreateScope(rolecall.Scope{ID: "acme", Level: "org"}); err != nil {
			return err
		}
		if err := tx.CreateUser(rolecall.User{ID: "ann"}); err != nil {
			return err
		}
		return tx.CreateMembership(rolecall.Membership{User: "ann", Scope: "acme"})
	})
	if err != nil {
		t.Fatal(err)
	}
	cred := rolecall.Credential{User: "ann", Password: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", TOTP: "JBSWY3DPEHPK3PXP", TOTPStep: 3}
	if err := s.SetCredential(ctx, cred); err != nil {
		t.Fatal(err)
	}
	if err := s.CommitSession(ctx, "tok", "ann", []byte("data"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	if h, err := s.Head(ctx); err != nil || h != rev {
		t.Errorf("reopened Head = %d, %v; want %d", h, err, rev)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Revision != rev || len(snap.Scopes) != 1 || len(snap.Users) != 1 || len(snap.Memberships) != 1 {
		t.Errorf("reopened snapshot = %+v, want acme, ann and ann@acme at revision %d", snap, rev)
	}
	if cs, err := s.Changes(ctx, 0, 100); err != nil || len(cs) != 3 {
		t.Errorf("reopened log has %d changes (%v), want 3", len(cs), err)
	}
	if c, found, err := s.Credential(ctx, "ann"); err != nil || !found || c != cred {
		t.Errorf("reopened Credential(ann) = %+v, %v, %v; want %+v", c, found, err, cred)
	}
	if data, found, err := s.FindSession(ctx, "tok"); err != nil || !found || string(data) != "data" {
		t.Errorf("reopened FindSession(tok) = %q, %v, %v; want data", data, found, err)
	}
	next, err := s.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "bob"}) })
	if err != nil || next <= rev {
		t.Errorf("Update after reopening committed at %d (%v), want after %d", next, err, rev)
	}
}

// TestMigrationsIdempotent: opening a file again applies no migration and
// keeps the schema version.
func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolecall.db")
	for range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := migrate(t.Context(), db)
	if err != nil || n != 0 {
		t.Errorf("migrating an up-to-date file applied %d migrations (%v), want 0", n, err)
	}
	var applied int
	if err := db.QueryRow("SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	entries, _ := migrations.ReadDir("migrations")
	if applied != len(entries) {
		t.Errorf("goose recorded %d migrations after three opens, want %d", applied, len(entries))
	}
}

// TestOpenRefuses: paths that are not files are refused with Invalid, and
// a file that cannot be created is refused.
func TestOpenRefuses(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=memory"} {
		if _, err := Open(path); rolecall.KindOf(err) != rolecall.Invalid {
			t.Errorf("Open(%q): %v, want kind %s", path, err, rolecall.Invalid)
		}
	}
	if s, err := Open(filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")); err == nil {
		s.Close()
		t.Errorf("Open in a missing directory succeeded")
	}
}

// TestTwoStoresOneFile: two Stores on one file (as two processes would
// be) both commit every Update, at distinct revisions, waiting out each
// other's write lock.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolecall.db")
	stores := []*Store{open(t, path), open(t, path)}
	const each = 50
	var mu sync.Mutex
	revs := map[rolecall.Revision]bool{}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for j := range each {
				rev, err := s.Update(context.Background(), func(tx rolecall.Tx) error {
					return tx.CreateUser(rolecall.User{ID: fmt.Sprintf("s%d-%d", i, j)})
				})
				if err != nil {
					t.Errorf("store %d, Update %d: %v", i, j, err)
					return
				}
				mu.Lock()
				if revs[rev] {
					t.Errorf("revision %d committed twice", rev)
				}
				revs[rev] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for i, s := range stores {
		if h, err := s.Head(t.Context()); err != nil || h != 2*each {
			t.Errorf("store %d: Head = %d (%v), want %d", i, h, err, 2*each)
		}
	}
}

// BenchmarkUpdate measures one small write (a user) per Update.
func BenchmarkUpdate(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "rolecall.db"))
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		_, err := s.Update(ctx, func(tx rolecall.Tx) error {
			return tx.CreateUser(rolecall.User{ID: fmt.Sprint("u", i), Name: "User"})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// holdWriteLock takes the database's write lock from another connection,
// as another process would, until the returned function is called.
func holdWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return sync.OnceFunc(func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	})
}

// TestBusyRetry: an Update that finds the write lock held by another
// process waits and retries until it is free, or fails with Unavailable
// after its attempts, writing nothing.
func TestBusyRetry(t *testing.T) {
	defer func(d time.Duration) { busyTimeout = d }(busyTimeout)
	busyTimeout = 20 * time.Millisecond
	path := filepath.Join(t.TempDir(), "rolecall.db")
	s := open(t, path)
	ctx := t.Context()

	release := holdWriteLock(t, path)
	time.AfterFunc(150*time.Millisecond, release)
	calls := 0
	rev, err := s.Update(ctx, func(tx rolecall.Tx) error {
		calls++
		return tx.CreateUser(rolecall.User{ID: "ann"})
	})
	if err != nil || rev != 1 {
		t.Errorf("Update while another connection held the lock for a while: revision %d, %v; want 1", rev, err)
	}
	if calls != 1 {
		t.Errorf("fn ran %d times; a lock taken at BEGIN never lets fn run before it is held", calls)
	}

	release = holdWriteLock(t, path)
	defer release()
	start := time.Now()
	_, err = s.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "bob"}) })
	if rolecall.KindOf(err) != rolecall.Unavailable {
		t.Errorf("Update while another connection kept the lock: %v, want kind %s", err, rolecall.Unavailable)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Update gave up after %v; its retries should be bounded well below that", d)
	}
	release()
	if h, _ := s.Head(ctx); h != 1 {
		t.Errorf("Head = %d after the failed Update, want 1", h)
	}
}

// TestDatabaseFailureAborts: when a statement fails inside fn, the
// transaction rolls back even if fn ignores the error, and later calls on
// the Tx fail.
func TestDatabaseFailureAborts(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "rolecall.db"))
	var later error
	_, err := s.Update(t.Context(), func(rt rolecall.Tx) error {
		if err := rt.CreateUser(rolecall.User{ID: "ann"}); err != nil {
			return err
		}
		t := rt.(*tx)
		_ = t.run("test", func() error { return t.exec("INSERT INTO no_such_table VALUES (1)") })
		later = rt.CreateUser(rolecall.User{ID: "bob"})
		return nil // ignore the failure
	})
	if rolecall.KindOf(err) != rolecall.Internal {
		t.Errorf("Update after a database failure: %v, want kind %s", err, rolecall.Internal)
	}
	if rolecall.KindOf(later) != rolecall.Internal {
		t.Errorf("a Tx call after a database failure: %v, want kind %s", later, rolecall.Internal)
	}
	if h, _ := s.Head(t.Context()); h != 0 {
		t.Errorf("Head = %d, want 0: nothing committed", h)
	}
}

// TestOpenConcurrently: processes opening a new file at the same moment
// (each Open has its own connections, as a second process would) all get
// a store with the whole schema, and the migrations are recorded once.
func TestOpenConcurrently(t *testing.T) {
	for round := range 4 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("fresh%d.db", round))
		const n = 4
		errs := make(chan error, n)
		for range n {
			go func() {
				s, err := Open(path)
				if err == nil {
					_, err = s.Head(t.Context())
					s.Close()
				}
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: opening a new file from %d openers at once: %v", round, n, err)
			}
		}
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		var applied int
		if err := db.QueryRow("SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&applied); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if entries, _ := migrations.ReadDir("migrations"); applied != len(entries) {
			t.Fatalf("round %d: goose recorded %d migrations, want %d", round, applied, len(entries))
		}
	}
}
