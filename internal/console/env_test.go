package console_test

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/internal/console"
	"github.com/rolecall/rolecall/internal/demo"
	"github.com/rolecall/rolecall/internal/testenv"
)

// env is a console over a preset's demo organization on SQLite, served on
// loopback, with a password for each person who signs in.
type env struct {
	*testenv.World
	Admin *admin.Service
	Creds rolecall.Credentials
	URL   string
	// Clock, when set, is the console's time.
	Clock func() time.Time
	pw    map[string]string
}

func newEnv(t testing.TB, preset string, people ...string) *env {
	t.Helper()
	ctx := context.Background()
	w := testenv.Open(t, preset, "")
	if _, _, err := demo.Seed(ctx, w.Store, preset); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Live.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{World: w, Admin: admin.New(w.Model, w.Store, w.Live, nil), Creds: w.Store.(rolecall.Credentials), pw: map[string]string{}}
	for _, p := range append([]string{console.OperatorLogin}, people...) {
		user := p
		if p == console.OperatorLogin {
			user = ""
		}
		pw := rand.Text()[:14]
		if err := e.Creds.SetCredential(ctx, rolecall.Credential{User: user, Password: console.HashPassword(pw), Updated: time.Now()}); err != nil {
			t.Fatal(err)
		}
		e.pw[p] = pw
	}
	c, err := console.New(console.Options{Live: w.Live, Admin: e.Admin, Creds: e.Creds, Now: func() time.Time {
		if e.Clock != nil {
			return e.Clock()
		}
		return time.Now()
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	e.URL = srv.URL
	return e
}
