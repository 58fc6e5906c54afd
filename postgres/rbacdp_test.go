package postgres_test

import (
	"context"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/loadtest"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/pgtest"
	"github.com/rolecall/rolecall/internal/rbacdp"
)

// rbacdpSnapshot returns the workload's facts as one snapshot to load.
func rbacdpSnapshot(w *rbacdp.Workload) *rolecall.Snapshot {
	scopes, users, members, groups, groupMembers, resources, bindings := w.Data()
	return &rolecall.Snapshot{Scopes: scopes, Users: users, Memberships: members, Groups: groups,
		GroupMembers: groupMembers, Resources: resources, Bindings: bindings}
}

// loadRBACDP writes the workload's facts into s: with one Load when s is a
// rolecall.Loader, else through Update in batches. It returns the number
// of objects written.
func loadRBACDP(ctx context.Context, s rolecall.Store, w *rbacdp.Workload) (int, error) {
	l, ok := s.(rolecall.Loader)
	if !ok {
		n, _, err := loadtest.LoadRBACDP(ctx, s, w)
		return n, err
	}
	snap := rbacdpSnapshot(w)
	n := len(snap.Scopes) + len(snap.Users) + len(snap.Memberships) + len(snap.Groups) +
		len(snap.GroupMembers) + len(snap.Resources) + len(snap.Bindings)
	if _, err := l.Load(ctx, snap); err != nil {
		return 0, err
	}
	return n, nil
}

// BenchmarkLoadRBACDP loads the full workload (the facts of its 273,100
// relationships) into a fresh database: with one Load, as the store is a
// rolecall.Loader.
func BenchmarkLoadRBACDP(b *testing.B) {
	w := rbacdp.Generate(rbacdp.DefaultParams(rbacdp.Seed))
	for b.Loop() {
		b.StopTimer()
		s := open(b, pgtest.DSN(b))
		b.StartTimer()
		n, err := loadRBACDP(context.Background(), s, w)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "objects")
	}
}

// BenchmarkLoadRBACDPUpdate loads the full workload into a fresh database
// through the ordinary write API, Update, in batches of loadtest.Batch.
func BenchmarkLoadRBACDPUpdate(b *testing.B) {
	w := rbacdp.Generate(rbacdp.DefaultParams(rbacdp.Seed))
	for b.Loop() {
		b.StopTimer()
		s := open(b, pgtest.DSN(b))
		b.StartTimer()
		n, _, err := loadtest.LoadRBACDP(context.Background(), s, w)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "objects")
	}
}

// BenchmarkColdStartRBACDP reads the snapshot of a database holding the
// workload and builds the engine.
func BenchmarkColdStartRBACDP(b *testing.B) {
	w := rbacdp.Generate(rbacdp.DefaultParams(rbacdp.Seed))
	s := open(b, pgtest.DSN(b))
	if _, err := loadRBACDP(context.Background(), s, w); err != nil {
		b.Fatal(err)
	}
	m, err := modelfile.Load("../testdata/bench/rbacdp.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		snap, err := s.Snapshot(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.New(m, snap); err != nil {
			b.Fatal(err)
		}
	}
}
