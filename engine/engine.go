package engine

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

// Data is everything the engine indexes: the scope tree, users and their
// memberships, groups and their members, resources, custom roles, bindings
// and offers. It is the store's Snapshot; its Revision becomes the
// engine's.
type Data = rolecall.Snapshot

// maxWords bounds the permission bitsets the check path keeps on the stack
// (64 permissions per word).
const maxWords = 8

// Engine is an immutable index of one model's data. Apply makes a new
// engine with changes applied, sharing what did not change.
type Engine struct {
	m *model.Model
	// Now returns the time used for time-bound bindings and offers; nil
	// means time.Now.
	Now func() time.Time

	users      ids[int32]
	userList   pvec[user]
	nodes      map[string]int32
	nodeList   vec[node]
	groups     map[string]int32
	groupList  pvec[group]
	resIdx     []ids[resEntry] // by resource type index
	resList    pvec[resource]
	custom     map[int32]map[string]*model.Role // by owning node
	bindings   vec[binding]
	bindingIDs ids[int32]
	offers     vec[offer]
	offerIDs   ids[int32]
	words      int

	// Hot, compact copies of what the check path reads, so a check touches
	// few cache lines: parents of nodes and resources, home nodes, and
	// flags saying whether a resource has grants of its own.
	nodeParent []int32
	resHot     vec[resHot]
	// userSpan[u] holds user u's node grants: node ids (sorted) and their
	// unconditional permission words (words per node). New lays them out
	// in two arenas; Apply gives a changed user fresh slices.
	userSpan vec[span]
	// nodeUsers[n] lists the users holding grants at node n, sorted (kept
	// apart from the nodes, so a change of it copies little).
	nodeUsers vec[[]int32]

	look lookupIndex
	// Revision is the store revision the engine's data is at; cursors are
	// tied to it.
	Revision rolecall.Revision
}

type span struct {
	nodes []int32
	plain []uint64
	cond  bool // some grant of the user is conditional (qualified or time-bound)
}

// binding is a stored binding; dead once deleted (its index stays taken).
type binding struct {
	rolecall.Binding
	dead bool
}

// offer is a stored offer; dead once deleted.
type offer struct {
	rolecall.Offer
	dead bool
}

// resEntry is what a resource id maps to: its index, and the hot facts a
// check reads first, so resolving a target costs one map lookup.
type resEntry struct {
	idx  int32
	node int32 // home scope node
	hot  bool  // it has a parent or grants of its own (read resHot)
}

// resHot is the part of a resource the check path reads.
type resHot struct {
	parent int32
	node   int32
	flags  uint8
}

// resFlags bits.
const (
	resBound    = 1 << iota // a user has a binding on the resource
	resImplicit             // its type has implicit grants
	resOffers               // an offer names it
)

type user struct {
	id       string
	name     string
	email    string
	dead     bool
	explicit []int32  // groups the user was put in, sorted
	groups   []int32  // explicit and all-members groups, sorted
	groupIDs []string // for conditions
	nodes    []nodeGrants
	resGrant map[int32]*grants
	offers   []int32  // offers addressed to the user
	member   []int32  // nodes the user is a member of, sorted
	defRole  []string // the default role of each membership ("" if none)
	bindings []int32  // bindings whose subject is the user
	hasCond  bool     // some grant of the user is conditional (qualified or time-bound)
	attrs    map[string]any
}

// nodeGrants is what a user holds at one scope node.
type nodeGrants struct {
	node int32
	*grants
}

// grants is the merged grants of one user at one node or resource: plain
// holds every unconditional permission; cond lists grants that hold only
// under qualifiers or time bounds; srcs records where they came from, for
// explanations.
type grants struct {
	plain model.Bits
	cond  []condGrant
	srcs  []source
}

type condGrant struct {
	bits  model.Bits
	quals []*model.Qualifier
	from  time.Time
	until time.Time
	src   int // index into srcs
}

// source is one contribution to a user's grants: a binding (perhaps through
// a group, perhaps resolving the member's default role) and the role or
// direct permissions it gave.
type source struct {
	binding  int32 // index into Engine.bindings
	group    int32 // -1 unless through a group
	role     *model.Role
	roleFrom string
	set      *model.GrantSet
}

type node struct {
	id     string
	name   string
	dead   bool
	level  *model.Level
	parent int32
	org    int32
	attrs  map[string]any
	// for lookups: resources of each type whose home is the node, and
	// their ids, in id order
	res    [][]int32
	resIDs [][]string
}

type group struct {
	id         string
	name       string
	dead       bool
	node       int32
	allMembers bool
	members    []int32 // users, explicit and (for all-members groups) computed; sorted
	bindings   []int32 // bindings whose subject is the group
}

type resource struct {
	id       string
	dead     bool
	typ      *model.ResourceType
	parent   int32 // -1 when the resource lives directly in a node
	node     int32 // home scope node
	owner    string
	groups   []int32
	inputs   [][]int32 // by input index of the type
	fields   map[string]string
	attrs    map[string]any
	offers   []int32
	bindings []int32  // bindings on the resource
	users    []int32  // users holding grants on it, sorted
	groupIDs []string // for conditions
}

// Model returns the engine's model.
func (e *Engine) Model() *model.Model { return e.m }

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func buildErr(name, msg string) error {
	return rolecall.E("engine.New", rolecall.Invalid, name, msg)
}

// New builds an engine over the data. It reports every reference to
// something missing and every binding the model does not allow, as one
// rolecall.Errors.
func New(m *model.Model, d *Data) (*Engine, error) {
	if m.Words > maxWords {
		return nil, buildErr("model "+m.ID, fmt.Sprintf("the model has %d permissions; the engine supports up to %d", len(m.Perms), maxWords*64))
	}
	e := &Engine{
		m: m, words: m.Words,
		users: newIDs[int32](len(d.Users)), nodes: map[string]int32{}, groups: map[string]int32{},
		custom: map[int32]map[string]*model.Role{}, bindingIDs: newIDs[int32](len(d.Bindings)),
		offerIDs: newIDs[int32](len(d.Offers)),
	}
	var errs rolecall.Errors
	fail := func(name, format string, args ...any) {
		errs = append(errs, buildErr(name, fmt.Sprintf(format, args...)))
	}
	e.buildScopes(d, fail)
	e.buildCustomRoles(d, fail, &errs)
	e.buildUsers(d, fail)
	e.buildGroups(d, fail)
	e.buildResources(d, fail)
	for i := range d.Bindings {
		if err := e.addBinding(d.Bindings[i], false); err != nil {
			errs = append(errs, err)
		}
	}
	e.buildOffers(d, fail)
	if len(errs) > 0 {
		return nil, errs
	}
	all := make([]int32, e.userList.len())
	for u := range all {
		all[u] = int32(u)
	}
	if err := e.regrantAll(all); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	e.compact()
	e.buildLookup()
	e.Revision = d.Revision
	return e, nil
}

type failFunc = func(name, format string, args ...any)

// buildScopes indexes the scope tree, checking each node's level and parent.
func (e *Engine) buildScopes(d *Data, fail failFunc) {
	m := e.m
	// nodes first, then parents (the order of d.Scopes does not matter)
	for _, s := range d.Scopes {
		l, ok := m.Level(s.Level)
		if !ok {
			fail("scope "+s.ID, "unknown level %q; levels are %s", s.Level, levelIDs(m))
			continue
		}
		if _, dup := e.nodes[s.ID]; dup || s.ID == "" {
			fail("scope "+s.ID, "duplicate or empty scope id")
			continue
		}
		e.nodes[s.ID] = e.nodeList.push(node{id: s.ID, name: s.Name, level: l, parent: -1, attrs: e.resAttrs(s.Attrs)})
		e.nodeUsers.push(nil)
	}
	for _, s := range d.Scopes {
		n, ok := e.nodes[s.ID]
		if !ok {
			continue
		}
		if p, msg := e.scopeParent(e.nodeList.at(n).level, s.Parent); msg != "" {
			fail("scope "+s.ID, "%s", msg)
		} else {
			e.nodeList.at(n).parent = p
		}
	}
	e.nodeParent = make([]int32, e.nodeList.len())
	for i := range e.nodeList.n {
		e.nodeParent[i] = e.nodeList.at(i).parent
	}
	for i := range e.nodeList.n {
		e.nodeList.at(i).org = e.orgOf(i)
	}
}

// scopeParent resolves and checks the parent of a node of level l.
func (e *Engine) scopeParent(l *model.Level, parent string) (int32, string) {
	if l.Parent == nil {
		if parent != "" {
			return -1, fmt.Sprintf("a %s has no parent, but parent %q is given", l.ID, parent)
		}
		return -1, ""
	}
	p, ok := e.nodes[parent]
	if !ok {
		return -1, fmt.Sprintf("parent %q is not a scope node; a %s needs a parent %s", parent, l.ID, l.Parent.ID)
	}
	if pl := e.nodeList.at(p).level; pl != l.Parent {
		return -1, fmt.Sprintf("parent %q is a %s; a %s's parent must be a %s", parent, pl.ID, l.ID, l.Parent.ID)
	}
	return p, ""
}

// orgOf returns the topmost node above n (its organization).
func (e *Engine) orgOf(n int32) int32 {
	for e.nodeList.at(n).parent >= 0 {
		n = e.nodeList.at(n).parent
	}
	return n
}

// buildUsers indexes users and their memberships.
func (e *Engine) buildUsers(d *Data, fail failFunc) {
	for _, u := range d.Users {
		if _, dup := e.users.get(u.ID); dup || u.ID == "" {
			fail("user "+u.ID, "duplicate or empty user id")
			continue
		}
		e.users.set(u.ID, e.userList.push(user{id: u.ID, name: u.Name, email: u.Email, attrs: e.subjAttrs(u.Attrs)}))
	}
	for _, ms := range d.Memberships {
		if err := e.setMembership(ms, false); err != nil {
			fail("membership "+ms.User+"@"+ms.Scope, "%s", err.(*rolecall.Error).Msg)
		}
	}
}

// setMembership records a membership (or removes it) in its user.
func (e *Engine) setMembership(ms rolecall.Membership, remove bool) error {
	name := "membership " + ms.User + "@" + ms.Scope
	u, ok1 := e.users.get(ms.User)
	n, ok2 := e.nodes[ms.Scope]
	if !ok1 || !ok2 {
		return buildErr(name, "unknown user or scope")
	}
	if !remove && ms.DefaultRole != "" && e.role(n, ms.DefaultRole) == nil {
		return buildErr(name, fmt.Sprintf("default role %q is not a role of the model or of the organization", ms.DefaultRole))
	}
	ur := e.userList.mut(u)
	i, found := slices.BinarySearch(ur.member, n)
	switch {
	case remove && found:
		ur.member = slices.Delete(slices.Clone(ur.member), i, i+1)
		ur.defRole = slices.Delete(slices.Clone(ur.defRole), i, i+1)
	case remove:
	case found:
		ur.defRole = slices.Clone(ur.defRole)
		ur.defRole[i] = ms.DefaultRole
	default:
		ur.member = slices.Insert(slices.Clone(ur.member), i, n)
		ur.defRole = slices.Insert(slices.Clone(ur.defRole), i, ms.DefaultRole)
	}
	return nil
}

// buildGroups indexes groups, their explicit members and, for all-members
// groups, every member of the group's node or below.
func (e *Engine) buildGroups(d *Data, fail failFunc) {
	for _, g := range d.Groups {
		n, ok := e.nodes[g.Scope]
		if !ok {
			fail("group "+g.ID, "scope %q is not a scope node", g.Scope)
			continue
		}
		if _, dup := e.groups[g.ID]; dup || g.ID == "" {
			fail("group "+g.ID, "duplicate or empty group id")
			continue
		}
		e.groups[g.ID] = e.groupList.push(group{id: g.ID, name: g.Name, node: n, allMembers: g.AllMembers})
	}
	for _, gm := range d.GroupMembers {
		g, ok1 := e.groups[gm.Group]
		u, ok2 := e.users.get(gm.User)
		if !ok1 || !ok2 {
			fail("group member "+gm.User+" of "+gm.Group, "unknown group or user")
			continue
		}
		ur := e.userList.at(u)
		ur.explicit = append(ur.explicit, g)
	}
	for u := range e.userList.v.n {
		ur := e.userList.at(u)
		slices.Sort(ur.explicit)
		ur.explicit = slices.Compact(ur.explicit)
		e.setGroups(u)
	}
}

// setGroups computes a user's groups (explicit ones, and all-members groups
// at or above a node the user is a member of) and keeps the groups' member
// lists in step.
func (e *Engine) setGroups(u int32) {
	ur := e.userList.at(u)
	gs := slices.Clone(ur.explicit)
	for gi := range e.groupList.v.n {
		g := e.groupList.at(gi)
		if !g.allMembers || g.dead {
			continue
		}
		for _, n := range ur.member {
			if e.isBelowOrAt(n, g.node) {
				gs = append(gs, gi)
				break
			}
		}
	}
	slices.Sort(gs)
	gs = slices.Compact(gs)
	if slices.Equal(gs, ur.groups) && len(ur.groupIDs) == len(gs) {
		return
	}
	old := ur.groups
	for _, g := range old {
		if !slices.Contains(gs, g) {
			gr := e.groupList.mut(g)
			gr.members = removeSorted(gr.members, u)
		}
	}
	for _, g := range gs {
		if !slices.Contains(old, g) {
			gr := e.groupList.mut(g)
			gr.members = insertSorted(gr.members, u)
		}
	}
	ur = e.userList.mut(u)
	ur.groups = gs
	ur.groupIDs = make([]string, len(gs))
	for i, g := range gs {
		ur.groupIDs[i] = e.groupList.at(g).id
	}
}

// insertSorted returns a copy of s with x inserted in order (s itself is
// left alone: it may be shared with another engine).
func insertSorted(s []int32, x int32) []int32 {
	i, found := slices.BinarySearch(s, x)
	if found {
		return s
	}
	return slices.Insert(slices.Clip(s), i, x)
}

// removeSorted returns a copy of s without x.
func removeSorted(s []int32, x int32) []int32 {
	i, found := slices.BinarySearch(s, x)
	if !found {
		return s
	}
	return slices.Delete(slices.Clone(s), i, i+1)
}

// buildCustomRoles compiles the organizations' custom roles.
func (e *Engine) buildCustomRoles(d *Data, fail failFunc, errs *rolecall.Errors) {
	for _, r := range d.Roles {
		if err := e.setRole(r); err != nil {
			*errs = append(*errs, err)
		}
	}
}

// setRole compiles and records one custom role.
func (e *Engine) setRole(r rolecall.Role) error {
	org, ok := e.nodes[r.Org]
	if !ok || e.nodeList.at(org).level != e.m.Tenant {
		return buildErr("role "+r.ID, fmt.Sprintf("organization %q is not a %s", r.Org, e.m.Tenant.ID))
	}
	owner := org
	if r.Scope != "" {
		n, ok := e.nodes[r.Scope]
		if !ok || e.nodeList.at(n).org != org {
			return buildErr("role "+r.ID, fmt.Sprintf("scope %q is not a node of %s", r.Scope, r.Org))
		}
		owner = n
	}
	if _, dup := e.custom[owner][r.ID]; dup && !e.applying() {
		return buildErr("role "+r.ID, "declared twice in "+e.nodeList.at(owner).id)
	}
	cr, err := CompileRole(e.m, r)
	if err != nil {
		return err
	}
	inner := maps.Clone(e.custom[owner])
	if inner == nil {
		inner = map[string]*model.Role{}
	}
	inner[r.ID] = cr
	e.custom[owner] = inner
	return nil
}

// buildOffers attaches offers to their resource and recipient.
func (e *Engine) buildOffers(d *Data, fail failFunc) {
	for _, o := range d.Offers {
		if err := e.addOffer(o); err != nil {
			fail("offer "+o.ID, "%s", err.(*rolecall.Error).Msg)
		}
	}
}

// addOffer records an offer on its resource and recipient.
func (e *Engine) addOffer(o rolecall.Offer) error {
	kind, ok := e.m.Offer(o.Kind)
	if !ok {
		return buildErr("offer "+o.ID, fmt.Sprintf("unknown offer kind %q", o.Kind))
	}
	r, ok := e.resolveRes(o.Resource)
	if !ok || e.resList.at(r).typ != kind.Resource {
		return buildErr("offer "+o.ID, fmt.Sprintf("resource %s is not a %s", o.Resource, kind.Resource.ID))
	}
	u, ok := e.users.get(o.Recipient)
	if !ok {
		return buildErr("offer "+o.ID, fmt.Sprintf("recipient %q is not a user", o.Recipient))
	}
	oi := e.offers.push(offer{Offer: o})
	if o.ID != "" {
		e.offerIDs.put(o.ID, oi, e.applying())
	}
	rr := e.resList.mut(r)
	rr.offers = append(slices.Clip(rr.offers), oi)
	ur := e.userList.mut(u)
	ur.offers = append(slices.Clip(ur.offers), oi)
	return nil
}

// applying reports whether the engine is being changed by Apply (rather
// than built by New).
func (e *Engine) applying() bool { return e.userList.v.own != nil }

// compact lays out the check path's span arenas and hot resource facts.
func (e *Engine) compact() {
	w := e.words
	total := 0
	for i := range e.userList.v.n {
		total += len(e.userSpan.at(i).nodes)
	}
	nodes := make([]int32, 0, total)
	plain := make([]uint64, 0, total*w)
	for i := range e.userList.v.n {
		sp := e.userSpan.at(i)
		off := len(nodes)
		nodes = append(nodes, sp.nodes...)
		plain = append(plain, sp.plain...)
		sp.nodes = nodes[off:len(nodes):len(nodes)]
		sp.plain = plain[off*w : len(plain) : len(plain)]
	}
	for i := range e.resList.v.n {
		e.resHot.push(resHot{})
		e.setHot(i)
	}
}

// setHot refreshes the check path's copy of a resource's facts.
func (e *Engine) setHot(i int32) {
	r := e.resList.at(i)
	var f uint8
	if len(r.bindings) > 0 {
		f |= resBound
	}
	if len(r.typ.Implicit) > 0 {
		f |= resImplicit
	}
	if len(r.offers) > 0 {
		f |= resOffers
	}
	h := resHot{parent: r.parent, node: r.node, flags: f}
	if r.dead {
		h = resHot{parent: -1, node: -1}
	}
	if *e.resHot.at(i) != h {
		*e.resHot.mut(i) = h
	}
	if r.dead {
		return
	}
	re := resEntry{idx: i, node: h.node, hot: h.parent >= 0 || h.flags != 0}
	if old, ok := e.resIdx[r.typ.Index].get(r.id); !ok || old != re {
		e.resIdx[r.typ.Index].put(r.id, re, e.applying())
	}
}

func levelIDs(m *model.Model) string {
	var ids []string
	for _, l := range m.Levels {
		ids = append(ids, l.ID)
	}
	return strings.Join(ids, ", ")
}

// CompileRole compiles an organization's custom role against the model's
// custom-role policy: custom roles must be allowed, and every permission
// must exist and be grantable in custom roles. An organization's copy of a
// template role may also keep the template's own permissions.
func CompileRole(m *model.Model, r rolecall.Role) (*model.Role, error) {
	if r.ID == "" {
		return nil, buildErr("role", "a custom role needs an id")
	}
	tmpl, isModelRole := m.Role(r.ID)
	if isModelRole && tmpl.Kind == model.Builtin {
		return nil, buildErr("role "+r.ID, "is a built-in role of the model and cannot be redefined; pick another id")
	}
	isTemplate := isModelRole && tmpl.Kind == model.Template
	if !isTemplate && !m.CustomRoles.Allowed {
		return nil, buildErr("role "+r.ID, "model "+m.ID+" does not allow custom roles")
	}
	var items []model.GrantItem
	for _, g := range r.Grants {
		p, ok := m.Perm(g.Permission)
		if !ok {
			return nil, buildErr("role "+r.ID, fmt.Sprintf("unknown permission %q", g.Permission))
		}
		allowed := p.Grantable && (m.CustomRoles.Grantable.Has(p.Index) || (isTemplate && tmpl.Grants.Any.Has(p.Index)))
		if !allowed {
			return nil, buildErr("role "+r.ID, fmt.Sprintf("permission %q cannot be granted by a custom role in this model", p.ID))
		}
		var qs []*model.Qualifier
		for _, qid := range g.Qualifiers {
			q, ok := m.Qualifier(qid)
			if !ok {
				return nil, buildErr("role "+r.ID, fmt.Sprintf("unknown qualifier %q", qid))
			}
			qs = append(qs, q)
		}
		items = append(items, model.GrantItem{Perm: p, Qualifiers: qs})
	}
	bindable := m.CustomRoles.BindableAt
	if isTemplate {
		bindable = tmpl.BindableAt
	}
	name := r.Name
	if name == "" {
		name = r.ID
	}
	return &model.Role{ID: r.ID, Name: name, Description: r.Description, Kind: model.Custom, Org: r.Org,
		BindableAt: bindable, Grants: model.BuildGrantSet(m, items, nil)}, nil
}

func (e *Engine) isBelowOrAt(n, anc int32) bool {
	for ; n >= 0; n = e.nodeList.at(n).parent {
		if n == anc {
			return true
		}
	}
	return false
}

// role resolves a role id for a binding at node n: custom roles owned by n
// or the nearest node above it first (they may shadow templates), then the
// model's roles.
func (e *Engine) role(n int32, id string) *model.Role {
	for x := n; x >= 0; x = e.nodeList.at(x).parent {
		if cr, ok := e.custom[x][id]; ok {
			return cr
		}
	}
	if r, ok := e.m.Role(id); ok {
		return r
	}
	return nil
}

func (e *Engine) buildResources(d *Data, fail failFunc) {
	m := e.m
	e.resIdx = make([]ids[resEntry], len(m.Resources))
	count := make([]int, len(m.Resources))
	for _, r := range d.Resources {
		if rt, ok := m.Resource(r.Type); ok {
			count[rt.Index]++
		}
	}
	for i := range e.resIdx {
		e.resIdx[i] = newIDs[resEntry](count[i])
	}
	for _, r := range d.Resources {
		rt, ok := m.Resource(r.Type)
		if !ok {
			fail("resource "+r.Type+":"+r.ID, "unknown resource type %q", r.Type)
			continue
		}
		if _, dup := e.resIdx[rt.Index].get(r.ID); dup || r.ID == "" {
			fail("resource "+r.Type+":"+r.ID, "duplicate or empty id")
			continue
		}
		e.resIdx[rt.Index].set(r.ID, resEntry{idx: e.resList.push(resource{id: r.ID, typ: rt, parent: -1, node: -1}), node: -1})
	}
	for _, r := range d.Resources {
		if ri, ok := e.resolveRes(r.Ref()); ok {
			if msg := e.fillResource(ri, &r); msg != "" {
				fail("resource "+r.Type+":"+r.ID, "%s", msg)
			}
		}
	}
	// home nodes through parents
	for i := range e.resList.v.n {
		r := i
		for e.resList.at(r).node < 0 && e.resList.at(r).parent >= 0 {
			r = e.resList.at(r).parent
		}
		e.resList.at(i).node = e.resList.at(r).node
	}
	for _, r := range d.Resources {
		ri, ok := e.resolveRes(r.Ref())
		if !ok {
			continue
		}
		res := e.resList.at(ri)
		ins, err := e.inputsOf(res.typ, res.node, r.Inputs)
		if err != "" {
			fail("resource "+r.Type+":"+r.ID, "%s", err)
			continue
		}
		res.inputs = ins
	}
}

// fillResource sets a resource's facts from r, except its inputs (which
// need the home nodes of everything first): owner, fields, attributes, its
// parent or scope, and its groups. While applying, the home node follows
// from the parent at once. It returns what is wrong, or "".
func (e *Engine) fillResource(ri int32, r *rolecall.Resource) string {
	res := e.resList.mut(ri)
	rt := res.typ
	res.owner, res.fields, res.attrs = r.Owner, r.Fields, e.resAttrs(r.Attrs)
	res.parent, res.node, res.groups, res.groupIDs = -1, -1, nil, nil
	if rt.Parent != nil {
		if r.Parent == nil {
			return fmt.Sprintf("a %s lives under a %s; give its parent", rt.ID, rt.Parent.ID)
		}
		p, ok := e.resolveRes(*r.Parent)
		if !ok || e.resList.at(p).typ != rt.Parent {
			return fmt.Sprintf("parent %s is not an existing %s", r.Parent, rt.Parent.ID)
		}
		res.parent = p
		if e.applying() {
			res.node = e.resList.at(p).node
		}
	} else {
		n, ok := e.nodes[r.Scope]
		if !ok || e.nodeList.at(n).level != rt.Level {
			return fmt.Sprintf("scope %q is not an existing %s", r.Scope, rt.Level.ID)
		}
		res.node = n
	}
	for _, g := range r.Groups {
		gi, ok := e.groups[g]
		if !ok {
			return fmt.Sprintf("group %q does not exist", g)
		}
		if !rt.Groups {
			return fmt.Sprintf("a %s cannot be assigned to groups (the model does not say `groups: true`)", rt.ID)
		}
		res.groups = append(res.groups, gi)
		res.groupIDs = append(res.groupIDs, g)
	}
	for f, class := range r.Fields {
		if class != "" && !hasClass(rt, class) {
			return fmt.Sprintf("field %q has class %q, which %s does not declare", f, class, rt.ID)
		}
	}
	return ""
}

func hasClass(rt *model.ResourceType, class string) bool {
	for _, c := range rt.Classes {
		if c.ID == class {
			return true
		}
	}
	return false
}

// inputsOf resolves a resource's inputs against its type.
func (e *Engine) inputsOf(rt *model.ResourceType, home int32, in map[string][]rolecall.ResourceRef) ([][]int32, string) {
	for name := range in {
		found := false
		for _, it := range rt.Inputs {
			if it.Name == name {
				found = true
			}
		}
		if !found {
			return nil, fmt.Sprintf("%s has no input relation %q", rt.ID, name)
		}
	}
	var out [][]int32
	for _, it := range rt.Inputs {
		var ids []int32
		for _, ref := range in[it.Name] {
			x, ok := e.resolveRes(ref)
			if !ok || e.resList.at(x).typ != it.Type {
				return nil, fmt.Sprintf("input %s: %s is not an existing %s", it.Name, ref, it.Type.ID)
			}
			if !it.CrossScope && home >= 0 && e.resList.at(x).node != home {
				return nil, fmt.Sprintf("input %s: %s lives in another %s, and the model does not allow cross_scope inputs", it.Name, ref, rt.Level.ID)
			}
			ids = append(ids, x)
		}
		if len(ids) < it.Min || (it.Max > 0 && len(ids) > it.Max) {
			return nil, fmt.Sprintf("input %s has %d resources; the model wants between %d and %d", it.Name, len(ids), it.Min, it.Max)
		}
		out = append(out, ids)
	}
	return out, ""
}

func (e *Engine) resolveRes(ref rolecall.ResourceRef) (int32, bool) {
	rt, ok := e.m.Resource(ref.Type)
	if !ok {
		return -1, false
	}
	re, ok := e.resIdx[rt.Index].get(ref.ID)
	return re.idx, ok
}

// place is where a binding sits and what it gives, resolved and checked
// against the model.
type place struct {
	at     int32 // the node, or the resource's home node
	atRes  int32 // the resource, or -1
	level  *model.Level
	target string
	group  int32           // the subject group, or -1
	role   *model.Role     // nil for direct permissions and default roles
	set    *model.GrantSet // what the role or the permissions give there
}

// placeOf resolves a binding and checks it against the model.
func (e *Engine) placeOf(b *rolecall.Binding) (place, error) {
	p := place{at: -1, atRes: -1, group: -1}
	switch {
	case b.Resource != nil:
		r, ok := e.resolveRes(*b.Resource)
		if !ok {
			return p, buildErr(bindingName(b), fmt.Sprintf("resource %s does not exist", b.Resource))
		}
		p.atRes, p.at = r, e.resList.at(r).node
		p.target = "resource:" + e.resList.at(r).typ.ID
	default:
		n, ok := e.nodes[b.Scope]
		if !ok {
			return p, buildErr(bindingName(b), fmt.Sprintf("scope %q does not exist", b.Scope))
		}
		p.at, p.level = n, e.nodeList.at(n).level
		if b.Wildcard && (p.level != e.m.Tenant || p.level.Wildcard == "") {
			return p, buildErr(bindingName(b), fmt.Sprintf("a wildcard binding sits at the %s; the model has no wildcard there", e.m.Tenant.ID))
		}
		p.target = p.level.ID
		if b.Wildcard {
			p.target = p.level.Wildcard
		}
	}
	switch b.Subject.Kind {
	case rolecall.SubjectUser:
		if _, ok := e.users.get(b.Subject.ID); !ok {
			return p, buildErr(bindingName(b), "no such user")
		}
	case rolecall.SubjectGroup:
		g, ok := e.groups[b.Subject.ID]
		if !ok {
			return p, buildErr(bindingName(b), "no such group")
		}
		p.group = g
	default:
		return p, buildErr(bindingName(b), "the subject must be a user or a group")
	}
	switch {
	case len(b.Permissions) > 0:
		if b.Role != "" || b.DefaultRole {
			return p, buildErr(bindingName(b), "give a role or direct permissions, not both")
		}
		if p.level == nil || !e.m.Direct.Allowed(p.level) {
			return p, buildErr(bindingName(b), fmt.Sprintf("the model does not allow permissions bound directly at %s; bind a role instead", p.target))
		}
		var items []model.GrantItem
		for _, pid := range b.Permissions {
			q, ok := e.m.Perm(pid)
			if !ok {
				return p, buildErr(bindingName(b), fmt.Sprintf("unknown permission %q", pid))
			}
			if !q.Grantable {
				return p, buildErr(bindingName(b), fmt.Sprintf("permission %q cannot be granted", pid))
			}
			items = append(items, model.GrantItem{Perm: q})
		}
		p.set = model.BuildGrantSet(e.m, items, nil)
	case b.DefaultRole:
	default:
		r := e.role(p.at, b.Role)
		if r == nil {
			return p, buildErr(bindingName(b), fmt.Sprintf("unknown role %q", b.Role))
		}
		if !bindableAt(r, p.target) {
			return p, buildErr(bindingName(b), fmt.Sprintf("role %q cannot be bound at %s; it is bindable at %s", r.ID, p.target, strings.Join(r.BindableAt, ", ")))
		}
		p.role, p.set = r, r.GrantsAt(p.levelIndex())
	}
	return p, nil
}

// bindingName names a binding in errors.
func bindingName(b *rolecall.Binding) string { return "binding " + b.Subject.String() }

func (p *place) levelIndex() int {
	if p.level == nil {
		return -1
	}
	return p.level.Index
}

// placeCache remembers the places of bindings while many users are
// regranted at once (by New, or by an Apply that reaches many users); the
// data must not change meanwhile. It is indexed by binding.
type placeCache struct{ byIdx []*placed }

type placed struct {
	p   place
	err error
}

func newPlaceCache(e *Engine) *placeCache {
	return &placeCache{byIdx: make([]*placed, e.bindings.len())}
}

func (c *placeCache) of(e *Engine, bi int32) (*place, error) {
	if int(bi) < len(c.byIdx) {
		if pl := c.byIdx[bi]; pl != nil {
			return &pl.p, pl.err
		}
	}
	p, err := e.placeOf(&e.bindings.at(bi).Binding)
	pl := &placed{p, err}
	if int(bi) < len(c.byIdx) {
		c.byIdx[bi] = pl
	}
	return &pl.p, err
}

// addBinding checks a binding and records it with its subject (and its
// resource); regrant then merges it into the users it reaches.
func (e *Engine) addBinding(b rolecall.Binding, applying bool) error {
	p, err := e.placeOf(&b)
	if err != nil {
		return err
	}
	if b.ID != "" {
		if _, dup := e.bindingIDs.get(b.ID); dup {
			return buildErr("binding "+b.ID, "duplicate binding id")
		}
	}
	bi := e.bindings.push(binding{Binding: b})
	if b.ID != "" {
		e.bindingIDs.put(b.ID, bi, applying)
	}
	if p.group >= 0 {
		g := e.groupList.mut(p.group)
		g.bindings = append(slices.Clip(g.bindings), bi)
	} else {
		u, _ := e.users.get(b.Subject.ID)
		ur := e.userList.mut(u)
		ur.bindings = append(slices.Clip(ur.bindings), bi)
	}
	if p.atRes >= 0 {
		r := e.resList.mut(p.atRes)
		r.bindings = append(slices.Clip(r.bindings), bi)
	}
	return nil
}

// regrant merges every binding that reaches user u (its own and its
// groups', in binding order) into its grants, and lays out its span. While
// applying, it also keeps the lookup lists of the nodes and resources it
// gains or loses grants on in step.
func (e *Engine) regrant(u int32, places *placeCache) error {
	g, err := e.computeGrants(u, places)
	if err != nil {
		return err
	}
	e.setGrants(u, g)
	return nil
}

// granted is a user's grants as computeGrants makes them.
type granted struct {
	nodes    []nodeGrants
	resGrant map[int32]*grants
	span     span
}

// computeGrants computes user u's grants from the bindings that reach it.
// It only reads the engine, so several may run at once while nothing
// writes.
func (e *Engine) computeGrants(u int32, places *placeCache) (granted, error) {
	var out granted
	ur := e.userList.at(u)
	type reach struct{ bi, group int32 }
	var rs []reach
	if !ur.dead {
		for _, bi := range ur.bindings {
			rs = append(rs, reach{bi, -1})
		}
		for _, g := range ur.groups {
			for _, bi := range e.groupList.at(g).bindings {
				rs = append(rs, reach{bi, g})
			}
		}
	}
	slices.SortFunc(rs, func(a, b reach) int { return cmp.Compare(a.bi, b.bi) })
	// one slab for the grants and their bits: a node or resource gets at
	// most one grants per binding that reaches it
	slab := make([]grants, 0, len(rs))
	bits := make([]uint64, len(rs)*e.words)
	newGrants := func() *grants {
		slab = append(slab, grants{plain: bits[:e.words:e.words]})
		bits = bits[e.words:]
		return &slab[len(slab)-1]
	}
	for _, x := range rs {
		b := e.bindings.at(x.bi)
		if b.dead {
			continue
		}
		p, err := places.of(e, x.bi)
		if err != nil {
			return out, err
		}
		src := source{binding: x.bi, group: x.group, role: p.role, set: p.set}
		if b.DefaultRole {
			r, from := e.defaultRole(u, p.at)
			if r == nil {
				continue // a member without a default role gets nothing
			}
			src.role, src.roleFrom, src.set = r, from, r.GrantsAt(p.levelIndex())
		}
		var g *grants
		if p.atRes >= 0 {
			if out.resGrant == nil {
				out.resGrant = map[int32]*grants{}
			}
			if g = out.resGrant[p.atRes]; g == nil {
				g = newGrants()
				out.resGrant[p.atRes] = g
			}
		} else {
			for i := range out.nodes {
				if out.nodes[i].node == p.at {
					g = out.nodes[i].grants
				}
			}
			if g == nil {
				g = newGrants()
				out.nodes = append(out.nodes, nodeGrants{node: p.at, grants: g})
			}
		}
		g.add(src, &b.Binding)
	}
	slices.SortFunc(out.nodes, func(a, b nodeGrants) int { return cmp.Compare(a.node, b.node) })
	sp := span{nodes: make([]int32, len(out.nodes)), plain: make([]uint64, 0, len(out.nodes)*e.words)}
	for i, ng := range out.nodes {
		sp.nodes[i] = ng.node
		sp.plain = append(sp.plain, ng.plain...)
		if len(ng.cond) > 0 {
			sp.cond = true
		}
	}
	for _, g := range out.resGrant {
		if len(g.cond) > 0 {
			sp.cond = true
		}
	}
	out.span = sp
	return out, nil
}

// setGrants installs grants computed for user u.
func (e *Engine) setGrants(u int32, g granted) {
	ur := e.userList.mut(u)
	oldNodes, oldRes := ur.nodes, ur.resGrant
	ur.nodes, ur.resGrant, ur.hasCond = g.nodes, g.resGrant, g.span.cond
	if u < e.userSpan.n {
		*e.userSpan.mut(u) = g.span
	} else {
		e.userSpan.push(g.span)
	}
	if !e.applying() {
		return
	}
	for _, ng := range oldNodes {
		if ur.index(ng.node) < 0 {
			nu := e.nodeUsers.mut(ng.node)
			*nu = removeSorted(*nu, u)
		}
	}
	for _, ng := range ur.nodes {
		if _, in := slices.BinarySearch(*e.nodeUsers.at(ng.node), u); !in {
			nu := e.nodeUsers.mut(ng.node)
			*nu = insertSorted(*nu, u)
		}
	}
	for r := range oldRes {
		if ur.resGrant[r] == nil {
			res := e.resList.mut(r)
			res.users = removeSorted(res.users, u)
		}
	}
	for r := range ur.resGrant {
		if oldRes[r] == nil {
			res := e.resList.mut(r)
			res.users = insertSorted(res.users, u)
		}
	}
}

// regrantAll regrants many users: the grants are computed in parallel
// (reading only), then installed in order.
func (e *Engine) regrantAll(us []int32) error {
	if len(us) < 256 {
		places := &placeCache{}
		for _, u := range us {
			if err := e.regrant(u, places); err != nil {
				return err
			}
		}
		return nil
	}
	out := make([]granted, len(us))
	workers := min(runtime.GOMAXPROCS(0), 8)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			places := newPlaceCache(e)
			for i := w; i < len(us); i += workers {
				g, err := e.computeGrants(us[i], places)
				if err != nil {
					errs[w] = err
					return
				}
				out[i] = g
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, u := range us {
		e.setGrants(u, out[i])
	}
	return nil
}

func resType(e *Engine, r int32) string {
	if r < 0 {
		return ""
	}
	return e.resList.at(r).typ.ID
}

func bindableAt(r *model.Role, target string) bool {
	return slices.Contains(r.BindableAt, target)
}

// add merges a source into the grants.
func (g *grants) add(src source, b *rolecall.Binding) {
	si := len(g.srcs)
	g.srcs = append(g.srcs, src)
	timed := !b.NotBefore.IsZero() || !b.NotAfter.IsZero()
	if !timed {
		g.plain.Or(src.set.Plain)
	} else {
		g.cond = append(g.cond, condGrant{bits: src.set.Plain, from: b.NotBefore, until: b.NotAfter, src: si})
	}
	for _, q := range src.set.Qualified {
		g.cond = append(g.cond, condGrant{bits: q.Bits, quals: q.Qualifiers, from: b.NotBefore, until: b.NotAfter, src: si})
	}
}

// defaultRole resolves a member's default role for a binding at node n: the
// default role of the user's membership at the model's default-role level,
// found above n.
func (e *Engine) defaultRole(u, n int32) (*model.Role, string) {
	at := e.m.Members.DefaultRoleAt
	ur := e.userList.at(u)
	for x := n; x >= 0; x = e.nodeList.at(x).parent {
		if at != nil && e.nodeList.at(x).level != at {
			continue
		}
		if i, ok := slices.BinarySearch(ur.member, x); ok && ur.defRole[i] != "" {
			if r := e.role(x, ur.defRole[i]); r != nil {
				return r, "default role of " + ur.id + " in " + e.nodeList.at(x).id
			}
		}
	}
	if fb := e.m.Members.DefaultRoleFallback; fb != nil {
		return fb, "the model's default role"
	}
	return nil, ""
}
