package condition

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestActivationOverflow reads more strings and ancestors than an
// activation has room for, so that the getters fall back to allocating.
func TestActivationOverflow(t *testing.T) {
	env := testEnv(t)
	var obj *fakeObject
	for i := range 8 {
		obj = &fakeObject{id: fmt.Sprintf("o%d", i), owner: fmt.Sprintf("u%d", i), typ: "project", parent: obj}
	}
	var parts []string
	for i := range 8 {
		path := "resource" + strings.Repeat(".parent", i)
		parts = append(parts, fmt.Sprintf(`%s.id + "/" + %s.owner == "o%d/u%d"`, path, path, 7-i, 7-i))
	}
	parts = append(parts, `resource.project.project.project.project.project.project.project.id == "o0" && resource.project.project.project.project.project.project.project.project.id == ""`)
	p, err := env.Compile(strings.Join(parts, " && "))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Eval(nil, obj, nil); !ok || err != nil {
		t.Errorf("Eval = %v, %v; want true", ok, err)
	}
}

// TestEvalErrorOutlivesActivation checks that an error naming a value read
// during the evaluation still names it after the activation is reused.
func TestEvalErrorOutlivesActivation(t *testing.T) {
	env := testEnv(t)
	p, err := env.Compile("context[resource.owner]")
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(nil, &fakeObject{owner: "ann"}, map[string]any{})
	for range 10 {
		p.Eval(nil, &fakeObject{owner: "zed"}, map[string]any{})
	}
	if err == nil || !strings.HasSuffix(err.Error(), "no such key: ann") {
		t.Errorf("Eval error = %v, want one ending in %q", err, "no such key: ann")
	}
}

// TestConcurrentEval evaluates and renders from many goroutines at once, each
// with its own subject and object, so that the race detector and the results
// catch evaluations that share an activation's memory.
func TestConcurrentEval(t *testing.T) {
	env := testEnv(t)
	cond, err := env.Compile(`resource.owner == subject.id && resource.data_row.step == "s" + subject.id`)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := env.CompileTemplate("{resource.id} {resource.owner} {subject.id} {resource.data_row.step} {context.n}")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprintf("u%d-%d", g, i)
				sub := &fakeSubject{id: id}
				obj := &fakeObject{id: "o" + id, owner: id,
					parent: &fakeObject{typ: "data_row", attrs: map[string]any{"step": "s" + id}}}
				ok, err := cond.Eval(sub, obj, nil)
				if !ok || err != nil {
					t.Errorf("Eval for %s = %v, %v; want true", id, ok, err)
					return
				}
				got := tmpl.Render(sub, obj, map[string]any{"n": i})
				if want := fmt.Sprintf("o%s %s %s s%s %d", id, id, id, id, i); got != want {
					t.Errorf("Render = %q, want %q", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
