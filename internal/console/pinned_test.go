package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/console"
	"github.com/rolecall/rolecall/internal/testenv"
)

// TestPinnedConsole: on a server pinned to some organizations (serve
// --orgs), a person whose organization it does not hold is told so and
// which it holds; a member of a held one gets their pages.
func TestPinnedConsole(t *testing.T) {
	e := newEnv(t, "labelbox", "ana", "zed")
	live, err := engine.Open(t.Context(), e.Model, e.Store, engine.Options{Orgs: []string{"beta"}})
	if err != nil {
		t.Fatal(err)
	}
	adm := admin.New(e.Model, e.Store, live, nil)
	c, err := console.New(console.Options{Live: live, Admin: adm, Creds: e.Creds})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	pinned := &env{World: &testenv.World{Model: e.Model, Store: e.Store, Live: live}, Admin: adm, Creds: e.Creds, URL: srv.URL, pw: e.pw}

	ana := pinned.client(t) // of acme, which this server does not hold
	ana.signIn("ana", e.pw["ana"])
	code, body, _ := ana.do("GET", "/", nil)
	if code != http.StatusOK || !strings.Contains(body, "is not served here") || !strings.Contains(body, "holds only beta") {
		t.Fatalf("ana on a server holding beta only: %d\n%s", code, body)
	}
	zed := pinned.client(t) // of beta
	zed.signIn("zed", e.pw["zed"])
	if code, _, h := zed.do("GET", "/", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/o/beta/") {
		t.Fatalf("zed on a server holding beta: %d %s", code, h.Get("Location"))
	}
}
