package storetest

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/rolecall/rolecall"
)

// fixture is a small world holding one or more objects of every kind, in
// two organizations: acme (with workspace w1 and project p1 below it) and
// globex.
type fixture struct {
	scopes       []rolecall.Scope
	users        []rolecall.User
	memberships  []rolecall.Membership
	groups       []rolecall.Group
	groupMembers []rolecall.GroupMember
	resources    []rolecall.Resource
	roles        []rolecall.Role
	bindings     []rolecall.Binding
	offers       []rolecall.Offer
	invitations  []rolecall.Invitation
	domains      []rolecall.Domain
	// orgs maps "kind key" to the organization its change must report.
	orgs map[string]string
}

var (
	t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1 = time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
)

func newFixture() *fixture {
	return &fixture{
		scopes: []rolecall.Scope{
			{ID: "acme", Level: "org", Name: "Acme", Attrs: map[string]any{"plan": "enterprise", "seats": 12.0}},
			{ID: "w1", Level: "workspace", Parent: "acme"},
			{ID: "p1", Level: "project", Parent: "w1", Name: "Claims"},
			{ID: "globex", Level: "org"},
		},
		users: []rolecall.User{
			{ID: "ann", Name: "Ann", Email: "ann@acme.com"},
			{ID: "bob", Email: "bob@acme.com", Attrs: map[string]any{"staff": true}},
			{ID: "cat@globex.com"},
		},
		memberships: []rolecall.Membership{
			{User: "ann", Scope: "acme", DefaultRole: "member"},
			{User: "bob", Scope: "w1"},
			{User: "cat@globex.com", Scope: "globex"},
		},
		groups: []rolecall.Group{
			{ID: "eng", Scope: "acme", Name: "Engineering"},
			{ID: "everyone", Scope: "w1", AllMembers: true},
		},
		groupMembers: []rolecall.GroupMember{
			{Group: "eng", User: "ann"},
			{Group: "eng", User: "bob"},
		},
		resources: []rolecall.Resource{
			{Type: "dataset", ID: "d1", Scope: "p1", Owner: "ann", Fields: map[string]string{"email": "sensitive"}},
			{Type: "label", ID: "l1", Parent: &rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Attrs: map[string]any{"step": "review"}},
			{Type: "source", ID: "s1", Scope: "w1", Groups: []string{"eng"}},
			{Type: "dataset", ID: "d2", Scope: "p1", Inputs: map[string][]rolecall.ResourceRef{"sources": {{Type: "source", ID: "s1"}}}},
		},
		roles: []rolecall.Role{
			{ID: "editor", Org: "acme", Name: "Editor", Grants: []rolecall.Grant{{Permission: "edit"}, {Permission: "view", Qualifiers: []string{"own"}}}},
			{ID: "labeler", Org: "acme", Scope: "w1", Grants: []rolecall.Grant{{Permission: "label"}}},
		},
		bindings: []rolecall.Binding{
			{ID: "b1", Subject: rolecall.UserSubject("ann"), Role: "admin", Scope: "acme", Wildcard: true},
			{ID: "b2", Subject: rolecall.GroupSubject("eng"), Role: "viewer", Resource: &rolecall.ResourceRef{Type: "dataset", ID: "d1"}},
			{ID: "b3", Subject: rolecall.UserSubject("bob"), Permissions: []string{"view", "edit"}, Scope: "p1", NotBefore: t0, NotAfter: t1},
			{ID: "b4", Subject: rolecall.UserSubject("cat@globex.com"), Role: "owner", Scope: "globex"},
		},
		offers: []rolecall.Offer{
			{ID: "o1", Kind: "share", Resource: rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Recipient: "cat@globex.com", State: rolecall.OfferPending, NotAfter: t1},
		},
		invitations: []rolecall.Invitation{
			{ID: "i1", Org: "acme", Scope: "w1", Email: "dan@acme.com", Role: "labeler", State: "pending", InvitedBy: "ann", Created: t0, Expires: t1},
		},
		domains: []rolecall.Domain{
			{Org: "acme", Domain: "acme.com"},
		},
		orgs: map[string]string{
			"scope acme": "acme", "scope w1": "acme", "scope p1": "acme", "scope globex": "globex",
			"user ann": "", "user bob": "", "user cat@globex.com": "",
			"membership ann@acme": "acme", "membership bob@w1": "acme", "membership cat@globex.com@globex": "globex",
			"group eng": "acme", "group everyone": "acme",
			"group_member eng/ann": "acme", "group_member eng/bob": "acme",
			"resource dataset:d1": "acme", "resource label:l1": "acme", "resource source:s1": "acme", "resource dataset:d2": "acme",
			"role acme/editor": "acme", "role acme/w1/labeler": "acme",
			"binding b1": "acme", "binding b2": "acme", "binding b3": "acme", "binding b4": "globex",
			"offer o1":        "acme",
			"invitation i1":   "acme",
			"domain acme.com": "acme",
		},
	}
}

// write creates the whole fixture in dependency order.
func (f *fixture) write(tx rolecall.Tx) error {
	var steps []func() error
	for _, s := range f.scopes {
		steps = append(steps, func() error { return tx.CreateScope(s) })
	}
	for _, u := range f.users {
		steps = append(steps, func() error { return tx.CreateUser(u) })
	}
	for _, m := range f.memberships {
		steps = append(steps, func() error { return tx.CreateMembership(m) })
	}
	for _, g := range f.groups {
		steps = append(steps, func() error { return tx.CreateGroup(g) })
	}
	for _, m := range f.groupMembers {
		steps = append(steps, func() error { return tx.CreateGroupMember(m) })
	}
	for _, r := range f.resources {
		steps = append(steps, func() error { return tx.CreateResource(r) })
	}
	for _, r := range f.roles {
		steps = append(steps, func() error { return tx.CreateRole(r) })
	}
	for _, b := range f.bindings {
		steps = append(steps, func() error { return tx.CreateBinding(&b) })
	}
	for _, o := range f.offers {
		steps = append(steps, func() error { return tx.CreateOffer(&o) })
	}
	for _, i := range f.invitations {
		steps = append(steps, func() error { return tx.CreateInvitation(&i) })
	}
	for _, d := range f.domains {
		steps = append(steps, func() error { return tx.CreateDomain(d) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// state is what the fixture holds, as the store should report it.
func (f *fixture) state() state {
	st := state{}
	for i := range f.scopes {
		st.put(rolecall.ObjScope, f.scopes[i].Key(), &f.scopes[i])
	}
	for i := range f.users {
		st.put(rolecall.ObjUser, f.users[i].Key(), &f.users[i])
	}
	for i := range f.memberships {
		st.put(rolecall.ObjMembership, f.memberships[i].Key(), &f.memberships[i])
	}
	for i := range f.groups {
		st.put(rolecall.ObjGroup, f.groups[i].Key(), &f.groups[i])
	}
	for i := range f.groupMembers {
		st.put(rolecall.ObjGroupMember, f.groupMembers[i].Key(), &f.groupMembers[i])
	}
	for i := range f.resources {
		st.put(rolecall.ObjResource, f.resources[i].Key(), &f.resources[i])
	}
	for i := range f.roles {
		st.put(rolecall.ObjRole, f.roles[i].Key(), &f.roles[i])
	}
	for i := range f.bindings {
		st.put(rolecall.ObjBinding, f.bindings[i].Key(), &f.bindings[i])
	}
	for i := range f.offers {
		st.put(rolecall.ObjOffer, f.offers[i].Key(), &f.offers[i])
	}
	for i := range f.invitations {
		st.put(rolecall.ObjInvitation, f.invitations[i].Key(), &f.invitations[i])
	}
	for i := range f.domains {
		st.put(rolecall.ObjDomain, f.domains[i].Key(), &f.domains[i])
	}
	return st
}

// state maps kind and key to an object's canonical JSON: the object
// decoded into its Go type and encoded again, so two encodings of the same
// object compare equal.
type state map[rolecall.ObjectKind]map[string]string

func (st state) put(kind rolecall.ObjectKind, key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if st[kind] == nil {
		st[kind] = map[string]string{}
	}
	st[kind][key] = string(b)
}

// only returns the part of st holding the given kinds.
func (st state) only(kinds ...rolecall.ObjectKind) state {
	out := state{}
	for _, k := range kinds {
		if len(st[k]) > 0 {
			out[k] = st[k]
		}
	}
	return out
}

// snapshotKinds are the kinds a Snapshot holds.
var snapshotKinds = []rolecall.ObjectKind{
	rolecall.ObjScope, rolecall.ObjUser, rolecall.ObjMembership, rolecall.ObjGroup, rolecall.ObjGroupMember,
	rolecall.ObjResource, rolecall.ObjRole, rolecall.ObjBinding, rolecall.ObjOffer,
}

// snapshotState returns what a snapshot holds.
func snapshotState(snap *rolecall.Snapshot) state {
	st := state{}
	for i := range snap.Scopes {
		st.put(rolecall.ObjScope, snap.Scopes[i].Key(), &snap.Scopes[i])
	}
	for i := range snap.Users {
		st.put(rolecall.ObjUser, snap.Users[i].Key(), &snap.Users[i])
	}
	for i := range snap.Memberships {
		st.put(rolecall.ObjMembership, snap.Memberships[i].Key(), &snap.Memberships[i])
	}
	for i := range snap.Groups {
		st.put(rolecall.ObjGroup, snap.Groups[i].Key(), &snap.Groups[i])
	}
	for i := range snap.GroupMembers {
		st.put(rolecall.ObjGroupMember, snap.GroupMembers[i].Key(), &snap.GroupMembers[i])
	}
	for i := range snap.Resources {
		st.put(rolecall.ObjResource, snap.Resources[i].Key(), &snap.Resources[i])
	}
	for i := range snap.Roles {
		st.put(rolecall.ObjRole, snap.Roles[i].Key(), &snap.Roles[i])
	}
	for i := range snap.Bindings {
		st.put(rolecall.ObjBinding, snap.Bindings[i].Key(), &snap.Bindings[i])
	}
	for i := range snap.Offers {
		st.put(rolecall.ObjOffer, snap.Offers[i].Key(), &snap.Offers[i])
	}
	return st
}

// newObject returns a pointer to a zero object of the kind's Go type.
func newObject(kind rolecall.ObjectKind) any {
	t := kind.GoType()
	if t == nil {
		return nil
	}
	return reflect.New(t).Interface()
}

// keyOf returns the key of an object decoded by newObject.
func keyOf(v any) string {
	return v.(interface{ Key() string }).Key()
}
