package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
)

// Apply returns a new engine with committed changes applied, at the
// revision of the last one; e itself is unchanged and stays usable, so
// readers holding it never wait. Changes at or below e's revision are
// skipped, so applying a change log twice is harmless. Only what the
// changes touch is recomputed: the grants of the users they reach, the
// resources and nodes they name. Invitations, domains and audit events do
// not affect access and are skipped.
//
// A change that does not fit the data (an unknown reference, a binding the
// model does not allow) fails the whole Apply with an error naming the
// change; nothing of it is applied.
func (e *Engine) Apply(changes []rolecall.Change) (*Engine, error) {
	a := &applier{
		e: e.fork(), regroup: map[int32]bool{}, dirty: map[int32]bool{},
		touched: map[int32]bool{},
	}
	last := e.Revision
	for i := range changes {
		c := &changes[i]
		if c.Revision <= e.Revision {
			continue
		}
		if err := a.apply(c); err != nil {
			return nil, rolecall.E("engine.Apply", rolecall.KindOf(err), fmt.Sprintf("%s %s at revision %d", c.Kind, c.Key, c.Revision), rolecall.Message(err))
		}
		last = c.Revision
	}
	if last == e.Revision {
		return e, nil
	}
	if err := a.finish(); err != nil {
		return nil, rolecall.E("engine.Apply", rolecall.KindOf(err), fmt.Sprintf("revision %d", last), rolecall.Message(err))
	}
	a.e.Revision = last
	return a.e, nil
}

// fork returns a shallow copy of e that an Apply may change: its chunked
// arrays and id maps copy what they change, and its small maps and slices
// are copied on first change (see the applier's write methods).
func (e *Engine) fork() *Engine {
	n := *e
	n.userList.write()
	n.nodeList.write()
	n.groupList.write()
	n.resList.write()
	n.bindings.write()
	n.offers.write()
	n.resHot.write()
	n.userSpan.write()
	n.nodeUsers.write()
	n.resIdx = slices.Clone(e.resIdx)
	return &n
}

// applier carries one Apply: the engine being made and what to recompute
// at the end.
type applier struct {
	e       *Engine
	regroup map[int32]bool // users whose groups may have changed
	dirty   map[int32]bool // users whose grants may have changed
	touched map[int32]bool // resources whose hot facts may have changed
	special map[int32]bool // was each touched resource special before
	nodes   bool           // the scope tree changed

	ownNodes, ownGroups, ownCustom, ownParent, ownSpecial bool
}

func (a *applier) writeNodes() {
	if !a.ownNodes {
		a.e.nodes, a.ownNodes = maps.Clone(a.e.nodes), true
	}
}

func (a *applier) writeGroups() {
	if !a.ownGroups {
		a.e.groups, a.ownGroups = maps.Clone(a.e.groups), true
	}
}

func (a *applier) writeCustom() {
	if !a.ownCustom {
		a.e.custom, a.ownCustom = maps.Clone(a.e.custom), true
	}
}

func (a *applier) writeParent() {
	if !a.ownParent {
		a.e.nodeParent, a.ownParent = slices.Clone(a.e.nodeParent), true
	}
}

func (a *applier) touch(r int32) {
	if a.special == nil {
		a.special = map[int32]bool{}
	}
	if !a.touched[r] {
		a.touched[r] = true
		a.special[r] = r < a.e.resList.v.n && a.e.special(r)
	}
}

// reach marks the users a binding reaches as dirty.
func (a *applier) reach(b *rolecall.Binding) {
	e := a.e
	switch b.Subject.Kind {
	case rolecall.SubjectUser:
		if u, ok := e.users.get(b.Subject.ID); ok {
			a.dirty[u] = true
		}
	case rolecall.SubjectGroup:
		if g, ok := e.groups[b.Subject.ID]; ok {
			for _, u := range e.groupList.at(g).members {
				a.dirty[u] = true
			}
		}
	}
}

func decode[T any](c *rolecall.Change) (T, error) {
	var v T
	if err := json.Unmarshal(c.Value, &v); err != nil {
		return v, buildErr(string(c.Kind)+" "+c.Key, "the change's value does not decode: "+err.Error())
	}
	return v, nil
}

func (a *applier) apply(c *rolecall.Change) error {
	if !c.Deleted && len(c.Value) == 0 {
		switch c.Kind {
		case rolecall.ObjInvitation, rolecall.ObjDomain, rolecall.ObjAudit:
		default:
			return buildErr(string(c.Kind)+" "+c.Key, "the change has no value")
		}
	}
	switch c.Kind {
	case rolecall.ObjScope:
		if c.Deleted {
			return a.deleteScope(c.Key)
		}
		s, err := decode[rolecall.Scope](c)
		if err != nil {
			return err
		}
		return a.putScope(s)
	case rolecall.ObjUser:
		if c.Deleted {
			return a.deleteUser(c.Key)
		}
		u, err := decode[rolecall.User](c)
		if err != nil {
			return err
		}
		return a.putUser(u)
	case rolecall.ObjMembership:
		ms, ok := a.membershipOf(c.Key)
		if !c.Deleted {
			var err error
			if ms, err = decode[rolecall.Membership](c); err != nil {
				return err
			}
		} else if !ok {
			return notFound("engine.Apply", c.Key, "no such membership")
		}
		if err := a.e.setMembership(ms, c.Deleted); err != nil {
			return err
		}
		u, _ := a.e.users.get(ms.User)
		a.regroup[u], a.dirty[u] = true, true
		return nil
	case rolecall.ObjGroup:
		if c.Deleted {
			return a.deleteGroup(c.Key)
		}
		g, err := decode[rolecall.Group](c)
		if err != nil {
			return err
		}
		return a.putGroup(g)
	case rolecall.ObjGroupMember:
		gm, ok := a.groupMemberOf(c.Key)
		if !c.Deleted {
			var err error
			if gm, err = decode[rolecall.GroupMember](c); err != nil {
				return err
			}
		} else if !ok {
			return notFound("engine.Apply", c.Key, "no such group member")
		}
		return a.setGroupMember(gm, c.Deleted)
	case rolecall.ObjResource:
		if c.Deleted {
			return a.deleteResource(c.Key)
		}
		r, err := decode[rolecall.Resource](c)
		if err != nil {
			return err
		}
		return a.putResource(r)
	case rolecall.ObjRole:
		if c.Deleted {
			return a.deleteRole(c.Key)
		}
		r, err := decode[rolecall.Role](c)
		if err != nil {
			return err
		}
		return a.setRole(r)
	case rolecall.ObjBinding:
		if c.Deleted {
			return a.deleteBinding(c.Key)
		}
		b, err := decode[rolecall.Binding](c)
		if err != nil {
			return err
		}
		if _, dup := a.e.bindingIDs.get(b.ID); dup {
			// a binding is never replaced in place; a repeat is a new one
			if err := a.deleteBinding(b.ID); err != nil {
				return err
			}
		}
		if b.Resource != nil {
			if r, ok := a.e.resolveRes(*b.Resource); ok {
				a.touch(r) // before: was it special without this binding
			}
		}
		if err := a.e.addBinding(b, true); err != nil {
			return err
		}
		a.reach(&b)
		return nil
	case rolecall.ObjOffer:
		if _, ok := a.e.offerIDs.get(c.Key); ok {
			if err := a.deleteOffer(c.Key); err != nil {
				return err
			}
		} else if c.Deleted {
			return notFound("engine.Apply", c.Key, "no such offer")
		}
		if c.Deleted {
			return nil
		}
		o, err := decode[rolecall.Offer](c)
		if err != nil {
			return err
		}
		if r, ok := a.e.resolveRes(o.Resource); ok {
			a.touch(r)
		}
		return a.e.addOffer(o)
	case rolecall.ObjInvitation, rolecall.ObjDomain, rolecall.ObjAudit:
		return nil
	}
	return invalid("engine.Apply", string(c.Kind), "unknown kind of object")
}

// putScope creates a node, or changes one: its attributes, or its parent
// (a move: grants inherited from the old place end, the new place's begin).
func (a *applier) putScope(s rolecall.Scope) error {
	e := a.e
	name := "scope " + s.ID
	l, ok := e.m.Level(s.Level)
	if !ok {
		return buildErr(name, fmt.Sprintf("unknown level %q; levels are %s", s.Level, levelIDs(e.m)))
	}
	p, msg := e.scopeParent(l, s.Parent)
	if msg != "" {
		return buildErr(name, msg)
	}
	n, exists := e.nodes[s.ID]
	if !exists {
		if s.ID == "" {
			return buildErr(name, "empty scope id")
		}
		a.writeNodes()
		a.writeParent()
		n = e.nodeList.push(node{id: s.ID, name: s.Name, level: l, parent: p, attrs: e.resAttrs(s.Attrs)})
		e.nodeUsers.push(nil)
		e.nodes[s.ID] = n
		e.nodeParent = append(e.nodeParent, p)
		e.nodeList.at(n).org = e.orgOf(n)
		a.nodes = true
		return nil
	}
	nd := e.nodeList.mut(n)
	if nd.level != l {
		return buildErr(name, fmt.Sprintf("a %s cannot become a %s; create a new scope instead", nd.level.ID, l.ID))
	}
	nd.attrs, nd.name = e.resAttrs(s.Attrs), s.Name
	if nd.parent == p {
		return nil
	}
	for x := p; x >= 0; x = e.nodeList.at(x).parent {
		if x == n {
			return buildErr(name, "cannot move a scope below itself")
		}
	}
	nd.parent = p
	a.writeParent()
	e.nodeParent[n] = p
	a.nodes = true
	for i := range e.nodeList.n {
		if org := e.orgOf(i); e.nodeList.at(i).org != org {
			e.nodeList.mut(i).org = org
		}
	}
	// Everyone whose grants or groups depend on a node of the moved subtree:
	// bindings there (custom roles and default roles resolve upwards) and
	// members there (all-members groups).
	for bi := range e.bindings.n {
		b := e.bindings.at(bi)
		if b.dead {
			continue
		}
		if pl, err := e.placeOf(&b.Binding); err != nil || e.isBelowOrAt(pl.at, n) {
			a.reach(&b.Binding)
		}
	}
	for u := range e.userList.v.n {
		for _, m := range e.userList.at(u).member {
			if e.isBelowOrAt(m, n) {
				a.regroup[u], a.dirty[u] = true, true
			}
		}
	}
	return nil
}

func (a *applier) deleteScope(id string) error {
	e := a.e
	n, ok := e.nodes[id]
	if !ok {
		return notFound("engine.Apply", id, "no such scope")
	}
	nd := e.nodeList.at(n)
	for _, rs := range nd.res {
		if len(rs) > 0 {
			return rolecall.E("engine.Apply", rolecall.FailedPrecondition, "scope "+id, "resources still live there")
		}
	}
	for i := range e.nodeList.n {
		if x := e.nodeList.at(i); !x.dead && x.parent == n {
			return rolecall.E("engine.Apply", rolecall.FailedPrecondition, "scope "+id, "scope "+x.id+" still lives under it")
		}
	}
	for _, u := range *e.nodeUsers.at(n) {
		a.dirty[u] = true
	}
	a.writeNodes()
	delete(e.nodes, id)
	e.nodeList.mut(n).dead = true
	a.nodes = true
	return nil
}

func (a *applier) putUser(u rolecall.User) error {
	e := a.e
	if i, ok := e.users.get(u.ID); ok {
		ur := e.userList.mut(i)
		ur.name, ur.email, ur.attrs = u.Name, u.Email, e.subjAttrs(u.Attrs)
		return nil
	}
	if u.ID == "" {
		return buildErr("user", "empty user id")
	}
	i := e.userList.push(user{id: u.ID, name: u.Name, email: u.Email, attrs: e.subjAttrs(u.Attrs)})
	e.users.put(u.ID, i, true)
	a.dirty[i] = true
	return nil
}

func (a *applier) deleteUser(id string) error {
	e := a.e
	u, ok := e.users.get(id)
	if !ok {
		return notFound("engine.Apply", id, "no such user")
	}
	ur := e.userList.mut(u)
	ur.dead, ur.explicit, ur.member, ur.defRole, ur.bindings, ur.offers = true, nil, nil, nil, nil, nil
	e.users.del(id)
	a.regroup[u], a.dirty[u] = true, true
	return nil
}

// membershipOf finds the membership a "user@scope" key names (ids may
// themselves hold '@').
func (a *applier) membershipOf(key string) (rolecall.Membership, bool) {
	e := a.e
	for i := strings.Index(key, "@"); i >= 0; {
		user, scope := key[:i], key[i+1:]
		if u, ok := e.users.get(user); ok {
			if n, ok := e.nodes[scope]; ok {
				if _, in := slices.BinarySearch(e.userList.at(u).member, n); in {
					return rolecall.Membership{User: user, Scope: scope}, true
				}
			}
		}
		j := strings.Index(key[i+1:], "@")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return rolecall.Membership{}, false
}

// groupMemberOf finds the group membership a "group/user" key names.
func (a *applier) groupMemberOf(key string) (rolecall.GroupMember, bool) {
	e := a.e
	for i := strings.Index(key, "/"); i >= 0; {
		group, user := key[:i], key[i+1:]
		if g, ok := e.groups[group]; ok {
			if u, ok := e.users.get(user); ok {
				if _, in := slices.BinarySearch(e.userList.at(u).explicit, g); in {
					return rolecall.GroupMember{Group: group, User: user}, true
				}
			}
		}
		j := strings.Index(key[i+1:], "/")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return rolecall.GroupMember{}, false
}

// deleteRole removes the custom role an "org/id" or "org/scope/id" key
// names. The key is matched against where the role is owned now, and
// against the organization it was compiled for (a role owned by a scope
// that moved to another organization keeps its old key until replaced).
func (a *applier) deleteRole(key string) error {
	e := a.e
	for owner, roles := range e.custom {
		for id, r := range roles {
			cand := rolecall.Role{ID: id, Org: r.Org}
			if on := e.nodeList.at(owner).id; on != r.Org {
				cand.Scope = on
			}
			if cand.Key() != key {
				continue
			}
			a.writeCustom()
			inner := maps.Clone(e.custom[owner])
			delete(inner, id)
			e.custom[owner] = inner
			a.reachRole(id)
			return nil
		}
	}
	return notFound("engine.Apply", key, "no such custom role")
}

func (a *applier) putGroup(g rolecall.Group) error {
	e := a.e
	name := "group " + g.ID
	n, ok := e.nodes[g.Scope]
	if !ok {
		return buildErr(name, fmt.Sprintf("scope %q is not a scope node", g.Scope))
	}
	gi, exists := e.groups[g.ID]
	if !exists {
		if g.ID == "" {
			return buildErr("group", "empty group id")
		}
		a.writeGroups()
		gi = e.groupList.push(group{id: g.ID, name: g.Name, node: n, allMembers: g.AllMembers})
		e.groups[g.ID] = gi
	} else {
		gr := e.groupList.mut(gi)
		gr.name = g.Name
		if gr.node == n && gr.allMembers == g.AllMembers {
			return nil
		}
		gr.node, gr.allMembers = n, g.AllMembers
	}
	if g.AllMembers || exists {
		for u := range e.userList.v.n {
			if len(e.userList.at(u).member) > 0 {
				a.regroup[u], a.dirty[u] = true, true
			}
		}
	}
	return nil
}

func (a *applier) deleteGroup(id string) error {
	e := a.e
	gi, ok := e.groups[id]
	if !ok {
		return notFound("engine.Apply", id, "no such group")
	}
	g := e.groupList.mut(gi)
	for _, u := range g.members {
		ur := e.userList.mut(u)
		ur.explicit = removeSorted(ur.explicit, gi)
		a.regroup[u], a.dirty[u] = true, true
	}
	for _, bi := range g.bindings {
		a.dropBinding(bi)
	}
	g = e.groupList.mut(gi)
	g.dead, g.bindings = true, nil
	a.writeGroups()
	delete(e.groups, id)
	return nil
}

func (a *applier) setGroupMember(gm rolecall.GroupMember, remove bool) error {
	e := a.e
	g, ok1 := e.groups[gm.Group]
	u, ok2 := e.users.get(gm.User)
	if !ok1 || !ok2 {
		return buildErr("group member "+gm.User+" of "+gm.Group, "unknown group or user")
	}
	ur := e.userList.mut(u)
	if remove {
		ur.explicit = removeSorted(ur.explicit, g)
	} else {
		ur.explicit = insertSorted(ur.explicit, g)
	}
	a.regroup[u], a.dirty[u] = true, true
	return nil
}

// setRole compiles a custom role and marks everyone who holds it,
// directly or as a default role, for recomputation.
func (a *applier) setRole(r rolecall.Role) error {
	a.writeCustom()
	if err := a.e.setRole(r); err != nil {
		return err
	}
	a.reachRole(r.ID)
	return nil
}

// reachRole marks the users of every binding that may resolve to role id.
func (a *applier) reachRole(id string) {
	e := a.e
	for bi := range e.bindings.n {
		if b := e.bindings.at(bi); !b.dead && (b.Role == id || b.DefaultRole) {
			a.reach(&b.Binding)
		}
	}
}

// putResource creates a resource or changes one; a changed parent or scope
// is a move, and everything below it moves along.
func (a *applier) putResource(r rolecall.Resource) error {
	e := a.e
	name := "resource " + r.Type + ":" + r.ID
	rt, ok := e.m.Resource(r.Type)
	if !ok {
		return buildErr(name, fmt.Sprintf("unknown resource type %q", r.Type))
	}
	re, exists := e.resIdx[rt.Index].get(r.ID)
	ri := re.idx
	oldNode := int32(-1)
	if !exists {
		if r.ID == "" {
			return buildErr(name, "empty resource id")
		}
		a.touch(e.resList.v.n) // before it exists: it was not special
		ri = e.resList.push(resource{id: r.ID, typ: rt, parent: -1, node: -1})
		e.resIdx[rt.Index].put(r.ID, resEntry{idx: ri, node: -1}, true)
	} else {
		oldNode = e.resList.at(ri).node
	}
	a.touch(ri)
	if msg := e.fillResource(ri, &r); msg != "" {
		return buildErr(name, msg)
	}
	res := e.resList.at(ri)
	ins, msg := e.inputsOf(rt, res.node, r.Inputs)
	if msg != "" {
		return buildErr(name, msg)
	}
	e.resList.mut(ri).inputs = ins
	if res.node == oldNode {
		return nil
	}
	moved := []int32{ri}
	if exists {
		for i := range e.resList.v.n {
			x := e.resList.at(i)
			if i == ri || x.dead || x.parent < 0 {
				continue
			}
			for p := x.parent; p >= 0; p = e.resList.at(p).parent {
				if p == ri {
					moved = append(moved, i)
					break
				}
			}
		}
	}
	for _, m := range moved {
		x := e.resList.at(m)
		from := oldNode
		if m != ri {
			from = x.node
			e.resList.mut(m).node = res.node
			a.touch(m)
		}
		if from >= 0 {
			a.unlistRes(m, from)
		}
		a.listRes(m, res.node)
		for _, bi := range x.bindings {
			a.reach(&e.bindings.at(bi).Binding)
		}
	}
	return nil
}

// listRes adds resource r to node n's list of its type, in id order.
func (a *applier) listRes(r, n int32) {
	e := a.e
	res := e.resList.at(r)
	nd := e.nodeList.mut(n)
	if nd.res == nil {
		nd.res = make([][]int32, len(e.m.Resources))
		nd.resIDs = make([][]string, len(e.m.Resources))
	} else {
		nd.res, nd.resIDs = slices.Clone(nd.res), slices.Clone(nd.resIDs)
	}
	t := res.typ.Index
	i, _ := slices.BinarySearch(nd.resIDs[t], res.id)
	nd.res[t] = slices.Insert(slices.Clip(nd.res[t]), i, r)
	nd.resIDs[t] = slices.Insert(slices.Clip(nd.resIDs[t]), i, res.id)
}

// unlistRes removes resource r from node n's list.
func (a *applier) unlistRes(r, n int32) {
	e := a.e
	t := e.resList.at(r).typ.Index
	nd := e.nodeList.mut(n)
	if nd.res == nil {
		return
	}
	nd.res, nd.resIDs = slices.Clone(nd.res), slices.Clone(nd.resIDs)
	if i := slices.Index(nd.res[t], r); i >= 0 {
		nd.res[t] = slices.Delete(slices.Clone(nd.res[t]), i, i+1)
		nd.resIDs[t] = slices.Delete(slices.Clone(nd.resIDs[t]), i, i+1)
	}
}

func (a *applier) deleteResource(key string) error {
	e := a.e
	typ, id, _ := strings.Cut(key, ":")
	rt, ok := e.m.Resource(typ)
	if !ok {
		return notFound("engine.Apply", key, "no such resource")
	}
	re, ok := e.resIdx[rt.Index].get(id)
	if !ok {
		return notFound("engine.Apply", key, "no such resource")
	}
	ri := re.idx
	a.touch(ri)
	res := e.resList.mut(ri)
	for _, bi := range res.bindings {
		a.dropBinding(bi)
	}
	res = e.resList.mut(ri)
	for _, u := range res.users {
		a.dirty[u] = true
	}
	a.unlistRes(ri, res.node)
	res.dead, res.bindings = true, nil
	e.resIdx[rt.Index].del(id)
	return nil
}

func (a *applier) deleteBinding(id string) error {
	bi, ok := a.e.bindingIDs.get(id)
	if !ok {
		return notFound("engine.Apply", id, "no such binding")
	}
	a.dropBinding(bi)
	return nil
}

// dropBinding removes binding bi from everything that lists it.
func (a *applier) dropBinding(bi int32) {
	e := a.e
	b := e.bindings.mut(bi)
	if b.dead {
		return
	}
	a.reach(&b.Binding)
	b.dead = true
	if b.ID != "" {
		e.bindingIDs.del(b.ID)
	}
	switch b.Subject.Kind {
	case rolecall.SubjectUser:
		if u, ok := e.users.get(b.Subject.ID); ok {
			ur := e.userList.mut(u)
			ur.bindings = without(ur.bindings, bi)
		}
	case rolecall.SubjectGroup:
		if g, ok := e.groups[b.Subject.ID]; ok {
			gr := e.groupList.mut(g)
			gr.bindings = without(gr.bindings, bi)
		}
	}
	if b.Resource != nil {
		if r, ok := e.resolveRes(*b.Resource); ok {
			a.touch(r)
			res := e.resList.mut(r)
			res.bindings = without(res.bindings, bi)
		}
	}
}

func (a *applier) deleteOffer(id string) error {
	e := a.e
	oi, _ := e.offerIDs.get(id)
	o := e.offers.mut(oi)
	o.dead = true
	e.offerIDs.del(id)
	if r, ok := e.resolveRes(o.Resource); ok {
		a.touch(r)
		res := e.resList.mut(r)
		res.offers = without(res.offers, oi)
	}
	if u, ok := e.users.get(o.Recipient); ok {
		ur := e.userList.mut(u)
		ur.offers = without(ur.offers, oi)
	}
	return nil
}

// without returns a copy of s without x.
func without(s []int32, x int32) []int32 {
	i := slices.Index(s, x)
	if i < 0 {
		return s
	}
	return slices.Delete(slices.Clone(s), i, i+1)
}

// finish recomputes what the changes touched: users' groups, then their
// grants, then resources' hot facts, then the node order.
func (a *applier) finish() error {
	e := a.e
	for _, u := range sortedKeys(a.regroup) {
		e.setGroups(u)
	}
	if err := e.regrantAll(sortedKeys(a.dirty)); err != nil {
		return err
	}
	for _, r := range sortedKeys(a.touched) {
		if r >= e.resHot.n {
			e.resHot.push(resHot{parent: -1, node: -1})
		}
		e.setHot(r)
		was, now := a.special[r], e.special(r)
		if was != now {
			if !a.ownSpecial {
				e.look.special, a.ownSpecial = slices.Clone(e.look.special), true
			}
			t := e.resList.at(r).typ.Index
			if now {
				e.look.special[t]++
			} else {
				e.look.special[t]--
			}
		}
	}
	if a.nodes {
		e.orderNodes()
	}
	e.userList.done()
	e.nodeList.done()
	e.groupList.done()
	e.resList.done()
	e.bindings.done()
	e.offers.done()
	e.resHot.done()
	e.userSpan.done()
	e.nodeUsers.done()
	e.users.done()
	e.bindingIDs.done()
	e.offerIDs.done()
	for i := range e.resIdx {
		e.resIdx[i].done()
	}
	return nil
}

func sortedKeys(m map[int32]bool) []int32 {
	ks := slices.Collect(maps.Keys(m))
	slices.Sort(ks)
	return ks
}
