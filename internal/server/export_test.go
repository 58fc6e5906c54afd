package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/rolecall/rolecall"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/demo"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
	"github.com/rolecall/rolecall/transfer"
)

// withGlobex gives globex, empty in acme.jsonl, a member, a binding and n
// resources: data acme's keys must never see in an export.
func withGlobex(t *testing.T, st rolecall.Store, n int) {
	t.Helper()
	if _, err := st.Update(t.Context(), func(tx rolecall.Tx) error {
		err := errors.Join(
			tx.CreateScope(rolecall.Scope{ID: "gx-sales", Level: "project", Parent: "globex"}),
			tx.CreateUser(rolecall.User{ID: "gil", Email: "gil@globex.com"}),
			tx.CreateMembership(rolecall.Membership{User: "gil", Scope: "globex"}),
			tx.CreateBinding(&rolecall.Binding{ID: "gil-sales", Subject: rolecall.UserSubject("gil"), Permissions: []string{"view_sources"}, Scope: "gx-sales"}),
		)
		for i := range n {
			err = errors.Join(err, tx.CreateResource(rolecall.Resource{Type: "source", ID: fmt.Sprintf("gx-%05d", i), Scope: "gx-sales"}))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// export calls Export and returns the lines as `rolecall export` writes
// them, the revision, and how many messages carried them.
func export(t *testing.T, c rolecallv1connect.ImportServiceClient, req *v1.ExportRequest) (string, uint64, int, error) {
	t.Helper()
	stream, err := c.Export(t.Context(), req)
	if err != nil {
		return "", 0, 0, err
	}
	defer stream.Close()
	var b strings.Builder
	var rev uint64
	msgs := 0
	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return b.String(), rev, msgs, nil
		}
		if err != nil {
			return b.String(), rev, msgs, err
		}
		if msgs > 0 && res.Revision != rev {
			t.Fatalf("message %d is at revision %d, the first at %d", msgs, res.Revision, rev)
		}
		rev = res.Revision
		msgs++
		for _, l := range res.Lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
}

// local is what transfer writes for org from the store's snapshot.
func local(t *testing.T, st rolecall.Reader, org string) (string, rolecall.Revision) {
	t.Helper()
	snap, err := st.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := transfer.ExportSnapshot(snap, org, &b); err != nil {
		t.Fatal(err)
	}
	return b.String(), snap.Revision
}

// TestExport: an export over the API is, byte for byte, what transfer
// writes from the store at the revision it reports, over every protocol,
// and an organization's export has nothing of another's.
func TestExport(t *testing.T) {
	ts, st := start(t)
	withGlobex(t, st, 4000) // more than one message's worth (exportChunk)
	acme, rev := local(t, st, "acme")
	all, _ := local(t, st, "")
	globex, _ := local(t, st, "globex")

	for name, opts := range map[string][]connecthttp.Option{"connect": nil, "grpc": {connecthttp.WithGRPC()}, "grpc-web": {connecthttp.WithGRPCWeb()}} {
		got, gotRev, _, err := export(t, rolecallv1connect.NewImportServiceClient(conn(ts, "operator", opts...)), &v1.ExportRequest{Org: "acme"})
		if err != nil || got != acme || gotRev != uint64(rev) {
			t.Fatalf("%s: the operator exports acme at revision %d (%v):\n%s\nwant acme at revision %d:\n%s", name, gotRev, err, got, rev, acme)
		}
	}
	for _, secret := range []string{"globex", "gil", "gx-"} {
		if strings.Contains(acme, secret) {
			t.Fatalf("acme's export mentions %q:\n%s", secret, acme)
		}
	}
	// Re:infer gives no member the right to export the tenant
	bob := rolecallv1connect.NewImportServiceClient(conn(ts, "bob"))
	if got, _, _, err := export(t, bob, &v1.ExportRequest{Org: "acme", Consistency: &v1.Consistency{FullyConsistent: true}}); connect.CodeOf(err) != connect.CodePermissionDenied || got != "" {
		t.Fatalf("bob's key naming acme: %v\n%s", err, got)
	}

	op := rolecallv1connect.NewImportServiceClient(conn(ts, "operator"))
	got, _, msgs, err := export(t, op, &v1.ExportRequest{})
	if err != nil || got != all || msgs < 2 {
		t.Fatalf("the operator exports everything in %d messages: %v; got %d bytes, want %d", msgs, err, len(got), len(all))
	}
	got, _, _, err = export(t, op, &v1.ExportRequest{Org: "globex", Consistency: &v1.Consistency{AtLeastAsFresh: uint64(rev)}})
	if err != nil || got != globex || strings.Contains(got, "acme") {
		t.Fatalf("the operator exports globex: %v\n%.500s", err, got)
	}
}

// TestExportRefusals: what an export refuses, with the code and a message
// saying what to do.
func TestExportRefusals(t *testing.T) {
	ts, st := start(t)
	withGlobex(t, st, 0)
	for _, tt := range []struct {
		name, as string
		req      *v1.ExportRequest
		code     connect.Code
		want     string
	}{
		{"another organization", "ann", &v1.ExportRequest{Org: "globex"}, connect.CodeNotFound, "organization globex: no such object"},
		{"a scope of another organization", "ann", &v1.ExportRequest{Org: "gx-sales"}, connect.CodeNotFound, "no such object"},
		{"an unknown organization", "operator", &v1.ExportRequest{Org: "initech"}, connect.CodeNotFound, "organization initech: no such organization"},
		{"a project, not an organization", "operator", &v1.ExportRequest{Org: "claims"}, connect.CodeInvalidArgument, "export acme instead"},
		{"a revision from the future", "operator", &v1.ExportRequest{Consistency: &v1.Consistency{AtLeastAsFresh: 999}}, connect.CodeInvalidArgument, "consistency.at_least_as_fresh: 999: the store is at revision"},
		{"a member without the right", "ann", &v1.ExportRequest{}, connect.CodePermissionDenied, "ann may not export organization in acme"},
		{"a revoked key", "revoked", &v1.ExportRequest{}, connect.CodeUnauthenticated, "the API key was revoked"},
		{"no key", "", &v1.ExportRequest{}, connect.CodeUnauthenticated, "give an API key"},
	} {
		got, _, _, err := export(t, rolecallv1connect.NewImportServiceClient(conn(ts, tt.as)), tt.req)
		if connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.want) || got != "" {
			t.Errorf("%s: %v (sent %d bytes); want %v saying %q, and nothing sent", tt.name, err, len(got), tt.code, tt.want)
		}
	}
}

// TestExportRoundTrip: what the operator exports over the API imports
// into an empty store, through the API too, and gives the same snapshot.
func TestExportRoundTrip(t *testing.T) {
	ts, st := start(t)
	withGlobex(t, st, 10)
	lines, _, _, err := export(t, rolecallv1connect.NewImportServiceClient(conn(ts, "operator")), &v1.ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}

	fresh := testenv.Open(t, "reinfer", "")
	_, token := fresh.Key(t, "", "")
	to := testenv.Serve(t, server.Handler(fresh.Options()), true)
	imp := rolecallv1connect.NewImportServiceClient(connect.NewClient(connecthttp.NewTransport(to.Client(), to.URL), bearer(token)))
	res, err := imp.Import(context.Background(), &v1.ImportRequest{Lines: strings.Split(strings.TrimSuffix(lines, "\n"), "\n")})
	if err != nil || int(res.Objects) != strings.Count(lines, "\n") {
		t.Fatalf("re-import: %v, %v", res, err)
	}

	want, err := st.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := fresh.Store.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want.Revision, got.Revision = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the snapshot after the round trip differs:\n%+v\nwant\n%+v", got, want)
	}
}

// TestExportByMember: a member the model gives the right to export
// (Labelbox: the tenant admin, on the organization) exports their
// organization with its key; a workspace admin may not.
func TestExportByMember(t *testing.T) {
	ctx := context.Background()
	w := testenv.Open(t, "labelbox", "")
	if _, _, err := demo.Seed(ctx, w.Store, "labelbox"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Live.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_, tara := w.Key(t, "acme", "tara")
	_, ana := w.Key(t, "acme", "ana")
	ts := testenv.Serve(t, server.Handler(w.Options()), true)
	want, rev := local(t, w.Store, "acme")
	client := func(token string) rolecallv1connect.ImportServiceClient {
		return rolecallv1connect.NewImportServiceClient(connect.NewClient(connecthttp.NewTransport(ts.Client(), ts.URL), bearer(token)))
	}
	if got, gotRev, _, err := export(t, client(tara), &v1.ExportRequest{}); err != nil || got != want || gotRev != uint64(rev) {
		t.Fatalf("the tenant admin's export at %d: %v\n%s", gotRev, err, got)
	}
	if got, _, _, err := export(t, client(ana), &v1.ExportRequest{}); connect.CodeOf(err) != connect.CodePermissionDenied || got != "" {
		t.Fatalf("a workspace admin's export: %v", err)
	}
}
