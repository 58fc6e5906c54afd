package transfer_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/pgtest"
	"github.com/rolecall/rolecall/postgres"
	"github.com/rolecall/rolecall/transfer"
)

// TestImportIntoPostgres imports through the bulk Load path and checks the
// export, and that a bad batch commits nothing there either.
func TestImportIntoPostgres(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var _ rolecall.Loader = s
	if n, _, err := transfer.Import(ctx, s, strings.NewReader(sample), transfer.Options{Batch: 5}); err != nil || n != 16 {
		t.Fatalf("import: %d objects, %v", n, err)
	}
	var out bytes.Buffer
	if _, err := transfer.Export(ctx, s, "acme", &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 16 {
		t.Fatalf("export has %d lines, want 16:\n%s", n, out.String())
	}
	head, _ := s.Head(ctx)
	bad := `{"kind":"membership","value":{"user":"zed","scope":"A"}}` + "\n"
	if _, _, err := transfer.Import(ctx, s, strings.NewReader(bad), transfer.Options{}); err == nil {
		t.Fatal("a membership of a missing user was imported")
	}
	if h, _ := s.Head(ctx); h != head {
		t.Fatalf("a refused batch moved the head from %d to %d", head, h)
	}
}
