package engine_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/rbacdp"
	"github.com/rolecall/rolecall/model"
)

// rbacdpData loads the workload into engine data.
func rbacdpData(w *rbacdp.Workload) *engine.Data {
	d := &engine.Data{}
	d.Scopes, d.Users, d.Memberships, d.Groups, d.GroupMembers, d.Resources, d.Bindings = w.Data()
	return d
}

func rbacdpModel(tb testing.TB) *model.Model {
	m, err := modelfile.Load("../testdata/bench/rbacdp.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

type rbacdpFixture struct {
	w   *rbacdp.Workload
	e   *engine.Engine
	qs  []rbacdp.CheckQuery
	req []engine.Request // the same queries with string ids, as a caller sends them
}

var (
	fullOnce sync.Once
	full     *rbacdpFixture
)

func newRBACDP(tb testing.TB, p rbacdp.Params, n int) *rbacdpFixture {
	w := rbacdp.Generate(p)
	e, err := engine.New(rbacdpModel(tb), rbacdpData(w))
	if err != nil {
		tb.Fatal(err)
	}
	f := &rbacdpFixture{w: w, e: e, qs: w.CheckQueries(n)}
	f.req = make([]engine.Request, len(f.qs))
	for i, q := range f.qs {
		f.req[i] = engine.Request{
			Subject:    rbacdp.ID("user", int(q.User)),
			Permission: rbacdp.Perms[q.Perm],
			Target:     rolecall.ResourceTarget("dataset", rbacdp.ID("ds", int(q.Dataset))),
		}
	}
	return f
}

// fullRBACDP is the reference workload at full size, built once.
func fullRBACDP(tb testing.TB) *rbacdpFixture {
	fullOnce.Do(func() { full = newRBACDP(tb, rbacdp.DefaultParams(rbacdp.Seed), 200_000) })
	if full == nil {
		tb.Fatal("building rbac-dp failed")
	}
	return full
}

// smallParams is rbac-dp's shape at a size unit tests build quickly.
func smallParams() rbacdp.Params {
	p := rbacdp.DefaultParams(rbacdp.Seed)
	p.Orgs, p.ProjectsPerOrg, p.UsersPerOrg, p.ResPerProject = 3, 20, 60, 5
	return p
}

func TestRBACDPAnswersMatchTruth(t *testing.T) {
	f := newRBACDP(t, smallParams(), 20_000)
	for i, r := range f.req {
		d, err := f.e.Check(r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != f.qs[i].Want {
			t.Fatalf("check %d (%s %s %s) = %v, truth %v", i, r.Subject, r.Permission, r.Target, d.Allowed, f.qs[i].Want)
		}
	}
}

func TestRBACDPCheckDoesNotAllocate(t *testing.T) {
	f := newRBACDP(t, smallParams(), 1000)
	i := 0
	allocs := testing.AllocsPerRun(2000, func() {
		_, _ = f.e.Check(f.req[i%len(f.req)])
		i++
	})
	if allocs != 0 {
		t.Fatalf("Check allocates %.1f times per call; the check path must not allocate", allocs)
	}
}

// BenchmarkCheckRBACDP runs the pre-drawn check stream of the full
// workload with string ids; every answer is compared with the generator's
// truth.
func BenchmarkCheckRBACDP(b *testing.B) {
	f := fullRBACDP(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(f.req)
		d, err := f.e.Check(f.req[k])
		if err != nil || d.Allowed != f.qs[k].Want {
			b.Fatalf("check %d: %v, %v; truth %v", k, d.Allowed, err, f.qs[k].Want)
		}
		i++
	}
}

// BenchmarkExplainRBACDP explains the same stream.
func BenchmarkExplainRBACDP(b *testing.B) {
	f := fullRBACDP(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(f.req)
		d, err := f.e.Explain(f.req[k])
		if err != nil || d.Allowed != f.qs[k].Want || d.Explanation == nil {
			b.Fatalf("explain %d: %v, %v; truth %v", k, d.Allowed, err, f.qs[k].Want)
		}
		i++
	}
}

// BenchmarkBuildRBACDP builds the index from the 273,100 relationships'
// facts and reports the heap it holds.
func BenchmarkBuildRBACDP(b *testing.B) {
	w := rbacdp.Generate(rbacdp.DefaultParams(rbacdp.Seed))
	m := rbacdpModel(b)
	d := rbacdpData(w)
	var e *engine.Engine
	var before, after runtime.MemStats
	for b.Loop() {
		e = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		var err error
		e, err = engine.New(m, d)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
	runtime.KeepAlive(e)
}

// BenchmarkHandTunedRBACDP is the floor to compare BenchmarkCheckRBACDP
// with: the same stream answered by plain string-keyed maps and a per-user
// table of permission masks per project, written for this workload only.
func BenchmarkHandTunedRBACDP(b *testing.B) {
	f := fullRBACDP(b)
	w := f.w
	users := map[string]int32{}
	for u := 0; u < w.Users; u++ {
		users[rbacdp.ID("user", u)] = int32(u)
	}
	datasets := map[string]int32{}
	for d := 0; d < w.Datasets; d++ {
		datasets[rbacdp.ID("ds", d)] = int32(d)
	}
	perms := map[string]uint8{}
	for i, p := range rbacdp.Perms {
		perms[p] = uint8(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(f.req)
		r := &f.req[k]
		u, d, p := users[r.Subject], datasets[r.Target.Resource.ID], perms[r.Permission]
		if w.Allowed(int(u), int(p), int(d)) != f.qs[k].Want {
			b.Fatal("wrong answer")
		}
		i++
	}
}

func userID(u int) string { return rbacdp.ID("user", u) }

// BenchmarkLookupResourcesRBACDP: all datasets a user may labels_view
// (about 2,300 ids), the whole answer, users from the lookup stream; every
// answer's size is compared with the generator's truth.
func BenchmarkLookupResourcesRBACDP(b *testing.B) {
	f := fullRBACDP(b)
	users := f.w.LookupQueries(10_000)
	b.ReportAllocs()
	i, total := 0, 0
	for b.Loop() {
		u := int(users[i%len(users)])
		ids, _, err := f.e.LookupResources(engine.ResourceQuery{Subject: userID(u), Permission: "labels_view", Type: "dataset"})
		if err != nil || len(ids) != f.w.LookupCount(u, 3) {
			b.Fatalf("user %d: %d ids, %v; truth %d", u, len(ids), err, f.w.LookupCount(u, 3))
		}
		total += len(ids)
		i++
	}
	b.ReportMetric(float64(total)/float64(i), "ids/op")
}

// BenchmarkLookupSubjectsRBACDP: every user who may labels_view a dataset,
// datasets drawn from the check stream.
func BenchmarkLookupSubjectsRBACDP(b *testing.B) {
	f := fullRBACDP(b)
	b.ReportAllocs()
	i, total := 0, 0
	for b.Loop() {
		q := f.qs[i%len(f.qs)]
		res, err := f.e.LookupSubjects(engine.SubjectQuery{Permission: "labels_view", Target: rolecall.ResourceTarget("dataset", rbacdp.ID("ds", int(q.Dataset)))})
		if err != nil {
			b.Fatal(err)
		}
		total += len(res.Users)
		i++
	}
	b.ReportMetric(float64(total)/float64(i), "users/op")
}

// BenchmarkApplyRBACDP applies one committed change at a time to the full
// rbac-dp index: a role bound to a user on a project and unbound again, a
// dataset created, a user put in a group and taken out again. Each op is
// one Apply of one change, the way a writer or a replica applies a commit.
func BenchmarkApplyRBACDP(b *testing.B) {
	f := fullRBACDP(b)
	p := f.w.P
	users, projects := p.Orgs*p.UsersPerOrg, p.Orgs*p.ProjectsPerOrg
	value := func(v any) json.RawMessage {
		j, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return j
	}
	cases := []struct {
		name string
		make func(i int) rolecall.Change
	}{
		{"bind", func(i int) rolecall.Change {
			id := fmt.Sprintf("bench_%d", i/2)
			if i%2 == 1 {
				return rolecall.Change{Kind: rolecall.ObjBinding, Key: id, Deleted: true}
			}
			u := (i / 2 * 7919) % users
			pr := u/p.UsersPerOrg*p.ProjectsPerOrg + (i/2)%p.ProjectsPerOrg
			return rolecall.Change{Kind: rolecall.ObjBinding, Key: id, Value: value(rolecall.Binding{ID: id,
				Subject: rolecall.UserSubject(rbacdp.ID("user", u)), Role: rbacdp.Roles[i%3], Scope: rbacdp.ID("proj", pr)})}
		}},
		{"dataset", func(i int) rolecall.Change {
			r := rolecall.Resource{Type: "dataset", ID: fmt.Sprintf("bench_ds_%d", i), Scope: rbacdp.ID("proj", (i*31)%projects)}
			return rolecall.Change{Kind: rolecall.ObjResource, Key: r.Key(), Value: value(r)}
		}},
		{"group_member", func(i int) rolecall.Change {
			u := (i / 2 * 7919) % users
			gm := rolecall.GroupMember{Group: rbacdp.ID("group", u/p.UsersPerOrg*p.GroupsPerOrg+(i/2)%p.GroupsPerOrg), User: rbacdp.ID("user", u)}
			if i%2 == 1 {
				return rolecall.Change{Kind: rolecall.ObjGroupMember, Key: gm.Key(), Deleted: true}
			}
			return rolecall.Change{Kind: rolecall.ObjGroupMember, Key: gm.Key(), Value: value(gm)}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			changes := make([]rolecall.Change, b.N)
			for i := range changes {
				changes[i] = c.make(i)
				changes[i].Revision = f.e.Revision + rolecall.Revision(i+1)
			}
			e := f.e
			b.ReportAllocs()
			b.ResetTimer()
			for i := range changes {
				next, err := e.Apply(changes[i : i+1])
				if err != nil {
					b.Fatal(err)
				}
				e = next
			}
		})
	}
}

// BenchmarkApplyRoleChangeRBACDP changes the permissions of a custom role
// that all 10,000 users of rbac-dp hold (bound at one project), and
// applies the change to the full index: every holder's grants are
// recomputed. Readers keep the engine they hold meanwhile.
func BenchmarkApplyRoleChangeRBACDP(b *testing.B) {
	f := fullRBACDP(b)
	p := f.w.P
	users := p.Orgs * p.UsersPerOrg
	value := func(v any) json.RawMessage {
		j, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		return j
	}
	rev := f.e.Revision
	next := func() rolecall.Revision { rev++; return rev }
	role := func(perms ...string) rolecall.Change {
		r := rolecall.Role{ID: "bench", Org: rbacdp.ID("org", 0), Name: "Bench"}
		for _, p := range perms {
			r.Grants = append(r.Grants, rolecall.Grant{Permission: p})
		}
		return rolecall.Change{Revision: next(), Kind: rolecall.ObjRole, Key: r.Key(), Value: value(r)}
	}
	setup := []rolecall.Change{role("labels_view")}
	for u := range users {
		bd := rolecall.Binding{ID: fmt.Sprintf("bench_%d", u), Subject: rolecall.UserSubject(rbacdp.ID("user", u)), Role: "bench", Scope: rbacdp.ID("proj", 0)}
		setup = append(setup, rolecall.Change{Revision: next(), Kind: rolecall.ObjBinding, Key: bd.ID, Value: value(bd)})
	}
	e, err := f.e.Apply(setup)
	if err != nil {
		b.Fatal(err)
	}
	changes := make([]rolecall.Change, b.N)
	for i := range changes {
		if i%2 == 0 {
			changes[i] = role("labels_view", "sources_view")
		} else {
			changes[i] = role("labels_view")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range changes {
		if e, err = e.Apply(changes[i : i+1]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	d, err := e.Check(engine.Request{Subject: rbacdp.ID("user", users-1), Permission: "sources_view", Target: rolecall.ScopeTarget(rbacdp.ID("proj", 0))})
	if err != nil || d.Allowed != (b.N%2 == 1) {
		b.Fatalf("after %d role changes user %d may view sources: %v (%v)", b.N, users-1, d.Allowed, err)
	}
}
