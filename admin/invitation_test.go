package admin_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/internal/demo"
	"github.com/rolecall/rolecall/internal/testenv"
)

// openPreset is an admin service over a preset's demo organization.
func openPreset(t *testing.T, preset string) (*admin.Service, *testenv.World) {
	t.Helper()
	w := testenv.Open(t, preset, "")
	if _, _, err := demo.Seed(context.Background(), w.Store, preset); err != nil {
		t.Fatal(err)
	}
	return admin.New(w.Model, w.Store, w.Live, nil), w
}

// TestInvitationLink: invite returns a link token once; whoever holds it
// accepts without an account (one is made for the invited address, with
// the name given), joins with the invited role, and the audit names the
// new user. A resent invitation has a new link and the old one stops
// working; a used, revoked or forged link is refused and writes nothing.
func TestInvitationLink(t *testing.T) {
	ctx := context.Background()
	svc, w := openPreset(t, "labelbox")
	ana := admin.Actor{User: "ana"}
	res, err := svc.Do(ctx, ana, admin.Request{Act: "invite", Email: "New.Person@Acme.io", Scope: "W1", Role: "labeler"})
	if err != nil {
		t.Fatal(err)
	}
	first := res.Link
	if !strings.Contains(first, ".") {
		t.Fatalf("invite returned link token %q", first)
	}
	if strings.Contains(string(res.Audit.After), strings.SplitN(first, ".", 2)[1]) {
		t.Fatal("the audit event holds the link's secret")
	}
	res, err = svc.Do(ctx, ana, admin.Request{Act: "resend_invitation", Email: "new.person@acme.io", Scope: "W1"})
	if err != nil {
		t.Fatal(err)
	}
	second := res.Link
	if second == first || second == "" {
		t.Fatalf("resend returned link %q after %q; want a new one", second, first)
	}
	anon := admin.Actor{}
	head, _ := w.Store.Head(ctx)
	for name, tc := range map[string]struct {
		actor admin.Actor
		token string
		kind  rolecall.Kind
	}{
		"the link before the resend": {anon, first, rolecall.NotFound},
		"a forged secret":            {anon, strings.SplitN(second, ".", 2)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAA", rolecall.NotFound},
		"not a token":                {anon, "nodot", rolecall.Invalid},
		"another user signed in":     {admin.Actor{User: "ben"}, second, rolecall.FailedPrecondition},
	} {
		_, err := svc.Do(ctx, tc.actor, admin.Request{Act: "accept_invitation", Token: tc.token})
		if rolecall.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want %v", name, err, tc.kind)
		}
	}
	if h, _ := w.Store.Head(ctx); h != head {
		t.Fatalf("refused acceptances moved the head from %d to %d", head, h)
	}
	if _, err := svc.Do(ctx, anon, admin.Request{Act: "invite", Email: "x@acme.io", Scope: "W1"}); rolecall.KindOf(err) != rolecall.Invalid {
		t.Fatalf("an act without an actor and without a link: %v, want Invalid", err)
	}

	res, err = svc.Do(ctx, anon, admin.Request{Act: "accept_invitation", Token: second, Name: "New Person"})
	if err != nil {
		t.Fatal(err)
	}
	if res.User != "new.person@acme.io" || res.Audit.Actor != res.User {
		t.Fatalf("accepted as %q, audit actor %q; want the invited address's new account", res.User, res.Audit.Actor)
	}
	e := w.Live.Engine()
	if u, ok := e.User(res.User); !ok || u.Name != "New Person" || u.Email != "new.person@acme.io" {
		t.Fatalf("the new user: %+v %v", u, ok)
	}
	if ms := e.Memberships(res.User, "acme"); len(ms) != 1 || ms[0].Scope != "W1" {
		t.Fatalf("the invitee's memberships: %+v; want W1", ms)
	}
	var role string
	for _, b := range e.Bindings(rolecall.UserSubject(res.User), "acme") {
		role = b.Role
	}
	if role != "labeler" {
		t.Fatalf("the invitee holds %q, want the invited labeler", role)
	}
	if _, err := svc.Do(ctx, anon, admin.Request{Act: "accept_invitation", Token: second}); rolecall.KindOf(err) != rolecall.NotFound {
		t.Fatalf("a used link: %v, want NotFound", err)
	}

	// an existing account with the address joins as itself
	if _, err := w.Store.Update(ctx, func(tx rolecall.Tx) error {
		return tx.CreateUser(rolecall.User{ID: "olga", Email: "olga@acme.io"})
	}); err != nil {
		t.Fatal(err)
	}
	res, err = svc.Do(ctx, ana, admin.Request{Act: "invite", Email: "olga@acme.io", Scope: "W1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = svc.Do(ctx, admin.Actor{User: "olga"}, admin.Request{Act: "accept_invitation", Token: res.Link})
	if err != nil || res.User != "olga" {
		t.Fatalf("olga accepting her link: %q, %v", res.User, err)
	}
}

// TestCustomRoleNotNamedLikeABuiltIn: a custom role cannot take the id of
// one of the model's built-in roles (it would shadow it in every list).
func TestCustomRoleNotNamedLikeABuiltIn(t *testing.T) {
	ctx := context.Background()
	svc, w := openPreset(t, "inbox")
	head, _ := w.Store.Head(ctx)
	_, err := svc.Do(ctx, admin.Actor{User: "ann"}, admin.Request{Act: "create_custom_role", Org: "acme", Name: "Administrator", Permissions: []string{"documents.view"}})
	if rolecall.KindOf(err) != rolecall.Conflict || !strings.Contains(err.Error(), "built-in role administrator") {
		t.Fatalf("a custom role named Administrator: %v", err)
	}
	if h, _ := w.Store.Head(ctx); h != head {
		t.Fatal("the refused role was written")
	}
}

// TestManyConcurrentWriters: acts from several writers at once all commit; none
// is refused because another committed between its sync and its
// transaction.
func TestManyConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	svc, w := openPreset(t, "labelbox")
	const writers, each = 4, 25
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := svc.Do(ctx, admin.Actor{User: "ana"}, admin.Request{Act: "invite", Email: fmt.Sprintf("w%d-%d@acme.io", g, i), Scope: "W1"})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("an act among %d concurrent writers: %v", writers, err)
		}
	}
	invs, err := svc.Invitations(ctx, admin.Actor{User: "ana"}, "acme")
	if err != nil || len(invs) != writers*each {
		t.Fatalf("%d invitations (%v), want %d", len(invs), err, writers*each)
	}
	if w.Live.Revision() == 0 {
		t.Fatal("the index did not follow")
	}
}
