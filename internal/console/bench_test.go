package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/console"
	"github.com/rolecall/rolecall/internal/loadtest"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/rbacdp"
	"github.com/rolecall/rolecall/sqlite"
)

// bigOrg is the console over rbac-dp's shape with organizations of 10,000
// members each (two of them, so every list also sets the other aside),
// signed in as an org_admin of org_0.
type bigOrg struct {
	h      http.Handler
	cookie string
	admin  string // the signed-in member
	member string // another member of org_0
	group  string
}

var (
	bigOnce  sync.Once
	bigWorld *bigOrg
	bigDir   string
)

// TestMain removes the benchmarks' shared fixture when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

func openBigOrg(b *testing.B) *bigOrg {
	bigOnce.Do(func() { bigWorld = buildBigOrg(b) })
	if bigWorld == nil {
		b.Fatal("building the 10,000-member organization failed")
	}
	return bigWorld
}

func buildBigOrg(b *testing.B) *bigOrg {
	ctx := context.Background()
	p := rbacdp.DefaultParams(rbacdp.Seed)
	p.Orgs, p.UsersPerOrg = 2, 10_000
	w := rbacdp.Generate(p)
	// the fixture outlives one benchmark: a directory of its own, removed
	// by TestMain when the process ends
	dir, err := os.MkdirTemp("", "rolecall-console-bench")
	if err != nil {
		b.Fatal(err)
	}
	bigDir = dir
	st, err := sqlite.Open(filepath.Join(dir, "big.db"))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := loadtest.LoadRBACDP(ctx, st, w); err != nil {
		b.Fatal(err)
	}
	m, err := modelfile.Load("../../testdata/bench/rbacdp.yaml")
	if err != nil {
		b.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ad := admin.New(m, st, live, nil)
	// a history for the audit log (5,000 role changes) and a few pending
	// invitations, as a working organization has
	for start := 0; start < 5_000; start += 500 {
		var rs []admin.Request
		for u := start; u < start+500; u++ {
			rs = append(rs, admin.Request{Act: "bind_role", User: rbacdp.ID("user", u), Role: "viewer", Scope: rbacdp.ID("proj", u%p.ProjectsPerOrg)})
		}
		if _, err := ad.DoAll(ctx, admin.Actor{Operator: true}, rs); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 20 {
		if _, err := ad.Do(ctx, admin.Actor{Operator: true}, admin.Request{Act: "invite", Scope: "org_0", Email: fmt.Sprintf("new%d@example.com", i)}); err != nil {
			b.Fatal(err)
		}
	}
	creds := rolecall.Store(st).(rolecall.Credentials)
	f := &bigOrg{admin: rbacdp.ID("user", w.OrgAdmins[0][0]), member: rbacdp.ID("user", 1), group: rbacdp.ID("group", 0)}
	if err := creds.SetCredential(ctx, rolecall.Credential{User: f.admin, Password: console.HashPassword("benchmark-pass"), Updated: time.Now()}); err != nil {
		b.Fatal(err)
	}
	c, err := console.New(console.Options{Live: live, Admin: ad, Creds: creds})
	if err != nil {
		b.Fatal(err)
	}
	f.h = c
	req := httptest.NewRequest("POST", "/signin", strings.NewReader(url.Values{"login": {f.admin}, "password": {"benchmark-pass"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	c.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		f.cookie = ck.Name + "=" + ck.Value
	}
	if rec.Code != http.StatusSeeOther || f.cookie == "" {
		b.Fatalf("signing in as %s: %d %s", f.admin, rec.Code, rec.Body.String())
	}
	return f
}

// BenchmarkPages renders each page of the console server-side for an
// organization of 10,000 members; the figure is ns/op per page.
func BenchmarkPages(b *testing.B) {
	f := openBigOrg(b)
	pages := []struct{ name, path string }{
		{"members", "/o/org_0/members"},
		{"members-page-100", "/o/org_0/members?after=user_5000"},
		{"members-at-project", "/o/org_0/members?at=proj_3"},
		{"profile", "/o/org_0/members/" + f.member},
		{"invitations-in-members", "/o/org_0/members?q=zzz"},
		{"groups", "/o/org_0/groups"},
		{"group", "/o/org_0/groups/" + f.group},
		{"roles", "/o/org_0/roles"},
		{"role-grid", "/o/org_0/roles/grid"},
		{"role-editor", "/o/org_0/roles/new"},
		{"explorer", "/o/org_0/access"},
		{"explorer-denial", "/o/org_0/access?user=" + f.member + "&what=datasets_admin&on=dataset:ds_0"},
		{"matrix", "/o/org_0/access/matrix?user=" + f.member},
		{"offers", "/o/org_0/offers"},
		{"audit", "/o/org_0/audit"},
		{"account", "/account"},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) { benchGet(b, f, p.path) })
	}
}

// BenchmarkMemberSearch answers the search box (the table body alone) for
// an organization of 10,000 members: a query matching one member, one
// matching many, and one matching none.
func BenchmarkMemberSearch(b *testing.B) {
	f := openBigOrg(b)
	for _, q := range []struct{ name, q string }{
		{"one", "user_4242"},
		{"many", "user_1"},
		{"none", "nobody"},
	} {
		b.Run(q.name, func(b *testing.B) { benchGet(b, f, "/o/org_0/members/rows?q="+url.QueryEscape(q.q)) })
	}
}

func benchGet(b *testing.B, f *bigOrg, path string) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Cookie", f.cookie)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
	}
	size := rec.Body.Len()
	for b.Loop() {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
	b.ReportMetric(float64(size), "bytes/page")
}
