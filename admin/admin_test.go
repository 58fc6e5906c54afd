package admin_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/demo"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/testenv"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/sqlite"
)

// open returns an admin service over a SQLite store holding
// testdata/store/acme.jsonl: a Re:infer organization where ann and bob are
// members of project claims, and ann may modify its users.
func open(t testing.TB) (*admin.Service, rolecall.Store, *engine.Live) {
	t.Helper()
	w := testenv.OpenAcme(t)
	return admin.New(w.Model, w.Store, w.Live, nil), w.Store, w.Live
}

func may(t testing.TB, live *engine.Live, user, perm string, target rolecall.Target) bool {
	t.Helper()
	d, err := live.Engine().Check(engine.Request{Subject: user, Permission: perm, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	return d.Allowed
}

// TestActIsAuthorizedCommittedAuditedApplied follows one act end to end.
func TestActIsAuthorizedCommittedAuditedApplied(t *testing.T) {
	ctx := context.Background()
	svc, st, live := open(t)
	mail := rolecall.ResourceTarget("source", "mail")
	if may(t, live, "bob", "view_sensitive_data", mail) {
		t.Fatal("bob may view sensitive data before the grant")
	}
	res, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}})
	if err != nil {
		t.Fatal(err)
	}
	if live.Revision() != res.Revision {
		t.Fatalf("the index is at revision %d, the act committed at %d", live.Revision(), res.Revision)
	}
	if !may(t, live, "bob", "view_sensitive_data", mail) {
		t.Fatal("the grant is committed but the index does not show it")
	}
	evs, _, err := st.Audit(ctx, rolecall.AuditQuery{Org: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d audit events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.Actor != "ann" || ev.Act != "grant_permissions" || ev.Revision != res.Revision || !strings.Contains(string(ev.After), "view_sensitive_data") ||
		!strings.Contains(string(ev.Before), "view_sources") || !strings.Contains(ev.Decision, "modify_users") {
		t.Fatalf("audit event %+v", ev)
	}
}

// TestRefusals: each refusal has its kind and rule, says what to do, and
// writes nothing.
func TestRefusals(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := open(t)
	head, _ := st.Head(ctx)
	for _, tc := range []struct {
		name  string
		actor admin.Actor
		req   admin.Request
		kind  rolecall.Kind
		rule  string
		says  []string
	}{
		{"no right", admin.Actor{User: "bob"}, admin.Request{Act: "grant_permissions", User: "ann", Scope: "claims", Permissions: []string{"view_sources"}},
			rolecall.PermissionDenied, "authorization", []string{"bob does not hold modify_users", "project Claims"}},
		{"escalation", admin.Actor{User: "ann"}, admin.Request{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"datasets_admin"}},
			rolecall.FailedPrecondition, "no_escalation", []string{"ann does not hold datasets_admin", "grant it to bob directly"}},
		{"another organization", admin.Actor{User: "ann"}, admin.Request{Act: "add_member", User: "bob", Scope: "globex"},
			rolecall.NotFound, "globex", []string{"no such"}},
		{"unknown act", admin.Actor{User: "ann"}, admin.Request{Act: "bind_role", User: "bob", Role: "x", Scope: "claims"},
			rolecall.Invalid, "bind_role", []string{"does not offer"}},
		{"no actor", admin.Actor{}, admin.Request{Act: "add_member", User: "bob", Scope: "claims"},
			rolecall.Invalid, "actor", nil},
		{"a user created outside any scope", admin.Actor{User: "bob"}, admin.Request{Act: "create_user", User: "mallory"},
			rolecall.Invalid, "scope", []string{"only the operator"}},
	} {
		_, err := svc.Do(ctx, tc.actor, tc.req)
		var re *rolecall.Error
		if err == nil || !errorsAs(err, &re) || re.Kind != tc.kind || re.Name != tc.rule {
			t.Errorf("%s: got %v, want %s from %s", tc.name, err, tc.kind, tc.rule)
			continue
		}
		for _, s := range tc.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", tc.name, err, s)
			}
		}
	}
	if h, _ := st.Head(ctx); h != head {
		t.Fatalf("refused acts committed revision %d", h)
	}
}

func errorsAs(err error, re **rolecall.Error) bool {
	e, ok := err.(*rolecall.Error)
	*re = e
	return ok
}

// TestConcurrentActs: acts run concurrently are serialized by the store;
// none is lost.
func TestConcurrentActs(t *testing.T) {
	ctx := context.Background()
	svc, st, live := open(t)
	perms := []string{"view_sources", "view_sensitive_data", "view_labels", "review_and_label"}
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Permissions: perms, Scope: "claims"})
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(perms))
	for _, p := range perms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{p}})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range perms {
		if !may(t, live, "bob", p, rolecall.ScopeTarget("claims")) {
			t.Errorf("bob lacks %s: a concurrent grant was lost", p)
		}
	}
}

// TestConcurrentEditsConflict: two edits of one custom role based on the
// same read: one wins, the other is told the role changed; nothing is lost
// silently.
func TestConcurrentEditsConflict(t *testing.T) {
	ctx := context.Background()
	m, err := model.Preset("inbox")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "inbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base, err := st.Update(ctx, func(tx rolecall.Tx) error {
		for _, err := range []error{
			tx.CreateScope(rolecall.Scope{ID: "acme", Level: "organisation"}),
			tx.CreateUser(rolecall.User{ID: "ann"}),
			tx.CreateMembership(rolecall.Membership{User: "ann", Scope: "acme"}),
			tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Role: "administrator", Scope: "acme", Wildcard: true}),
			tx.CreateRole(rolecall.Role{ID: "auditor", Org: "acme", Grants: []rolecall.Grant{{Permission: "view_list"}}}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := admin.New(m, st, live, nil)
	results := make(chan error, 2)
	for _, p := range []string{"view_statistics", "upload"} {
		go func() {
			_, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: "update_custom_role", Org: "acme", Role: "auditor",
				Permissions: []string{"view_list", p}, Base: base})
			results <- err
		}()
	}
	var wins, conflicts int
	for range 2 {
		switch err := <-results; {
		case err == nil:
			wins++
		case rolecall.KindOf(err) == rolecall.Conflict && strings.Contains(err.Error(), "role acme/auditor"):
			conflicts++
		default:
			t.Fatalf("unexpected: %v", err)
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Fatalf("%d edits won and %d conflicted; want one of each", wins, conflicts)
	}
}

// BenchmarkAct is one admin act on SQLite, end to end: authorization by the
// engine, rules, the transaction with its audit event, the index's update.
// It alternates granting a permission directly and revoking it.
func BenchmarkAct(b *testing.B) {
	ctx := context.Background()
	svc, _, _ := open(b)
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		act := "grant_permissions"
		if i%2 == 1 {
			act = "revoke_permissions"
		}
		start := time.Now()
		if _, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: act, User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}}); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// TestMembers: the member list shows a member only the users sharing a
// project with them (Re:infer's visibility rule), the operator everyone;
// search and paging work on what is visible.
func TestMembers(t *testing.T) {
	ctx := context.Background()
	svc, st, _ := open(t)
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		if err := tx.CreateUser(rolecall.User{ID: "cleo", Name: "Cleo Park", Email: "cleo@acme.com"}); err != nil {
			return err
		}
		return tx.CreateMembership(rolecall.Membership{User: "cleo", Scope: "billing"})
	}); err != nil {
		t.Fatal(err)
	}
	ids := func(a admin.Actor, q admin.MemberQuery) []string {
		t.Helper()
		var out []string
		for {
			ms, next, err := svc.Members(ctx, a, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				out = append(out, m.ID)
			}
			if next == "" {
				return out
			}
			q.After = next
		}
	}
	for _, tc := range []struct {
		a    admin.Actor
		q    admin.MemberQuery
		want []string
	}{
		{admin.Actor{User: "ann"}, admin.MemberQuery{Org: "acme"}, []string{"ann", "bob"}},
		{admin.Actor{Operator: true}, admin.MemberQuery{Org: "acme", Limit: 1}, []string{"ann", "bob", "cleo"}},
		{admin.Actor{Operator: true}, admin.MemberQuery{Org: "acme", Search: "PARK"}, []string{"cleo"}},
	} {
		if got := ids(tc.a, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("Members(%v, %+v) = %v, want %v", tc.a, tc.q, got, tc.want)
		}
	}
	if _, _, err := svc.Members(ctx, admin.Actor{User: "cleo"}, admin.MemberQuery{Org: "acme"}); rolecall.KindOf(err) != rolecall.PermissionDenied {
		t.Errorf("a member without the right to view users: %v, want permission denied", err)
	}
	if _, _, err := svc.Members(ctx, admin.Actor{User: "ann"}, admin.MemberQuery{Org: "globex"}); rolecall.KindOf(err) != rolecall.NotFound {
		t.Errorf("another organization's members: %v, want not found", err)
	}
}

// TestJoinGivesTheDefaultSet: a user added to a Re:infer project gets the
// default member set there, as a direct grant admins may change later.
func TestJoinGivesTheDefaultSet(t *testing.T) {
	ctx := context.Background()
	svc, st, live := open(t)
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		if err := tx.CreateUser(rolecall.User{ID: "dan"}); err != nil {
			return err
		}
		return tx.CreateMembership(rolecall.Membership{User: "dan", Scope: "billing"})
	}); err != nil {
		t.Fatal(err)
	}
	// dan shares no project with ann yet: ann cannot pick him
	if _, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: "add_member", User: "dan", Scope: "claims"}); rolecall.KindOf(err) != rolecall.NotFound {
		t.Fatalf("adding a user ann shares no project with: %v, want not found", err)
	}
	if _, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: "create_user", User: "eve", Scope: "claims"}); err != nil {
		t.Fatal(err)
	}
	if !may(t, live, "eve", "view_sources", rolecall.ScopeTarget("claims")) || !may(t, live, "eve", "view_labels", rolecall.ScopeTarget("claims")) {
		t.Fatal("a user created in claims lacks the default member set there")
	}
	if may(t, live, "eve", "view_sources", rolecall.ScopeTarget("billing")) {
		t.Fatal("the default member set leaked to another project")
	}
}

// TestBindOnResource binds a role on one resource and unbinds it.
func TestBindOnResource(t *testing.T) {
	ctx := context.Background()
	m, err := modelfile.Load("../testdata/model/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "example.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		for _, err := range []error{
			tx.CreateScope(rolecall.Scope{ID: "acme", Level: "organization"}),
			tx.CreateScope(rolecall.Scope{ID: "w1", Level: "workspace", Parent: "acme"}),
			tx.CreateScope(rolecall.Scope{ID: "p1", Level: "project", Parent: "w1"}),
			tx.CreateUser(rolecall.User{ID: "bob"}),
			tx.CreateMembership(rolecall.Membership{User: "bob", Scope: "acme"}),
			tx.CreateResource(rolecall.Resource{Type: "source", ID: "s1", Scope: "p1"}),
			tx.CreateResource(rolecall.Resource{Type: "dataset", ID: "d1", Scope: "p1",
				Inputs: map[string][]rolecall.ResourceRef{"sources": {{Type: "source", ID: "s1"}}}}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := admin.New(m, st, live, nil)
	d1 := rolecall.ResourceTarget("dataset", "d1")
	req := admin.Request{Act: "bind_role", User: "bob", Role: "viewer", Resource: &rolecall.ResourceRef{Type: "dataset", ID: "d1"}}
	if _, err := svc.Do(ctx, admin.Actor{Operator: true}, req); err != nil {
		t.Fatal(err)
	}
	if !may(t, live, "bob", "view_datasets", d1) || may(t, live, "bob", "view_datasets", rolecall.ScopeTarget("p1")) {
		t.Fatal("a role bound on d1 should give bob view_datasets on d1 and nowhere else")
	}
	req.Act = "unbind_role"
	if _, err := svc.Do(ctx, admin.Actor{Operator: true}, req); err != nil {
		t.Fatal(err)
	}
	if may(t, live, "bob", "view_datasets", d1) {
		t.Fatal("the unbound role still gives bob view_datasets on d1")
	}
}

// exampleWorld opens the example model with acme (workspace w1, project
// p1), olga its only Owner, ann its org admin, and bob a member of w1.
func exampleWorld(t *testing.T) (*admin.Service, *engine.Live) {
	t.Helper()
	ctx := context.Background()
	m, err := modelfile.Load("../testdata/model/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "example.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		for _, err := range []error{
			tx.CreateScope(rolecall.Scope{ID: "acme", Level: "organization", Name: "Acme"}),
			tx.CreateScope(rolecall.Scope{ID: "w1", Level: "workspace", Parent: "acme"}),
			tx.CreateScope(rolecall.Scope{ID: "p1", Level: "project", Parent: "w1"}),
			tx.CreateUser(rolecall.User{ID: "olga"}), tx.CreateUser(rolecall.User{ID: "ann"}), tx.CreateUser(rolecall.User{ID: "bob"}),
			tx.CreateMembership(rolecall.Membership{User: "olga", Scope: "acme"}),
			tx.CreateMembership(rolecall.Membership{User: "ann", Scope: "acme"}),
			tx.CreateMembership(rolecall.Membership{User: "ann", Scope: "w1"}),
			tx.CreateMembership(rolecall.Membership{User: "bob", Scope: "w1"}),
			tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("olga"), Role: "owner", Scope: "acme"}),
			tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Role: "org_admin", Scope: "acme"}),
		} {
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return admin.New(m, st, live, nil), live
}

// TestRulesCannotBeSidestepped: acts that would reach what a rule forbids
// by another way are refused too.
func TestRulesCannotBeSidestepped(t *testing.T) {
	ctx := context.Background()
	svc, live := exampleWorld(t)
	op := admin.Actor{Operator: true}
	ann := admin.Actor{User: "ann"}
	for _, tc := range []struct {
		name  string
		actor admin.Actor
		req   admin.Request
		kind  rolecall.Kind
		rule  string
	}{
		{"removing the last Owner's membership", op, admin.Request{Act: "remove_member", User: "olga", Scope: "acme"}, rolecall.FailedPrecondition, "min_holders"},
		{"deleting the last Owner", op, admin.Request{Act: "delete_user", User: "olga"}, rolecall.FailedPrecondition, "min_holders"},
		{"inviting with a role not bindable there", ann, admin.Request{Act: "invite", Email: "dave@acme.com", Scope: "p1", Role: "workspace_admin"}, rolecall.FailedPrecondition, "bindable_at"},
		{"acting beyond the key's organization", admin.Actor{User: "ann", Org: "globex"}, admin.Request{Act: "add_member", User: "bob", Scope: "p1"}, rolecall.NotFound, "add_member"},
	} {
		_, err := svc.Do(ctx, tc.actor, tc.req)
		var re *rolecall.Error
		if !errorsAs(err, &re) || re.Kind != tc.kind || re.Name != tc.rule {
			t.Errorf("%s: %v, want %s from %s", tc.name, err, tc.kind, tc.rule)
		}
	}
	if !may(t, live, "olga", "manage_workspaces", rolecall.ScopeTarget("acme")) {
		t.Fatal("olga lost the Owner role")
	}
}

// TestGrantKeepsTimeBounds: a time-bound grant does not change the bounds
// of the permissions granted before it.
func TestGrantKeepsTimeBounds(t *testing.T) {
	ctx := context.Background()
	svc, _, live := open(t)
	past := time.Now().Add(-time.Hour)
	if _, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: "grant_permissions", User: "bob", Scope: "claims",
		Permissions: []string{"view_sensitive_data"}, NotAfter: past}); err != nil {
		t.Fatal(err)
	}
	if !may(t, live, "bob", "view_sources", rolecall.ScopeTarget("claims")) {
		t.Fatal("an expired grant took bob's permanent view_sources with it")
	}
	if may(t, live, "bob", "view_sensitive_data", rolecall.ScopeTarget("claims")) {
		t.Fatal("the expired grant gives view_sensitive_data")
	}
}

// TestUnbindWildcard: unbinding a role on "*" removes the wildcard binding
// and leaves the same role bound at the organization itself.
func TestUnbindWildcard(t *testing.T) {
	ctx := context.Background()
	svc, live := exampleWorld(t)
	op := admin.Actor{Operator: true}
	req := admin.Request{Act: "bind_role", User: "ann", Role: "org_admin", Scope: "*", Org: "acme"}
	if _, err := svc.Do(ctx, op, req); err != nil {
		t.Fatal(err)
	}
	req.Act = "unbind_role"
	res, err := svc.Do(ctx, op, req)
	if err != nil {
		t.Fatal(err)
	}
	var gone rolecall.Binding
	if err := json.Unmarshal(res.Audit.Before, &gone); err != nil {
		t.Fatal(err)
	}
	if !gone.Wildcard || gone.Scope != "acme" || gone.Role != "org_admin" {
		t.Fatalf("unbinding on \"*\" removed %+v, want the wildcard binding", gone)
	}
	var re *rolecall.Error
	if _, err := svc.Do(ctx, op, req); !errorsAs(err, &re) || re.Kind != rolecall.NotFound {
		t.Fatalf("unbinding on \"*\" again: %v, want NotFound", err)
	}
	if !may(t, live, "ann", "manage_workspaces", rolecall.ScopeTarget("acme")) {
		t.Fatal("ann lost org_admin at acme")
	}
}

// TestDoAll: several acts commit together at one revision, each audited, or
// none does when one is refused.
func TestDoAll(t *testing.T) {
	ctx := context.Background()
	svc, st, live := open(t)
	mail := rolecall.ResourceTarget("source", "mail")
	head, _ := st.Head(ctx)
	_, err := svc.DoAll(ctx, admin.Actor{User: "ann"}, []admin.Request{
		{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}},
		{Act: "grant_permissions", User: "bob", Scope: "nowhere", Permissions: []string{"view_sources"}},
	})
	if rolecall.KindOf(err) != rolecall.NotFound || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("a batch with an act on an unknown scope: %v", err)
	}
	if h, _ := st.Head(ctx); h != head || may(t, live, "bob", "view_sensitive_data", mail) {
		t.Fatalf("a refused batch wrote something: head %d -> %d", head, h)
	}
	res, err := svc.DoAll(ctx, admin.Actor{User: "ann"}, []admin.Request{
		{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}},
		{Act: "revoke_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}},
		{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Revision != res[2].Revision || res[0].Revision != head+1 {
		t.Fatalf("results %+v, want three at revision %d", res, head+1)
	}
	if !may(t, live, "bob", "view_sensitive_data", mail) {
		t.Fatal("the batch's last grant is not in the index")
	}
	evs, _, err := st.Audit(ctx, rolecall.AuditQuery{Org: "acme"})
	if err != nil || len(evs) != 3 {
		t.Fatalf("%d audit events (%v), want 3", len(evs), err)
	}
	if _, err := svc.DoAll(ctx, admin.Actor{User: "ann"}, nil); rolecall.KindOf(err) != rolecall.Invalid {
		t.Fatalf("an empty batch: %v", err)
	}
}

// TestMay: read acts follow the model's rights, with their fallbacks.
func TestMay(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := open(t)
	for _, tc := range []struct {
		actor admin.Actor
		org   string
		act   string
		want  rolecall.Kind
	}{
		{admin.Actor{Operator: true}, "acme", "explain_other", 0},
		{admin.Actor{User: "ann"}, "acme", "view_members", 0},
		{admin.Actor{User: "ann"}, "acme", "view_bindings", 0},
		{admin.Actor{User: "ann"}, "acme", "explain_other", 0},
		{admin.Actor{User: "bob"}, "acme", "explain_other", rolecall.PermissionDenied},
		{admin.Actor{User: "bob"}, "acme", "view_audit", rolecall.PermissionDenied},
		{admin.Actor{User: "ann"}, "elsewhere", "view_members", rolecall.NotFound},
		{admin.Actor{User: "ann", Org: "other"}, "acme", "view_members", rolecall.NotFound},
		{admin.Actor{User: "ann"}, "acme", "delete_everything", rolecall.Invalid},
		// Re:infer names no right to export a tenant: the operator's alone
		{admin.Actor{User: "ann"}, "acme", "export_organization", rolecall.PermissionDenied},
		{admin.Actor{Operator: true}, "acme", "export_organization", 0},
	} {
		err := svc.May(ctx, tc.actor, tc.org, tc.act)
		if got := rolecall.KindOf(err); (err == nil) != (tc.want == 0) || (err != nil && got != tc.want) {
			t.Errorf("%s %s in %s: %v, want kind %v", tc.actor, tc.act, tc.org, err, tc.want)
		}
	}
}

// TestMayExport: exporting an organization needs the model's right on the
// organization itself; the same right on a node below it is not enough
// (Labelbox: the tenant admin may, a workspace admin may not).
func TestMayExport(t *testing.T) {
	ctx := context.Background()
	w := testenv.Open(t, "labelbox", "")
	if _, _, err := demo.Seed(ctx, w.Store, "labelbox"); err != nil {
		t.Fatal(err)
	}
	svc := admin.New(w.Model, w.Store, w.Live, nil)
	if err := svc.May(ctx, admin.Actor{User: "tara"}, "acme", "export_organization"); err != nil {
		t.Errorf("the tenant admin: %v", err)
	}
	err := svc.May(ctx, admin.Actor{User: "ana"}, "acme", "export_organization")
	if rolecall.KindOf(err) != rolecall.PermissionDenied || !strings.Contains(err.Error(), "create_custom_roles on the organization") {
		t.Errorf("a workspace admin: %v, want permission denied naming create_custom_roles on the organization", err)
	}
}
