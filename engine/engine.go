package engine

import (
	"fmt"
	"slices"
	"strings"
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

// Engine is an immutable index of one model's data.
type Engine struct {
	m *model.Model
	// Now returns the time used for time-bound bindings and offers; nil
	// means time.Now.
	Now func() time.Time

	users     idMap
	userList  []user
	nodes     map[string]int32
	nodeList  []node
	groups    map[string]int32
	groupList []group
	resIdx    []idMapOf[resEntry] // by resource type index
	resList   []resource
	members   map[memberKey]string             // (user, node) -> default role ("" if none)
	custom    map[int32]map[string]*model.Role // by owning node
	bindings  []rolecall.Binding
	offers    []rolecall.Offer
	words     int

	// Hot, compact copies of what the check path reads, so a check touches
	// few cache lines: parents of nodes and resources, home nodes, and
	// flags saying whether a resource has grants of its own.
	nodeParent []int32
	resHot     []resHot
	// userSpan[u] locates user u's node grants in the two arenas: node ids
	// (sorted) in spanNodes, and their unconditional permission words
	// (words per node) in spanPlain.
	userSpan  []span
	spanNodes []int32
	spanPlain []uint64

	look lookupIndex
	// Revision is the store revision the engine's data is at; cursors are
	// tied to it.
	Revision rolecall.Revision
}

type span struct {
	off, n uint32
	cond   bool // some grant of the user is conditional (qualified or time-bound)
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

type memberKey struct{ user, node int32 }

type user struct {
	id       string
	groups   []int32  // sorted
	groupIDs []string // for conditions
	nodes    []nodeGrants
	resGrant map[int32]*grants
	offers   []int32 // offers addressed to the user
	member   []int32 // nodes the user is a member of
	hasCond  bool    // some grant of the user is conditional (qualified or time-bound)
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
	level  *model.Level
	parent int32
	org    int32
	attrs  map[string]any
}

type group struct {
	id         string
	node       int32
	allMembers bool
	members    []int32 // users, explicit and (for all-members groups) computed
}

type resource struct {
	id       string
	typ      *model.ResourceType
	parent   int32 // -1 when the resource lives directly in a node
	node     int32 // home scope node
	owner    string
	groups   []int32
	inputs   [][]int32 // by input index of the type
	fields   map[string]string
	attrs    map[string]any
	offers   []int32
	bound    bool     // has resource bindings
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
		users: newIDMap(len(d.Users)), nodes: map[string]int32{}, groups: map[string]int32{},
		members: map[memberKey]string{}, custom: map[int32]map[string]*model.Role{},
	}
	var errs rolecall.Errors
	fail := func(name, format string, args ...any) {
		errs = append(errs, buildErr(name, fmt.Sprintf(format, args...)))
	}
	e.buildScopes(d, fail)
	e.buildUsers(d, fail)
	e.buildGroups(d, fail)
	e.buildCustomRoles(d, fail, &errs)
	e.buildResources(d, fail)
	e.resolveInputs(d, fail)
	e.bindings = d.Bindings
	for bi := range d.Bindings {
		if err := e.addBinding(int32(bi)); err != nil {
			errs = append(errs, err)
		}
	}
	e.buildOffers(d, fail)
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
		e.nodes[s.ID] = int32(len(e.nodeList))
		e.nodeList = append(e.nodeList, node{id: s.ID, level: l, parent: -1, attrs: s.Attrs})
	}
	for _, s := range d.Scopes {
		n, ok := e.nodes[s.ID]
		if !ok {
			continue
		}
		nd := &e.nodeList[n]
		if nd.level.Parent == nil {
			if s.Parent != "" {
				fail("scope "+s.ID, "a %s has no parent, but parent %q is given", nd.level.ID, s.Parent)
			}
			continue
		}
		p, ok := e.nodes[s.Parent]
		if !ok {
			fail("scope "+s.ID, "parent %q is not a scope node; a %s needs a parent %s", s.Parent, nd.level.ID, nd.level.Parent.ID)
			continue
		}
		if e.nodeList[p].level != nd.level.Parent {
			fail("scope "+s.ID, "parent %q is a %s; a %s's parent must be a %s", s.Parent, e.nodeList[p].level.ID, nd.level.ID, nd.level.Parent.ID)
			continue
		}
		nd.parent = p
	}
	for i := range e.nodeList {
		n := int32(i)
		for e.nodeList[n].parent >= 0 {
			n = e.nodeList[n].parent
		}
		e.nodeList[i].org = n
	}

}

// buildUsers indexes users and their memberships.
func (e *Engine) buildUsers(d *Data, fail failFunc) {
	for _, u := range d.Users {
		if _, dup := e.users.get(u.ID); dup || u.ID == "" {
			fail("user "+u.ID, "duplicate or empty user id")
			continue
		}
		e.users.set(u.ID, int32(len(e.userList)))
		e.userList = append(e.userList, user{id: u.ID, attrs: u.Attrs})
	}
	for _, ms := range d.Memberships {
		u, ok1 := e.users.get(ms.User)
		n, ok2 := e.nodes[ms.Scope]
		if !ok1 || !ok2 {
			fail("membership "+ms.User+"@"+ms.Scope, "unknown user or scope")
			continue
		}
		if ms.DefaultRole != "" && e.role(n, ms.DefaultRole) == nil && !e.customDeclared(d, n, ms.DefaultRole) {
			fail("membership "+ms.User+"@"+ms.Scope, "default role %q is not a role of the model or of the organization", ms.DefaultRole)
		}
		e.members[memberKey{u, n}] = ms.DefaultRole
		e.userList[u].member = append(e.userList[u].member, n)
	}

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
		e.groups[g.ID] = int32(len(e.groupList))
		e.groupList = append(e.groupList, group{id: g.ID, node: n, allMembers: g.AllMembers})
	}
	for _, gm := range d.GroupMembers {
		g, ok1 := e.groups[gm.Group]
		u, ok2 := e.users.get(gm.User)
		if !ok1 || !ok2 {
			fail("group member "+gm.User+" of "+gm.Group, "unknown group or user")
			continue
		}
		e.userList[u].groups = append(e.userList[u].groups, g)
	}
	for gi, g := range e.groupList {
		if !g.allMembers {
			continue
		}
		for k := range e.members {
			if e.isBelowOrAt(k.node, g.node) {
				e.userList[k.user].groups = append(e.userList[k.user].groups, int32(gi))
			}
		}
	}
	for i := range e.userList {
		u := &e.userList[i]
		slices.Sort(u.groups)
		u.groups = slices.Compact(u.groups)
		for _, g := range u.groups {
			u.groupIDs = append(u.groupIDs, e.groupList[g].id)
		}
		slices.Sort(u.member)
		u.member = slices.Compact(u.member)
		for _, g := range u.groups {
			e.groupList[g].members = append(e.groupList[g].members, int32(i))
		}
	}
}

// buildCustomRoles compiles the organizations' custom roles.
func (e *Engine) buildCustomRoles(d *Data, fail failFunc, errs *rolecall.Errors) {
	m := e.m
	// custom roles
	for _, r := range d.Roles {
		org, ok := e.nodes[r.Org]
		if !ok || e.nodeList[org].level != m.Tenant {
			fail("role "+r.ID, "organization %q is not a %s", r.Org, m.Tenant.ID)
			continue
		}
		owner := org
		if r.Scope != "" {
			n, ok := e.nodes[r.Scope]
			if !ok || e.nodeList[n].org != org {
				fail("role "+r.ID, "scope %q is not a node of %s", r.Scope, r.Org)
				continue
			}
			owner = n
		}
		cr, err := CompileRole(m, r)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		if e.custom[owner] == nil {
			e.custom[owner] = map[string]*model.Role{}
		}
		if _, dup := e.custom[owner][r.ID]; dup {
			fail("role "+r.ID, "declared twice in %s", e.nodeList[owner].id)
			continue
		}
		e.custom[owner][r.ID] = cr
	}

}

// buildOffers attaches offers to their resource and recipient.
func (e *Engine) buildOffers(d *Data, fail failFunc) {
	m := e.m
	e.offers = d.Offers
	for oi, o := range d.Offers {
		kind, ok := m.Offer(o.Kind)
		if !ok {
			fail("offer "+o.ID, "unknown offer kind %q", o.Kind)
			continue
		}
		r, ok := e.resolveRes(o.Resource)
		if !ok || e.resList[r].typ != kind.Resource {
			fail("offer "+o.ID, "resource %s is not a %s", o.Resource, kind.Resource.ID)
			continue
		}
		u, ok := e.users.get(o.Recipient)
		if !ok {
			fail("offer "+o.ID, "recipient %q is not a user", o.Recipient)
			continue
		}
		e.resList[r].offers = append(e.resList[r].offers, int32(oi))
		e.userList[u].offers = append(e.userList[u].offers, int32(oi))
	}
}

// compact builds the hot arrays of the check path.
func (e *Engine) compact() {
	w := e.words
	total := 0
	for i := range e.userList {
		total += len(e.userList[i].nodes)
	}
	e.userSpan = make([]span, len(e.userList))
	e.spanNodes = make([]int32, 0, total)
	e.spanPlain = make([]uint64, 0, total*w)
	for i := range e.userList {
		u := &e.userList[i]
		slices.SortFunc(u.nodes, func(a, b nodeGrants) int { return int(a.node - b.node) })
		e.userSpan[i] = span{off: uint32(len(e.spanNodes)), n: uint32(len(u.nodes))}
		for _, ng := range u.nodes {
			e.spanNodes = append(e.spanNodes, ng.node)
			e.spanPlain = append(e.spanPlain, ng.plain...)
			if len(ng.cond) > 0 {
				u.hasCond = true
			}
		}
		for _, g := range u.resGrant {
			if len(g.cond) > 0 {
				u.hasCond = true
			}
		}
		e.userSpan[i].cond = u.hasCond
	}
	e.nodeParent = make([]int32, len(e.nodeList))
	for i, n := range e.nodeList {
		e.nodeParent[i] = n.parent
	}
	e.resHot = make([]resHot, len(e.resList))
	for i := range e.resList {
		r := &e.resList[i]
		var f uint8
		if r.bound {
			f |= resBound
		}
		if len(r.typ.Implicit) > 0 {
			f |= resImplicit
		}
		if len(r.offers) > 0 {
			f |= resOffers
		}
		e.resHot[i] = resHot{parent: r.parent, node: r.node, flags: f}
	}
	for ti := range e.resIdx {
		m := &e.resIdx[ti]
		fix := func(re resEntry) resEntry {
			h := e.resHot[re.idx]
			re.node, re.hot = h.node, h.parent >= 0 || h.flags != 0
			return re
		}
		for k, re := range m.short {
			m.short[k] = fix(re)
		}
		for k, re := range m.long {
			m.long[k] = fix(re)
		}
	}
}

func levelIDs(m *model.Model) string {
	var ids []string
	for _, l := range m.Levels {
		ids = append(ids, l.ID)
	}
	return strings.Join(ids, ", ")
}

// customDeclared reports whether data declares a custom role id owned by n
// or a node above it (used before custom roles are compiled).
func (e *Engine) customDeclared(d *Data, n int32, id string) bool {
	for _, r := range d.Roles {
		if r.ID != id {
			continue
		}
		owner := r.Org
		if r.Scope != "" {
			owner = r.Scope
		}
		if o, ok := e.nodes[owner]; ok && e.isBelowOrAt(n, o) {
			return true
		}
	}
	return false
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
	for ; n >= 0; n = e.nodeList[n].parent {
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
	for x := n; x >= 0; x = e.nodeList[x].parent {
		if cr, ok := e.custom[x][id]; ok {
			return cr
		}
	}
	if r, ok := e.m.Role(id); ok {
		return r
	}
	return nil
}

func (e *Engine) buildResources(d *Data, fail func(string, string, ...any)) {
	m := e.m
	e.resIdx = make([]idMapOf[resEntry], len(m.Resources))
	count := make([]int, len(m.Resources))
	for _, r := range d.Resources {
		if rt, ok := m.Resource(r.Type); ok {
			count[rt.Index]++
		}
	}
	for i := range e.resIdx {
		e.resIdx[i] = newIDMapOf[resEntry](count[i])
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
		e.resIdx[rt.Index].set(r.ID, resEntry{idx: int32(len(e.resList)), node: -1})
		e.resList = append(e.resList, resource{id: r.ID, typ: rt, parent: -1, node: -1, owner: r.Owner, fields: r.Fields, attrs: r.Attrs})
	}
	for _, r := range d.Resources {
		rt, ok := m.Resource(r.Type)
		if !ok {
			continue
		}
		re, ok := e.resIdx[rt.Index].get(r.ID)
		if !ok {
			continue
		}
		ri := re.idx
		res := &e.resList[ri]
		name := "resource " + r.Type + ":" + r.ID
		if rt.Parent != nil {
			if r.Parent == nil {
				fail(name, "a %s lives under a %s; give its parent", rt.ID, rt.Parent.ID)
				continue
			}
			p, ok := e.resolveRes(*r.Parent)
			if !ok || e.resList[p].typ != rt.Parent {
				fail(name, "parent %s is not an existing %s", r.Parent, rt.Parent.ID)
				continue
			}
			res.parent = p
		} else {
			n, ok := e.nodes[r.Scope]
			if !ok || e.nodeList[n].level != rt.Level {
				fail(name, "scope %q is not an existing %s", r.Scope, rt.Level.ID)
				continue
			}
			res.node = n
		}
		for _, g := range r.Groups {
			gi, ok := e.groups[g]
			if !ok {
				fail(name, "group %q does not exist", g)
				continue
			}
			if !rt.Groups {
				fail(name, "a %s cannot be assigned to groups (the model does not say `groups: true`)", rt.ID)
				break
			}
			res.groups = append(res.groups, gi)
			res.groupIDs = append(res.groupIDs, g)
		}
		for f, class := range r.Fields {
			if class != "" && !hasClass(rt, class) {
				fail(name, "field %q has class %q, which %s does not declare", f, class, rt.ID)
			}
		}
	}
	// home nodes through parents
	for i := range e.resList {
		r := int32(i)
		for e.resList[r].node < 0 && e.resList[r].parent >= 0 {
			r = e.resList[r].parent
		}
		e.resList[i].node = e.resList[r].node
	}
}

func hasClass(rt *model.ResourceType, class string) bool {
	for _, c := range rt.Classes {
		if c.ID == class {
			return true
		}
	}
	return false
}

func (e *Engine) resolveInputs(d *Data, fail func(string, string, ...any)) {
	for _, r := range d.Resources {
		rt, ok := e.m.Resource(r.Type)
		if !ok {
			continue
		}
		re, ok := e.resIdx[rt.Index].get(r.ID)
		if !ok {
			continue
		}
		ri := re.idx
		ins, err := e.inputsOf(rt, e.resList[ri].node, r.Inputs)
		if err != "" {
			fail("resource "+r.Type+":"+r.ID, "%s", err)
			continue
		}
		e.resList[ri].inputs = ins
	}
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
			if !ok || e.resList[x].typ != it.Type {
				return nil, fmt.Sprintf("input %s: %s is not an existing %s", it.Name, ref, it.Type.ID)
			}
			if !it.CrossScope && home >= 0 && e.resList[x].node != home {
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

// addBinding merges one binding into the grants of the users it reaches.
func (e *Engine) addBinding(bi int32) error {
	b := &e.bindings[bi]
	name := "binding " + b.Subject.String()
	var at int32 = -1
	var atRes int32 = -1
	var level *model.Level
	switch {
	case b.Resource != nil:
		r, ok := e.resolveRes(*b.Resource)
		if !ok {
			return buildErr(name, fmt.Sprintf("resource %s does not exist", b.Resource))
		}
		atRes, at = r, e.resList[r].node
	default:
		n, ok := e.nodes[b.Scope]
		if !ok {
			return buildErr(name, fmt.Sprintf("scope %q does not exist", b.Scope))
		}
		at, level = n, e.nodeList[n].level
		if b.Wildcard && (level != e.m.Tenant || level.Wildcard == "") {
			return buildErr(name, fmt.Sprintf("a wildcard binding sits at the %s; the model has no wildcard there", e.m.Tenant.ID))
		}
	}
	// what the binding gives: a role (resolved per member for default_role)
	var users []int32
	group := int32(-1)
	switch b.Subject.Kind {
	case rolecall.SubjectUser:
		u, ok := e.users.get(b.Subject.ID)
		if !ok {
			return buildErr(name, "no such user")
		}
		users = []int32{u}
	case rolecall.SubjectGroup:
		g, ok := e.groups[b.Subject.ID]
		if !ok {
			return buildErr(name, "no such group")
		}
		group = g
		users = e.groupList[g].members
	}
	target := "resource:" + resType(e, atRes)
	if level != nil {
		target = level.ID
		if b.Wildcard {
			target = level.Wildcard
		}
	}
	for _, u := range users {
		src := source{binding: bi, group: group}
		switch {
		case len(b.Permissions) > 0:
			if b.Role != "" || b.DefaultRole {
				return buildErr(name, "give a role or direct permissions, not both")
			}
			if level == nil || !e.m.Direct.Allowed(level) {
				return buildErr(name, fmt.Sprintf("the model does not allow permissions bound directly at %s; bind a role instead", target))
			}
			var items []model.GrantItem
			for _, pid := range b.Permissions {
				p, ok := e.m.Perm(pid)
				if !ok {
					return buildErr(name, fmt.Sprintf("unknown permission %q", pid))
				}
				if !p.Grantable {
					return buildErr(name, fmt.Sprintf("permission %q cannot be granted", pid))
				}
				items = append(items, model.GrantItem{Perm: p})
			}
			src.set = model.BuildGrantSet(e.m, items, nil)
		case b.DefaultRole:
			r, from := e.defaultRole(u, at)
			if r == nil {
				continue // a member without a default role gets nothing
			}
			src.role, src.roleFrom = r, from
		default:
			r := e.role(at, b.Role)
			if r == nil {
				return buildErr(name, fmt.Sprintf("unknown role %q", b.Role))
			}
			if !bindableAt(r, target) {
				return buildErr(name, fmt.Sprintf("role %q cannot be bound at %s; it is bindable at %s", r.ID, target, strings.Join(r.BindableAt, ", ")))
			}
			src.role = r
		}
		if src.role != nil {
			lvl := -1
			if level != nil {
				lvl = level.Index
			}
			src.set = src.role.GrantsAt(lvl)
		}
		var g *grants
		if atRes >= 0 {
			ur := &e.userList[u]
			if ur.resGrant == nil {
				ur.resGrant = map[int32]*grants{}
			}
			g = ur.resGrant[atRes]
			if g == nil {
				g = &grants{plain: e.m.NewBits()}
				ur.resGrant[atRes] = g
			}
			e.resList[atRes].bound = true
		} else {
			g = e.userList[u].at(at, e.m)
		}
		g.add(src, b)
	}
	return nil
}

func resType(e *Engine, r int32) string {
	if r < 0 {
		return ""
	}
	return e.resList[r].typ.ID
}

func bindableAt(r *model.Role, target string) bool {
	return slices.Contains(r.BindableAt, target)
}

// at returns the user's grants at node n, creating them.
func (u *user) at(n int32, m *model.Model) *grants {
	for i := range u.nodes {
		if u.nodes[i].node == n {
			return u.nodes[i].grants
		}
	}
	g := &grants{plain: m.NewBits()}
	u.nodes = append(u.nodes, nodeGrants{node: n, grants: g})
	return g
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
	for x := n; x >= 0; x = e.nodeList[x].parent {
		if at != nil && e.nodeList[x].level != at {
			continue
		}
		if id, ok := e.members[memberKey{u, x}]; ok && id != "" {
			if r := e.role(x, id); r != nil {
				return r, "default role of " + e.userList[u].id + " in " + e.nodeList[x].id
			}
		}
	}
	if fb := e.m.Members.DefaultRoleFallback; fb != nil {
		return fb, "the model's default role"
	}
	return nil, ""
}
