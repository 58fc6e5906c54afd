// Package testenv builds the worlds tests run on: a SQLite store holding a
// model's data from a JSON Lines file (the example organization of
// testdata/store/acme.jsonl under the reinfer preset, or an example of
// examples/), with its live index; and API keys and servers over them.
// Only tests import it.
package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/sqlite"
	"github.com/rolecall/rolecall/transfer"
)

// World is a model, a store holding its data, and the live index over the
// store.
type World struct {
	Model *model.Model
	Store rolecall.Store
	Live  *engine.Live
}

// repoRoot finds the repository's root from this file's place.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Acme is the world of testdata/store/acme.jsonl (Re:infer: tenants acme
// and globex; projects claims and billing; ann may modify claims' users,
// bob views sources).
type Acme = World

// OpenAcme builds the Acme world in t's temporary directory; the store
// closes when t ends.
func OpenAcme(t testing.TB) *Acme {
	t.Helper()
	return Open(t, "reinfer", filepath.Join("testdata", "store", "acme.jsonl"))
}

// Open builds a world in t's temporary directory from a model (a preset
// name, or a file path relative to the repository's root) and a JSON Lines
// file (relative to the root; "" leaves the store empty); the store closes
// when t ends.
func Open(t testing.TB, modelRef, data string) *World {
	t.Helper()
	ctx := context.Background()
	ref := modelRef
	if strings.ContainsAny(ref, "/\\") {
		ref = filepath.Join(repoRoot(), ref)
	}
	m, err := modelfile.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "world.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if data != "" {
		f, err := os.Open(filepath.Join(repoRoot(), data))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, _, err := transfer.Import(ctx, st, f, transfer.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &World{Model: m, Store: st, Live: live}
}

// Key stores an API key of org acting as user (both empty: the
// operator's) and returns it with its token.
func (w *World) Key(t testing.TB, org, user string) (rolecall.APIKey, string) {
	t.Helper()
	key, token := server.NewKey(org, user, "test", time.Now())
	if _, err := w.Store.Update(context.Background(), func(tx rolecall.Tx) error { return tx.CreateAPIKey(&key) }); err != nil {
		t.Fatal(err)
	}
	return key, token
}

// Options are the server's options over the world.
func (w *World) Options() server.Options {
	return server.Options{Live: w.Live, Admin: admin.New(w.Model, w.Store, w.Live, nil), Store: w.Store}
}

// Serve serves h on loopback until t ends: over TLS with HTTP/2 (every
// protocol, as in production behind TLS), or in clear text with HTTP/1.1
// and HTTP/2 (as `rolecall serve` listens).
func Serve(t testing.TB, h http.Handler, tls bool) *httptest.Server {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	if tls {
		ts.EnableHTTP2 = true
		ts.StartTLS()
	} else {
		p := new(http.Protocols)
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		ts.Config.Protocols = p
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts
}

// H2C returns an HTTP client that speaks HTTP/2 without TLS (prior
// knowledge), one connection per server, as gRPC clients do.
func H2C() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	tr.Protocols = p
	return &http.Client{Transport: tr}
}
