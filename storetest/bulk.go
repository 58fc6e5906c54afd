package storetest

import (
	"slices"
	"testing"

	"github.com/rolecall/rolecall"
)

// drop removes from s the elements for which gone is true.
func drop[T any](s []T, gone func(*T) bool) []T {
	return slices.DeleteFunc(s, func(x T) bool { return gone(&x) })
}

// testDeleteWhere: a filter deletes what it selects, all or nothing, one
// change per object; bad filters are Invalid.
func testDeleteWhere(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, _ := seed(t, open)
	deleteWhere := func(fl rolecall.Filter) (n int, err error) {
		_, err = s.Update(t.Context(), func(tx rolecall.Tx) error {
			n, err = tx.DeleteWhere(fl)
			return err
		})
		return n, err
	}

	for _, fl := range []rolecall.Filter{
		{Kind: rolecall.ObjBinding},                       // only a kind
		{Kind: rolecall.ObjUser, Org: "acme"},             // users have no organization
		{Kind: rolecall.ObjScope, Type: "dataset"},        // scopes have no type
		{Kind: rolecall.ObjGroup, User: "ann"},            // groups are not selected by user
		{Kind: rolecall.ObjAudit, Org: "acme"},            // audit events are never deleted
		{Kind: rolecall.ObjectKind("nope"), Org: "acme"},  // no such kind
		{Kind: rolecall.ObjDomain, Scope: "w1"},           // domains belong to organizations only
		{Kind: rolecall.ObjMembership, Group: "everyone"}, // memberships are not selected by group
	} {
		_, err := deleteWhere(fl)
		wantErr(t, "DeleteWhere "+string(fl.Kind), err, rolecall.Invalid)
	}

	// Refused while something not selected refers to a selected object:
	// binding b2 and offer o1 hold on to dataset d1.
	rev0 := head(t, s)
	_, err := deleteWhere(rolecall.Filter{Kind: rolecall.ObjResource, Scope: "p1"})
	wantErr(t, "DeleteWhere of resources still used", err, rolecall.FailedPrecondition, "dataset:d1")
	// and the subtree of w1 is used by a membership, a group, an invitation...
	_, err = deleteWhere(rolecall.Filter{Kind: rolecall.ObjScope, Scope: "w1"})
	wantErr(t, "DeleteWhere of scopes still used", err, rolecall.FailedPrecondition, "w1")
	if h := head(t, s); h != rev0 {
		t.Fatalf("refused deletions committed revision %d", h)
	}
	checkState(t, "snapshot after refused deletions", snapshotState(snapshot(t, s)), f.state().only(snapshotKinds...))

	steps := []struct {
		filter rolecall.Filter
		want   int
		gone   func()
	}{
		{rolecall.Filter{Kind: rolecall.ObjBinding, Org: "acme", User: "bob"}, 1, func() {
			f.bindings = drop(f.bindings, func(b *rolecall.Binding) bool { return b.ID == "b3" })
		}},
		{rolecall.Filter{Kind: rolecall.ObjBinding, Scope: "p1"}, 1, func() { // b2, on d1 in p1
			f.bindings = drop(f.bindings, func(b *rolecall.Binding) bool { return b.ID == "b2" })
		}},
		{rolecall.Filter{Kind: rolecall.ObjOffer, Type: "dataset", User: "cat@globex.com"}, 1, func() {
			f.offers = nil
		}},
		{rolecall.Filter{Kind: rolecall.ObjResource, Scope: "p1"}, 3, func() { // d1, l1 below it, d2
			f.resources = drop(f.resources, func(r *rolecall.Resource) bool { return r.ID != "s1" })
		}},
		{rolecall.Filter{Kind: rolecall.ObjGroupMember, Group: "eng"}, 2, func() { f.groupMembers = nil }},
		{rolecall.Filter{Kind: rolecall.ObjMembership, Org: "globex"}, 1, func() {
			f.memberships = drop(f.memberships, func(m *rolecall.Membership) bool { return m.Scope == "globex" })
		}},
		{rolecall.Filter{Kind: rolecall.ObjBinding, Org: "globex"}, 1, func() {
			f.bindings = drop(f.bindings, func(b *rolecall.Binding) bool { return b.ID == "b4" })
		}},
		{rolecall.Filter{Kind: rolecall.ObjScope, Org: "globex"}, 1, func() {
			f.scopes = drop(f.scopes, func(s *rolecall.Scope) bool { return s.ID == "globex" })
		}},
		{rolecall.Filter{Kind: rolecall.ObjRole, Scope: "w1"}, 1, func() {
			f.roles = drop(f.roles, func(r *rolecall.Role) bool { return r.ID == "labeler" })
		}},
		{rolecall.Filter{Kind: rolecall.ObjBinding, Type: "dataset"}, 0, func() {}},
	}
	for _, st := range steps {
		before := head(t, s)
		n, err := deleteWhere(st.filter)
		if err != nil {
			t.Fatalf("DeleteWhere(%+v): %v", st.filter, err)
		}
		if n != st.want {
			t.Errorf("DeleteWhere(%+v) deleted %d objects, want %d", st.filter, n, st.want)
		}
		st.gone()
		cs := allChanges(t, s, before)
		if len(cs) != n {
			t.Errorf("DeleteWhere(%+v) logged %d changes for %d deletions", st.filter, len(cs), n)
		}
		for _, c := range cs {
			if !c.Deleted || c.Kind != st.filter.Kind {
				t.Errorf("DeleteWhere(%+v) logged %s %q (deleted %v)", st.filter, c.Kind, c.Key, c.Deleted)
			}
		}
	}
	want := f.state()
	checkState(t, "snapshot after DeleteWhere", snapshotState(snapshot(t, s)), want.only(snapshotKinds...))
	checkState(t, "replayed change log", replay(t, allChanges(t, s, 0)), want)
}

// testMoveAcross: MoveScope and MoveResource move a subtree to another
// organization in one transaction, logging every object that changes
// organization, and refuse (moving nothing) while a reference crosses the
// new border.
func testMoveAcross(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, _ := seed(t, open)
	res := func(typ, id string) *rolecall.ResourceRef { return &rolecall.ResourceRef{Type: typ, ID: id} }

	bad := []struct {
		name    string
		op      func(rolecall.Tx) error
		kind    rolecall.Kind
		mention []string
	}{
		{"an organization", func(tx rolecall.Tx) error { return tx.MoveScope("acme", "globex") }, rolecall.Invalid, []string{"acme"}},
		{"a scope below itself", func(tx rolecall.Tx) error { return tx.MoveScope("w1", "p1") }, rolecall.Invalid, []string{"w1"}},
		{"an unknown scope", func(tx rolecall.Tx) error { return tx.MoveScope("nope", "globex") }, rolecall.NotFound, []string{"nope"}},
		{"to an unknown parent", func(tx rolecall.Tx) error { return tx.MoveScope("p1", "nope") }, rolecall.FailedPrecondition, []string{"nope"}},
		// d2 is built from s1, which stays in acme; b2 is held by eng, which stays
		{"a project whose dataset's input stays", func(tx rolecall.Tx) error { return tx.MoveScope("p1", "globex") }, rolecall.FailedPrecondition, []string{"p1"}},
		{"a resource both in a scope and under a parent", func(tx rolecall.Tx) error {
			return tx.MoveResource(rolecall.ResourceRef{Type: "dataset", ID: "d1"}, "globex", res("source", "s1"))
		}, rolecall.Invalid, []string{"dataset:d1"}},
		{"a resource below itself", func(tx rolecall.Tx) error {
			return tx.MoveResource(rolecall.ResourceRef{Type: "dataset", ID: "d1"}, "", res("label", "l1"))
		}, rolecall.Invalid, []string{"dataset:d1"}},
		{"an unknown resource", func(tx rolecall.Tx) error {
			return tx.MoveResource(rolecall.ResourceRef{Type: "dataset", ID: "nope"}, "globex", nil)
		}, rolecall.NotFound, []string{"dataset:nope"}},
		// s1 is assigned to group eng, which stays
		{"a resource whose group stays", func(tx rolecall.Tx) error {
			return tx.MoveResource(rolecall.ResourceRef{Type: "source", ID: "s1"}, "globex", nil)
		}, rolecall.FailedPrecondition, []string{"source:s1", "eng"}},
	}
	rev0 := head(t, s)
	for _, tc := range bad {
		_, err := s.Update(t.Context(), tc.op)
		wantErr(t, "moving "+tc.name, err, tc.kind, tc.mention...)
	}
	if h := head(t, s); h != rev0 {
		t.Fatalf("refused moves committed revision %d", h)
	}
	checkState(t, "snapshot after refused moves", snapshotState(snapshot(t, s)), f.state().only(snapshotKinds...))

	// Cut the references that cross the new border, then move p1 to
	// globex: d1, l1 below it, d2, b3 at p1 and o1 of d1 go along.
	f.resources[3].Inputs = nil
	f.bindings = drop(f.bindings, func(b *rolecall.Binding) bool { return b.ID == "b2" })
	update(t, s, func(tx rolecall.Tx) error {
		if err := tx.Delete(rolecall.ObjBinding, "b2"); err != nil {
			return err
		}
		return tx.ReplaceResource(f.resources[3])
	})
	before := head(t, s)
	update(t, s, func(tx rolecall.Tx) error { return tx.MoveScope("p1", "globex") })
	f.scopes[2].Parent = "globex"
	moved := map[string]bool{"scope p1": true, "resource dataset:d1": true, "resource label:l1": true,
		"resource dataset:d2": true, "binding b3": true, "offer o1": true}
	cs := allChanges(t, s, before)
	for _, c := range cs {
		name := string(c.Kind) + " " + c.Key
		if !moved[name] {
			t.Errorf("MoveScope(p1, globex) logged %s, which does not move", name)
		}
		if c.Org != "globex" || c.Deleted {
			t.Errorf("MoveScope(p1, globex) logged %s in %q (deleted %v), want a replacement in globex", name, c.Org, c.Deleted)
		}
		delete(moved, name)
	}
	for name := range moved {
		t.Errorf("MoveScope(p1, globex) did not log %s", name)
	}

	// A resource with a child and a binding moves to another project.
	x := rolecall.Resource{Type: "dataset", ID: "x", Scope: "w1"}
	y := rolecall.Resource{Type: "label", ID: "y", Parent: res("dataset", "x")}
	bx := rolecall.Binding{ID: "bx", Subject: rolecall.UserSubject("ann"), Role: "viewer", Resource: res("dataset", "x")}
	update(t, s, func(tx rolecall.Tx) error {
		if err := tx.CreateResource(x); err != nil {
			return err
		}
		if err := tx.CreateResource(y); err != nil {
			return err
		}
		return tx.CreateBinding(&bx)
	})
	before = head(t, s)
	update(t, s, func(tx rolecall.Tx) error { return tx.MoveResource(x.Ref(), "p1", nil) })
	x.Scope = "p1"
	f.resources = append(f.resources, x, y)
	f.bindings = append(f.bindings, bx)
	moved = map[string]bool{"resource dataset:x": true, "resource label:y": true, "binding bx": true}
	for _, c := range allChanges(t, s, before) {
		name := string(c.Kind) + " " + c.Key
		if !moved[name] || c.Org != "globex" {
			t.Errorf("MoveResource(x, p1) logged %s in %q", name, c.Org)
		}
		delete(moved, name)
	}
	for name := range moved {
		t.Errorf("MoveResource(x, p1) did not log %s", name)
	}

	// Within one organization: under another parent resource.
	update(t, s, func(tx rolecall.Tx) error { return tx.MoveResource(y.Ref(), "", res("dataset", "d1")) })
	f.resources[len(f.resources)-1].Parent = res("dataset", "d1")

	want := f.state()
	checkState(t, "snapshot after moves", snapshotState(snapshot(t, s)), want.only(snapshotKinds...))
	checkState(t, "replayed change log", replay(t, allChanges(t, s, 0)), want)
	// p1 now belongs to globex: nothing of acme may be put in it
	_, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
		return tx.CreateResource(rolecall.Resource{Type: "label", ID: "z", Scope: "globex", Parent: res("source", "s1")})
	})
	wantErr(t, "a resource in globex under one of acme", err, rolecall.Invalid, "label:z")
}
