package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/sqlite"
)

// TestLiveFollowsTheStore builds a live engine from a SQLite store, writes
// through the store, and checks that after Sync the engine answers from
// the new data at the store's revision, while readers keep checking
// concurrently (run with -race).
func TestLiveFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	m, err := model.Preset("reinfer")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		return errors.Join(
			tx.CreateScope(rolecall.Scope{ID: "acme", Level: "tenant"}),
			tx.CreateScope(rolecall.Scope{ID: "claims", Level: "project", Parent: "acme"}),
			tx.CreateUser(rolecall.User{ID: "bob"}),
			tx.CreateMembership(rolecall.Membership{User: "bob", Scope: "acme"}),
			tx.CreateResource(rolecall.Resource{Type: "source", ID: "mail", Scope: "claims"}),
		)
	}); err != nil {
		t.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	may := func(e *engine.Engine) bool {
		t.Helper()
		d, err := e.Check(engine.Request{Subject: "bob", Permission: "view_sources", Target: rolecall.ResourceTarget("source", "mail")})
		if err != nil {
			t.Fatal(err)
		}
		return d.Allowed
	}
	if may(live.Engine()) {
		t.Fatal("bob may view sources before any binding")
	}

	// readers check all along
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var checks atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := live.Engine().Check(engine.Request{Subject: "bob", Permission: "view_sources", Target: rolecall.ResourceTarget("source", "mail")}); err != nil {
					t.Error(err)
					return
				}
				checks.Add(1)
			}
		}()
	}

	for i := range 20 {
		var b rolecall.Binding
		rev, err := st.Update(ctx, func(tx rolecall.Tx) error {
			b = rolecall.Binding{Subject: rolecall.UserSubject("bob"), Permissions: []string{"view_sources"}, Scope: "claims"}
			return tx.CreateBinding(&b)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := live.Sync(ctx); err != nil || got != rev {
			t.Fatalf("Sync = %d, %v; want revision %d", got, err, rev)
		}
		if !may(live.Engine()) {
			t.Fatalf("round %d: bob may not view sources after the binding at revision %d", i, rev)
		}
		rev, err = st.Update(ctx, func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjBinding, b.ID) })
		if err != nil {
			t.Fatal(err)
		}
		// AtLeast syncs by itself when behind
		e, err := live.AtLeast(ctx, rev)
		if err != nil {
			t.Fatal(err)
		}
		if e.Revision != rev || may(e) {
			t.Fatalf("round %d: at revision %d (want %d) bob still may view sources", i, e.Revision, rev)
		}
	}
	close(stop)
	wg.Wait()
	if checks.Load() == 0 {
		t.Fatal("the readers made no checks")
	}

	// a revision nobody has written yet: refused at once, waiting cannot help
	head, _ := st.Head(ctx)
	if _, err := live.AtLeast(ctx, head+10); rolecall.KindOf(err) != rolecall.Invalid {
		t.Fatalf("AtLeast(a future revision) = %v, want invalid", err)
	}
	// a revision written but not readable yet (a replica behind its
	// primary): unavailable once the deadline passes
	behind, err := engine.Open(ctx, m, lagging{st, head}, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "late"}) }); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := behind.AtLeast(short, head+1); rolecall.KindOf(err) != rolecall.Unavailable {
		t.Fatalf("AtLeast(a revision the replica has not read) = %v, want unavailable", err)
	}

	// Follow picks up a write without being asked
	fctx, fstop := context.WithCancel(ctx)
	followed := make(chan struct{})
	defer func() { fstop(); <-followed }()
	go func() {
		defer close(followed)
		live.Follow(fctx, 5*time.Millisecond, func(err error) {
			if fctx.Err() == nil {
				t.Error(err)
			}
		})
	}()
	rev, err := st.Update(ctx, func(tx rolecall.Tx) error {
		return tx.CreateUser(rolecall.User{ID: "cleo"})
	})
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if e, err := live.AtLeast(wait, rev); err != nil || e.Revision < rev {
		t.Fatalf("Follow did not reach revision %d: %v", rev, err)
	}
}

// TestLiveFollowsMovesAndBulkDeletes moves a project to another
// organization and deletes by filter through the store, and checks that the
// engine that followed the change log answers like one built afresh.
func TestLiveFollowsMovesAndBulkDeletes(t *testing.T) {
	ctx := context.Background()
	m, err := model.Preset("reinfer")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "moves.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	users := []string{"ann", "bob", "cleo"}
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		errs := []error{
			tx.CreateScope(rolecall.Scope{ID: "acme", Level: "tenant"}),
			tx.CreateScope(rolecall.Scope{ID: "globex", Level: "tenant"}),
			tx.CreateScope(rolecall.Scope{ID: "claims", Level: "project", Parent: "acme"}),
			tx.CreateScope(rolecall.Scope{ID: "billing", Level: "project", Parent: "acme"}),
			tx.CreateResource(rolecall.Resource{Type: "source", ID: "mail", Scope: "claims"}),
			tx.CreateResource(rolecall.Resource{Type: "source", ID: "invoices", Scope: "billing"}),
			tx.CreateResource(rolecall.Resource{Type: "verbatim", ID: "v1", Parent: &rolecall.ResourceRef{Type: "source", ID: "invoices"}}),
		}
		for _, u := range users {
			errs = append(errs, tx.CreateUser(rolecall.User{ID: u}), tx.CreateMembership(rolecall.Membership{User: u, Scope: "acme"}))
		}
		for i, p := range []string{"claims", "billing"} {
			errs = append(errs,
				tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject(users[i]), Permissions: []string{"sources_admin"}, Scope: p}),
				tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("cleo"), Permissions: []string{"view_sources"}, Scope: p}))
		}
		return errors.Join(errs...)
	}); err != nil {
		t.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	targets := []rolecall.Target{rolecall.ScopeTarget("acme"), rolecall.ScopeTarget("globex"), rolecall.ScopeTarget("claims"),
		rolecall.ScopeTarget("billing"), rolecall.ResourceTarget("source", "mail"), rolecall.ResourceTarget("source", "invoices"),
		rolecall.ResourceTarget("verbatim", "v1")}
	same := func(when string) {
		t.Helper()
		if _, err := live.Sync(ctx); err != nil {
			t.Fatalf("%s: Sync: %v", when, err)
		}
		fresh, err := engine.Open(ctx, m, st, engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a, b := live.Engine(), fresh.Engine()
		if a.Revision != b.Revision {
			t.Fatalf("%s: followed to revision %d, fresh at %d", when, a.Revision, b.Revision)
		}
		for _, u := range users {
			for _, tg := range targets {
				x, errA := a.Effective(u, tg, nil)
				y, errB := b.Effective(u, tg, nil)
				if fmt.Sprint(x, errA) != fmt.Sprint(y, errB) {
					t.Fatalf("%s: Effective(%s, %s): followed %v %v, fresh %v %v", when, u, tg, x, errA, y, errB)
				}
			}
			for _, typ := range []string{"source", "verbatim"} {
				x, _, errA := a.LookupResources(engine.ResourceQuery{Subject: u, Permission: "view_sources", Type: typ})
				y, _, errB := b.LookupResources(engine.ResourceQuery{Subject: u, Permission: "view_sources", Type: typ})
				if fmt.Sprint(x, errA) != fmt.Sprint(y, errB) {
					t.Fatalf("%s: LookupResources(%s, %s): followed %v %v, fresh %v %v", when, u, typ, x, errA, y, errB)
				}
			}
		}
	}
	same("at start")
	write := func(fn func(rolecall.Tx) error) {
		t.Helper()
		if _, err := st.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx rolecall.Tx) error { return tx.MoveScope("billing", "globex") })
	same("after moving billing to globex")
	write(func(tx rolecall.Tx) error {
		return tx.MoveResource(rolecall.ResourceRef{Type: "source", ID: "mail"}, "billing", nil)
	})
	same("after moving mail to billing")
	write(func(tx rolecall.Tx) error {
		_, err := tx.DeleteWhere(rolecall.Filter{Kind: rolecall.ObjBinding, User: "cleo"})
		return err
	})
	same("after deleting cleo's bindings")
	write(func(tx rolecall.Tx) error {
		_, err := tx.DeleteWhere(rolecall.Filter{Kind: rolecall.ObjResource, Scope: "billing", Type: "verbatim"})
		return err
	})
	same("after deleting billing's verbatims")
}

// lagging is a store whose change log stops at a revision, as a replica's
// view of a primary that is ahead of it.
type lagging struct {
	rolecall.Reader
	upTo rolecall.Revision
}

func (l lagging) Changes(ctx context.Context, after rolecall.Revision, limit int) ([]rolecall.Change, error) {
	cs, err := l.Reader.Changes(ctx, after, limit)
	for i, c := range cs {
		if c.Revision > l.upTo {
			return cs[:i], err
		}
	}
	return cs, err
}
