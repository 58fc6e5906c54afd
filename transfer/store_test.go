package transfer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/sqlite"
	"github.com/rolecall/rolecall/transfer"
)

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const sample = `{"kind":"scope","value":{"id":"acme","level":"org"}}
{"kind":"scope","value":{"id":"A","level":"project","parent":"acme"}}
{"kind":"scope","value":{"id":"B","level":"project","parent":"acme"}}
{"kind":"user","value":{"id":"ann","email":"ann@acme.com"}}
{"kind":"user","value":{"id":"bob"}}
{"kind":"membership","value":{"user":"ann","scope":"A","default_role":"viewer"}}
{"kind":"membership","value":{"user":"bob","scope":"acme"}}
{"kind":"group","value":{"id":"g1","scope":"acme","name":"Analysts"}}
{"kind":"group_member","value":{"group":"g1","user":"bob"}}
{"kind":"resource","value":{"type":"source","id":"A/inbox","scope":"A"}}
{"kind":"resource","value":{"type":"verbatim","id":"v1","parent":{"type":"source","id":"A/inbox"},"fields":{"email":"sensitive"}}}
{"kind":"resource","value":{"type":"dataset","id":"B/trends","scope":"B","groups":["g1"],"inputs":{"sources":[{"type":"source","id":"A/inbox"}]},"attrs":{"published":true}}}
{"kind":"role","value":{"id":"auditor","org":"acme","grants":[{"permission":"view"}]}}
{"kind":"binding","value":{"id":"b1","subject":{"kind":"user","id":"ann"},"role":"auditor","scope":"A"}}
{"kind":"binding","value":{"id":"b2","subject":{"kind":"group","id":"g1"},"permissions":["view"],"resource":{"type":"dataset","id":"B/trends"}}}
{"kind":"offer","value":{"id":"o1","kind":"share","resource":{"type":"dataset","id":"B/trends"},"recipient":"bob","state":"pending"}}
`

// TestRoundTrip: what is exported imports into an empty store and exports
// again to the same bytes.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := openSQLite(t, filepath.Join(dir, "a.db"))
	if n, _, err := transfer.Import(ctx, a, strings.NewReader(sample), transfer.Options{Batch: 4}); err != nil || n != 16 {
		t.Fatalf("import: %d objects, %v", n, err)
	}
	var first bytes.Buffer
	if _, err := transfer.Export(ctx, a, "acme", &first); err != nil {
		t.Fatal(err)
	}
	b := openSQLite(t, filepath.Join(dir, "b.db"))
	if _, _, err := transfer.Import(ctx, b, bytes.NewReader(first.Bytes()), transfer.Options{}); err != nil {
		t.Fatalf("re-import: %v", err)
	}
	var second bytes.Buffer
	if _, err := transfer.Export(ctx, b, "acme", &second); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Fatalf("exports differ:\n%s\n---\n%s", first.String(), second.String())
	}
	if n := strings.Count(first.String(), "\n"); n != 16 {
		t.Fatalf("export has %d lines, want 16", n)
	}
}

// TestImportRefusesAndKeepsNothing: a line referring to something missing
// fails its batch, and that batch commits nothing.
func TestImportBatchFailure(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "s.db"))
	bad := sample + `{"kind":"membership","value":{"user":"zed","scope":"A"}}` + "\n"
	n, _, err := transfer.Import(ctx, s, strings.NewReader(bad), transfer.Options{Batch: 100})
	if err == nil || n != 0 || !strings.Contains(err.Error(), "line 17") {
		t.Fatalf("import of a missing reference: %d committed, err %v; want line 17 named and nothing committed", n, err)
	}
	if h, _ := s.Head(ctx); h != 0 {
		t.Fatalf("head moved to %d", h)
	}
}

// TestImportKilled kills an importing process with SIGKILL while it
// commits batches, then checks that the store holds whole batches only.
func TestImportKilled(t *testing.T) {
	if os.Getenv("ROLECALL_KILLTEST_DB") != "" {
		importForever(t)
		return
	}
	const batch = 500
	db := filepath.Join(t.TempDir(), "killed.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestImportKilled$")
	cmd.Env = append(os.Environ(), "ROLECALL_KILLTEST_DB="+db, fmt.Sprintf("ROLECALL_KILLTEST_BATCH=%d", batch))
	var childOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &childOut, &childOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	// wait until a few batches are in, then kill without warning
	deadline := time.Now().Add(3 * time.Minute)
	for {
		select {
		case <-exited:
			t.Fatalf("the importer exited before it was killed:\n%s", childOut.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the importer committed nothing within 3 minutes:\n%s", childOut.String())
		}
		if head := headOf(db); head >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited

	s := openSQLite(t, db)
	ctx := context.Background()
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// revision 1 holds the organization; every later one a whole batch
	if want := int(head-1) * batch; len(snap.Users) != want {
		t.Fatalf("after the kill: head %d, %d users; want %d (whole batches of %d)", head, len(snap.Users), want, batch)
	}
	changes, err := s.Changes(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + int(head-1)*batch; len(changes) != want {
		t.Fatalf("change log has %d changes, want %d", len(changes), want)
	}
	t.Logf("killed after %d committed batches; the store holds exactly those", head-1)
}

func headOf(db string) rolecall.Revision {
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	s, err := sqlite.Open(db)
	if err != nil {
		return 0
	}
	defer s.Close()
	h, _ := s.Head(context.Background())
	return h
}

// importForever is the child: it imports a long stream of users, batch
// after batch, until it is killed.
func importForever(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(os.Getenv("ROLECALL_KILLTEST_DB"))
	if err != nil {
		t.Fatal(err)
	}
	var batch int
	fmt.Sscan(os.Getenv("ROLECALL_KILLTEST_BATCH"), &batch)
	if _, err := s.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateScope(rolecall.Scope{ID: "acme", Level: "org"}) }); err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	for i := 0; i < 200_000; i++ { // 400 batches: far more than are written before the kill
		fmt.Fprintf(&in, `{"kind":"user","value":{"id":"u%07d"}}`+"\n", i)
	}
	transfer.Import(ctx, s, strings.NewReader(in.String()), transfer.Options{Batch: batch})
	t.Fatal("the import finished before it was killed")
}
