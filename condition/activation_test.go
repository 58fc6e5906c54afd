package condition

import (
	"fmt"
	"sync"
	"testing"

	"cel.dev/cel-go/common/types"
)

func TestBoxedAt(t *testing.T) {
	if !boxInPlace {
		t.Fatal("boxedAt does not work with this Go runtime; Eval allocates for every string it reads")
	}
	s := types.String("x")
	v := boxedAt(&s)
	if v != any(types.String("x")) {
		t.Errorf("boxedAt(&%q) = %#v", s, v)
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
