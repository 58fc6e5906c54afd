// Package testenv builds the worlds tests run on: a SQLite store holding
// the example organization of testdata/store/acme.jsonl under the reinfer
// preset, with its live index. Only tests import it.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/sqlite"
	"github.com/rolecall/rolecall/transfer"
)

// Acme is a store holding testdata/store/acme.jsonl (Re:infer: tenants acme
// and globex; projects claims and billing; ann may modify claims' users,
// bob views sources), the model, and the live index over the store.
type Acme struct {
	Model *model.Model
	Store rolecall.Store
	Live  *engine.Live
}

// repoRoot finds the repository's root from this file's place.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// OpenAcme builds the Acme world in t's temporary directory; the store
// closes when t ends.
func OpenAcme(t testing.TB) *Acme {
	t.Helper()
	ctx := context.Background()
	m, err := model.Preset("reinfer")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "acme.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := os.Open(filepath.Join(repoRoot(), "testdata", "store", "acme.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := transfer.Import(ctx, st, f, transfer.Options{}); err != nil {
		t.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &Acme{Model: m, Store: st, Live: live}
}
