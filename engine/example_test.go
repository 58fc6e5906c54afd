package engine_test

import (
	"fmt"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

const exampleModel = `
model: notes
levels:
  - {id: org, tenant: true, wildcard: "*"}
  - {id: project, parent: org}
qualifiers:
  own_only: {when: "resource.owner == subject.id"}
permissions:
  - {id: view, name: View notes}
  - {id: edit, name: Edit notes, implies: [view]}
  - {id: admin, name: Administer, implies: [edit]}
resources:
  - {id: note, scope: project, owner: author}
roles:
  - {id: reader, bindable_at: [project, "*"], grants: [view]}
  - {id: writer, bindable_at: [project], grants: [view, {edit: own_only}]}
  - {id: owner, bindable_at: ["*"], grants: all}
`

func exampleEngine() *engine.Engine {
	m, err := model.Parse("notes.yaml", []byte(exampleModel))
	if err != nil {
		panic(err)
	}
	e, err := engine.New(m, &engine.Data{
		Scopes: []rolecall.Scope{{ID: "acme", Level: "org"}, {ID: "web", Level: "project", Parent: "acme"}},
		Users:  []rolecall.User{{ID: "ann"}, {ID: "bob"}},
		Resources: []rolecall.Resource{
			{Type: "note", ID: "n1", Scope: "web", Owner: "ann"},
			{Type: "note", ID: "n2", Scope: "web", Owner: "bob"},
		},
		Bindings: []rolecall.Binding{
			{Subject: rolecall.UserSubject("ann"), Role: "writer", Scope: "web"},
			{Subject: rolecall.UserSubject("bob"), Role: "owner", Scope: "acme", Wildcard: true},
		},
	})
	if err != nil {
		panic(err)
	}
	return e
}

func ExampleEngine_Check() {
	e := exampleEngine()
	d, err := e.Check(engine.Request{Subject: "ann", Permission: "edit", Target: rolecall.ResourceTarget("note", "n1")})
	fmt.Println(d.Allowed, err)
	d, err = e.Check(engine.Request{Subject: "ann", Permission: "edit", Target: rolecall.ResourceTarget("note", "n2")})
	fmt.Println(d.Allowed, err)
	// Output:
	// true <nil>
	// false <nil>
}

func ExampleEngine_Explain() {
	e := exampleEngine()
	d, _ := e.Explain(engine.Request{Subject: "ann", Permission: "edit", Target: rolecall.ResourceTarget("note", "n2")})
	fmt.Print(d.Explanation)
	d, _ = e.Explain(engine.Request{Subject: "bob", Permission: "view", Target: rolecall.ResourceTarget("note", "n1")})
	fmt.Print(d.Explanation)
	// Output:
	// DENIED: ann edit on note n2
	//   missing: edit on note n2 (in project web)
	//       held as edit on note n2: role writer at project web, where own_only, but own_only did not hold: resource.owner == subject.id is false (resource.owner = bob, subject.id = ann)
	//       also granted by admin
	//       role writer would grant it where own_only, bound at project web
	//       role owner would grant it, bound at *
	// ALLOWED: bob view on note n1
	//   granted: view on note n1: role owner at * (org acme)
}

func ExampleEngine_CheckBulk() {
	e := exampleEngine()
	var reqs []engine.Request
	for _, n := range []string{"n1", "n2", "n3"} {
		reqs = append(reqs, engine.Request{Subject: "ann", Permission: "edit", Target: rolecall.ResourceTarget("note", n)})
	}
	for i, r := range e.CheckBulk(reqs) {
		fmt.Println(reqs[i].Target.Resource.ID, r.Decision.Allowed, r.Err)
	}
	// Output:
	// n1 true <nil>
	// n2 false <nil>
	// n3 false note:n3: no such resource
}

func ExampleEngine_Effective() {
	e := exampleEngine()
	eff, _ := e.Effective("ann", rolecall.ResourceTarget("note", "n1"), nil)
	for _, x := range eff {
		fmt.Println(x.Permission, "via", x.Paths[0].Role)
	}
	// Output:
	// view via writer
	// edit via writer
}
