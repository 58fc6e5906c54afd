package client_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// serve runs a server over testdata/store/acme.jsonl and returns its
// address and a key of ann's.
func serve(t *testing.T) (string, string) {
	t.Helper()
	w := testenv.OpenAcme(t)
	_, token := w.Key(t, "acme", "ann")
	return testenv.Serve(t, server.Handler(w.Options()), false).URL, token
}

func TestClient(t *testing.T) {
	addr, key := serve(t)
	ctx := context.Background()
	c := client.New(addr, key)
	mail := rolecall.ResourceTarget("source", "mail")

	d, rev, err := c.Check(ctx, client.Question{Subject: "bob", Permission: "view_sources", Target: mail})
	if err != nil || !d.Allowed || rev != 1 {
		t.Fatalf("Check = %v, %d, %v", d, rev, err)
	}
	d, _, err = c.Explain(ctx, client.Question{Subject: "bob", Permission: "sources_admin", Target: mail})
	if err != nil || d.Allowed || d.Explanation == nil || len(d.Explanation.Missing) == 0 || !strings.Contains(d.Explanation.String(), "sources_admin") {
		t.Fatalf("Explain = %+v, %v", d, err)
	}
	answers, _, err := c.CheckBulk(ctx, []client.Question{
		{Subject: "bob", Permission: "view_sources", Target: mail},
		{Subject: "nobody", Permission: "view_sources", Target: mail},
	}, client.Consistency{})
	if err != nil || !answers[0].Decision.Allowed || rolecall.KindOf(answers[1].Err) != rolecall.NotFound {
		t.Fatalf("CheckBulk = %+v, %v", answers, err)
	}
	eff, _, err := c.Effective(ctx, "ann", mail, client.Consistency{})
	if err != nil || len(eff["view_sensitive_data"]) == 0 {
		t.Fatalf("Effective = %v, %v", eff, err)
	}
	ids, next, err := c.LookupResources(ctx, "bob", "view_sources", "source", "", rolecall.Page{Limit: 1}, client.Consistency{})
	if err != nil || len(ids) != 1 || next == "" {
		t.Fatalf("LookupResources = %v, %q, %v", ids, next, err)
	}
	users, _, _, err := c.LookupSubjects(ctx, "view_sources", mail, false, rolecall.Page{}, client.Consistency{})
	if err != nil || strings.Join(users, ",") != "ann,bob" {
		t.Fatalf("LookupSubjects = %v, %v", users, err)
	}

	done, err := c.Do(ctx, client.Act{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}})
	if err != nil || done.Revision <= rev || done.Audit.Actor != "ann" {
		t.Fatalf("Do = %+v, %v", done, err)
	}
	d, _, err = c.Check(ctx, client.Question{Subject: "bob", Permission: "view_sensitive_data", Target: mail,
		Consistency: client.Consistency{AtLeastAsFresh: done.Revision}})
	if err != nil || !d.Allowed {
		t.Fatalf("reading the grant back: %v, %v", d, err)
	}
	_, err = c.Do(ctx, client.Act{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"datasets_admin"}})
	if rolecall.KindOf(err) != rolecall.FailedPrecondition || !strings.Contains(err.Error(), "ann does not hold datasets_admin") {
		t.Fatalf("an escalation: %v, want a failed precondition saying why", err)
	}
	evs, _, err := c.Audit(ctx, rolecall.AuditQuery{Org: "acme"})
	if err != nil || len(evs) != 1 || string(evs[0].After) == "" {
		t.Fatalf("Audit = %+v, %v", evs, err)
	}
	if _, _, err := client.New(addr, "rck_nope.nope").Check(ctx, client.Question{Subject: "bob", Permission: "view_sources", Target: mail}); rolecall.KindOf(err) != rolecall.PermissionDenied {
		t.Fatalf("a bad key: %v, want permission denied", err)
	}
}
