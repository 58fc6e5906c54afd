package client_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
	"github.com/rolecall/rolecall/transfer"
)

// TestExport: Export writes what transfer writes from the server's store;
// an organization's key exports only where the model gives its user the
// right (Re:infer gives none: the operator exports), and Import takes the
// export back into another server.
func TestExport(t *testing.T) {
	w := testenv.OpenAcme(t)
	_, ann := w.Key(t, "acme", "ann")
	_, op := w.Key(t, "", "")
	addr := testenv.Serve(t, server.Handler(w.Options()), false).URL
	ctx := context.Background()
	if _, _, err := client.New(addr, ann).Export(ctx, "", client.Consistency{}, io.Discard); rolecall.KindOf(err) != rolecall.PermissionDenied || !strings.Contains(err.Error(), "export organization") {
		t.Fatalf("ann's export: %v, want permission denied", err)
	}
	if _, _, err := client.New(addr, ann).Export(ctx, "globex", client.Consistency{}, io.Discard); rolecall.KindOf(err) != rolecall.NotFound {
		t.Fatalf("acme's key exporting globex: %v, want not found", err)
	}
	var want bytes.Buffer
	if _, err := transfer.Export(ctx, w.Store, "acme", &want); err != nil {
		t.Fatal(err)
	}

	c := client.New(addr, op)
	var got bytes.Buffer
	n, rev, err := c.Export(ctx, "acme", client.Consistency{}, &got)
	if err != nil || rev != 1 || n != strings.Count(want.String(), "\n") || got.String() != want.String() {
		t.Fatalf("Export = %d objects at revision %d, %v:\n%s\nwant at revision 1:\n%s", n, rev, err, got.String(), want.String())
	}
	if _, _, err := c.Export(ctx, "acme", client.Consistency{AtLeastAsFresh: 99}, io.Discard); rolecall.KindOf(err) != rolecall.Invalid || !strings.Contains(err.Error(), "at_least_as_fresh") {
		t.Fatalf("a revision the store has not reached: %v, want invalid naming it", err)
	}

	fresh := testenv.Open(t, "reinfer", "")
	_, freshOp := fresh.Key(t, "", "")
	to := client.New(testenv.Serve(t, server.Handler(fresh.Options()), false).URL, freshOp)
	if n, _, err := to.Import(ctx, strings.Split(strings.TrimSuffix(got.String(), "\n"), "\n")); err != nil || n != strings.Count(want.String(), "\n") {
		t.Fatalf("Import of the export: %d objects, %v", n, err)
	}
	var again bytes.Buffer
	if _, _, err := to.Export(ctx, "acme", client.Consistency{}, &again); err != nil || again.String() != want.String() {
		t.Fatalf("the export of the re-imported data differs (%v):\n%s", err, again.String())
	}
}
