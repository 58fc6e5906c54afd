package condition

import (
	"sync"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"
)

// activation supplies the variables of one evaluation, resource, subject and
// context, without building a map. Activations are pooled; newActivation
// takes one and release returns it.
//
// An activation also holds the memory for the values an evaluation reads,
// so that the check path does not allocate: the views of the objects it
// reaches through parent and ancestor fields. Such values are valid only until release, so
// everything that outlives an evaluation (its result, the text of its error)
// must be taken out of them before then.
type activation struct {
	resource objView
	subject  subjectView
	context  map[string]any

	views  [4]objView // parents and ancestors read so far
	nviews int        // views in use
}

// objView is the value of resource, or of a parent or ancestor of it, during
// one evaluation: the Object and the activation whose memory its field
// getters may use.
type objView struct {
	obj Object
	a   *activation
}

// subjectView is the value of the subject variable during one evaluation. It
// remembers subject.groups as a CEL list, which conditions such as
// resource.groups.exists(g, g in subject.groups) read once per element.
type subjectView struct {
	sub    Subject
	a      *activation
	groups ref.Val // nil until first read
}

var activations = sync.Pool{New: func() any { return new(activation) }}

// newActivation returns a pooled activation binding sub, obj and ctx; a nil
// sub or obj reads as an empty one.
func newActivation(sub Subject, obj Object, ctx map[string]any) *activation {
	a := activations.Get().(*activation)
	a.resource = objView{obj: orEmpty(obj), a: a}
	if sub == nil {
		sub = emptySubject{}
	}
	a.subject = subjectView{sub: sub, a: a}
	a.context = ctx
	return a
}

// release returns a to the pool, forgetting everything it refers to.
func (a *activation) release() {
	*a = activation{}
	activations.Put(a)
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "resource":
		return &a.resource, true
	case "subject":
		return &a.subject, true
	case "context":
		return a.context, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// view returns o as the value of a parent or ancestor field: a view in a's
// memory while it lasts, o itself after, or the empty object if o is nil.
func (a *activation) view(o Object) any {
	switch {
	case o == nil:
		return emptyObject{}
	case a == nil || a.nviews == len(a.views):
		return o
	}
	v := &a.views[a.nviews]
	a.nviews++
	*v = objView{obj: o, a: a}
	return v
}

// str returns s as a CEL string.
func (a *activation) str(s string) any {
	return types.String(s)
}
