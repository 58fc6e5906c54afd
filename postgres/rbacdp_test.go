package postgres_test

import (
	"context"
	"testing"

	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/loadtest"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/pgtest"
	"github.com/rolecall/rolecall/internal/rbacdp"
)

// BenchmarkLoadRBACDP loads the full workload (the facts of its 273,100
// relationships) into a fresh database through the ordinary write API.
func BenchmarkLoadRBACDP(b *testing.B) {
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
	if _, _, err := loadtest.LoadRBACDP(context.Background(), s, w); err != nil {
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
		if _, err := engine.FromSnapshot(m, snap); err != nil {
			b.Fatal(err)
		}
	}
}
