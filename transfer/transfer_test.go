package transfer

import (
	"context"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
)

// refuse is a Writer that fails the test if anything reaches it: an input
// with a bad line must commit nothing.
type refuse struct{ t *testing.T }

func (r refuse) Update(context.Context, func(rolecall.Tx) error) (rolecall.Revision, error) {
	r.t.Fatal("a batch reached the store although the input has a bad line")
	return 0, nil
}

func TestImportRejectsBadLinesBeforeWriting(t *testing.T) {
	good := `{"kind":"scope","value":{"id":"acme","level":"org"}}`
	for _, tt := range []struct {
		name, input, want string
	}{
		{"not json", good + "\n{kind: scope}\n", "line 2: not a JSON object"},
		{"unknown kind", good + "\n" + `{"kind":"widget","value":{"id":"w"}}`, `line 2: unknown kind "widget"`},
		{"unknown field", good + "\n\n" + `{"kind":"user","value":{"id":"ann","nmae":"Ann"}}`, `line 3: the user does not decode: json: unknown field "nmae"`},
		{"no value", `{"kind":"user"}`, "line 1: the user has no value"},
		{"no id", `{"kind":"scope","value":{"level":"org"}}`, "line 1: the scope has no id"},
		{"extra top-level field", `{"kind":"user","value":{"id":"a"},"x":1}`, `line 1: not a JSON object`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Import(context.Background(), refuse{t}, strings.NewReader(tt.input), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "nothing was imported") {
				t.Fatalf("err = %v, want it to contain %q and say nothing was imported", err, tt.want)
			}
			if rolecall.KindOf(err) != rolecall.Invalid {
				t.Fatalf("kind = %v, want Invalid", rolecall.KindOf(err))
			}
		})
	}
}

// TestExportRefusesWhatIsNotAnOrganization: an export names an
// organization (or none, for everything); anything else is refused before
// a byte is written.
func TestExportRefusesWhatIsNotAnOrganization(t *testing.T) {
	snap := &rolecall.Snapshot{Scopes: []rolecall.Scope{
		{ID: "acme", Level: "tenant"}, {ID: "ws", Level: "workspace", Parent: "acme"}, {ID: "claims", Level: "project", Parent: "ws"},
	}}
	for _, tt := range []struct {
		org  string
		kind rolecall.Kind
		want string
	}{
		{"", rolecall.KindOther, ""},
		{"acme", rolecall.KindOther, ""},
		{"claims", rolecall.Invalid, "organization claims: claims is a scope inside acme, not an organization; export acme instead"},
		{"globex", rolecall.NotFound, "organization globex: no such organization"},
	} {
		var b strings.Builder
		n, err := ExportSnapshot(snap, tt.org, &b)
		if tt.want == "" {
			if err != nil || n != 3 {
				t.Errorf("export %q: %d objects, %v; want 3", tt.org, n, err)
			}
			continue
		}
		if rolecall.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.want) || b.Len() != 0 {
			t.Errorf("export %q: %v (kind %v), %d bytes written; want %v saying %q, nothing written", tt.org, err, rolecall.KindOf(err), b.Len(), tt.kind, tt.want)
		}
	}
}
