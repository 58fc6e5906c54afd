package storetest

import (
	"testing"

	"github.com/rolecall/rolecall"
)

// testMissingReference: an object that refers to a missing object is a
// FailedPrecondition naming what is missing, and writes nothing.
func testMissingReference(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	res := func(typ, id string) *rolecall.ResourceRef { return &rolecall.ResourceRef{Type: typ, ID: id} }
	cases := []struct {
		name    string
		op      func(rolecall.Tx) error
		mention string
	}{
		{"scope's parent", func(tx rolecall.Tx) error { return tx.CreateScope(rolecall.Scope{ID: "x", Parent: "nope"}) }, "nope"},
		{"membership's user", func(tx rolecall.Tx) error {
			return tx.CreateMembership(rolecall.Membership{User: "nobody", Scope: "acme"})
		}, "nobody"},
		{"membership's scope", func(tx rolecall.Tx) error {
			return tx.CreateMembership(rolecall.Membership{User: "ann", Scope: "nope"})
		}, "nope"},
		{"group's scope", func(tx rolecall.Tx) error { return tx.CreateGroup(rolecall.Group{ID: "g", Scope: "nope"}) }, "nope"},
		{"group member's group", func(tx rolecall.Tx) error {
			return tx.CreateGroupMember(rolecall.GroupMember{Group: "nope", User: "ann"})
		}, "nope"},
		{"group member's user", func(tx rolecall.Tx) error {
			return tx.CreateGroupMember(rolecall.GroupMember{Group: "eng", User: "nobody"})
		}, "nobody"},
		{"resource's scope", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "dataset", ID: "x", Scope: "nope"})
		}, "nope"},
		{"resource's parent", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "label", ID: "x", Parent: res("dataset", "nope")})
		}, "dataset:nope"},
		{"resource's group", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "source", ID: "x", Scope: "w1", Groups: []string{"eng", "nope"}})
		}, "nope"},
		{"resource's input", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "dataset", ID: "x", Scope: "p1",
				Inputs: map[string][]rolecall.ResourceRef{"sources": {{Type: "source", ID: "s1"}, {Type: "source", ID: "nope"}}}})
		}, "source:nope"},
		{"replaced resource's scope", func(tx rolecall.Tx) error {
			return tx.ReplaceResource(rolecall.Resource{Type: "dataset", ID: "d1", Scope: "nope"})
		}, "nope"},
		{"replaced group's scope", func(tx rolecall.Tx) error { return tx.ReplaceGroup(rolecall.Group{ID: "eng", Scope: "nope"}) }, "nope"},
		{"role's organization", func(tx rolecall.Tx) error { return tx.CreateRole(rolecall.Role{ID: "r", Org: "nope"}) }, "nope"},
		{"role's scope", func(tx rolecall.Tx) error { return tx.CreateRole(rolecall.Role{ID: "r", Org: "acme", Scope: "nope"}) }, "nope"},
		{"binding's user", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("nobody"), Role: "viewer", Scope: "acme"})
		}, "nobody"},
		{"binding's group", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.GroupSubject("nope"), Role: "viewer", Scope: "acme"})
		}, "nope"},
		{"binding's scope", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Role: "viewer", Scope: "nope"})
		}, "nope"},
		{"binding's resource", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Role: "viewer", Resource: res("dataset", "nope")})
		}, "dataset:nope"},
		{"a user binding naming a group", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("eng"), Role: "viewer", Scope: "acme"})
		}, "eng"},
		{"offer's resource", func(tx rolecall.Tx) error {
			return tx.CreateOffer(&rolecall.Offer{Resource: rolecall.ResourceRef{Type: "dataset", ID: "nope"}, Recipient: "ann"})
		}, "dataset:nope"},
		{"offer's recipient", func(tx rolecall.Tx) error {
			return tx.CreateOffer(&rolecall.Offer{Resource: rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Recipient: "nobody"})
		}, "nobody"},
		{"replaced offer's recipient", func(tx rolecall.Tx) error {
			return tx.ReplaceOffer(rolecall.Offer{ID: "o1", Resource: rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Recipient: "nobody"})
		}, "nobody"},
		{"invitation's scope", func(tx rolecall.Tx) error {
			return tx.CreateInvitation(&rolecall.Invitation{Scope: "nope", Email: "x@acme.com"})
		}, "nope"},
		{"domain's organization", func(tx rolecall.Tx) error { return tx.CreateDomain(rolecall.Domain{Org: "nope", Domain: "x.com"}) }, "nope"},
	}
	for _, tc := range cases {
		_, err := s.Update(t.Context(), tc.op)
		wantErr(t, tc.name, err, rolecall.FailedPrecondition, tc.mention)
	}
	if h := head(t, s); h != rev {
		t.Errorf("failed Updates moved Head from %d to %d", rev, h)
	}
}

// testStillReferenced: deleting an object something still refers to is a
// FailedPrecondition naming both, and writes nothing. Each case runs on a
// fresh store holding organization o, user u and what the case adds, so
// exactly one object refers to the one deleted.
func testStillReferenced(t *testing.T, open func(*testing.T) rolecall.Store) {
	doc := &rolecall.ResourceRef{Type: "doc", ID: "1"}
	cases := []struct {
		name   string
		setup  func(rolecall.Tx) error
		kind   rolecall.ObjectKind
		key    string
		refKey string // the key of what still refers to it
	}{
		{"scope with a child", func(tx rolecall.Tx) error { return tx.CreateScope(rolecall.Scope{ID: "w", Parent: "o"}) }, rolecall.ObjScope, "o", "w"},
		{"scope with a member", func(tx rolecall.Tx) error { return tx.CreateMembership(rolecall.Membership{User: "u", Scope: "o"}) }, rolecall.ObjScope, "o", "u@o"},
		{"scope with a group", func(tx rolecall.Tx) error { return tx.CreateGroup(rolecall.Group{ID: "g", Scope: "o"}) }, rolecall.ObjScope, "o", "g"},
		{"scope with a resource", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"})
		}, rolecall.ObjScope, "o", "doc:1"},
		{"scope with a binding", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{ID: "b", Subject: rolecall.UserSubject("u"), Role: "r", Scope: "o"})
		}, rolecall.ObjScope, "o", "b"},
		{"organization with a role", func(tx rolecall.Tx) error { return tx.CreateRole(rolecall.Role{ID: "r", Org: "o"}) }, rolecall.ObjScope, "o", "o/r"},
		{"scope owning a role", func(tx rolecall.Tx) error {
			if err := tx.CreateScope(rolecall.Scope{ID: "p", Parent: "o"}); err != nil {
				return err
			}
			if err := tx.CreateRole(rolecall.Role{ID: "r", Org: "o", Scope: "p"}); err != nil {
				return err
			}
			return nil
		}, rolecall.ObjScope, "p", "o/p/r"},
		{"scope with an invitation", func(tx rolecall.Tx) error {
			return tx.CreateInvitation(&rolecall.Invitation{ID: "i", Scope: "o", Email: "x@o.com"})
		}, rolecall.ObjScope, "o", "i"},
		{"organization with a domain", func(tx rolecall.Tx) error { return tx.CreateDomain(rolecall.Domain{Org: "o", Domain: "o.com"}) }, rolecall.ObjScope, "o", "o.com"},
		{"user with a membership", func(tx rolecall.Tx) error { return tx.CreateMembership(rolecall.Membership{User: "u", Scope: "o"}) }, rolecall.ObjUser, "u", "u@o"},
		{"user in a group", func(tx rolecall.Tx) error {
			if err := tx.CreateGroup(rolecall.Group{ID: "g", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateGroupMember(rolecall.GroupMember{Group: "g", User: "u"})
		}, rolecall.ObjUser, "u", "g/u"},
		{"user with a binding", func(tx rolecall.Tx) error {
			if err := tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateBinding(&rolecall.Binding{ID: "b", Subject: rolecall.UserSubject("u"), Role: "r", Resource: doc})
		}, rolecall.ObjUser, "u", "b"},
		{"user offered a resource", func(tx rolecall.Tx) error {
			if err := tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateOffer(&rolecall.Offer{ID: "f", Resource: *doc, Recipient: "u"})
		}, rolecall.ObjUser, "u", "f"},
		{"group with a member", func(tx rolecall.Tx) error {
			if err := tx.CreateGroup(rolecall.Group{ID: "g", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateGroupMember(rolecall.GroupMember{Group: "g", User: "u"})
		}, rolecall.ObjGroup, "g", "g/u"},
		{"group with a binding", func(tx rolecall.Tx) error {
			if err := tx.CreateGroup(rolecall.Group{ID: "g", Scope: "o"}); err != nil {
				return err
			}
			if err := tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateBinding(&rolecall.Binding{ID: "b", Subject: rolecall.GroupSubject("g"), Role: "r", Resource: doc})
		}, rolecall.ObjGroup, "g", "b"},
		{"group assigned a resource", func(tx rolecall.Tx) error {
			if err := tx.CreateGroup(rolecall.Group{ID: "g", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o", Groups: []string{"g"}})
		}, rolecall.ObjGroup, "g", "doc:1"},
		{"resource with a child", func(tx rolecall.Tx) error {
			if err := tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateResource(rolecall.Resource{Type: "page", ID: "1", Parent: doc})
		}, rolecall.ObjResource, "doc:1", "page:1"},
		{"resource with a binding", func(tx rolecall.Tx) error {
			if err := tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateBinding(&rolecall.Binding{ID: "b", Subject: rolecall.UserSubject("u"), Role: "r", Resource: doc})
		}, rolecall.ObjResource, "doc:1", "b"},
		{"resource offered", func(tx rolecall.Tx) error {
			if err := tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateOffer(&rolecall.Offer{ID: "f", Resource: *doc, Recipient: "u"})
		}, rolecall.ObjResource, "doc:1", "f"},
		{"resource used as an input", func(tx rolecall.Tx) error {
			if err := tx.CreateResource(rolecall.Resource{Type: "doc", ID: "1", Scope: "o"}); err != nil {
				return err
			}
			return tx.CreateResource(rolecall.Resource{Type: "doc", ID: "2", Scope: "o", Inputs: map[string][]rolecall.ResourceRef{"from": {*doc}}})
		}, rolecall.ObjResource, "doc:1", "doc:2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			rev := update(t, s, func(tx rolecall.Tx) error {
				if err := tx.CreateScope(rolecall.Scope{ID: "o", Level: "org"}); err != nil {
					return err
				}
				if err := tx.CreateUser(rolecall.User{ID: "u"}); err != nil {
					return err
				}
				return tc.setup(tx)
			})
			_, err := s.Update(t.Context(), func(tx rolecall.Tx) error { return tx.Delete(tc.kind, tc.key) })
			wantErr(t, "Delete("+string(tc.kind)+", "+tc.key+")", err, rolecall.FailedPrecondition, tc.key, tc.refKey)
			if h := head(t, s); h != rev {
				t.Errorf("a failed Delete moved Head from %d to %d", rev, h)
			}
		})
	}
}

// testMoves: an object's organization is fixed at creation, and a scope or
// resource cannot become its own ancestor; moves within an organization
// are allowed. A role's or domain's Org must be an organization.
func testMoves(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, _ := seed(t, open)
	res := func(typ, id string) *rolecall.ResourceRef { return &rolecall.ResourceRef{Type: typ, ID: id} }
	invalid := []struct {
		name    string
		op      func(rolecall.Tx) error
		mention string
	}{
		{"scope to another organization", func(tx rolecall.Tx) error {
			return tx.ReplaceScope(rolecall.Scope{ID: "w1", Level: "workspace", Parent: "globex"})
		}, "w1"},
		{"organization below another", func(tx rolecall.Tx) error {
			return tx.ReplaceScope(rolecall.Scope{ID: "acme", Level: "org", Parent: "globex"})
		}, "acme"},
		{"scope made an organization", func(tx rolecall.Tx) error { return tx.ReplaceScope(rolecall.Scope{ID: "w1", Level: "workspace"}) }, "w1"},
		{"scope below its own child", func(tx rolecall.Tx) error {
			return tx.ReplaceScope(rolecall.Scope{ID: "w1", Level: "workspace", Parent: "p1"})
		}, "w1"},
		{"scope its own parent", func(tx rolecall.Tx) error {
			return tx.ReplaceScope(rolecall.Scope{ID: "w1", Level: "workspace", Parent: "w1"})
		}, "w1"},
		{"resource to another organization", func(tx rolecall.Tx) error {
			return tx.ReplaceResource(rolecall.Resource{Type: "dataset", ID: "d1", Scope: "globex"})
		}, "dataset:d1"},
		{"resource below its own child", func(tx rolecall.Tx) error {
			return tx.ReplaceResource(rolecall.Resource{Type: "dataset", ID: "d1", Parent: res("label", "l1")})
		}, "dataset:d1"},
		{"resource its own parent", func(tx rolecall.Tx) error {
			return tx.ReplaceResource(rolecall.Resource{Type: "label", ID: "l1", Parent: res("label", "l1")})
		}, "label:l1"},
		{"resource with scope and parent in two organizations", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "label", ID: "x", Scope: "globex", Parent: res("dataset", "d1")})
		}, "label:x"},
		{"group to another organization", func(tx rolecall.Tx) error { return tx.ReplaceGroup(rolecall.Group{ID: "eng", Scope: "globex"}) }, "eng"},
		{"offer of another organization's resource", func(tx rolecall.Tx) error {
			if err := tx.CreateResource(rolecall.Resource{Type: "dataset", ID: "g1", Scope: "globex"}); err != nil {
				return err
			}
			return tx.ReplaceOffer(rolecall.Offer{ID: "o1", Resource: rolecall.ResourceRef{Type: "dataset", ID: "g1"}, Recipient: "ann"})
		}, "o1"},
		{"invitation to another organization", func(tx rolecall.Tx) error {
			return tx.ReplaceInvitation(rolecall.Invitation{ID: "i1", Scope: "globex", Email: "dan@acme.com"})
		}, "i1"},
		{"invitation whose Org is not its scope's", func(tx rolecall.Tx) error {
			return tx.CreateInvitation(&rolecall.Invitation{Org: "globex", Scope: "w1", Email: "x@acme.com"})
		}, "globex"},
		{"role owned by a scope that is not an organization", func(tx rolecall.Tx) error { return tx.CreateRole(rolecall.Role{ID: "r", Org: "w1"}) }, "w1"},
		{"role owned by a scope of another organization", func(tx rolecall.Tx) error {
			return tx.CreateRole(rolecall.Role{ID: "r", Org: "globex", Scope: "w1"})
		}, "w1"},
		{"binding at a scope and a resource of two organizations", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Role: "r", Scope: "globex", Resource: res("dataset", "d1")})
		}, "globex"},
		{"domain of a scope that is not an organization", func(tx rolecall.Tx) error {
			return tx.CreateDomain(rolecall.Domain{Org: "w1", Domain: "w1.com"})
		}, "w1"},
	}
	for _, tc := range invalid {
		_, err := s.Update(t.Context(), tc.op)
		wantErr(t, tc.name, err, rolecall.Invalid, tc.mention)
	}

	// Moves within the organization.
	f.scopes[2].Parent = "acme"                                            // p1 from w1 to acme
	f.resources[1].Parent = res("dataset", "d2")                           // l1 from d1 to d2
	f.resources[3].Scope, f.resources[3].Parent = "", res("source", "s1")  // d2 below s1
	f.groups[1].Scope = "acme"                                             // everyone from w1 to acme
	f.invitations[0].Scope = "p1"                                          // i1 from w1 to p1
	f.offers[0].Resource = rolecall.ResourceRef{Type: "dataset", ID: "d2"} // o1 from d1 to d2
	f.bindings[1].Resource = nil                                           // b2 from d1 to w1
	f.bindings[1].Scope = "w1"                                             //
	rev0 := head(t, s)
	update(t, s, func(tx rolecall.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.ReplaceScope(f.scopes[2]) },
			func() error { return tx.ReplaceResource(f.resources[1]) },
			func() error { return tx.ReplaceResource(f.resources[3]) },
			func() error { return tx.ReplaceGroup(f.groups[1]) },
			func() error { return tx.ReplaceInvitation(f.invitations[0]) },
			func() error { return tx.ReplaceOffer(f.offers[0]) },
			func() error {
				if err := tx.Delete(rolecall.ObjBinding, "b2"); err != nil {
					return err
				}
				return tx.CreateBinding(&f.bindings[1])
			},
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	want := f.state()
	checkState(t, "snapshot after moves", snapshotState(snapshot(t, s)), want.only(snapshotKinds...))
	checkState(t, "replayed change log", replay(t, allChanges(t, s, 0)), want)
	for _, c := range allChanges(t, s, rev0) {
		if c.Org != "acme" {
			t.Errorf("%s %q moved within acme, but its change reports organization %q", c.Kind, c.Key, c.Org)
		}
	}
	// Nothing refers to d1 any more: its child, offer and binding moved.
	update(t, s, func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjResource, "dataset:d1") })
}

// testBadInput: empty ids, unknown kinds and malformed arguments are
// Invalid, and write nothing.
func testBadInput(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	res := func(typ, id string) *rolecall.ResourceRef { return &rolecall.ResourceRef{Type: typ, ID: id} }
	cases := []struct {
		name string
		op   func(rolecall.Tx) error
	}{
		{"scope without id", func(tx rolecall.Tx) error { return tx.CreateScope(rolecall.Scope{Parent: "acme"}) }},
		{"replaced scope without id", func(tx rolecall.Tx) error { return tx.ReplaceScope(rolecall.Scope{}) }},
		{"user without id", func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{Name: "x"}) }},
		{"replaced user without id", func(tx rolecall.Tx) error { return tx.ReplaceUser(rolecall.User{}) }},
		{"membership without user", func(tx rolecall.Tx) error { return tx.CreateMembership(rolecall.Membership{Scope: "acme"}) }},
		{"membership without scope", func(tx rolecall.Tx) error { return tx.CreateMembership(rolecall.Membership{User: "ann"}) }},
		{"replaced membership without user", func(tx rolecall.Tx) error { return tx.ReplaceMembership(rolecall.Membership{Scope: "acme"}) }},
		{"group without id", func(tx rolecall.Tx) error { return tx.CreateGroup(rolecall.Group{Scope: "acme"}) }},
		{"group without scope", func(tx rolecall.Tx) error { return tx.CreateGroup(rolecall.Group{ID: "g"}) }},
		{"replaced group without id", func(tx rolecall.Tx) error { return tx.ReplaceGroup(rolecall.Group{Scope: "acme"}) }},
		{"group member without group", func(tx rolecall.Tx) error { return tx.CreateGroupMember(rolecall.GroupMember{User: "ann"}) }},
		{"group member without user", func(tx rolecall.Tx) error { return tx.CreateGroupMember(rolecall.GroupMember{Group: "eng"}) }},
		{"resource without type", func(tx rolecall.Tx) error { return tx.CreateResource(rolecall.Resource{ID: "x", Scope: "acme"}) }},
		{"resource without id", func(tx rolecall.Tx) error { return tx.CreateResource(rolecall.Resource{Type: "doc", Scope: "acme"}) }},
		{"resource type with a colon", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "a:b", ID: "x", Scope: "acme"})
		}},
		{"resource without scope or parent", func(tx rolecall.Tx) error { return tx.CreateResource(rolecall.Resource{Type: "doc", ID: "x"}) }},
		{"resource with an empty parent", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "doc", ID: "x", Parent: &rolecall.ResourceRef{}})
		}},
		{"resource with an empty group", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "doc", ID: "x", Scope: "acme", Groups: []string{""}})
		}},
		{"resource with an empty input", func(tx rolecall.Tx) error {
			return tx.CreateResource(rolecall.Resource{Type: "doc", ID: "x", Scope: "acme", Inputs: map[string][]rolecall.ResourceRef{"from": {{}}}})
		}},
		{"replaced resource without id", func(tx rolecall.Tx) error { return tx.ReplaceResource(rolecall.Resource{Type: "dataset", Scope: "p1"}) }},
		{"role without id", func(tx rolecall.Tx) error { return tx.CreateRole(rolecall.Role{Org: "acme"}) }},
		{"role without organization", func(tx rolecall.Tx) error { return tx.CreateRole(rolecall.Role{ID: "r"}) }},
		{"replaced role without id", func(tx rolecall.Tx) error { return tx.ReplaceRole(rolecall.Role{Org: "acme"}) }},
		{"binding without subject", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Role: "r", Scope: "acme"})
		}},
		{"binding of an unknown subject kind", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.SubjectRef{Kind: 9, ID: "ann"}, Role: "r", Scope: "acme"})
		}},
		{"binding without scope or resource", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Role: "r"})
		}},
		{"binding on an empty resource", func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{Subject: rolecall.UserSubject("ann"), Role: "r", Resource: res("", "")})
		}},
		{"nil binding", func(tx rolecall.Tx) error { return tx.CreateBinding(nil) }},
		{"offer without resource", func(tx rolecall.Tx) error { return tx.CreateOffer(&rolecall.Offer{Recipient: "ann"}) }},
		{"offer without recipient", func(tx rolecall.Tx) error {
			return tx.CreateOffer(&rolecall.Offer{Resource: rolecall.ResourceRef{Type: "dataset", ID: "d1"}})
		}},
		{"nil offer", func(tx rolecall.Tx) error { return tx.CreateOffer(nil) }},
		{"replaced offer without id", func(tx rolecall.Tx) error {
			return tx.ReplaceOffer(rolecall.Offer{Resource: rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Recipient: "ann"})
		}},
		{"invitation without scope", func(tx rolecall.Tx) error { return tx.CreateInvitation(&rolecall.Invitation{Email: "x@acme.com"}) }},
		{"invitation without email", func(tx rolecall.Tx) error { return tx.CreateInvitation(&rolecall.Invitation{Scope: "acme"}) }},
		{"nil invitation", func(tx rolecall.Tx) error { return tx.CreateInvitation(nil) }},
		{"replaced invitation without id", func(tx rolecall.Tx) error {
			return tx.ReplaceInvitation(rolecall.Invitation{Scope: "acme", Email: "x@acme.com"})
		}},
		{"domain without domain", func(tx rolecall.Tx) error { return tx.CreateDomain(rolecall.Domain{Org: "acme"}) }},
		{"domain without organization", func(tx rolecall.Tx) error { return tx.CreateDomain(rolecall.Domain{Domain: "x.com"}) }},
		{"nil audit event", func(tx rolecall.Tx) error { return tx.AppendAudit(nil) }},
		{"attrs that are not JSON", func(tx rolecall.Tx) error {
			return tx.CreateUser(rolecall.User{ID: "x", Attrs: map[string]any{"f": func() {}}})
		}},
		{"delete of an unknown kind", func(tx rolecall.Tx) error { return tx.Delete("widget", "x") }},
		{"delete without key", func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjScope, "") }},
		{"delete of an audit event", func(tx rolecall.Tx) error {
			e := rolecall.AuditEvent{Org: "acme", Act: "x"}
			if err := tx.AppendAudit(&e); err != nil {
				return err
			}
			return tx.Delete(rolecall.ObjAudit, e.ID)
		}},
	}
	for _, tc := range cases {
		_, err := s.Update(t.Context(), tc.op)
		wantErr(t, tc.name, err, rolecall.Invalid)
	}
	if _, err := s.Changes(t.Context(), 0, 0); rolecall.KindOf(err) != rolecall.Invalid {
		t.Errorf("Changes with limit 0: error %v, want kind %s", err, rolecall.Invalid)
	}
	if _, _, err := s.Audit(t.Context(), rolecall.AuditQuery{Org: "acme", Page: rolecall.Page{After: "not a cursor!"}}); rolecall.KindOf(err) != rolecall.Invalid {
		t.Errorf("Audit with a cursor that does not decode: error %v, want kind %s", err, rolecall.Invalid)
	}
	if h := head(t, s); h != rev {
		t.Errorf("failed Updates moved Head from %d to %d", rev, h)
	}
}
