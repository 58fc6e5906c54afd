package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
	"github.com/rolecall/rolecall/transfer"
)

// serveWorld serves a world on loopback and returns its address.
func serveWorld(t *testing.T, w *testenv.World) string {
	t.Helper()
	return testenv.Serve(t, server.Handler(w.Options()), false).URL
}

// TestExportThroughServer: `export --addr` writes what `export --store`
// writes, within the key's organization, and `import --addr` takes it back.
func TestExportThroughServer(t *testing.T) {
	w := testenv.OpenAcme(t)
	_, ann := w.Key(t, "acme", "ann")
	_, op := w.Key(t, "", "")
	addr := serveWorld(t, w)
	if code, _, errs := run("export", "--addr", addr, "--key", ann); code == 0 || !strings.Contains(errs, "may not export organization") {
		t.Fatalf("export with ann's key (Re:infer gives no member the right): exit %d\n%s", code, errs)
	}
	var acme bytes.Buffer
	if _, err := transfer.Export(context.Background(), w.Store, "acme", &acme); err != nil {
		t.Fatal(err)
	}
	objects := strings.Count(acme.String(), "\n")

	code, out, errs := run("export", "--addr", addr, "--key", op, "--org", "acme")
	if code != 0 || out != acme.String() || errs != fmt.Sprintf("exported %d objects at revision 1\n", objects) {
		t.Fatalf("export with the operator's key: exit %d\n%s%s", code, out, errs)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "acme.jsonl")
	code, out, errs = run("export", "--addr", addr, "--key", op, "--org", "acme", "--json", file)
	var sum struct {
		Objects  int               `json:"objects"`
		Revision rolecall.Revision `json:"revision"`
	}
	if code != 0 || out != "" || json.Unmarshal([]byte(errs), &sum) != nil || sum.Objects != objects || sum.Revision != 1 {
		t.Fatalf("export --json to a file: exit %d\n%s%s", code, out, errs)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != acme.String() {
		t.Fatalf("the exported file (%v):\n%s", err, b)
	}

	// into an empty server, and out again
	fresh := testenv.Open(t, "reinfer", "")
	_, op2 := fresh.Key(t, "", "")
	addr2 := serveWorld(t, fresh)
	if code, out, errs := run("import", "--addr", addr2, "--key", op2, "--json", file); code != 0 || !strings.Contains(out, fmt.Sprintf(`"objects": %d`, objects)) {
		t.Fatalf("import --addr --json: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run("export", "--addr", addr2, "--key", op2); code != 0 || out != acme.String() {
		t.Fatalf("export of the re-imported data: exit %d\n%s%s", code, out, errs)
	}
	// and into a store, as the local command reads it
	db := filepath.Join(dir, "copy.db")
	if code, out, errs := run("import", "--store", db, file); code != 0 {
		t.Fatalf("import --store: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := run("export", "--store", db, "--org", "acme"); code != 0 || out != acme.String() || !strings.Contains(errs, fmt.Sprintf("exported %d objects", objects)) {
		t.Fatalf("export --store of the copy: exit %d\n%s%s", code, out, errs)
	}
}

// TestExportRefusedThroughServer: a refused export exits 1 with the
// server's reason and leaves FILE as it was.
func TestExportRefusedThroughServer(t *testing.T) {
	w := testenv.OpenAcme(t)
	_, ann := w.Key(t, "acme", "ann")
	_, op := w.Key(t, "", "")
	revoked, revokedToken := w.Key(t, "acme", "ann")
	if _, err := w.Store.Update(context.Background(), func(tx rolecall.Tx) error { return tx.RevokeAPIKey(revoked.ID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	addr := serveWorld(t, w)
	file := filepath.Join(t.TempDir(), "old.jsonl")
	os.WriteFile(file, []byte("an older export\n"), 0o644)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", ann, "--org", "globex"}, "organization globex: no such object"},
		{[]string{"--key", op, "--org", "initech"}, "organization initech: no such organization"},
		{[]string{"--key", op, "--org", "claims"}, "claims is a scope inside acme, not an organization; export acme instead"},
		{[]string{"--key", revokedToken}, "the API key was revoked"},
		{[]string{"--key", ""}, "--addr needs an API key"},
	} {
		args := append([]string{"export", "--addr", addr, file}, tt.args...)
		code, out, errs := run(args...)
		if code != 1 || out != "" || !strings.Contains(errs, tt.want) {
			t.Errorf("export %s: exit %d, want 1 with %q in:\n%s%s", strings.Join(tt.args, " "), code, tt.want, out, errs)
		}
		if b, _ := os.ReadFile(file); string(b) != "an older export\n" {
			t.Errorf("export %s: the file became %q", strings.Join(tt.args, " "), b)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(file)); len(ents) != 1 {
		t.Errorf("a refused export left files behind: %v", ents)
	}
}
