package engine_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

// overlayModel lets writers change records that are not archived, and
// admins (a subject attribute) only archived ones.
const overlayModel = `
model: records
levels:
  - {id: org, tenant: true}
subjects:
  attributes: {role: string}
qualifiers:
  by_status: {when: 'subject.role == "admin" ? resource.status == "archived" : resource.status != "archived"'}
permissions:
  - {id: read}
  - {id: write}
resources:
  - {id: record, scope: org, attributes: {status: string}}
roles:
  - {id: member, bindable_at: [org], grants: [read, {write: by_status}]}
`

func overlayEngine(t *testing.T) *engine.Engine {
	t.Helper()
	m, err := model.Parse("records.yaml", []byte(overlayModel))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(m, &engine.Data{
		Scopes: []rolecall.Scope{{ID: "acme", Level: "org"}},
		Users:  []rolecall.User{{ID: "alice"}, {ID: "bob", Attrs: map[string]any{"role": "admin"}}},
		Resources: []rolecall.Resource{
			{Type: "record", ID: "r1", Scope: "acme", Attrs: map[string]any{"status": "active"}},
			{Type: "record", ID: "r2", Scope: "acme", Attrs: map[string]any{"status": "archived"}},
		},
		Bindings: []rolecall.Binding{
			{Subject: rolecall.UserSubject("alice"), Role: "member", Scope: "acme"},
			{Subject: rolecall.UserSubject("bob"), Role: "member", Scope: "acme"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAttributeOverlay: attributes a request states are read before the
// stored ones, by checks, explanations and both lookups, and change nothing
// stored.
func TestAttributeOverlay(t *testing.T) {
	e := overlayEngine(t)
	admin := map[string]any{"role": "admin"}
	member := map[string]any{"role": ""}
	archived := map[string]any{"status": "archived"}
	active := map[string]any{"status": "active"}
	for _, c := range []struct {
		name     string
		user, id string
		sub, obj map[string]any
		want     bool
	}{
		{"stored: alice writes an active record", "alice", "r1", nil, nil, true},
		{"stored: bob (admin) may not write an active record", "bob", "r1", nil, nil, false},
		{"stored: alice may not write an archived record", "alice", "r2", nil, nil, false},
		{"stated archived over active", "alice", "r1", nil, archived, false},
		{"stated active over archived", "alice", "r2", nil, active, true},
		{"stated admin role", "alice", "r2", admin, nil, true},
		{"stated role over a stored one", "bob", "r1", member, nil, true},
		{"both stated", "alice", "r1", admin, archived, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := engine.Request{Subject: c.user, Permission: "write", Target: rolecall.ResourceTarget("record", c.id), SubjectAttrs: c.sub, TargetAttrs: c.obj}
			d, err := e.Check(r)
			if err != nil || d.Allowed != c.want {
				t.Fatalf("Check = %v, %v; want %v", d.Allowed, err, c.want)
			}
			x, err := e.Explain(r)
			if err != nil || x.Allowed != c.want {
				t.Fatalf("Explain = %v, %v; want %v", x.Allowed, err, c.want)
			}
		})
	}
	// nothing stated stays: the stored answers are unchanged afterwards
	if d, _ := e.Check(engine.Request{Subject: "bob", Permission: "write", Target: rolecall.ResourceTarget("record", "r1")}); d.Allowed {
		t.Fatal("a stated attribute outlived its request")
	}

	ids, _, err := e.LookupResources(engine.ResourceQuery{Subject: "alice", Permission: "write", Type: "record", SubjectAttrs: admin})
	if err != nil || !slices.Equal(ids, []string{"r2"}) {
		t.Fatalf("LookupResources as admin = %v, %v; want [r2]", ids, err)
	}
	ids, _, _ = e.LookupResources(engine.ResourceQuery{Subject: "alice", Permission: "write", Type: "record"})
	if !slices.Equal(ids, []string{"r1"}) {
		t.Fatalf("LookupResources = %v; want [r1]", ids)
	}
	res, err := e.LookupSubjects(engine.SubjectQuery{Permission: "write", Target: rolecall.ResourceTarget("record", "r1"), TargetAttrs: archived})
	if err != nil || !slices.Equal(res.Users, []string{"bob"}) {
		t.Fatalf("LookupSubjects on r1 stated archived = %v, %v; want [bob]", res.Users, err)
	}
	res, _ = e.LookupSubjects(engine.SubjectQuery{Permission: "write", Target: rolecall.ResourceTarget("record", "r1")})
	if !slices.Equal(res.Users, []string{"alice"}) {
		t.Fatalf("LookupSubjects on r1 = %v; want [alice]", res.Users)
	}
}

// TestAttributesDecodedFromJSON: attributes as a JSON store gives them back
// (numbers as float64, lists as []any, times as strings) read as their
// declared types.
func TestAttributesDecodedFromJSON(t *testing.T) {
	m, err := model.Parse("docs.yaml", []byte(`
model: docs
levels:
  - {id: org, tenant: true}
subjects:
  attributes: {clearance: int, teams: list<string>}
qualifiers:
  cleared: {when: 'subject.clearance >= resource.sensitivity && resource.team in subject.teams && resource.until > timestamp("2026-01-01T00:00:00Z")'}
permissions:
  - {id: read}
resources:
  - {id: doc, scope: org, attributes: {sensitivity: int, team: string, until: timestamp}}
roles:
  - {id: reader, bindable_at: [org], grants: [{read: cleared}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	var d engine.Data
	if err := json.Unmarshal([]byte(`{
	  "Scopes": [{"id": "acme", "level": "org"}],
	  "Users": [{"id": "ann", "attrs": {"clearance": 3, "teams": ["red"]}}],
	  "Resources": [
	    {"type": "doc", "id": "d1", "scope": "acme", "attrs": {"sensitivity": 2, "team": "red", "until": "2027-01-01T00:00:00Z"}},
	    {"type": "doc", "id": "d2", "scope": "acme", "attrs": {"sensitivity": 5, "team": "red", "until": "2027-01-01T00:00:00Z"}}
	  ],
	  "Bindings": [{"subject": {"kind": "user", "id": "ann"}, "role": "reader", "scope": "acme"}]
	}`), &d); err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(m, &d)
	if err != nil {
		t.Fatal(err)
	}
	ids, _, err := e.LookupResources(engine.ResourceQuery{Subject: "ann", Permission: "read", Type: "doc"})
	if err != nil || !slices.Equal(ids, []string{"d1"}) {
		t.Fatalf("LookupResources = %v, %v; want [d1]", ids, err)
	}
	// stated attributes decoded from JSON too
	var stated map[string]any
	json.Unmarshal([]byte(`{"clearance": 5}`), &stated)
	d2, err := e.Check(engine.Request{Subject: "ann", Permission: "read", Target: rolecall.ResourceTarget("doc", "d2"), SubjectAttrs: stated})
	if err != nil || !d2.Allowed {
		t.Fatalf("a stated clearance of 5 (a float64) on d2: %v, %v; want allowed", d2, err)
	}
}
