package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/internal/demo"
	"github.com/rolecall/rolecall/internal/pgtest"
	"github.com/rolecall/rolecall/internal/testenv"
	"github.com/rolecall/rolecall/sqlite"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func run(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestModelCheck(t *testing.T) {
	if code, out, _ := run("model", "check", "reinfer", "labelbox", "infosum", "inbox", "../../testdata/model/example.yaml"); code != 0 || strings.Count(out, ": ok") != 5 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("model: x\nlevels:\n  - {id: org, tenant: true}\npermissions:\n  - {id: a, implies: [b]}\n"), 0o644)
	code, _, errs := run("model", "check", bad)
	if code != 1 || !strings.Contains(errs, "bad.yaml:5:23: permission \"a\" implies \"b\", which is not in the catalog") {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if code, _, errs := run("model", "show", "nosuch"); code != 1 || !strings.Contains(errs, "presets are inbox, infosum, labelbox, reinfer") {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
}

func TestModelShow(t *testing.T) {
	code, out, _ := run("model", "show", "reinfer")
	if code != 0 || !strings.Contains(out, "sources_admin                Sources admin ⇒ view_sensitive_data") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("../../scenario/presets/*.yaml")
	code, out, errs := run(append([]string{"scenarios"}, files...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || !strings.HasSuffix(lines[len(lines)-1], " passed, 0 failed") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errs)
	}
	failing := filepath.Join(t.TempDir(), "f.yaml")
	os.WriteFile(failing, []byte(`preset: reinfer
fixture:
  scopes: [{id: acme, level: tenant}, {id: A, level: project, parent: acme}]
  users: [bob]
cases:
  - id: F1
    steps:
      - check: {subject: bob, permission: view_sources, on: A}
        expect: ALLOWED
`), 0o644)
	code, out, _ = run("scenarios", failing)
	if code != 1 || !strings.HasSuffix(strings.TrimSpace(out), "0 passed, 1 failed") || !strings.Contains(out, "FAIL F1") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestDemo(t *testing.T) {
	code, out, errs := run("demo", "inbox", "--file", "../../scenario/presets/inbox.yaml", "--case", "IN-P0[12]")
	if code != 0 || !strings.Contains(out, "== IN-P02") || !strings.Contains(out, "DENIED: olga document.upload on inbox claims") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errs)
	}
}

func TestImportExport(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"kind":"scope","value":{"id":"acme","level":"tenant"}}
{"kind":"scope","value":{"id":"A","level":"project","parent":"acme"}}
{"kind":"user","value":{"id":"ann"}}
{"kind":"membership","value":{"user":"ann","scope":"A"}}
`), 0o644)
	db := filepath.Join(dir, "rc.db")
	if code, out, errs := run("import", "--store", db, in); code != 0 || !strings.Contains(out, "imported 4 objects") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := run("export", "--store", db, "--org", "acme")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(errs, "exported 4 objects") {
		t.Fatalf("export: exit %d\n%s%s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"kind":"user","value":{"id":"zed"}}`+"\n"+`{"kind":"usr","value":{}}`+"\n"), 0o644)
	if code, _, errs := run("import", "--store", db, bad); code != 1 || !strings.Contains(errs, "line 2: unknown kind \"usr\"") {
		t.Fatalf("bad import: exit %d\n%s", code, errs)
	}
	if _, out, _ := run("export", "--store", db); strings.Contains(out, "zed") {
		t.Fatal("a refused import wrote something")
	}
}

// TestQueriesOnStore imports a small organization, then checks, explains,
// looks up, deletes by filter and moves through the command line, the way
// the README shows, on SQLite and on PostgreSQL.
func TestQueriesOnStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { queriesOnStore(t, filepath.Join(t.TempDir(), "acme.db")) })
	t.Run("postgres", func(t *testing.T) { queriesOnStore(t, pgtest.DSN(t)) })
}

func queriesOnStore(t *testing.T, db string) {
	if code, out, errs := run("import", "--store", db, "../../testdata/store/acme.jsonl"); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	q := func(args ...string) []string { return append(args, "--store", db, "--model", "reinfer") }
	steps := []struct {
		args []string
		code int
		want string
	}{
		{q("check", "bob", "view_sources", "source:mail"), 0, "allowed"},
		{q("check", "bob", "sources_admin", "source:mail"), 3, "denied"},
		{q("explain", "bob", "sources_admin", "source:mail"), 0, "sources_admin"},
		{q("effective", "ann", "source:mail"), 0, "view_sensitive_data"},
		{q("lookup", "resources", "bob", "view_sources", "source"), 0, "invoices\nmail\n"},
		{q("lookup", "subjects", "view_sources", "source:mail"), 0, "ann\nbob\n"},
		{q("check", "bob", "view_sources", "claims", "--at-least", "999", "--wait", "10ms"), 1, "the store is at revision 1; a revision token comes from a write to this store"},
		{[]string{"delete", "--store", db, "--kind", "binding", "--user", "bob", "--scope", "billing"}, 0, "deleted 1 objects"},
		{q("lookup", "resources", "bob", "view_sources", "source"), 0, "mail\n"},
		{[]string{"delete", "--store", db, "--kind", "binding"}, 1, "would select every binding"},
		{[]string{"move", "--store", db, "resource", "source:invoices", "--to", "claims"}, 0, "moved at revision"},
		{q("lookup", "resources", "bob", "view_sources", "source"), 0, "invoices\nmail\n"},
		{[]string{"move", "--store", db, "scope", "billing", "--to", "globex"}, 0, "moved at revision"},
		{q("check", "ann", "view_sources", "source:mail"), 0, "allowed"},
	}
	for _, s := range steps {
		code, out, errs := run(s.args...)
		if code != s.code || !strings.Contains(out+errs, s.want) {
			t.Fatalf("rolecall %s: exit %d (want %d), want %q in:\n%s%s", strings.Join(s.args, " "), code, s.code, s.want, out, errs)
		}
	}
}

// TestLookupPagesAcrossRuns follows a lookup's cursor from one run of the
// command to the next.
func TestLookupPagesAcrossRuns(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acme.db")
	if code, out, errs := run("import", "--store", db, "../../testdata/store/acme.jsonl"); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	args := []string{"lookup", "resources", "--store", db, "--model", "reinfer", "--limit", "1", "bob", "view_sources", "source"}
	code, out, errs := run(args...)
	if code != 0 || !strings.HasPrefix(out, "invoices\nmore: --after ") {
		t.Fatalf("first page: exit %d\n%s%s", code, out, errs)
	}
	cursor := strings.TrimSpace(strings.TrimPrefix(strings.Split(out, "\n")[1], "more: --after "))
	code, out, errs = run(append(args, "--after", cursor)...)
	if code != 0 || out != "mail\n" {
		t.Fatalf("second page: exit %d\n%q%s", code, out, errs)
	}
}

// TestActAndAudit performs admin acts from the command line and reads
// the audit log back.
func TestActAndAudit(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acme.db")
	if code, out, errs := run("import", "--store", db, "../../testdata/store/acme.jsonl"); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	m := func(args ...string) []string { return append(args, "--store", db, "--model", "reinfer") }
	steps := []struct {
		args []string
		code int
		want string
	}{
		{m("act", "--as", "ann", "grant_permissions", "user=bob", "scope=claims", "permissions=view_sensitive_data"), 0, "accepted at revision"},
		{m("check", "bob", "view_sensitive_data", "source:mail"), 0, "allowed"},
		{m("act", "--as", "bob", "grant_permissions", "user=ann", "scope=claims", "permissions=view_labels"), 1, "bob does not hold modify_users on project Claims"},
		{m("act", "--as", "ann", "grant_permissions", "user=bob", "scope=claims", "permissions=datasets_admin"), 1, "ann does not hold datasets_admin"},
		{m("act", "--as", "ann", "grant_permissions", "user=bob", "scope"), 1, `write key=value`},
		{m("act", "grant_permissions"), 1, "say who acts"},
		{m("audit", "--as", "ann", "--org", "acme"), 0, "ann          grant_permissions"},
		{m("audit", "--as", "bob", "--org", "acme"), 1, "may not read the audit log"},
		{m("audit", "--operator", "--org", "acme", "--act", "bind_role"), 0, ""},
		{m("role", "revoke", "bob", "claims", "view_sensitive_data", "--as", "ann"), 0, "accepted at revision"},
		{m("member", "list", "acme", "--as", "ann", "--search", "BOB"), 0, "bob  "},
		{m("member", "add", "bob", "billing", "--as", "ann"), 1, "ann does not hold modify_users on project Billing"},
		{m("group", "add", "g", "bob", "--as", "ann"), 1, "group"},
		{m("invite", "send", "x@acme.com", "claims", "--as", "ann"), 1, "does not offer"},
	}
	for _, s := range steps {
		code, out, errs := run(s.args...)
		if code != s.code || !strings.Contains(out+errs, s.want) {
			t.Fatalf("rolecall %s: exit %d (want %d), want %q in:\n%s%s", strings.Join(s.args, " "), code, s.code, s.want, out, errs)
		}
	}
}

// TestServe starts `rolecall serve`, asks it a question over HTTP/JSON and
// stops it the way a signal would.
func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "acme.db")
	if code, out, errs := run("import", "--store", db, "../../testdata/store/acme.jsonl"); code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	code, token, errs := run("key", "create", "--store", db, "--org", "acme", "--user", "bob", "--name", "test")
	if code != 0 || !strings.HasPrefix(token, "rck_") || !strings.Contains(errs, "not shown again") {
		t.Fatalf("key create: exit %d\n%s%s", code, token, errs)
	}
	token = strings.TrimSpace(token)
	if code, out, _ := run("key", "list", "--store", db, "--org", "acme"); code != 0 || !strings.Contains(out, "bob") || !strings.Contains(out, "active") {
		t.Fatalf("key list: exit %d\n%s", code, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan int)
	go func() {
		root := newRoot(&out, io.Discard)
		root.SetArgs([]string{"serve", "--store", db, "--addr", addr})
		if err := root.ExecuteContext(ctx); err != nil {
			done <- 1
			return
		}
		done <- 0
	}()
	var body string
	for i := 0; i < 100; i++ {
		req, _ := http.NewRequest("POST", "http://"+addr+"/rolecall.v1.AuthzService/Check",
			strings.NewReader(`{"subject":"bob","permission":"view_sources","target":{"scope":"claims"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(body, `"allowed":true`) {
		t.Fatalf("check over HTTP/JSON: %q", body)
	}
	// the command line as a client of the server
	remote := func(args ...string) []string { return append(args, "--addr", "http://"+addr, "--key", token) }
	for _, s := range []struct {
		args []string
		code int
		want string
	}{
		{remote("check", "bob", "view_sources", "source:mail"), 0, "allowed (revision 1)"},
		{remote("explain", "bob", "sources_admin", "source:mail"), 0, "missing: sources_admin"},
		{remote("lookup", "resources", "bob", "view_sources", "source"), 0, "invoices\nmail\n"},
		{remote("lookup", "subjects", "view_sources", "source:mail"), 0, "ann\nbob\n"},
		{remote("effective", "bob", "source:mail"), 0, "view_sources\n  "},
		{remote("act", "grant_permissions", "user=ann", "scope=claims", "permissions=view_labels"), 1, "bob does not hold modify_users"},
		{remote("audit", "--org", "acme"), 1, "may not read the audit log"},
		{[]string{"check", "bob", "view_sources", "claims", "--addr", "http://" + addr}, 1, "needs an API key"},
		{remote("import", "../../testdata/store/acme.jsonl"), 1, "imports are the operator's"},
	} {
		code, out, errs := run(s.args...)
		if code != s.code || !strings.Contains(out+errs, s.want) {
			t.Errorf("rolecall %s: exit %d (want %d), want %q in:\n%s%s", strings.Join(s.args, " "), code, s.code, s.want, out, errs)
		}
	}
	cancel()
	if code := <-done; code != 0 || !strings.Contains(out.String(), "stopped") {
		t.Fatalf("serve exited %d:\n%s", code, out.String())
	}
}

// TestServeDemo seeds a preset's demo organization into an empty store
// and prints keys that work.
func TestServeDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		root := newRoot(out, io.Discard)
		root.SetArgs([]string{"serve", "--demo", "--store", db, "--model", "infosum", "--addr", addr})
		done <- root.ExecuteContext(ctx)
	}()
	var key string
	for i := 0; i < 500 && (key == "" || !strings.Contains(out.String(), "serving model")); i++ {
		time.Sleep(20 * time.Millisecond)
		for _, line := range strings.Split(out.String(), "\n") {
			if k, ok := strings.CutPrefix(line, "key for olivia in acme: "); ok {
				key = k
			}
		}
	}
	if key == "" || !strings.Contains(out.String(), "seeded the infosum demo") || !strings.Contains(out.String(), "console sign-in: operator / ") ||
		!strings.Contains(out.String(), "console: http://"+addr+"/") {
		t.Fatalf("serve --demo printed:\n%s", out.String())
	}
	code, got, errs := run("check", "--addr", "http://"+addr, "--key", key, "olivia", "roles.update", "acme")
	if code != 0 || !strings.Contains(got, "allowed") {
		t.Fatalf("a check with the demo key: exit %d\n%s%s", code, got, errs)
	}
	var opKey string
	for _, line := range strings.Split(out.String(), "\n") {
		if k, ok := strings.CutPrefix(line, "key for the operator: "); ok {
			opKey = k
		}
	}
	lines := filepath.Join(t.TempDir(), "more.jsonl")
	os.WriteFile(lines, []byte(`{"kind":"user","value":{"id":"newcomer"}}`+"\n"+`{"kind":"membership","value":{"user":"newcomer","scope":"acme"}}`+"\n"), 0o644)
	if code, got, errs := run("import", "--addr", "http://"+addr, "--key", opKey, lines); code != 0 || !strings.Contains(got, "imported 2 objects") {
		t.Fatalf("import through the server: exit %d\n%s%s", code, got, errs)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestInvitationLinkCLI: `invite send` prints the link's token once;
// `invite join TOKEN` accepts it for the invitee, making the account.
func TestInvitationLinkCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "lb.db")
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := demo.Seed(context.Background(), st, "labelbox"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	m := func(args ...string) []string { return append(args, "--store", db, "--model", "labelbox") }
	code, out, errs := run(m("invite", "send", "kim@acme.io", "W1", "--role", "labeler", "--as", "ana")...)
	_, token, ok := strings.Cut(out, "invitation link token")
	if code != 0 || !ok {
		t.Fatalf("invite send: exit %d\n%s%s", code, out, errs)
	}
	token = strings.TrimSpace(token[strings.LastIndex(token, ": ")+2:])
	code, out, errs = run(m("invite", "join", token, "--name", "Kim", "--operator")...)
	if code != 0 || !strings.Contains(out, "joined as user kim@acme.io") {
		t.Fatalf("invite join: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(m("invite", "join", token, "--operator")...)
	if code == 0 || !strings.Contains(errs, "no pending invitation has this link") {
		t.Fatalf("invite join again: exit %d\n%s%s", code, out, errs)
	}
}

// TestStoreNameHidesPassword: the store a server names in its output
// shows no password.
func TestStoreNameHidesPassword(t *testing.T) {
	if got := storeName("postgres://app:s3cret@db:5432/rolecall?sslmode=disable"); strings.Contains(got, "s3cret") || !strings.Contains(got, "db:5432/rolecall") {
		t.Fatalf("storeName shows %q", got)
	}
	if got := storeName("data/rolecall.db"); got != "data/rolecall.db" {
		t.Fatalf("a file path became %q", got)
	}
}
