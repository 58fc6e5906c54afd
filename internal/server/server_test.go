package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/grpcreflect/v2"

	"github.com/rolecall/rolecall"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// tokens holds the API keys start made, by name.
var tokens = map[string]string{}

// start serves testdata/store/acme.jsonl (Re:infer) over HTTP/2 with TLS,
// so every protocol works.
func start(t *testing.T, with ...func(*server.Options)) (*httptest.Server, rolecall.Store) {
	t.Helper()
	o, st := fixture(t, with...)
	return testenv.Serve(t, server.Handler(o), true), st
}

// fixture opens testdata/store/acme.jsonl with the keys of tokens, and
// returns the options of a server of it.
func fixture(t *testing.T, with ...func(*server.Options)) (server.Options, rolecall.Store) {
	t.Helper()
	w := testenv.OpenAcme(t)
	// keys: the operator's, ann's and bob's in acme, and a revoked one
	for _, k := range []struct{ name, org, user string }{{"operator", "", ""}, {"ann", "acme", "ann"}, {"bob", "acme", "bob"}, {"revoked", "acme", "ann"}} {
		var key rolecall.APIKey
		key, tokens[k.name] = w.Key(t, k.org, k.user)
		if k.name == "revoked" {
			if _, err := w.Store.Update(t.Context(), func(tx rolecall.Tx) error { return tx.RevokeAPIKey(key.ID, time.Now()) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	o := w.Options()
	for _, f := range with {
		f(&o)
	}
	return o, w.Store
}

// bearer sends an API key with every call.
func bearer(token string) connect.ClientInterceptor {
	return func(next connect.ClientFunc) connect.ClientFunc {
		return func(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
			ctx, info := connect.NewClientContext(ctx)
			if token != "" {
				info.RequestHeader().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, spec)
		}
	}
}

func conn(ts *httptest.Server, as string, opts ...connecthttp.Option) *connect.Client {
	return connect.NewClient(connecthttp.NewTransport(ts.Client(), ts.URL, opts...), bearer(tokens[as]))
}

func client(ts *httptest.Server, opts ...connecthttp.Option) rolecallv1connect.AuthzServiceClient {
	return rolecallv1connect.NewAuthzServiceClient(conn(ts, "ann", opts...))
}

// TestJSON: a plain JSON POST, the way a script or a curl user calls.
func TestJSON(t *testing.T) {
	ts, _ := start(t)
	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/rolecall.v1.AuthzService/Check", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens["operator"])
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := post(`{"subject":"bob","permission":"view_sources","target":{"resource":{"type":"source","id":"mail"}}}`)
	if code != 200 || !strings.Contains(body, `"allowed":true`) || !strings.Contains(body, `"revision":"1"`) {
		t.Fatalf("check: %d %s", code, body)
	}
	code, body = post(`{"subject":"nobody","permission":"view_sources","target":{"scope":"claims"}}`)
	if code != 404 || !strings.Contains(body, `"code":"not_found"`) || !strings.Contains(body, "no such user") {
		t.Fatalf("unknown user: %d %s", code, body)
	}
	code, body = post(`{"subject":`)
	if code != 400 {
		t.Fatalf("malformed body: %d %s", code, body)
	}
}

// TestProtocols: the same calls over Connect, gRPC and gRPC-Web.
func TestProtocols(t *testing.T) {
	ts, _ := start(t)
	for name, opts := range map[string][]connecthttp.Option{"connect": nil, "grpc": {connecthttp.WithGRPC()}, "grpc-web": {connecthttp.WithGRPCWeb()}} {
		askAll(t, name, client(ts, opts...))
	}
}

// askAll asks every kind of question through c, checking the answers.
func askAll(t *testing.T, name string, c rolecallv1connect.AuthzServiceClient) {
	t.Helper()
	ctx := context.Background()
	res, err := c.Explain(ctx, &v1.CheckRequest{Subject: "bob", Permission: "sources_admin",
		Target: &v1.Target{Resource: &v1.ResourceRef{Type: "source", Id: "mail"}}})
	if err != nil {
		t.Fatalf("%s: Explain: %v", name, err)
	}
	if res.Allowed || !strings.Contains(res.Text, "missing: sources_admin") || res.Explanation.AsMap()["allowed"] != false {
		t.Fatalf("%s: Explain = %v", name, res)
	}
	bulk, err := c.CheckBulk(ctx, &v1.CheckBulkRequest{Checks: []*v1.CheckRequest{
		{Subject: "bob", Permission: "view_sources", Target: &v1.Target{Scope: "claims"}},
		{Subject: "zed", Permission: "view_sources", Target: &v1.Target{Scope: "claims"}},
	}})
	if err != nil || !bulk.Results[0].Allowed || bulk.Results[1].Error.GetCode() != "not_found" {
		t.Fatalf("%s: CheckBulk = %v, %v", name, bulk, err)
	}
	lr, err := c.LookupResources(ctx, &v1.LookupResourcesRequest{Subject: "bob", Permission: "view_sources", Type: "source", Page: &v1.Page{Limit: 1}})
	if err != nil || len(lr.Ids) != 1 || lr.Next == "" {
		t.Fatalf("%s: LookupResources = %v, %v", name, lr, err)
	}
	lr, err = c.LookupResources(ctx, &v1.LookupResourcesRequest{Subject: "bob", Permission: "view_sources", Type: "source", Page: &v1.Page{After: lr.Next}})
	if err != nil || len(lr.Ids) != 1 || lr.Next != "" {
		t.Fatalf("%s: LookupResources, page 2 = %v, %v", name, lr, err)
	}
	ls, err := c.LookupSubjects(ctx, &v1.LookupSubjectsRequest{Permission: "view_sources", Target: &v1.Target{Resource: &v1.ResourceRef{Type: "source", Id: "mail"}}})
	if err != nil || strings.Join(ls.Users, ",") != "ann,bob" {
		t.Fatalf("%s: LookupSubjects = %v, %v", name, ls, err)
	}
	eff, err := c.Effective(ctx, &v1.EffectiveRequest{Subject: "ann", Target: &v1.Target{Resource: &v1.ResourceRef{Type: "source", Id: "mail"}}})
	if err != nil || len(eff.Permissions) == 0 {
		t.Fatalf("%s: Effective = %v, %v", name, eff, err)
	}
	if _, err := c.Check(ctx, &v1.CheckRequest{Subject: "bob", Permission: "nope", Target: &v1.Target{Scope: "claims"}}); connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("%s: unknown permission: %v", name, err)
	}
}

// TestFreshness: a check can ask for data at least as fresh as a write.
func TestFreshness(t *testing.T) {
	ts, st := start(t)
	ctx := context.Background()
	c := client(ts)
	rev, err := st.Update(ctx, func(tx rolecall.Tx) error {
		return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("bob"), Permissions: []string{"sources_admin"}, Scope: "claims"})
	})
	if err != nil {
		t.Fatal(err)
	}
	req := &v1.CheckRequest{Subject: "bob", Permission: "sources_admin", Target: &v1.Target{Scope: "claims"},
		Consistency: &v1.Consistency{AtLeastAsFresh: uint64(rev)}}
	res, err := c.Check(ctx, req)
	if err != nil || !res.Allowed || res.Revision < uint64(rev) {
		t.Fatalf("check at least as fresh as %d: %v, %v", rev, res, err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	req.Consistency.AtLeastAsFresh = uint64(rev) + 100
	if _, err := c.Check(short, req); connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "consistency.at_least_as_fresh") {
		t.Fatalf("a token from the future: %v, want invalid argument naming the field", err)
	}
	bulk := &v1.CheckBulkRequest{Checks: make([]*v1.CheckRequest, server.MaxBulk+1)}
	for i := range bulk.Checks {
		bulk.Checks[i] = &v1.CheckRequest{Subject: "bob", Permission: "view_sources", Target: &v1.Target{Scope: "claims"}}
	}
	if _, err := c.CheckBulk(ctx, bulk); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("an oversized bulk: %v, want invalid argument", err)
	}
	hres, err := ts.Client().Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer hres.Body.Close()
	if b, _ := io.ReadAll(hres.Body); hres.StatusCode != 200 || !strings.Contains(string(b), `"status":"serving"`) {
		t.Fatalf("healthz: %d %s", hres.StatusCode, b)
	}
}

// TestKeys: every call needs a valid key; an organization's key reaches
// nothing of another organization; admin acts run as the key's user.
func TestKeys(t *testing.T) {
	ts, _ := start(t)
	ctx := context.Background()
	check := &v1.CheckRequest{Subject: "bob", Permission: "view_sources", Target: &v1.Target{Scope: "claims"}}
	for _, as := range []string{"", "revoked"} {
		c := rolecallv1connect.NewAuthzServiceClient(conn(ts, as))
		if _, err := c.Check(ctx, check); connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("a call with key %q: %v, want unauthenticated", as, err)
		}
	}
	ann := rolecallv1connect.NewAuthzServiceClient(conn(ts, "ann"))
	if res, err := ann.Check(ctx, check); err != nil || !res.Allowed {
		t.Fatalf("ann's key checks in acme: %v, %v", res, err)
	}
	for name, call := range map[string]func() error{
		"check in globex": func() error {
			_, err := ann.Check(ctx, &v1.CheckRequest{Subject: "bob", Permission: "view_sources", Target: &v1.Target{Scope: "globex"}})
			return err
		},
		"lookup in globex": func() error {
			_, err := ann.LookupResources(ctx, &v1.LookupResourcesRequest{Subject: "bob", Permission: "view_sources", Type: "source", In: "globex"})
			return err
		},
		"subjects in globex": func() error {
			_, err := ann.LookupSubjects(ctx, &v1.LookupSubjectsRequest{Permission: "view_sources", Target: &v1.Target{Scope: "globex"}})
			return err
		},
		"audit of globex": func() error {
			_, err := rolecallv1connect.NewAdminServiceClient(conn(ts, "ann")).Audit(ctx, &v1.AuditRequest{Org: "globex"})
			return err
		},
	} {
		if err := call(); connect.CodeOf(err) != connect.CodeNotFound {
			t.Errorf("%s with acme's key: %v, want not found", name, err)
		}
	}
	annAdmin := rolecallv1connect.NewAdminServiceClient(conn(ts, "ann"))
	res, err := annAdmin.Act(ctx, &v1.ActRequest{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}})
	if err != nil || res.Revision == 0 || res.Audit.GetActor() != "ann" {
		t.Fatalf("ann grants through the API: %v, %v", res, err)
	}
	after, err := ann.Check(ctx, &v1.CheckRequest{Subject: "bob", Permission: "view_sensitive_data", Target: &v1.Target{Scope: "claims"},
		Consistency: &v1.Consistency{AtLeastAsFresh: res.Revision}})
	if err != nil || !after.Allowed {
		t.Fatalf("reading the grant back at its revision: %v, %v", after, err)
	}
	bobAdmin := rolecallv1connect.NewAdminServiceClient(conn(ts, "bob"))
	if _, err := bobAdmin.Act(ctx, &v1.ActRequest{Act: "grant_permissions", User: "ann", Scope: "claims", Permissions: []string{"view_labels"}}); connect.CodeOf(err) != connect.CodePermissionDenied ||
		!strings.Contains(err.Error(), "bob does not hold modify_users") {
		t.Fatalf("bob, without the right: %v, want permission denied naming it", err)
	}
	audit, err := annAdmin.Audit(ctx, &v1.AuditRequest{Org: "acme"})
	if err != nil || len(audit.Events) != 1 || audit.Events[0].Act != "grant_permissions" {
		t.Fatalf("the audit log through the API: %v, %v", audit, err)
	}
	ms, err := annAdmin.Members(ctx, &v1.MembersRequest{Org: "acme"})
	if err != nil || len(ms.Members) != 2 {
		t.Fatalf("members through the API: %v, %v", ms, err)
	}
	op := rolecallv1connect.NewAdminServiceClient(conn(ts, "operator"))
	if _, err := op.Act(ctx, &v1.ActRequest{Act: "create_organization", New: "initech", Name: "Initech"}); err != nil {
		t.Fatalf("the operator creates an organization: %v", err)
	}
}

// TestHealthAndReflection: the gRPC health protocol (no key needed) and
// server reflection.
func TestHealthAndReflection(t *testing.T) {
	ts, _ := start(t)
	res, err := ts.Client().Post(ts.URL+"/grpc.health.v1.Health/Check", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "SERVING") {
		t.Fatalf("health: %d %s", res.StatusCode, b)
	}
	rc := grpcreflect.NewClient(conn(ts, "", connecthttp.WithGRPC()))
	stream := rc.NewStream(context.Background())
	defer stream.Close()
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range names {
		got = append(got, string(n))
	}
	if !slices.Contains(got, rolecallv1connect.AuthzServiceName) || !slices.Contains(got, rolecallv1connect.AdminServiceName) {
		t.Fatalf("reflection lists %v", got)
	}
}

// TestWatchAndModel: Watch streams changes after a revision, only the
// key's organization's; the model can be read and model files checked.
func TestWatchAndModel(t *testing.T) {
	ts, st := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := rolecallv1connect.NewWatchServiceClient(conn(ts, "ann"))
	stream, err := w.Watch(ctx, &v1.WatchRequest{Kinds: []string{"binding"}})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var got []string
	for len(got) < 3 {
		c, err := stream.Receive()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, c.Key)
		if c.Org != "acme" || c.Kind != "binding" {
			t.Fatalf("acme's key received %s %s of %q", c.Kind, c.Key, c.Org)
		}
	}
	// a commit while watching arrives too
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		return tx.CreateBinding(&rolecall.Binding{ID: "live-one", Subject: rolecall.UserSubject("ann"), Permissions: []string{"view_labels"}, Scope: "claims"})
	}); err != nil {
		t.Fatal(err)
	}
	c, err := stream.Receive()
	if err != nil || c.Key != "live-one" {
		t.Fatalf("the change committed while watching: %v, %v", c, err)
	}

	m := rolecallv1connect.NewModelServiceClient(conn(ts, "bob"))
	got2, err := m.Get(ctx, &v1.GetModelRequest{})
	if err != nil || got2.Id != "reinfer" || !strings.Contains(got2.Text, "view_sources") {
		t.Fatalf("Get model = %v, %v", got2, err)
	}
	v, err := m.Validate(ctx, &v1.ValidateModelRequest{Name: "bad.yaml", Source: "model: x\nlevels: 3\n"})
	if err != nil || v.Ok || len(v.Problems) == 0 || !strings.Contains(v.Problems[0], "bad.yaml:") {
		t.Fatalf("Validate = %v, %v", v, err)
	}
}
