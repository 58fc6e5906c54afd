package engine_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

const directoryModel = `
model: directory
levels:
  - {id: org, tenant: true, wildcard: "*"}
  - {id: project, parent: org}
permissions:
  - {id: view, name: View}
  - {id: edit, name: Edit, implies: [view]}
resources:
  - {id: note, scope: project, owner: author}
offers:
  - {id: share, resource: note, grants: [view]}
roles:
  - {id: reader, bindable_at: [project, "*"], grants: [view]}
  - {id: writer, bindable_at: [project, "resource:note"], grants: [edit]}
custom_roles: {allowed: true, bindable_at: [project]}
`

// TestDirectory reads back what an organization holds, before and after
// changes are applied, and never another organization's.
func TestDirectory(t *testing.T) {
	m, err := model.Parse("directory.yaml", []byte(directoryModel))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(m, &engine.Data{
		Scopes: []rolecall.Scope{
			{ID: "acme", Level: "org", Name: "Acme"}, {ID: "web", Level: "project", Parent: "acme", Name: "Web"},
			{ID: "api", Level: "project", Parent: "acme", Name: "API"}, {ID: "other", Level: "org"},
			{ID: "elsewhere", Level: "project", Parent: "other"},
		},
		Users:        []rolecall.User{{ID: "ann", Email: "Ann@acme.test"}, {ID: "bob"}, {ID: "cy"}},
		Memberships:  []rolecall.Membership{{User: "ann", Scope: "acme"}, {User: "ann", Scope: "web", DefaultRole: "reader"}, {User: "bob", Scope: "acme"}, {User: "cy", Scope: "other"}},
		Groups:       []rolecall.Group{{ID: "team", Scope: "acme", Name: "Team"}, {ID: "all", Scope: "acme", Name: "Everyone", AllMembers: true}, {ID: "theirs", Scope: "other"}},
		GroupMembers: []rolecall.GroupMember{{Group: "team", User: "ann"}},
		Resources:    []rolecall.Resource{{Type: "note", ID: "n1", Scope: "web", Owner: "ann"}, {Type: "note", ID: "n2", Scope: "elsewhere", Owner: "cy"}},
		Roles:        []rolecall.Role{{ID: "auditor", Org: "acme", Name: "Auditor", Grants: []rolecall.Grant{{Permission: "view"}}}, {ID: "x", Org: "other", Grants: []rolecall.Grant{{Permission: "view"}}}},
		Bindings: []rolecall.Binding{
			{ID: "b1", Subject: rolecall.UserSubject("ann"), Role: "writer", Scope: "web"},
			{ID: "b2", Subject: rolecall.UserSubject("ann"), Role: "writer", Resource: &rolecall.ResourceRef{Type: "note", ID: "n2"}},
			{ID: "b3", Subject: rolecall.GroupSubject("team"), Role: "reader", Scope: "acme", Wildcard: true},
		},
		Offers: []rolecall.Offer{{ID: "o1", Kind: "share", Resource: rolecall.ResourceRef{Type: "note", ID: "n2"}, Recipient: "ann", State: rolecall.OfferPending}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ss []rolecall.Scope) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID+"="+s.Name)
		}
		return out
	}
	if got := ids(e.Scopes("acme")); !reflect.DeepEqual(got, []string{"acme=Acme", "api=API", "web=Web"}) {
		t.Errorf("Scopes = %v, want %v", got, []string{"acme=Acme", "api=API", "web=Web"})
	}
	if got := e.Tenants(); !reflect.DeepEqual(got, []string{"acme", "other"}) {
		t.Errorf("Tenants = %v", got)
	}
	if e.Scopes("nowhere") != nil {
		t.Error("Scopes of an unknown organization should be nil")
	}
	if id, ok := e.UserByEmail("ann@ACME.test"); !ok || id != "ann" {
		t.Errorf("UserByEmail = %q, %v", id, ok)
	}
	if got := e.Memberships("ann", "acme"); !reflect.DeepEqual(got, []rolecall.Membership{{User: "ann", Scope: "acme"}, {User: "ann", Scope: "web", DefaultRole: "reader"}}) {
		t.Errorf("Memberships = %v, want %v", got, []rolecall.Membership{{User: "ann", Scope: "acme"}, {User: "ann", Scope: "web", DefaultRole: "reader"}})
	}
	bindingIDs := func(bs []rolecall.Binding) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.ID)
		}
		return out
	}
	if got := bindingIDs(e.Bindings(rolecall.UserSubject("ann"), "acme")); !reflect.DeepEqual(got, []string{"b1"}) {
		t.Errorf("ann's bindings in acme = %v, want %v", got, []string{"b1"})
	}
	if got := bindingIDs(e.Bindings(rolecall.UserSubject("ann"), "other")); !reflect.DeepEqual(got, []string{"b2"}) {
		t.Errorf("ann's bindings in other = %v, want %v", got, []string{"b2"})
	}
	if got := bindingIDs(e.Bindings(rolecall.UserSubject("ann"), "")); !reflect.DeepEqual(got, []string{"b1", "b2"}) {
		t.Errorf("ann's bindings anywhere = %v, want %v", got, []string{"b1", "b2"})
	}
	if got := bindingIDs(e.Bindings(rolecall.GroupSubject("team"), "acme")); !reflect.DeepEqual(got, []string{"b3"}) {
		t.Errorf("team's bindings = %v, want %v", got, []string{"b3"})
	}
	groups := e.Groups("acme")
	if len(groups) != 2 || groups[0].ID != "all" || groups[1].ID != "team" {
		t.Fatalf("Groups = %+v", groups)
	}
	if got := groups[0].Members; !reflect.DeepEqual(got, []string{"ann", "bob"}) {
		t.Errorf("all-members group's members = %v, want %v", got, []string{"ann", "bob"})
	}
	if got := e.UserGroups("ann", "acme"); !reflect.DeepEqual(got, []string{"all", "team"}) {
		t.Errorf("UserGroups = %v, want %v", got, []string{"all", "team"})
	}
	if rs := e.CustomRoles("acme"); len(rs) != 1 || rs[0].ID != "auditor" || rs[0].Name != "Auditor" {
		t.Errorf("CustomRoles = %+v", rs)
	}
	sent, received := e.Offers("acme")
	if len(sent) != 0 || len(received) != 1 || received[0].ID != "o1" {
		t.Errorf("acme's offers: sent %v, received %v", sent, received)
	}
	if sent, received := e.Offers("other"); len(sent) != 1 || len(received) != 0 {
		t.Errorf("other's offers: sent %v, received %v", sent, received)
	}
	if got := e.Orgs("ann"); !reflect.DeepEqual(got, []string{"acme"}) {
		t.Errorf("Orgs = %v, want [acme]", got)
	}

	// renames, a new group, a binding removed
	value := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	e2, err := e.Apply([]rolecall.Change{
		{Revision: 2, Kind: rolecall.ObjScope, Key: "web", Value: value(rolecall.Scope{ID: "web", Level: "project", Parent: "acme", Name: "Website"})},
		{Revision: 2, Seq: 1, Kind: rolecall.ObjGroup, Key: "team", Value: value(rolecall.Group{ID: "team", Scope: "acme", Name: "The team"})},
		{Revision: 2, Seq: 2, Kind: rolecall.ObjGroup, Key: "new", Value: value(rolecall.Group{ID: "new", Scope: "acme", Name: "Newcomers"})},
		{Revision: 2, Seq: 3, Kind: rolecall.ObjBinding, Key: "b1", Deleted: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := e2.Scope("web"); s.Name != "Website" {
		t.Errorf("renamed scope reads %q", s.Name)
	}
	if g, _ := e2.Group("team"); g.Name != "The team" || len(g.Members) != 1 {
		t.Errorf("renamed group reads %+v", g)
	}
	if len(e2.Groups("acme")) != 3 {
		t.Errorf("after a group is added: %d groups", len(e2.Groups("acme")))
	}
	if bs := e2.Bindings(rolecall.UserSubject("ann"), "acme"); len(bs) != 0 {
		t.Errorf("a deleted binding is still listed: %v", bs)
	}
	if s, _ := e.Scope("web"); s.Name != "Web" {
		t.Errorf("the old engine changed: %q", s.Name)
	}
}
