package postgres_test

import (
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/pgtest"
)

// TestMoveScopeCarriesEverything: a scope moved to another organization
// takes its roles (under their new key), invitations (with their new
// Org), groups and group members along, and the log replays to the
// snapshot.
func TestMoveScopeCarriesEverything(t *testing.T) {
	s := open(t, pgtest.DSN(t))
	res := func(typ, id string) *rolecall.ResourceRef { return &rolecall.ResourceRef{Type: typ, ID: id} }
	_, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.CreateScope(rolecall.Scope{ID: "a", Level: "org"}) },
			func() error { return tx.CreateScope(rolecall.Scope{ID: "b", Level: "org"}) },
			func() error { return tx.CreateScope(rolecall.Scope{ID: "w", Parent: "a"}) },
			func() error { return tx.CreateScope(rolecall.Scope{ID: "p", Parent: "w"}) },
			func() error { return tx.CreateUser(rolecall.User{ID: "u"}) },
			func() error { return tx.CreateMembership(rolecall.Membership{User: "u", Scope: "p"}) },
			func() error { return tx.CreateGroup(rolecall.Group{ID: "g", Scope: "w"}) },
			func() error { return tx.CreateGroupMember(rolecall.GroupMember{Group: "g", User: "u"}) },
			func() error { return tx.CreateRole(rolecall.Role{ID: "r", Org: "a", Scope: "w"}) },
			func() error { return tx.CreateInvitation(&rolecall.Invitation{ID: "i", Scope: "p", Email: "x@a.com"}) },
			func() error {
				return tx.CreateResource(rolecall.Resource{Type: "d", ID: "1", Scope: "p", Groups: []string{"g"}})
			},
			func() error { return tx.CreateResource(rolecall.Resource{Type: "d", ID: "2", Parent: res("d", "1")}) },
			func() error { return tx.CreateResource(rolecall.Resource{Type: "d", ID: "out", Scope: "a"}) },
			func() error {
				return tx.CreateBinding(&rolecall.Binding{ID: "bg", Subject: rolecall.GroupSubject("g"), Role: "r", Resource: res("d", "2")})
			},
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A resource outside built from one inside: refused, and the
	// transaction goes on.
	_, err = s.Update(t.Context(), func(tx rolecall.Tx) error {
		if err := tx.ReplaceResource(rolecall.Resource{Type: "d", ID: "out", Scope: "a",
			Inputs: map[string][]rolecall.ResourceRef{"from": {{Type: "d", ID: "2"}}}}); err != nil {
			return err
		}
		err := tx.MoveScope("w", "b")
		if rolecall.KindOf(err) != rolecall.FailedPrecondition || !strings.Contains(err.Error(), `resource "d:out"`) ||
			!strings.Contains(err.Error(), `resource "d:2"`) {
			t.Errorf("MoveScope with an input crossing the border: %v", err)
		}
		return tx.ReplaceResource(rolecall.Resource{Type: "d", ID: "out", Scope: "a"})
	})
	if err != nil {
		t.Fatal(err)
	}

	before, _ := s.Head(t.Context())
	if _, err := s.Update(t.Context(), func(tx rolecall.Tx) error { return tx.MoveScope("w", "b") }); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Changes(t.Context(), before, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		d := ""
		if c.Deleted {
			d = " deleted"
		}
		got = append(got, string(c.Kind)+" "+c.Key+" "+c.Org+d)
		if c.Kind == rolecall.ObjInvitation && !strings.Contains(string(c.Value), `"org": "b"`) && !strings.Contains(string(c.Value), `"org":"b"`) {
			t.Errorf("moved invitation logged as %s", c.Value)
		}
	}
	want := []string{
		"scope w b", "scope p b", "membership u@p b", "group g b", "group_member g/u b",
		"resource d:1 b", "resource d:2 b", "role a/w/r a deleted", "role b/w/r b", "binding bg b", "invitation i b",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("MoveScope(w, b) logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Deleting the scopes of b below w goes children first.
	before, _ = s.Head(t.Context())
	_, err = s.Update(t.Context(), func(tx rolecall.Tx) error {
		for _, f := range []rolecall.Filter{
			{Kind: rolecall.ObjBinding, Org: "b"}, {Kind: rolecall.ObjRole, Org: "b"}, {Kind: rolecall.ObjInvitation, Scope: "w"},
			{Kind: rolecall.ObjResource, Scope: "w"}, {Kind: rolecall.ObjGroupMember, Org: "b"}, {Kind: rolecall.ObjGroup, Org: "b"},
			{Kind: rolecall.ObjMembership, User: "u"},
		} {
			if _, err := tx.DeleteWhere(f); err != nil {
				return err
			}
		}
		n, err := tx.DeleteWhere(rolecall.Filter{Kind: rolecall.ObjScope, Scope: "w"})
		if n != 2 {
			t.Errorf("DeleteWhere of scopes below w deleted %d", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ = s.Changes(t.Context(), before, 100)
	if l := cs[len(cs)-2:]; l[0].Key != "p" || l[1].Key != "w" {
		t.Errorf("DeleteWhere deleted scopes %s then %s, want p then w", l[0].Key, l[1].Key)
	}
}
