package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/loadtest"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/rbacdp"
	"github.com/rolecall/rolecall/sqlite"
)

// BenchmarkLoadRBACDP loads the full workload (the facts of its 273,100
// relationships) into a fresh SQLite file through the ordinary write API.
func BenchmarkLoadRBACDP(b *testing.B) {
	w := rbacdp.Generate(rbacdp.DefaultParams(rbacdp.Seed))
	for b.Loop() {
		b.StopTimer()
		s, err := sqlite.Open(filepath.Join(b.TempDir(), "load.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		n, _, err := loadtest.LoadRBACDP(context.Background(), s, w)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n), "objects")
		s.Close()
	}
}

// BenchmarkColdStartRBACDP opens a store holding the workload, reads its
// snapshot and builds the engine.
func BenchmarkColdStartRBACDP(b *testing.B) {
	w := rbacdp.Generate(rbacdp.DefaultParams(rbacdp.Seed))
	path := filepath.Join(b.TempDir(), "cold.db")
	s, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := loadtest.LoadRBACDP(context.Background(), s, w); err != nil {
		b.Fatal(err)
	}
	s.Close()
	m, err := modelfile.Load("../testdata/bench/rbacdp.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := sqlite.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		snap, err := s.Snapshot(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := engine.New(m, snap); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
