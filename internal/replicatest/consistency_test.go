package replicatest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
)

// workers is how many users and projects the consistency tests run on at
// once, each on its own (writes of different workers interleave).
const workers = 4

// fixture is one organization with a project per worker, and in each a
// user who is a viewer there.
func fixture() *rolecall.Snapshot {
	s := &rolecall.Snapshot{Scopes: []rolecall.Scope{{ID: "acme", Level: "organization"}}}
	for w := range workers {
		p, u := fmt.Sprintf("p%d", w), fmt.Sprintf("bob%d", w)
		s.Scopes = append(s.Scopes, rolecall.Scope{ID: p, Level: "project", Parent: "acme"})
		s.Users = append(s.Users, rolecall.User{ID: u})
		s.Memberships = append(s.Memberships, rolecall.Membership{User: u, Scope: "acme"})
		s.Bindings = append(s.Bindings, rolecall.Binding{Subject: rolecall.UserSubject(u), Role: "viewer", Scope: p})
	}
	return s
}

// may asks a replica whether user may view labels on a dataset, at least
// as fresh as rev.
func may(ctx context.Context, r *replica, user, dataset string, rev rolecall.Revision) (bool, rolecall.Revision, error) {
	d, at, err := r.client.Check(ctx, client.Question{Subject: user, Permission: "labels_view",
		Target: rolecall.ResourceTarget("dataset", dataset), Consistency: client.Consistency{AtLeastAsFresh: rev}})
	if err == nil && at < rev {
		return false, at, fmt.Errorf("replica %s answered at revision %d, older than the token %d", r.name, at, rev)
	}
	return d.Allowed, at, err
}

// act performs an admin act through a replica, retrying while it is
// refused as unavailable: under concurrent writes an act whose index fell
// behind the store before it took its revision is refused, "try again",
// and a caller does. Retries are counted in retried.
func act(ctx context.Context, r *replica, a client.Act) (client.Done, error) {
	for attempt := 1; ; attempt++ {
		done, err := r.client.Do(ctx, a)
		if rolecall.KindOf(err) != rolecall.Unavailable || attempt == 50 {
			return done, err
		}
		retried.Add(1)
		time.Sleep(time.Duration(rand.IntN(attempt*2000)) * time.Microsecond)
	}
}

// retried counts the admin acts retried after being refused as
// unavailable.
var retried atomic.Int64

// eachWorker runs fn for every worker at once, n rounds each.
func eachWorker(t *testing.T, n int, fn func(w, i int) error) {
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				if err := fn(w, i); err != nil {
					errs <- fmt.Errorf("worker %d, round %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestNewEnemy: through replica A remove Bob's role in a project, then
// through replica B create a dataset in it; a check at the dataset's
// revision on either replica must deny Bob. Then give the role back
// through A and check through B that Bob may (so the denial is not for want
// of data). 1,000 rounds over the workers; not one may fail.
func TestNewEnemy(t *testing.T) {
	c := newCluster(t)
	a, b := c.start("A"), c.start("B")
	ctx := t.Context()
	a.load(ctx, fixture())
	const rounds = 1000
	eachWorker(t, rounds/workers, func(w, i int) error {
		p, bob := fmt.Sprintf("p%d", w), fmt.Sprintf("bob%d", w)
		if _, err := act(ctx, a, client.Act{Act: "unbind_role", User: bob, Role: "viewer", Scope: p}); err != nil {
			return fmt.Errorf("unbind through A: %w", err)
		}
		ds := fmt.Sprintf("ds-%d-%d", w, i)
		rev := b.load(ctx, &rolecall.Snapshot{Resources: []rolecall.Resource{{Type: "dataset", ID: ds, Scope: p}}})
		for _, r := range []*replica{a, b} {
			ok, _, err := may(ctx, r, bob, ds, rev)
			if err != nil {
				return fmt.Errorf("check on %s at the dataset's revision %d: %w", r.name, rev, err)
			}
			if ok {
				return fmt.Errorf("new enemy: %s lets %s view %s at revision %d, after the role was removed", r.name, bob, ds, rev)
			}
		}
		done, err := act(ctx, a, client.Act{Act: "bind_role", User: bob, Role: "viewer", Scope: p})
		if err != nil {
			return fmt.Errorf("bind through A: %w", err)
		}
		if ok, _, err := may(ctx, b, bob, ds, done.Revision); err != nil || !ok {
			return fmt.Errorf("B at revision %d, after the role was given back: allowed %v, %v; want allowed", done.Revision, ok, err)
		}
		return nil
	})
	t.Logf("%d rounds, %d admin acts retried after an unavailable", rounds, retried.Swap(0))
}

// TestReadYourWrites: write through A, check through B with the write's
// token, 10,000 times over the workers: not one stale answer. Each write
// gives or takes the worker's role, so every answer is known.
func TestReadYourWrites(t *testing.T) {
	c := newCluster(t)
	a, b := c.start("A"), c.start("B")
	ctx := t.Context()
	snap := fixture()
	for w := range workers {
		snap.Resources = append(snap.Resources, rolecall.Resource{Type: "dataset", ID: fmt.Sprintf("ds%d", w), Scope: fmt.Sprintf("p%d", w)})
	}
	a.load(ctx, snap)
	const rounds = 10_000
	eachWorker(t, rounds/workers, func(w, i int) error {
		p, bob, ds := fmt.Sprintf("p%d", w), fmt.Sprintf("bob%d", w), fmt.Sprintf("ds%d", w)
		what := "unbind_role" // the fixture binds: take it first
		if i%2 == 1 {
			what = "bind_role"
		}
		done, err := act(ctx, a, client.Act{Act: what, User: bob, Role: "viewer", Scope: p})
		if err != nil {
			return fmt.Errorf("%s through A: %w", what, err)
		}
		ok, _, err := may(ctx, b, bob, ds, done.Revision)
		if err != nil {
			return fmt.Errorf("check through B at revision %d: %w", done.Revision, err)
		}
		if ok != (what == "bind_role") {
			return fmt.Errorf("stale answer: after %s at revision %d, B says allowed=%v", what, done.Revision, ok)
		}
		return nil
	})
	t.Logf("%d rounds, %d admin acts retried after an unavailable", rounds, retried.Swap(0))
}
