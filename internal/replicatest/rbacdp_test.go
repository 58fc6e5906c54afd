package replicatest

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/rbacdp"
	"github.com/rolecall/rolecall/transfer"
)

var (
	soak  = flag.Duration("soak", 3*time.Second, "how long TestSoakRBACDP runs its load")
	scale = flag.Int("rbacdp.scale", 100, "percent of the full rbac-dp workload the benchmarks load")
)

// churners are users of org_0 whose viewer role on proj_0 the writes of
// the mixed load give and take; the rbac-dp checks never ask about them,
// so the generator's truth stays true.
const churners = 64

// loadRBACDP writes the workload and the churners through a replica, 5,000
// objects an import, and returns the last revision.
func loadRBACDP(t testing.TB, r *replica, w *rbacdp.Workload) rolecall.Revision {
	t.Helper()
	var snap rolecall.Snapshot
	snap.Scopes, snap.Users, snap.Memberships, snap.Groups, snap.GroupMembers, snap.Resources, snap.Bindings = w.Data()
	for i := range churners {
		u := fmt.Sprintf("churn_%d", i)
		snap.Users = append(snap.Users, rolecall.User{ID: u})
		snap.Memberships = append(snap.Memberships, rolecall.Membership{User: u, Scope: "org_0"})
	}
	var buf bytes.Buffer
	if _, err := transfer.ExportSnapshot(&snap, "", &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	var rev rolecall.Revision
	for start := 0; start < len(lines); start += 5000 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		_, r1, err := r.client.Import(ctx, lines[start:min(start+5000, len(lines))])
		cancel()
		if err != nil {
			t.Fatalf("loading rbac-dp through %s: %v", r.name, err)
		}
		rev = r1
	}
	return rev
}

// mixed is the result of a mixed load.
type mixed struct {
	checks, writes, wrong, failed int64
	first                         string
	took                          time.Duration
}

// runMixed runs conc closed loops for d over the readers: each call is,
// one time in writeEvery, a write through writer (a churner's role given
// or taken) followed by a check of it with its token on the next reader,
// else an rbac-dp check without a token, against the generator's truth.
func runMixed(ctx context.Context, w *rbacdp.Workload, writer *replica, readers []*replica, conc, writeEvery int, d time.Duration) *mixed {
	qs := w.CheckQueries(100_000)
	var m mixed
	var mu sync.Mutex
	fail := func(wrong bool, msg string) {
		if wrong {
			atomic.AddInt64(&m.wrong, 1)
		} else {
			atomic.AddInt64(&m.failed, 1)
		}
		mu.Lock()
		if m.first == "" {
			m.first = msg
		}
		mu.Unlock()
	}
	// where each churner's role is now (an earlier run may have left it
	// given), read fully consistent
	var bound [churners]atomic.Bool
	for c := range churners {
		d, _, err := writer.client.Check(ctx, client.Question{Subject: fmt.Sprintf("churn_%d", c), Permission: "labels_view",
			Target: rolecall.ResourceTarget("dataset", "ds_0"), Consistency: client.Consistency{FullyConsistent: true}})
		if err != nil {
			return &mixed{failed: 1, first: "reading a churner's role: " + err.Error()}
		}
		bound[c].Store(d.Allowed)
	}
	var held [churners]sync.Mutex // one write at a time per churner
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := g; !over(ctx); i += conc {
				r := readers[i%len(readers)]
				if rng.IntN(writeEvery) == 0 {
					c := rng.IntN(churners)
					held[c].Lock()
					what := "bind_role"
					if bound[c].Load() {
						what = "unbind_role"
					}
					done, err := act(ctx, writer, client.Act{Act: what, User: fmt.Sprintf("churn_%d", c), Role: "viewer", Scope: "proj_0"})
					if err != nil {
						held[c].Unlock()
						if !over(ctx) {
							fail(false, "write: "+err.Error())
						}
						continue
					}
					bound[c].Store(what == "bind_role")
					atomic.AddInt64(&m.writes, 1)
					ok, _, err := may(ctx, readers[(i+1)%len(readers)], fmt.Sprintf("churn_%d", c), "ds_0", done.Revision)
					held[c].Unlock()
					switch {
					case over(ctx):
					case err != nil:
						fail(false, "check after a write: "+err.Error())
					case ok != (what == "bind_role"):
						fail(true, fmt.Sprintf("churn_%d allowed=%v at revision %d after %s", c, ok, done.Revision, what))
					default:
						atomic.AddInt64(&m.checks, 1)
					}
					continue
				}
				q := qs[rng.IntN(len(qs))]
				dec, _, err := r.client.Check(ctx, client.Question{Subject: rbacdp.ID("user", int(q.User)), Permission: rbacdp.Perms[q.Perm],
					Target: rolecall.ResourceTarget("dataset", rbacdp.ID("ds", int(q.Dataset)))})
				switch {
				case over(ctx):
				case err != nil:
					fail(false, "check: "+err.Error())
				case dec.Allowed != q.Want:
					fail(true, fmt.Sprintf("%s: user_%d %s ds_%d = %v, want %v", r.name, q.User, rbacdp.Perms[q.Perm], q.Dataset, dec.Allowed, q.Want))
				default:
					atomic.AddInt64(&m.checks, 1)
				}
			}
		})
	}
	wg.Wait()
	m.took = time.Since(start)
	return &m
}

// TestSoakRBACDP runs rbac-dp (at 2% of its size) over two replicas with
// 1% writes for -soak (3 s by default; longer by hand): not one wrong
// answer, not one failed call.
func TestSoakRBACDP(t *testing.T) {
	c := newCluster(t)
	a, b := c.start("A"), c.start("B")
	w := rbacdp.Generate(rbacdp.ScaledParams(2))
	rev := loadRBACDP(t, a, w)
	for _, r := range []*replica{a, b} {
		if _, _, err := may(t.Context(), r, "churn_0", "ds_0", rev); err != nil {
			t.Fatal(err)
		}
	}
	m := runMixed(t.Context(), w, a, []*replica{a, b}, 16, 100, *soak)
	t.Logf("%v: %d checks, %d writes, %d wrong, %d failed", m.took.Round(time.Millisecond), m.checks, m.writes, m.wrong, m.failed)
	if m.wrong > 0 || m.failed > 0 || m.writes == 0 {
		t.Fatalf("%d wrong, %d failed (first: %s), %d writes", m.wrong, m.failed, m.first, m.writes)
	}
}

// histogram reads a Prometheus histogram's cumulative buckets.
func (r *replica) histogram(name string) (map[float64]float64, error) {
	res, err := r.http.Get(r.addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out := map[float64]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+`_bucket{le="`)
		if !ok {
			continue
		}
		le, v, _ := strings.Cut(rest, `"} `)
		bound := math.Inf(1)
		if le != "+Inf" {
			bound, _ = strconv.ParseFloat(le, 64)
		}
		out[bound], _ = strconv.ParseFloat(v, 64)
	}
	return out, sc.Err()
}

// quantile returns the upper bound of the bucket holding quantile q of
// the observations between two readings of a histogram, and their count.
func quantile(before, after map[float64]float64, q float64) (float64, float64) {
	var bounds []float64
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	total := after[math.Inf(1)] - before[math.Inf(1)]
	for _, b := range bounds {
		if after[b]-before[b] >= q*total {
			return b, total
		}
	}
	return math.Inf(1), total
}

// BenchmarkRBACDPReplicas loads rbac-dp (-rbacdp.scale) once and runs the
// mixed load (C=64, 1% writes, 10 s) on one replica and on two, reporting
// checks per second, and for two replicas the p99 of the replication lag
// the second one measured. Run with -benchtime=1x.
func BenchmarkRBACDPReplicas(b *testing.B) {
	c := newCluster(b)
	a, r2 := c.start("A"), c.start("B")
	w := rbacdp.Generate(rbacdp.ScaledParams(*scale))
	rev := loadRBACDP(b, a, w)
	for _, r := range []*replica{a, r2} {
		if _, _, err := may(context.Background(), r, "churn_0", "ds_0", rev); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			readers := []*replica{a, r2}[:n]
			for range b.N {
				before, _ := r2.histogram("rolecall_replication_lag_seconds")
				m := runMixed(context.Background(), w, a, readers, 64, 100, 10*time.Second)
				after, _ := r2.histogram("rolecall_replication_lag_seconds")
				if m.wrong > 0 || m.failed > 0 {
					b.Fatalf("%d wrong, %d failed (first: %s)", m.wrong, m.failed, m.first)
				}
				b.ReportMetric(float64(m.checks)/m.took.Seconds(), "checks/s")
				b.ReportMetric(float64(m.writes)/m.took.Seconds(), "writes/s")
				p99, count := quantile(before, after, 0.99)
				p50, _ := quantile(before, after, 0.50)
				b.ReportMetric(p99*1000, "lag-p99-ms")
				b.ReportMetric(p50*1000, "lag-p50-ms")
				b.ReportMetric(count, "revisions-applied")
			}
		})
	}
}

// BenchmarkCatchUp writes 100,000 changes (users and their memberships,
// 1,000 a transaction) while a replica does not follow (--follow 1h),
// then times one check at the last write's token on it: the time it takes
// to read and apply them all. Run with -benchtime=1x.
func BenchmarkCatchUp(b *testing.B) {
	c := newCluster(b)
	a, slow := c.start("A"), c.start("slow", "--follow", "1h")
	rev := a.load(context.Background(), fixture())
	if _, _, err := may(context.Background(), slow, "bob0", "none", rev); rolecall.KindOf(err) != rolecall.NotFound {
		b.Fatalf("a first check on the slow replica: %v", err)
	}
	for i := range b.N {
		var last rolecall.Revision
		for t := range 100 {
			var s rolecall.Snapshot
			for u := range 500 {
				id := fmt.Sprintf("u%d-%d-%d", i, t, u)
				s.Users = append(s.Users, rolecall.User{ID: id})
				s.Memberships = append(s.Memberships, rolecall.Membership{User: id, Scope: "acme"})
			}
			last = a.load(context.Background(), &s)
		}
		b.ResetTimer()
		start := time.Now()
		_, at, err := may(context.Background(), slow, "bob0", "none", last)
		took := time.Since(start)
		b.StopTimer()
		// a dataset that does not exist is answered, as not found, only
		// once the replica is at the token
		if rolecall.KindOf(err) != rolecall.NotFound {
			b.Fatalf("the check at the token on the slow replica: at %d, %v; want not found", at, err)
		}
		if lag, _ := slow.metric("rolecall_index_lag_revisions"); lag != 0 {
			b.Fatalf("after the check the slow replica still lags by %v revisions (%v)", lag, err)
		}
		b.ReportMetric(took.Seconds(), "catch-up-s")
		b.ReportMetric(100_000/took.Seconds(), "changes/s")
	}
}

// BenchmarkMemoryPerOrg loads rbac-dp (-rbacdp.scale) and starts a replica
// holding every organization and one holding org_0 only, and reports the
// Go heap in use of each (collected often: GOGC=5), and the difference per
// organization. Run with -benchtime=1x.
func BenchmarkMemoryPerOrg(b *testing.B) {
	c := newCluster(b)
	a := c.start("loader")
	w := rbacdp.Generate(rbacdp.ScaledParams(*scale))
	loadRBACDP(b, a, w)
	a.kill()
	for range b.N {
		// GOGC=5: the heap in use stays within 5% of what is live
		all, one := c.startEnv([]string{"GOGC=5"}, "all"), c.startEnv([]string{"GOGC=5"}, "one", "--orgs", "org_0")
		heap := func(r *replica) float64 {
			// checks for a while: their garbage makes the collector run,
			// so the heap held is what the index keeps, not the snapshot
			// it was built from
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for !over(ctx) {
						r.client.Check(ctx, client.Question{Subject: "user_0", Permission: "labels_view", Target: rolecall.ResourceTarget("dataset", "ds_0")})
					}
				})
			}
			wg.Wait()
			cancel()
			v, ok := r.metric("go_memstats_heap_inuse_bytes")
			if !ok {
				b.Fatalf("no heap metric from %s", r.name)
			}
			return v
		}
		ha, h1 := heap(all), heap(one)
		orgs := float64(w.P.Orgs)
		b.ReportMetric(ha/(1<<20), "all-orgs-heap-MiB")
		b.ReportMetric(h1/(1<<20), "one-org-heap-MiB")
		b.ReportMetric((ha-h1)/(orgs-1)/(1<<20), "per-org-MiB")
		all.kill()
		one.kill()
	}
}
