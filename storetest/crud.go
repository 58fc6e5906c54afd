package storetest

import (
	"testing"

	"github.com/rolecall/rolecall"
)

// testEmpty: a new store is at revision 0 and holds nothing.
func testEmpty(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	if h := head(t, s); h != 0 {
		t.Errorf("Head of a new store = %d, want 0", h)
	}
	snap := snapshot(t, s)
	if snap.Revision != 0 {
		t.Errorf("Snapshot of a new store at revision %d, want 0", snap.Revision)
	}
	checkState(t, "snapshot of a new store", snapshotState(snap), state{})
	if cs := allChanges(t, s, 0); len(cs) != 0 {
		t.Errorf("a new store has %d changes, want none", len(cs))
	}
	events, next, err := s.Audit(t.Context(), rolecall.AuditQuery{Org: "acme"})
	if err != nil || len(events) != 0 || next != "" {
		t.Errorf("Audit of a new store = %d events, next %q, error %v; want none", len(events), next, err)
	}
}

// testCreateAndReadBack: every kind created through Update reads back
// through Snapshot (invitations and domains through the change log), and
// every change reports its object's organization.
func testCreateAndReadBack(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, rev := seed(t, open)
	want := f.state()
	snap := snapshot(t, s)
	if snap.Revision != rev {
		t.Errorf("Snapshot at revision %d, want %d (the revision Update returned)", snap.Revision, rev)
	}
	checkState(t, "snapshot", snapshotState(snap), want.only(snapshotKinds...))
	cs := allChanges(t, s, 0)
	checkState(t, "replayed change log", replay(t, cs), want)
	for _, c := range cs {
		if c.Revision != rev {
			t.Errorf("%s %q changed at revision %d, want %d", c.Kind, c.Key, c.Revision, rev)
		}
		if c.Deleted {
			t.Errorf("%s %q: a creation is logged as a deletion", c.Kind, c.Key)
		}
		org, ok := f.orgs[string(c.Kind)+" "+c.Key]
		if !ok {
			t.Errorf("unexpected change of %s %q", c.Kind, c.Key)
			continue
		}
		if c.Org != org {
			t.Errorf("%s %q: change reports organization %q, want %q", c.Kind, c.Key, c.Org, org)
		}
	}
	if len(cs) != len(f.orgs) {
		t.Errorf("the change log has %d changes, want %d (one per object created)", len(cs), len(f.orgs))
	}
}

// testReplace: every Replace method replaces the whole object, and the
// change carries the new value.
func testReplace(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, rev0 := seed(t, open)
	f.scopes[1].Name = "Workspace one"
	f.scopes[1].Attrs = map[string]any{"plan": "free"}
	f.users[0].Email = "ann@example.com"
	f.users[1].Attrs = nil
	f.memberships[0].DefaultRole = "admin"
	f.groups[0].Name = "Engineers"
	f.resources[0].Owner = "bob"
	f.resources[0].Attrs = map[string]any{"published": true}
	f.resources[2].Scope = "p1" // a move within the organization
	f.resources[2].Groups = nil
	f.resources[3].Inputs = nil
	f.roles[0].Grants = []rolecall.Grant{{Permission: "view"}}
	f.offers[0].State = rolecall.OfferAccepted
	f.invitations[0].State = "revoked"
	rev := update(t, s, func(tx rolecall.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.ReplaceScope(f.scopes[1]) },
			func() error { return tx.ReplaceUser(f.users[0]) },
			func() error { return tx.ReplaceUser(f.users[1]) },
			func() error { return tx.ReplaceMembership(f.memberships[0]) },
			func() error { return tx.ReplaceGroup(f.groups[0]) },
			func() error { return tx.ReplaceResource(f.resources[0]) },
			func() error { return tx.ReplaceResource(f.resources[2]) },
			func() error { return tx.ReplaceResource(f.resources[3]) },
			func() error { return tx.ReplaceRole(f.roles[0]) },
			func() error { return tx.ReplaceOffer(f.offers[0]) },
			func() error { return tx.ReplaceInvitation(f.invitations[0]) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if rev <= rev0 {
		t.Errorf("Update returned revision %d after %d", rev, rev0)
	}
	want := f.state()
	checkState(t, "snapshot after replacing", snapshotState(snapshot(t, s)), want.only(snapshotKinds...))
	cs := allChanges(t, s, rev0)
	checkState(t, "replayed change log", replay(t, allChanges(t, s, 0)), want)
	if len(cs) != 11 {
		t.Errorf("11 replacements logged %d changes", len(cs))
	}
	for _, c := range cs {
		if c.Deleted {
			t.Errorf("replacing %s %q is logged as a deletion", c.Kind, c.Key)
		}
		if org := f.orgs[string(c.Kind)+" "+c.Key]; c.Org != org {
			t.Errorf("%s %q: change reports organization %q, want %q", c.Kind, c.Key, c.Org, org)
		}
	}
	// dataset:d2 no longer has source:s1 as an input, so it can go.
	update(t, s, func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjResource, "source:s1") })
}

// testDelete: every kind can be deleted by key once nothing refers to it;
// the change log records the deletion with the object's organization and
// no value.
func testDelete(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, rev0 := seed(t, open)
	order := []struct {
		kind rolecall.ObjectKind
		key  string
	}{
		{rolecall.ObjDomain, "acme.com"},
		{rolecall.ObjInvitation, "i1"},
		{rolecall.ObjOffer, "o1"},
		{rolecall.ObjBinding, "b1"}, {rolecall.ObjBinding, "b2"}, {rolecall.ObjBinding, "b3"}, {rolecall.ObjBinding, "b4"},
		{rolecall.ObjRole, "acme/editor"}, {rolecall.ObjRole, "acme/w1/labeler"},
		{rolecall.ObjResource, "dataset:d2"}, {rolecall.ObjResource, "label:l1"}, {rolecall.ObjResource, "dataset:d1"}, {rolecall.ObjResource, "source:s1"},
		{rolecall.ObjGroupMember, "eng/ann"}, {rolecall.ObjGroupMember, "eng/bob"},
		{rolecall.ObjGroup, "eng"}, {rolecall.ObjGroup, "everyone"},
		{rolecall.ObjMembership, "ann@acme"}, {rolecall.ObjMembership, "bob@w1"}, {rolecall.ObjMembership, "cat@globex.com@globex"},
		{rolecall.ObjUser, "ann"}, {rolecall.ObjUser, "bob"}, {rolecall.ObjUser, "cat@globex.com"},
		{rolecall.ObjScope, "p1"}, {rolecall.ObjScope, "w1"}, {rolecall.ObjScope, "acme"}, {rolecall.ObjScope, "globex"},
	}
	// Half in one transaction, the rest one per transaction.
	half := len(order) / 2
	update(t, s, func(tx rolecall.Tx) error {
		for _, d := range order[:half] {
			if err := tx.Delete(d.kind, d.key); err != nil {
				return err
			}
		}
		return nil
	})
	for _, d := range order[half:] {
		update(t, s, func(tx rolecall.Tx) error { return tx.Delete(d.kind, d.key) })
	}
	checkState(t, "snapshot after deleting everything", snapshotState(snapshot(t, s)), state{})
	cs := allChanges(t, s, rev0)
	if len(cs) != len(order) {
		t.Fatalf("%d deletions logged %d changes", len(order), len(cs))
	}
	for i, c := range cs {
		if c.Kind != order[i].kind || c.Key != order[i].key || !c.Deleted {
			t.Errorf("change %d = %s %q deleted=%v, want deletion of %s %q", i, c.Kind, c.Key, c.Deleted, order[i].kind, order[i].key)
		}
		if org := f.orgs[string(c.Kind)+" "+c.Key]; c.Org != org {
			t.Errorf("deletion of %s %q reports organization %q, want %q", c.Kind, c.Key, c.Org, org)
		}
	}
	checkState(t, "replayed change log", replay(t, allChanges(t, s, 0)), state{})
	// A deleted key can be created again.
	update(t, s, func(tx rolecall.Tx) error { return tx.CreateScope(f.scopes[0]) })
}

// testCreateExisting: creating an existing key is a Conflict naming it.
func testCreateExisting(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, rev := seed(t, open)
	cases := []struct {
		name    string
		op      func(rolecall.Tx) error
		mention string
	}{
		{"scope", func(tx rolecall.Tx) error {
			return tx.CreateScope(rolecall.Scope{ID: "w1", Parent: "acme", Name: "again"})
		}, "w1"},
		{"user", func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "ann"}) }, "ann"},
		{"membership", func(tx rolecall.Tx) error { return tx.CreateMembership(f.memberships[0]) }, "ann@acme"},
		{"group", func(tx rolecall.Tx) error { return tx.CreateGroup(rolecall.Group{ID: "eng", Scope: "w1"}) }, "eng"},
		{"group member", func(tx rolecall.Tx) error { return tx.CreateGroupMember(f.groupMembers[1]) }, "eng/bob"},
		{"resource", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "dataset", ID: "d1", Scope: "w1"})
		}, "dataset:d1"},
		{"role", func(tx rolecall.Tx) error {
			return tx.CreateRole(rolecall.Role{ID: "labeler", Org: "acme", Scope: "w1"})
		}, "acme/w1/labeler"},
		{"binding", func(tx rolecall.Tx) error { b := f.bindings[1]; return tx.CreateBinding(&b) }, "b2"},
		{"offer", func(tx rolecall.Tx) error { o := f.offers[0]; return tx.CreateOffer(&o) }, "o1"},
		{"invitation", func(tx rolecall.Tx) error { i := f.invitations[0]; return tx.CreateInvitation(&i) }, "i1"},
		{"domain", func(tx rolecall.Tx) error { return tx.CreateDomain(rolecall.Domain{Org: "globex", Domain: "acme.com"}) }, "acme.com"},
		{"scope created twice in one transaction", func(tx rolecall.Tx) error {
			if err := tx.CreateScope(rolecall.Scope{ID: "new"}); err != nil {
				return err
			}
			return tx.CreateScope(rolecall.Scope{ID: "new"})
		}, "new"},
		{"audit event", func(tx rolecall.Tx) error {
			if err := tx.AppendAudit(&rolecall.AuditEvent{ID: "e1", Org: "acme", Act: "x"}); err != nil {
				return err
			}
			return tx.AppendAudit(&rolecall.AuditEvent{ID: "e1", Org: "acme", Act: "y"})
		}, "e1"},
	}
	for _, tc := range cases {
		_, err := s.Update(t.Context(), tc.op)
		wantErr(t, tc.name, err, rolecall.Conflict, tc.mention)
	}
	if h := head(t, s); h != rev {
		t.Errorf("failed Updates moved Head from %d to %d", rev, h)
	}
}

// testRefusedCreateGoesOn: a create refused as a Conflict leaves the
// transaction usable: what else it writes commits. A key deleted in a
// transaction can be created again in it, and a scope created in it can be
// referred to at once.
func testRefusedCreateGoesOn(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	_, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
		if err := tx.CreateUser(rolecall.User{ID: "ann"}); rolecall.KindOf(err) != rolecall.Conflict {
			t.Errorf("creating ann again: %v, want a conflict", err)
		}
		if err := tx.CreateScope(rolecall.Scope{ID: "w1", Parent: "acme"}); rolecall.KindOf(err) != rolecall.Conflict {
			t.Errorf("creating w1 again: %v, want a conflict", err)
		}
		if err := tx.CreateUser(rolecall.User{ID: "zed"}); err != nil {
			return err
		}
		if err := tx.CreateScope(rolecall.Scope{ID: "w9", Parent: "acme"}); err != nil {
			return err
		}
		if err := tx.CreateResource(rolecall.Resource{Type: "dataset", ID: "d9", Scope: "w9"}); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjResource, "dataset:d9"); err != nil {
			return err
		}
		return tx.CreateResource(rolecall.Resource{Type: "dataset", ID: "d9", Scope: "w9"})
	})
	if err != nil {
		t.Fatalf("the transaction after refused creates: %v", err)
	}
	update(t, s, func(tx rolecall.Tx) error {
		if ok, err := tx.Get(rolecall.ObjUser, "zed", &rolecall.User{}); !ok || err != nil {
			t.Errorf("zed after the transaction: %v, %v", ok, err)
		}
		var r rolecall.Resource
		if ok, err := tx.Get(rolecall.ObjResource, "dataset:d9", &r); !ok || err != nil || r.Scope != "w9" {
			t.Errorf("dataset d9 after the transaction: %v, %v, %v", r, ok, err)
		}
		return nil
	})
}

// testReplaceMissing: replacing a missing key is NotFound naming it.
func testReplaceMissing(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	cases := []struct {
		name    string
		op      func(rolecall.Tx) error
		mention string
	}{
		{"scope", func(tx rolecall.Tx) error { return tx.ReplaceScope(rolecall.Scope{ID: "nope", Parent: "acme"}) }, "nope"},
		{"user", func(tx rolecall.Tx) error { return tx.ReplaceUser(rolecall.User{ID: "nope"}) }, "nope"},
		{"membership", func(tx rolecall.Tx) error {
			return tx.ReplaceMembership(rolecall.Membership{User: "bob", Scope: "acme"})
		}, "bob@acme"},
		{"group", func(tx rolecall.Tx) error { return tx.ReplaceGroup(rolecall.Group{ID: "nope", Scope: "acme"}) }, "nope"},
		{"resource", func(tx rolecall.Tx) error {
			return tx.ReplaceResource(rolecall.Resource{Type: "dataset", ID: "nope", Scope: "p1"})
		}, "dataset:nope"},
		{"role", func(tx rolecall.Tx) error { return tx.ReplaceRole(rolecall.Role{ID: "editor", Org: "globex"}) }, "globex/editor"},
		{"offer", func(tx rolecall.Tx) error {
			return tx.ReplaceOffer(rolecall.Offer{ID: "nope", Resource: rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Recipient: "ann"})
		}, "nope"},
		{"invitation", func(tx rolecall.Tx) error {
			return tx.ReplaceInvitation(rolecall.Invitation{ID: "nope", Scope: "acme", Email: "x@acme.com"})
		}, "nope"},
	}
	for _, tc := range cases {
		_, err := s.Update(t.Context(), tc.op)
		wantErr(t, tc.name, err, rolecall.NotFound, tc.mention)
	}
	if h := head(t, s); h != rev {
		t.Errorf("failed Updates moved Head from %d to %d", rev, h)
	}
}

// testDeleteMissing: deleting a missing key is NotFound naming it, for
// every kind.
func testDeleteMissing(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	kinds := []rolecall.ObjectKind{
		rolecall.ObjScope, rolecall.ObjUser, rolecall.ObjMembership, rolecall.ObjGroup, rolecall.ObjGroupMember,
		rolecall.ObjResource, rolecall.ObjRole, rolecall.ObjBinding, rolecall.ObjOffer, rolecall.ObjInvitation, rolecall.ObjDomain,
	}
	for _, k := range kinds {
		_, err := s.Update(t.Context(), func(tx rolecall.Tx) error { return tx.Delete(k, "no:such/thing") })
		wantErr(t, string(k), err, rolecall.NotFound, "no:such/thing")
	}
	if h := head(t, s); h != rev {
		t.Errorf("failed Updates moved Head from %d to %d", rev, h)
	}
}

// testGivesIDs: a binding, offer or invitation created with an empty ID is
// given a fresh one, set on the pointer and used as its key.
func testGivesIDs(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev0 := seed(t, open)
	var bs [2]rolecall.Binding
	var offers [2]rolecall.Offer
	var is [2]rolecall.Invitation
	update(t, s, func(tx rolecall.Tx) error {
		for i := range 2 {
			bs[i] = rolecall.Binding{Subject: rolecall.UserSubject("bob"), Role: "viewer", Scope: "w1"}
			offers[i] = rolecall.Offer{Kind: "share", Resource: rolecall.ResourceRef{Type: "dataset", ID: "d2"}, Recipient: "cat@globex.com", State: rolecall.OfferPending}
			is[i] = rolecall.Invitation{Scope: "p1", Email: "eve@acme.com", State: "pending"}
			if err := tx.CreateBinding(&bs[i]); err != nil {
				return err
			}
			if err := tx.CreateOffer(&offers[i]); err != nil {
				return err
			}
			if err := tx.CreateInvitation(&is[i]); err != nil {
				return err
			}
		}
		return nil
	})
	ids := map[string]bool{}
	for _, id := range []string{bs[0].ID, bs[1].ID, offers[0].ID, offers[1].ID, is[0].ID, is[1].ID} {
		if id == "" {
			t.Fatalf("an object created with an empty ID was not given one")
		}
		ids[id] = true
	}
	if len(ids) != 6 {
		t.Errorf("six objects were given only %d distinct IDs", len(ids))
	}
	if is[0].Org != "acme" {
		t.Errorf("an invitation created without Org got Org %q, want %q (its scope's organization)", is[0].Org, "acme")
	}
	st := replay(t, allChanges(t, s, rev0))
	for _, b := range bs {
		if _, ok := st[rolecall.ObjBinding][b.ID]; !ok {
			t.Errorf("binding %q is not in the change log under its new ID", b.ID)
		}
	}
	for _, o := range offers {
		if _, ok := st[rolecall.ObjOffer][o.ID]; !ok {
			t.Errorf("offer %q is not in the change log under its new ID", o.ID)
		}
	}
	want := state{}
	for i := range is {
		want.put(rolecall.ObjInvitation, is[i].ID, &is[i])
	}
	checkState(t, "invitations in the change log", st.only(rolecall.ObjInvitation), want)
	snap := snapshotState(snapshot(t, s))
	for _, b := range bs {
		if _, ok := snap[rolecall.ObjBinding][b.ID]; !ok {
			t.Errorf("binding %q is not in the snapshot", b.ID)
		}
	}
	// The IDs are keys like any other.
	update(t, s, func(tx rolecall.Tx) error {
		if err := tx.Delete(rolecall.ObjBinding, bs[0].ID); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjOffer, offers[0].ID); err != nil {
			return err
		}
		return tx.Delete(rolecall.ObjInvitation, is[0].ID)
	})
	// A failed create leaves the pointer's empty ID alone.
	b := rolecall.Binding{Subject: rolecall.UserSubject("nobody"), Role: "viewer", Scope: "w1"}
	_, err := s.Update(t.Context(), func(tx rolecall.Tx) error { return tx.CreateBinding(&b) })
	wantErr(t, "binding for a missing user", err, rolecall.FailedPrecondition, "nobody")
	if b.ID != "" {
		t.Errorf("a failed CreateBinding set the ID %q", b.ID)
	}
}

// testDomainCase: domains are keyed in lower case.
func testDomainCase(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev0 := seed(t, open)
	update(t, s, func(tx rolecall.Tx) error {
		return tx.CreateDomain(rolecall.Domain{Org: "globex", Domain: "Globex.COM"})
	})
	cs := allChanges(t, s, rev0)
	if len(cs) != 1 || cs[0].Key != "globex.com" || cs[0].Org != "globex" {
		t.Fatalf("creating domain Globex.COM logged %+v, want one change of key %q in globex", cs, "globex.com")
	}
	want := state{}
	want.put(rolecall.ObjDomain, "globex.com", &rolecall.Domain{Org: "globex", Domain: "globex.com"})
	checkState(t, "domain in the change log", replay(t, cs), want)
	_, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
		return tx.CreateDomain(rolecall.Domain{Org: "acme", Domain: "GLOBEX.com"})
	})
	wantErr(t, "domain differing only in case", err, rolecall.Conflict, "globex.com")
	update(t, s, func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjDomain, "GLOBEX.Com") })
}
