package condition_test

import (
	"fmt"

	"github.com/rolecall/rolecall/condition"
)

// task is a resource as the engine might hold it.
type task struct {
	id, owner string
	attrs     map[string]any
}

func (t *task) ID() string                       { return t.id }
func (t *task) Type() string                     { return "task" }
func (t *task) Owner() string                    { return t.owner }
func (t *task) Groups() []string                 { return nil }
func (t *task) Scope() string                    { return "" }
func (t *task) Parent() condition.Object         { return nil }
func (t *task) Ancestor(string) condition.Object { return nil }

func (t *task) Attr(name string) (any, bool) {
	v, ok := t.attrs[name]
	return v, ok
}

// user is a subject with no groups or attributes.
type user string

func (u user) ID() string              { return string(u) }
func (u user) Groups() []string        { return nil }
func (u user) Attr(string) (any, bool) { return nil, false }

func ExampleEnv_Compile() {
	env, err := condition.NewEnv(condition.Schema{
		ResourceAttrs: map[string]condition.Type{"locked_by": condition.String},
	})
	if err != nil {
		panic(err)
	}
	unlocked, err := env.Compile(`resource.locked_by == "" || resource.locked_by == subject.id`)
	if err != nil {
		panic(err)
	}
	doc := &task{id: "t1", owner: "ann", attrs: map[string]any{"locked_by": "bob"}}
	for _, u := range []user{"ann", "bob"} {
		ok, err := unlocked.Eval(u, doc, nil)
		fmt.Println(u, ok, err)
	}

	_, err = env.Compile(`resource.lockedby == ""`)
	fmt.Println(err)
	// Output:
	// ann false <nil>
	// bob true <nil>
	// condition "resource.lockedby == \"\"" at column 9: resource has no field "lockedby"; fields: id, type, owner, groups, scope, parent, locked_by
}

func ExampleEnv_CompileTemplate() {
	env, err := condition.NewEnv(condition.Schema{
		ResourceAttrs: map[string]condition.Type{"locked_by": condition.String},
	})
	if err != nil {
		panic(err)
	}
	reason, err := env.CompileTemplate("task {resource.id} is locked by {resource.locked_by}")
	if err != nil {
		panic(err)
	}
	doc := &task{id: "t1", attrs: map[string]any{"locked_by": "bob"}}
	fmt.Println(reason.Render(user("ann"), doc, nil))
	// Output:
	// task t1 is locked by bob
}
