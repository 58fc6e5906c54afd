package engine

import "github.com/rolecall/rolecall/condition"

// objView shows an object to conditions (condition.Object).
type objView struct {
	e *Engine
	o obj
}

func (e *Engine) view(o obj) condition.Object { return objView{e, o} }

func (v objView) ID() string {
	switch {
	case v.o.prop != nil:
		return v.o.prop.id
	case v.o.res >= 0:
		return v.e.resList.at(v.o.res).id
	case v.o.node >= 0:
		return v.e.nodeList.at(v.o.node).id
	}
	return ""
}

func (v objView) Type() string {
	if v.o.node < 0 && v.o.res < 0 && v.o.prop == nil {
		return ""
	}
	return v.e.typeID(v.o)
}

func (v objView) Owner() string {
	switch {
	case v.o.prop != nil:
		return v.o.prop.owner
	case v.o.res >= 0:
		return v.e.resList.at(v.o.res).owner
	}
	return ""
}

func (v objView) Groups() []string {
	switch {
	case v.o.prop != nil:
		return v.o.prop.groupIDs
	case v.o.res >= 0:
		return v.e.resList.at(v.o.res).groupIDs
	}
	return nil
}

func (v objView) Scope() string {
	if v.o.node >= 0 {
		return v.e.nodeList.at(v.o.node).id
	}
	return ""
}

func (v objView) parent() (obj, bool) {
	e := v.e
	var p int32 = -1
	switch {
	case v.o.prop != nil:
		p = v.o.prop.parent
	case v.o.res >= 0:
		p = e.resList.at(v.o.res).parent
	default:
		if v.o.node < 0 || e.nodeList.at(v.o.node).parent < 0 {
			return obj{}, false
		}
		return obj{res: -1, node: e.nodeList.at(v.o.node).parent}, true
	}
	if p >= 0 {
		return obj{res: p, node: e.resList.at(p).node}, true
	}
	if v.o.node < 0 {
		return obj{}, false
	}
	return obj{res: -1, node: v.o.node}, true
}

func (v objView) Parent() condition.Object {
	p, ok := v.parent()
	if !ok {
		return nil
	}
	return objView{v.e, p}
}

func (v objView) Ancestor(typ string) condition.Object {
	cur := v
	for {
		p, ok := cur.parent()
		if !ok {
			return nil
		}
		cur = objView{v.e, p}
		if cur.Type() == typ {
			return cur
		}
	}
}

func (v objView) Attr(name string) (any, bool) {
	var attrs map[string]any
	switch {
	case v.o.prop != nil:
		attrs = v.o.prop.attrs
	case v.o.res >= 0:
		attrs = v.e.resList.at(v.o.res).attrs
	case v.o.node >= 0:
		attrs = v.e.nodeList.at(v.o.node).attrs
	}
	x, ok := attrs[name]
	return x, ok
}

// subjView shows a user to conditions (condition.Subject).
type subjView struct {
	u *user
}

func (e *Engine) subjView(u int32) condition.Subject { return subjView{e.userList.at(u)} }

func (s subjView) ID() string       { return s.u.id }
func (s subjView) Groups() []string { return s.u.groupIDs }
func (s subjView) Attr(name string) (any, bool) {
	x, ok := s.u.attrs[name]
	return x, ok
}

// subject shows the evaluation's user to conditions, with the attributes
// the request states over the stored ones.
func (ev *evalCtx) subject() condition.Subject {
	v := subjView{ev.e.userList.at(ev.u)}
	if ev.subAttrs == nil {
		return v
	}
	return overSubj{v, ev.subAttrs}
}

// view shows o to conditions; the target shows the attributes the request
// states over its stored ones.
func (ev *evalCtx) view(o obj) condition.Object {
	v := objView{ev.e, o}
	if ev.objAttrs == nil || o.res != ev.target.res || o.node != ev.target.node || o.prop != ev.target.prop {
		return v
	}
	return overObj{v, ev.objAttrs}
}

// overSubj is a subject whose attributes are overlaid by a request's.
type overSubj struct {
	subjView
	attrs map[string]any
}

func (s overSubj) Attr(name string) (any, bool) {
	if x, ok := s.attrs[name]; ok {
		return x, true
	}
	return s.subjView.Attr(name)
}

// overObj is an object whose attributes are overlaid by a request's.
type overObj struct {
	objView
	attrs map[string]any
}

func (v overObj) Attr(name string) (any, bool) {
	if x, ok := v.attrs[name]; ok {
		return x, true
	}
	return v.objView.Attr(name)
}

// resAttrs and subjAttrs return attributes with each declared one in the Go
// type conditions read (numbers decoded from JSON become int64 for int
// attributes, lists []string, RFC 3339 strings timestamps); a value that
// cannot be converted is kept, and conditions reading it fail, as the model
// documentation says.
func (e *Engine) resAttrs(a map[string]any) map[string]any {
	if len(a) == 0 {
		return a
	}
	out, _ := condition.CoerceAttrs(a, e.m.Env.ResourceAttr)
	return out
}

func (e *Engine) subjAttrs(a map[string]any) map[string]any {
	if len(a) == 0 {
		return a
	}
	out, _ := condition.CoerceAttrs(a, e.m.Env.SubjectAttr)
	return out
}
