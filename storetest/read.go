package storetest

import (
	"slices"
	"testing"

	"github.com/rolecall/rolecall"
)

// testReadInTx: Get and Find read committed objects and the transaction's
// own writes, never another transaction's uncommitted ones, and check
// their arguments.
func testReadInTx(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, _ := seed(t, open)
	update(t, s, func(tx rolecall.Tx) error {
		// committed objects of every kind read back as written
		for kind, m := range f.state() {
			for key, want := range m {
				v := newObject(kind)
				found, err := tx.Get(kind, key, v)
				if err != nil || !found {
					t.Errorf("Get(%s, %q) = %v, %v; want the object", kind, key, found, err)
					continue
				}
				got := state{}
				got.put(kind, key, v)
				if got[kind][key] != want {
					t.Errorf("Get(%s, %q):\n  got  %s\n  want %s", kind, key, got[kind][key], want)
				}
			}
		}
		if found, err := tx.Get(rolecall.ObjUser, "nobody", &rolecall.User{}); found || err != nil {
			t.Errorf("Get of a missing user = %v, %v; want not found, no error", found, err)
		}
		if _, err := tx.Get(rolecall.ObjUser, "ann", &rolecall.Scope{}); rolecall.KindOf(err) != rolecall.Invalid {
			t.Errorf("Get into the wrong type: %v, want invalid", err)
		}
		if _, err := tx.Get(rolecall.ObjectKind("nope"), "x", &rolecall.User{}); rolecall.KindOf(err) != rolecall.Invalid {
			t.Errorf("Get of an unknown kind: %v, want invalid", err)
		}

		// Find selects like DeleteWhere, in key order
		finds := []struct {
			f    rolecall.Filter
			want []string
		}{
			{rolecall.Filter{Kind: rolecall.ObjBinding, Org: "acme"}, []string{"b1", "b2", "b3"}},
			{rolecall.Filter{Kind: rolecall.ObjBinding, User: "bob"}, []string{"b3"}},
			{rolecall.Filter{Kind: rolecall.ObjBinding, Group: "eng"}, []string{"b2"}},
			{rolecall.Filter{Kind: rolecall.ObjResource, Scope: "p1"}, []string{"dataset:d1", "dataset:d2", "label:l1"}},
			{rolecall.Filter{Kind: rolecall.ObjResource, Type: "dataset"}, []string{"dataset:d1", "dataset:d2"}},
			{rolecall.Filter{Kind: rolecall.ObjMembership, Scope: "acme"}, []string{"ann@acme", "bob@w1"}},
			{rolecall.Filter{Kind: rolecall.ObjGroupMember, Group: "eng"}, []string{"eng/ann", "eng/bob"}},
			{rolecall.Filter{Kind: rolecall.ObjRole, Org: "acme"}, []string{"acme/editor", "acme/w1/labeler"}},
			{rolecall.Filter{Kind: rolecall.ObjScope, Scope: "w1"}, []string{"p1", "w1"}},
			{rolecall.Filter{Kind: rolecall.ObjInvitation, Org: "acme"}, []string{"i1"}},
			{rolecall.Filter{Kind: rolecall.ObjDomain, Org: "acme"}, []string{"acme.com"}},
			{rolecall.Filter{Kind: rolecall.ObjOffer, User: "cat@globex.com"}, []string{"o1"}},
			{rolecall.Filter{Kind: rolecall.ObjBinding, Org: "nowhere"}, nil},
		}
		for _, fc := range finds {
			got, err := tx.Find(fc.f)
			if err != nil || !slices.Equal(got, fc.want) {
				t.Errorf("Find(%+v) = %q, %v; want %q", fc.f, got, err, fc.want)
			}
		}
		if _, err := tx.Find(rolecall.Filter{Kind: rolecall.ObjBinding}); rolecall.KindOf(err) != rolecall.Invalid {
			t.Errorf("Find with only a kind: %v, want invalid", err)
		}

		// the transaction's own writes are seen
		nb := rolecall.Binding{ID: "b9", Subject: rolecall.UserSubject("bob"), Role: "viewer", Scope: "w1"}
		if err := tx.CreateBinding(&nb); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjBinding, "b3"); err != nil {
			return err
		}
		if got, err := tx.Find(rolecall.Filter{Kind: rolecall.ObjBinding, User: "bob"}); err != nil || !slices.Equal(got, []string{"b9"}) {
			t.Errorf("Find after writes = %q, %v; want [b9]", got, err)
		}
		var b rolecall.Binding
		if found, err := tx.Get(rolecall.ObjBinding, "b9", &b); !found || err != nil || b.Role != "viewer" {
			t.Errorf("Get of a binding this transaction made = %v, %v, %+v", found, err, b)
		}
		if found, _ := tx.Get(rolecall.ObjBinding, "b3", &b); found {
			t.Error("Get found a binding this transaction deleted")
		}
		return nil
	})
}
