package rolecall_test

import (
	"reflect"
	"testing"

	"github.com/rolecall/rolecall"
)

// TestSnapshotPart: the part of one organization holds what is at its
// nodes, found through parents (of scopes and of resources), and every
// user.
func TestSnapshotPart(t *testing.T) {
	ds := rolecall.ResourceRef{Type: "dataset", ID: "d1"}
	label := rolecall.ResourceRef{Type: "label", ID: "l1"}
	other := rolecall.ResourceRef{Type: "dataset", ID: "d2"}
	s := &rolecall.Snapshot{
		Revision: 9,
		Scopes:   []rolecall.Scope{{ID: "acme"}, {ID: "w1", Parent: "acme"}, {ID: "p1", Parent: "w1"}, {ID: "beta"}},
		Users:    []rolecall.User{{ID: "ann"}, {ID: "zed"}},
		Memberships: []rolecall.Membership{
			{User: "ann", Scope: "p1"}, {User: "zed", Scope: "beta"},
		},
		Groups:       []rolecall.Group{{ID: "g1", Scope: "w1"}, {ID: "g2", Scope: "beta"}},
		GroupMembers: []rolecall.GroupMember{{Group: "g1", User: "ann"}, {Group: "g2", User: "zed"}},
		Resources: []rolecall.Resource{
			{Type: "dataset", ID: "d1", Scope: "p1"}, {Type: "label", ID: "l1", Parent: &ds}, {Type: "dataset", ID: "d2", Scope: "beta"},
		},
		Roles: []rolecall.Role{{ID: "r1", Org: "acme"}, {ID: "r2", Org: "beta"}},
		Bindings: []rolecall.Binding{
			{ID: "b1", Subject: rolecall.UserSubject("ann"), Role: "r1", Scope: "w1"},
			{ID: "b2", Subject: rolecall.UserSubject("ann"), Role: "r1", Resource: &label},
			{ID: "b3", Subject: rolecall.UserSubject("zed"), Role: "r2", Resource: &other},
		},
		Offers: []rolecall.Offer{{ID: "o1", Resource: ds}, {ID: "o2", Resource: other}},
	}
	got := s.Part(func(org string) bool { return org == "acme" })
	want := &rolecall.Snapshot{
		Revision:     9,
		Scopes:       s.Scopes[:3],
		Users:        s.Users,
		Memberships:  s.Memberships[:1],
		Groups:       s.Groups[:1],
		GroupMembers: s.GroupMembers[:1],
		Resources:    s.Resources[:2],
		Roles:        s.Roles[:1],
		Bindings:     s.Bindings[:2],
		Offers:       s.Offers[:1],
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("acme's part:\n got %+v\nwant %+v", got, want)
	}
}
