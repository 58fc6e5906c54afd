package replicatest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
)

// tally counts what one replica answered under load.
type tally struct {
	ok, unavailable, wrong, failed            atomic.Int64
	mu                                        sync.Mutex
	firstWrong, firstFailed, firstUnavailable string
}

func (t *tally) record(err error, wrong string) {
	switch {
	case err == nil && wrong == "":
		t.ok.Add(1)
	case err == nil:
		if t.wrong.Add(1) == 1 {
			t.mu.Lock()
			t.firstWrong = wrong
			t.mu.Unlock()
		}
	case rolecall.KindOf(err) == rolecall.Unavailable:
		if t.unavailable.Add(1) == 1 {
			t.mu.Lock()
			t.firstUnavailable = err.Error()
			t.mu.Unlock()
		}
	default:
		if t.failed.Add(1) == 1 {
			t.mu.Lock()
			t.firstFailed = err.Error()
			t.mu.Unlock()
		}
	}
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%d right, %d unavailable (first: %s), %d wrong (first: %s), %d failed otherwise (first: %s)",
		t.ok.Load(), t.unavailable.Load(), t.firstUnavailable, t.wrong.Load(), t.firstWrong, t.failed.Load(), t.firstFailed)
}

// load is a mixed load over replicas: each worker gives or takes its user's
// role through the writer and checks the user's access with the write's
// token through every reader; other goroutines check a user whose access
// never changes, without a token and fully consistent, on every replica.
// Every answer is known, so every wrong one is counted.
type load struct {
	writer   *replica
	replicas []*replica
	tallies  map[*replica]*tally
	writes   tally
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// loadFixture is fixture() plus a dataset per worker and a user, "steady",
// who views p0 throughout.
func loadFixture() *rolecall.Snapshot {
	s := fixture()
	for w := range workers {
		s.Resources = append(s.Resources, rolecall.Resource{Type: "dataset", ID: fmt.Sprintf("ds%d", w), Scope: fmt.Sprintf("p%d", w)})
	}
	s.Users = append(s.Users, rolecall.User{ID: "steady"})
	s.Memberships = append(s.Memberships, rolecall.Membership{User: "steady", Scope: "acme"})
	s.Bindings = append(s.Bindings, rolecall.Binding{Subject: rolecall.UserSubject("steady"), Role: "viewer", Scope: "p0"})
	return s
}

// startLoad starts the load, once every replica has applied the
// fixture's revision.
func startLoad(t *testing.T, fixtureRev rolecall.Revision, writer *replica, replicas ...*replica) *load {
	t.Helper()
	for _, r := range replicas {
		if _, _, err := may(t.Context(), r, "steady", "ds0", fixtureRev); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{writer: writer, replicas: replicas, tallies: map[*replica]*tally{}, stop: cancel}
	for _, r := range replicas {
		l.tallies[r] = &tally{}
	}
	// a generous deadline: the test shares the machine with other tests'
	// processes, and a call that misses it is counted unavailable
	call := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 10*time.Second) }
	for w := range workers {
		l.wg.Go(func() {
			p, bob, ds := fmt.Sprintf("p%d", w), fmt.Sprintf("bob%d", w), fmt.Sprintf("ds%d", w)
			bound := true // as the fixture has it
			for !over(ctx) {
				what := "unbind_role"
				if !bound {
					what = "bind_role"
				}
				cctx, cancel := call()
				done, err := writer.client.Do(cctx, client.Act{Act: what, User: bob, Role: "viewer", Scope: p})
				cancel()
				if over(ctx) {
					return
				}
				if err != nil {
					l.writes.record(err, "")
					// the act may have committed before the failure showed:
					// ask the store (fully consistent) where the role is
					cctx, cancel := call()
					d, _, err := writer.client.Check(cctx, client.Question{Subject: bob, Permission: "labels_view",
						Target: rolecall.ResourceTarget("dataset", ds), Consistency: client.Consistency{FullyConsistent: true}})
					cancel()
					if err == nil {
						bound = d.Allowed
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				l.writes.record(nil, "")
				bound = !bound
				for _, r := range replicas {
					cctx, cancel := call()
					ok, _, err := may(cctx, r, bob, ds, done.Revision)
					cancel()
					if over(ctx) {
						return
					}
					wrong := ""
					if err == nil && ok != bound {
						wrong = fmt.Sprintf("%s: %s allowed=%v at revision %d, after %s", r.name, bob, ok, done.Revision, what)
					}
					l.tallies[r].record(err, wrong)
				}
			}
		})
	}
	for _, r := range replicas {
		for _, cons := range []client.Consistency{{}, {FullyConsistent: true}} {
			l.wg.Go(func() {
				for !over(ctx) {
					cctx, cancel := call()
					d, _, err := r.client.Check(cctx, client.Question{Subject: "steady", Permission: "labels_view",
						Target: rolecall.ResourceTarget("dataset", "ds0"), Consistency: cons})
					cancel()
					if over(ctx) {
						return
					}
					wrong := ""
					if err == nil && !d.Allowed {
						wrong = fmt.Sprintf("%s: steady denied (consistency %+v)", r.name, cons)
					}
					l.tallies[r].record(err, wrong)
					if err != nil {
						time.Sleep(10 * time.Millisecond)
					}
				}
			})
		}
	}
	return l
}

func (l *load) end() { l.stop(); l.wg.Wait() }

// snapshot returns a tally's counts now.
func (t *tally) counts() (ok, unavailable, wrong, failed int64) {
	return t.ok.Load(), t.unavailable.Load(), t.wrong.Load(), t.failed.Load()
}

// TestKillReplicaUnderLoad: kill -9 one of three replicas while writes and
// checks run; the other two keep answering, every answer right; the
// killed one, started again, catches up and answers at the latest token.
func TestKillReplicaUnderLoad(t *testing.T) {
	c := newCluster(t)
	a, b, k := c.start("A"), c.start("B"), c.start("K")
	rev := a.load(t.Context(), loadFixture())
	l := startLoad(t, rev, a, a, b)
	if _, _, err := may(t.Context(), k, "steady", "ds0", rev); err != nil {
		t.Fatal(err)
	}
	// K takes only steady reads of its own while it lives
	kt := &tally{}
	kctx, kstop := context.WithCancel(t.Context())
	var kwg sync.WaitGroup
	kwg.Go(func() {
		for !over(kctx) {
			d, _, err := k.client.Check(kctx, client.Question{Subject: "steady", Permission: "labels_view", Target: rolecall.ResourceTarget("dataset", "ds0")})
			if over(kctx) {
				return
			}
			wrong := ""
			if err == nil && !d.Allowed {
				wrong = "K denied steady"
			}
			kt.record(err, wrong)
		}
	})
	time.Sleep(700 * time.Millisecond)
	aBefore, _, _, _ := l.tallies[a].counts()
	k.kill()
	time.Sleep(700 * time.Millisecond)
	if ok, _, _, _ := l.tallies[a].counts(); ok <= aBefore {
		t.Errorf("A answered nothing while K was down")
	}
	k.restart()
	time.Sleep(700 * time.Millisecond)
	kstop()
	kwg.Wait()
	l.end()
	// the restarted replica answers at the latest write
	head := headOf(t, c)
	ok, at, err := may(t.Context(), k, "steady", "ds0", head)
	if err != nil || !ok || at < head {
		t.Fatalf("restarted K at revision %d: allowed %v at %d, %v; want allowed at the head", head, ok, at, err)
	}
	for _, r := range []*replica{a, b} {
		tl := l.tallies[r]
		if _, u, w, f := tl.counts(); w > 0 || f > 0 || u > 0 {
			t.Errorf("replica %s while K was killed: %s", r.name, tl)
		}
		t.Logf("replica %s: %s", r.name, tl)
	}
	if _, _, w, f := l.writes.counts(); w > 0 || f > 0 {
		t.Errorf("writes through A: %s", &l.writes)
	}
	if kt.wrong.Load() > 0 {
		t.Errorf("K: %s", kt)
	}
	t.Logf("writes: %s; K, killed and started again: %s", &l.writes, kt)
}

// headOf reads the store's head through the operator's view of a fully
// consistent replica: the highest revision any replica reports.
func headOf(t *testing.T, c *cluster) rolecall.Revision {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rev int64
	if err := conn.QueryRow(t.Context(), `SELECT revision FROM head`).Scan(&rev); err != nil {
		t.Fatal(err)
	}
	return rolecall.Revision(rev)
}

// TestLaggingReplicaInMetrics: a replica that does not follow the store
// (its --follow is an hour) falls behind the writes made through another;
// its metrics and health show by how much. A read with a token still
// waits for the revision and answers right, and the lag is gone after it.
func TestLaggingReplicaInMetrics(t *testing.T) {
	c := newCluster(t)
	a, slow := c.start("A"), c.start("slow", "--follow", "1h")
	ctx := t.Context()
	a.load(ctx, loadFixture())
	var last rolecall.Revision
	for i := range 20 {
		what := "unbind_role"
		if i%2 == 1 {
			what = "bind_role"
		}
		done, err := act(ctx, a, client.Act{Act: what, User: "bob1", Role: "viewer", Scope: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		last = done.Revision
	}
	time.Sleep(300 * time.Millisecond)
	lag, ok := slow.metric("rolecall_index_lag_revisions")
	if !ok || lag < 20 {
		t.Fatalf("rolecall_index_lag_revisions of the lagging replica = %v (%v); want at least the 20 writes", lag, ok)
	}
	if st, ok := slow.metric("rolecall_index_staleness_seconds"); !ok || st < 0.25 {
		t.Fatalf("rolecall_index_staleness_seconds of the lagging replica = %v (%v); want at least the 0.3 s since the writes", st, ok)
	}
	if lagA, _ := a.metric("rolecall_index_lag_revisions"); lagA != 0 {
		t.Fatalf("the following replica lags by %v revisions", lagA)
	}
	allowed, at, err := may(ctx, slow, "bob1", "ds1", last)
	if err != nil || !allowed || at < last {
		t.Fatalf("the lagging replica at the last token %d: allowed %v at %d, %v; want allowed (the role was given back last)", last, allowed, at, err)
	}
	if lag, _ := slow.metric("rolecall_index_lag_revisions"); lag != 0 {
		t.Fatalf("after a read at the head the lagging replica still lags by %v revisions", lag)
	}
}
