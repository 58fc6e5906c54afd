package engine_test

import (
	"slices"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/condition"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

// brute is a deliberately naive evaluator written straight from the
// model's meaning: for every question it scans every binding, walks
// implications one edge at a time and evaluates each grant's qualifiers on
// the object. It shares nothing with the engine but the compiled model's
// parse results (permissions, roles as written, compiled conditions).
type brute struct {
	m   *model.Model
	d   *engine.Data
	now time.Time
}

// bobj is an object of the data: a scope node or a resource (possibly one
// not yet created).
type bobj struct {
	node string             // set for scope nodes
	res  *rolecall.Resource // set for resources
}

func (b *brute) scope(id string) *rolecall.Scope {
	for i := range b.d.Scopes {
		if b.d.Scopes[i].ID == id {
			return &b.d.Scopes[i]
		}
	}
	return nil
}

func (b *brute) resource(ref rolecall.ResourceRef) *rolecall.Resource {
	for i := range b.d.Resources {
		if b.d.Resources[i].Type == ref.Type && b.d.Resources[i].ID == ref.ID {
			return &b.d.Resources[i]
		}
	}
	return nil
}

// parent returns the object directly above o.
func (b *brute) parent(o bobj) (bobj, bool) {
	if o.res != nil {
		if o.res.Parent != nil {
			return bobj{res: b.resource(*o.res.Parent)}, true
		}
		return bobj{node: o.res.Scope}, true
	}
	s := b.scope(o.node)
	if s == nil || s.Parent == "" {
		return bobj{}, false
	}
	return bobj{node: s.Parent}, true
}

// chain lists o and everything above it.
func (b *brute) chain(o bobj) []bobj {
	out := []bobj{o}
	for {
		p, ok := b.parent(o)
		if !ok {
			return out
		}
		out = append(out, p)
		o = p
	}
}

func same(a, c bobj) bool {
	if a.res != nil || c.res != nil {
		return a.res != nil && c.res != nil && a.res.Type == c.res.Type && a.res.ID == c.res.ID
	}
	return a.node == c.node
}

func (b *brute) home(o bobj) string {
	for _, x := range b.chain(o) {
		if x.res == nil {
			return x.node
		}
	}
	return ""
}

func (b *brute) org(node string) string {
	for {
		s := b.scope(node)
		if s == nil || s.Parent == "" {
			return node
		}
		node = s.Parent
	}
}

func (b *brute) below(node, anc string) bool {
	for n := node; n != ""; {
		if n == anc {
			return true
		}
		s := b.scope(n)
		if s == nil {
			return false
		}
		n = s.Parent
	}
	return false
}

// inGroup: explicit members, and for all-members groups every user with a
// membership at or below the group's node.
func (b *brute) inGroup(user, group string) bool {
	for _, gm := range b.d.GroupMembers {
		if gm.Group == group && gm.User == user {
			return true
		}
	}
	for _, g := range b.d.Groups {
		if g.ID == group && g.AllMembers {
			for _, ms := range b.d.Memberships {
				if ms.User == user && b.below(ms.Scope, g.Scope) {
					return true
				}
			}
		}
	}
	return false
}

func (b *brute) groupsOf(user string) []string {
	var out []string
	for _, g := range b.d.Groups {
		if b.inGroup(user, g.ID) {
			out = append(out, g.ID)
		}
	}
	slices.Sort(out)
	return out
}

// implies walks implications one edge at a time.
func implies(a, c *model.Permission) bool {
	if a == c {
		return true
	}
	for _, x := range a.Implies {
		if implies(x, c) {
			return true
		}
	}
	return false
}

// role resolves a role id at a node: custom roles owned by the node or the
// nearest node above it first.
func (b *brute) role(node, id string) *model.Role {
	for _, owner := range b.chain(bobj{node: node}) {
		for _, r := range b.d.Roles {
			o := r.Org
			if r.Scope != "" {
				o = r.Scope
			}
			if r.ID != id || o != owner.node {
				continue
			}
			cr, err := engine.CompileRole(b.m, r)
			if err != nil {
				panic(err)
			}
			return cr
		}
	}
	r, _ := b.m.Role(id)
	return r
}

func (b *brute) timeOK(from, until time.Time) bool {
	return (from.IsZero() || !b.now.Before(from)) && (until.IsZero() || b.now.Before(until))
}

func (b *brute) quals(user string, qs []*model.Qualifier, o bobj) bool {
	for _, q := range qs {
		ok, err := q.Program.Eval(bsub{b, user}, bview{b, o}, nil)
		if err != nil || !ok {
			return false
		}
	}
	return true
}

// fromItems reports whether written grants give p on o.
func (b *brute) fromItems(user string, items []model.GrantItem, roleQuals []*model.Qualifier, p *model.Permission, o bobj) bool {
	for _, it := range items {
		if !implies(it.Perm, p) {
			continue
		}
		qs := append(append(append([]*model.Qualifier{}, it.Qualifiers...), roleQuals...), p.Qualifiers...)
		if b.quals(user, qs, o) {
			return true
		}
	}
	return false
}

func permItems(ids []string, m *model.Model) []model.GrantItem {
	var out []model.GrantItem
	for _, id := range ids {
		p, _ := m.Perm(id)
		out = append(out, model.GrantItem{Perm: p})
	}
	return out
}

// holds decides whether user holds p on o.
func (b *brute) holds(user string, p *model.Permission, o bobj) bool {
	chain := b.chain(o)
	onChain := func(x bobj) bool {
		for _, c := range chain {
			if same(c, x) {
				return true
			}
		}
		return false
	}
	for _, bd := range b.d.Bindings {
		switch bd.Subject.Kind {
		case rolecall.SubjectUser:
			if bd.Subject.ID != user {
				continue
			}
		case rolecall.SubjectGroup:
			if !b.inGroup(user, bd.Subject.ID) {
				continue
			}
		}
		if !b.timeOK(bd.NotBefore, bd.NotAfter) {
			continue
		}
		var at bobj
		level := -1
		node := bd.Scope
		if bd.Resource != nil {
			at = bobj{res: b.resource(*bd.Resource)}
			node = b.home(at)
		} else {
			at = bobj{node: bd.Scope}
			l, _ := b.m.Level(b.scope(bd.Scope).Level)
			level = l.Index
		}
		if !onChain(at) {
			continue
		}
		var r *model.Role
		switch {
		case len(bd.Permissions) > 0:
			if b.fromItems(user, permItems(bd.Permissions, b.m), nil, p, o) {
				return true
			}
			continue
		case bd.DefaultRole:
			for n := node; n != ""; {
				s := b.scope(n)
				if l := b.m.Members.DefaultRoleAt; l == nil || s.Level == l.ID {
					for _, ms := range b.d.Memberships {
						if ms.User == user && ms.Scope == n && ms.DefaultRole != "" && r == nil {
							r = b.role(n, ms.DefaultRole)
						}
					}
				}
				if r != nil {
					break
				}
				n = s.Parent
			}
			if r == nil {
				r = b.m.Members.DefaultRoleFallback
			}
		default:
			r = b.role(node, bd.Role)
		}
		if r != nil && b.fromItems(user, r.GrantsAt(level).Items, r.Qualifiers, p, o) {
			return true
		}
	}
	for _, x := range chain {
		if x.res == nil {
			continue
		}
		rt, _ := b.m.Resource(x.res.Type)
		for _, im := range rt.Implicit {
			applies := false
			switch im.Relation {
			case model.RelOwner:
				applies = x.res.Owner != "" && x.res.Owner == user
			case model.RelGroupMember:
				for _, g := range x.res.Groups {
					if b.inGroup(user, g) {
						applies = true
					}
				}
			}
			if applies && b.fromItems(user, permItems(permIDs(im.Perms), b.m), im.Qualifiers, p, o) {
				return true
			}
		}
		for _, of := range b.d.Offers {
			if of.Recipient != user || of.State != rolecall.OfferAccepted || of.Resource != x.res.Ref() || !b.timeOK(of.NotBefore, of.NotAfter) {
				continue
			}
			kind, _ := b.m.Offer(of.Kind)
			usable := true
			for _, u := range kind.UsableWhen {
				if ok, err := u.Eval(bsub{b, user}, bview{b, x}, nil); err != nil || !ok {
					usable = false
				}
			}
			if usable && b.fromItems(user, permItems(permIDs(kind.Perms), b.m), nil, p, o) {
				return true
			}
		}
	}
	return false
}

func permIDs(ps []*model.Permission) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// descendants lists every object of type or level typ strictly below x.
func (b *brute) descendants(x bobj, typ string) []bobj {
	var out []bobj
	for _, s := range b.d.Scopes {
		if s.Level == typ && s.ID != x.node && x.res == nil && b.below(s.ID, x.node) {
			out = append(out, bobj{node: s.ID})
		}
	}
	for i := range b.d.Resources {
		r := &b.d.Resources[i]
		if r.Type != typ {
			continue
		}
		for _, a := range b.chain(bobj{res: r})[1:] {
			if same(a, x) {
				out = append(out, bobj{res: r})
				break
			}
		}
	}
	return out
}

// relate resolves a relation path naively.
func (b *brute) relate(rel model.Relation, o bobj) []bobj {
	cur := []bobj{o}
	for _, step := range rel.Steps {
		var next []bobj
		for _, x := range cur {
			switch {
			case b.m.Below(step, bview{b, x}.Type()):
				next = append(next, b.descendants(x, step)...)
			case step == "parent":
				if p, ok := b.parent(x); ok {
					next = append(next, p)
				}
			case x.res != nil && x.res.Inputs[step] != nil:
				for _, ref := range x.res.Inputs[step] {
					next = append(next, bobj{res: b.resource(ref)})
				}
			default:
				for _, a := range b.chain(x)[1:] {
					if (bview{b, a}).Type() == step {
						next = append(next, a)
						break
					}
				}
			}
		}
		cur = next
	}
	return cur
}

func (b *brute) req(user string, r *model.Req, o bobj) bool {
	if r.If != nil {
		if ok, err := r.If.Eval(bsub{b, user}, bview{b, o}, nil); err == nil && !ok {
			return true
		}
	}
	switch r.Kind {
	case model.ReqPerm:
		objs := b.relate(r.Rel, o)
		if r.Rel.Any {
			for _, x := range objs {
				if b.holds(user, r.Perm, x) {
					return true
				}
			}
			return false
		}
		for _, x := range objs {
			if !b.holds(user, r.Perm, x) {
				return false
			}
		}
		return true
	case model.ReqAll:
		for _, k := range r.Kids {
			if !b.req(user, k, o) {
				return false
			}
		}
		return true
	}
	for _, k := range r.Kids {
		if b.req(user, k, o) {
			return true
		}
	}
	return false
}

// check answers a permission or action request.
func (b *brute) check(user, what string, o bobj) bool {
	if p, ok := b.m.Perm(what); ok {
		return b.holds(user, p, o)
	}
	a, _ := b.m.Action(what)
	if a.Actor == "operator" {
		return false
	}
	for _, pc := range a.When {
		if ok, err := pc.Program.Eval(bsub{b, user}, bview{b, o}, nil); err != nil || !ok {
			return false
		}
	}
	return a.Requires == nil || b.req(user, a.Requires, o)
}

// bview shows a data object to conditions.
type bview struct {
	b *brute
	o bobj
}

func (v bview) ID() string {
	if v.o.res != nil {
		return v.o.res.ID
	}
	return v.o.node
}

func (v bview) Type() string {
	if v.o.res != nil {
		return v.o.res.Type
	}
	if s := v.b.scope(v.o.node); s != nil {
		return s.Level
	}
	return ""
}

func (v bview) Owner() string {
	if v.o.res != nil {
		return v.o.res.Owner
	}
	return ""
}

func (v bview) Groups() []string {
	if v.o.res != nil {
		return v.o.res.Groups
	}
	return nil
}

func (v bview) Scope() string { return v.b.home(v.o) }

func (v bview) Parent() condition.Object {
	p, ok := v.b.parent(v.o)
	if !ok {
		return nil
	}
	return bview{v.b, p}
}

func (v bview) Ancestor(typ string) condition.Object {
	for _, a := range v.b.chain(v.o)[1:] {
		if x := (bview{v.b, a}); x.Type() == typ {
			return x
		}
	}
	return nil
}

func (v bview) Attr(name string) (any, bool) {
	var attrs map[string]any
	if v.o.res != nil {
		attrs = v.o.res.Attrs
	} else if s := v.b.scope(v.o.node); s != nil {
		attrs = s.Attrs
	}
	x, ok := attrs[name]
	return x, ok
}

type bsub struct {
	b    *brute
	user string
}

func (s bsub) ID() string              { return s.user }
func (s bsub) Groups() []string        { return s.b.groupsOf(s.user) }
func (s bsub) Attr(string) (any, bool) { return nil, false }
