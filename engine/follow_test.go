package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/sqlite"
)

// countingReader counts the change-log reads a Live makes, each taking
// delay (a round trip to a database), and fails them while down is set (a
// database that went away).
type countingReader struct {
	rolecall.Reader
	delay time.Duration
	reads atomic.Int64
	down  atomic.Bool
}

func (c *countingReader) Changes(ctx context.Context, after rolecall.Revision, limit int) ([]rolecall.Change, error) {
	c.reads.Add(1)
	time.Sleep(c.delay)
	if c.down.Load() {
		return nil, rolecall.E("test.Changes", rolecall.Unavailable, "", "the database is unavailable; try again")
	}
	return c.Reader.Changes(ctx, after, limit)
}

func twoOrgs(t *testing.T) (*model.Model, *sqlite.Store) {
	t.Helper()
	m, err := model.Preset("reinfer")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "follow.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Update(context.Background(), func(tx rolecall.Tx) error {
		var errs []error
		for _, org := range []string{"acme", "globex"} {
			errs = append(errs,
				tx.CreateScope(rolecall.Scope{ID: org, Level: "tenant"}),
				tx.CreateScope(rolecall.Scope{ID: org + "-p", Level: "project", Parent: org}),
				tx.CreateUser(rolecall.User{ID: "bob-" + org}),
				tx.CreateMembership(rolecall.Membership{User: "bob-" + org, Scope: org}),
				tx.CreateResource(rolecall.Resource{Type: "source", ID: org + "-mail", Scope: org + "-p"}),
				tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("bob-" + org), Permissions: []string{"view_sources"}, Scope: org + "-p"}))
		}
		return errors.Join(errs...)
	}); err != nil {
		t.Fatal(err)
	}
	return m, st
}

// TestLiveHoldsOnlyItsOrgs opens an engine pinned to one organization: the
// other's data is absent, its writes are passed over but still advance the
// revision, so a token from a write to either organization is reached.
func TestLiveHoldsOnlyItsOrgs(t *testing.T) {
	ctx := context.Background()
	m, st := twoOrgs(t)
	live, err := engine.Open(ctx, m, st, engine.Options{Orgs: []string{"acme"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := live.Engine().Tenants(); !slices.Equal(got, []string{"acme"}) {
		t.Fatalf("Tenants = %v, want only acme", got)
	}
	if !live.Holds("acme") || live.Holds("globex") || !slices.Equal(live.Orgs(), []string{"acme"}) {
		t.Fatalf("Holds/Orgs disagree with the pinning: %v", live.Orgs())
	}
	if _, ok := live.Engine().OrgOf(rolecall.ResourceTarget("source", "globex-mail")); ok {
		t.Fatal("a resource of globex is in an engine pinned to acme")
	}
	rev, err := st.Update(ctx, func(tx rolecall.Tx) error {
		return tx.CreateResource(rolecall.Resource{Type: "source", ID: "globex-chat", Scope: "globex-p"})
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := live.AtLeast(ctx, rev)
	if err != nil || e.Revision != rev {
		t.Fatalf("AtLeast(%d) after a write to another organization = %v, %v; want that revision", rev, e, err)
	}
	if _, ok := e.OrgOf(rolecall.ResourceTarget("source", "globex-chat")); ok {
		t.Fatal("a write to globex reached an engine pinned to acme")
	}
	rev, err = st.Update(ctx, func(tx rolecall.Tx) error {
		return tx.CreateResource(rolecall.Resource{Type: "source", ID: "acme-chat", Scope: "acme-p"})
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err = live.AtLeast(ctx, rev)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Check(engine.Request{Subject: "bob-acme", Permission: "view_sources", Target: rolecall.ResourceTarget("source", "acme-chat")})
	if err != nil || !d.Allowed {
		t.Fatalf("bob-acme on a new acme source = %v, %v; want allowed", d.Allowed, err)
	}
}

// TestSyncsShareOneRead starts many Syncs at once and checks they share
// reads of the change log instead of each making its own, and that each
// still sees the write made before it was called.
func TestSyncsShareOneRead(t *testing.T) {
	ctx := context.Background()
	m, st := twoOrgs(t)
	r := &countingReader{Reader: st, delay: 5 * time.Millisecond}
	live, err := engine.Open(ctx, m, r, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const callers = 64
	for round := range 5 {
		rev, err := st.Update(ctx, func(tx rolecall.Tx) error {
			return tx.CreateUser(rolecall.User{ID: "u" + string(rune('a'+round))})
		})
		if err != nil {
			t.Fatal(err)
		}
		before := r.reads.Load()
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				if got, err := live.Sync(ctx); err != nil || got < rev {
					t.Errorf("Sync = %d, %v; want at least %d", got, err, rev)
				}
			})
		}
		wg.Wait()
		// a round reads until the log is empty (two reads); the callers
		// that come while one reads share the next
		if n := r.reads.Load() - before; n > 8 {
			t.Fatalf("%d callers made %d reads of the change log; they should share rounds", callers, n)
		}
	}
}

// TestAtLeastWhenTheStoreIsDown asks for a revision the index has not
// applied while the store cannot be read: Unavailable at once, saying to
// retry, never an answer from the older index; when the store is back the
// same call answers. Revisions applied report their commit time.
func TestAtLeastWhenTheStoreIsDown(t *testing.T) {
	ctx := context.Background()
	m, st := twoOrgs(t)
	r := &countingReader{Reader: st}
	live, err := engine.Open(ctx, m, r, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var applied atomic.Int64
	live.OnApply(func(rev rolecall.Revision, committed time.Time) {
		if time.Since(committed) > time.Minute || committed.After(time.Now()) {
			t.Errorf("revision %d committed at %v, not just now", rev, committed)
		}
		applied.Store(int64(rev))
	})
	rev, err := st.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "late"}) })
	if err != nil {
		t.Fatal(err)
	}
	r.down.Store(true)
	caught := live.CaughtUp()
	start := time.Now()
	_, err = live.AtLeast(ctx, rev)
	if rolecall.KindOf(err) != rolecall.Unavailable || !strings.Contains(err.Error(), "retry") {
		t.Fatalf("AtLeast with the store down = %v; want unavailable, saying to retry", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("AtLeast with the store down took %v; it should fail at once", time.Since(start))
	}
	if !live.CaughtUp().Equal(caught) {
		t.Fatal("a failed sync moved the time the index was caught up")
	}
	r.down.Store(false)
	e, err := live.AtLeast(ctx, rev)
	if err != nil || e.Revision != rev {
		t.Fatalf("AtLeast once the store is back = %v; want revision %d", err, rev)
	}
	if applied.Load() != int64(rev) {
		t.Fatalf("OnApply last saw revision %d, want %d", applied.Load(), rev)
	}
	if !live.CaughtUp().After(caught) {
		t.Fatal("a sync to the head did not move the time the index was caught up")
	}
}
