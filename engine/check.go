package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

// Request is one access question: may Subject (a user id) do Permission (a
// permission or action id of the model) on Target? Context is read by
// conditions as context.x.
type Request struct {
	Subject    string
	Permission string
	Target     rolecall.Target
	Context    map[string]any
	// SubjectAttrs and TargetAttrs are attributes the caller states for this
	// one check (AuthZEN's properties): conditions read them before the
	// stored attributes of the subject and of the target. They never change
	// relationships (owner, groups, parent, scope) and are not stored.
	SubjectAttrs map[string]any
	TargetAttrs  map[string]any
}

// obj is an object a permission is checked on: an existing resource, a
// scope node, or a proposed resource.
type obj struct {
	res  int32 // existing resource, or -1
	node int32 // the node itself, or the home node of a resource
	prop *proposed
	// cold marks a resource known to have no parent and no grants of its
	// own, so the check goes straight to its home node.
	cold bool
}

// proposed is a resource not yet created.
type proposed struct {
	id       string
	typ      *model.ResourceType
	parent   int32
	owner    string
	groups   []int32
	groupIDs []string
	inputs   [][]int32
	fields   map[string]string
	attrs    map[string]any
}

func (o obj) isNode() bool { return o.res < 0 && o.prop == nil }

// typeID returns the resource type or level id of the object.
func (e *Engine) typeID(o obj) string {
	switch {
	case o.prop != nil:
		return o.prop.typ.ID
	case o.res >= 0:
		return e.resList.at(o.res).typ.ID
	}
	return e.nodeList.at(o.node).level.ID
}

// label names an object for explanations: "project A", "dataset A/claims".
func (e *Engine) label(o obj) string {
	switch {
	case o.prop != nil:
		if o.prop.id != "" {
			return "new " + o.prop.typ.ID + " " + o.prop.id
		}
		return "new " + o.prop.typ.ID
	case o.res >= 0:
		r := e.resList.at(o.res)
		return r.typ.ID + " " + r.id
	}
	n := e.nodeList.at(o.node)
	return n.level.ID + " " + n.id
}

func notFound(op, name, msg string) error { return rolecall.E(op, rolecall.NotFound, name, msg) }
func invalid(op, name, msg string) error  { return rolecall.E(op, rolecall.Invalid, name, msg) }

// resolveTarget turns a Target into an obj.
func (e *Engine) resolveTarget(op string, t *rolecall.Target) (obj, error) {
	switch {
	case t.Proposed != nil:
		p := t.Proposed
		rt, ok := e.m.Resource(p.Type)
		if !ok {
			return obj{}, invalid(op, "new "+p.Type, "no such resource type in model "+e.m.ID)
		}
		pr := &proposed{id: p.ID, typ: rt, parent: -1, owner: p.Owner, fields: p.Fields, attrs: e.resAttrs(p.Attrs)}
		home := int32(-1)
		if rt.Parent != nil {
			if p.Parent == nil {
				return obj{}, invalid(op, "new "+p.Type, "a "+rt.ID+" lives under a "+rt.Parent.ID+"; give its parent")
			}
			r, ok := e.resolveRes(*p.Parent)
			if !ok || e.resList.at(r).typ != rt.Parent {
				return obj{}, notFound(op, p.Parent.String(), "no such "+rt.Parent.ID)
			}
			pr.parent, home = r, e.resList.at(r).node
		} else {
			n, ok := e.nodes[p.Scope]
			if !ok || e.nodeList.at(n).level != rt.Level {
				return obj{}, notFound(op, p.Scope, "no such "+rt.Level.ID+" (a new "+rt.ID+" lives in a "+rt.Level.ID+")")
			}
			home = n
		}
		for _, g := range p.Groups {
			gi, ok := e.groups[g]
			if !ok {
				return obj{}, notFound(op, g, "no such group")
			}
			pr.groups = append(pr.groups, gi)
			pr.groupIDs = append(pr.groupIDs, g)
		}
		ins, msg := e.inputsOf(rt, home, p.Inputs)
		if msg != "" {
			return obj{}, invalid(op, "new "+p.Type, msg)
		}
		pr.inputs = ins
		return obj{res: -1, node: home, prop: pr}, nil
	case !t.Resource.IsZero():
		rt, ok := e.m.Resource(t.Resource.Type)
		if !ok {
			return obj{}, notFound(op, t.Resource.String(), "no such resource")
		}
		re, ok := e.resIdx[rt.Index].get(t.Resource.ID)
		if !ok {
			return obj{}, notFound(op, t.Resource.String(), "no such resource")
		}
		return obj{res: re.idx, node: re.node, cold: !re.hot}, nil
	case t.Scope != "":
		n, ok := e.nodes[t.Scope]
		if !ok {
			return obj{}, notFound(op, t.Scope, "no such scope")
		}
		return obj{res: -1, node: n}, nil
	}
	return obj{}, invalid(op, "target", "a check needs a target: a scope, a resource or a proposed resource")
}

// Check answers one request. It returns an error for unknown names (the
// subject, the permission or action, the target) and for a target the action
// does not apply to; a denial is not an error.
func (e *Engine) Check(r Request) (rolecall.Decision, error) {
	return e.decide(&r, nil)
}

// BulkResult is the answer to one request of a bulk check.
type BulkResult struct {
	Decision rolecall.Decision
	Err      error
}

// CheckBulk answers many requests; each result is independent.
func (e *Engine) CheckBulk(rs []Request) []BulkResult {
	out := make([]BulkResult, len(rs))
	for i := range rs {
		out[i].Decision, out[i].Err = e.decide(&rs[i], nil)
	}
	return out
}

// Explain answers a request with its explanation.
func (e *Engine) Explain(r Request) (rolecall.Decision, error) {
	tr := &tracer{}
	d, err := e.decide(&r, tr)
	if err != nil {
		return d, err
	}
	d.Explanation = tr.explanation(e, &r, d)
	return d, nil
}

// decide is the one evaluation behind Check and Explain; tr is nil on the
// fast path.
func (e *Engine) decide(r *Request, tr *tracer) (rolecall.Decision, error) {
	const op = "engine.Check"
	u, ok := e.users.get(r.Subject)
	if !ok {
		return rolecall.Decision{}, notFound(op, r.Subject, "no such user")
	}
	o, err := e.resolveTarget(op, &r.Target)
	if err != nil {
		return rolecall.Decision{}, err
	}
	q, err := e.question(op, r.Permission)
	if err != nil {
		return rolecall.Decision{}, err
	}
	ev := evalCtx{e: e, u: u, ctx: r.Context, tr: tr, target: o, item: obj{res: -1, node: -1}, subAttrs: e.subjAttrs(r.SubjectAttrs), objAttrs: e.resAttrs(r.TargetAttrs)}
	if q.perm != nil {
		return rolecall.Decision{Allowed: ev.leaf(q.perm, o)}, nil
	}
	if err := e.applies(op, q.act, e.typeID(o), e.label(o)); err != nil {
		return rolecall.Decision{}, err
	}
	if q.act.Item != nil && r.Target.Item != nil {
		ir, ok := e.resolveRes(*r.Target.Item)
		if !ok || e.resList.at(ir).typ != q.act.Item {
			return rolecall.Decision{}, notFound(op, r.Target.Item.String(), "no such "+q.act.Item.ID)
		}
		ev.item = obj{res: ir, node: e.resList.at(ir).node}
	} else if q.act.NeedsItem {
		return rolecall.Decision{}, invalid(op, q.act.ID, "the action needs an item (a "+q.act.Item.ID+")")
	}
	return ev.action(q.act), nil
}

// question is what a request asks: a permission or an action.
type question struct {
	perm *model.Permission
	act  *model.Action
}

func (e *Engine) question(op, name string) (question, error) {
	if p, ok := e.m.Perm(name); ok {
		return question{perm: p}, nil
	}
	if a, ok := e.m.Action(name); ok {
		return question{act: a}, nil
	}
	return question{}, notFound(op, name, "no permission or action of that name in model "+e.m.ID)
}

// applies checks that an action applies to targets of a type or level.
func (e *Engine) applies(op string, a *model.Action, typ, label string) error {
	if len(a.On) > 0 && !slices.Contains(a.On, typ) {
		return invalid(op, a.ID, fmt.Sprintf("the action applies to %s, not to %s", strings.Join(a.On, " or "), label))
	}
	return nil
}

// evalCtx carries one evaluation.
type evalCtx struct {
	e      *Engine
	u      int32
	ctx    map[string]any
	tr     *tracer
	target obj
	item   obj
	// subAttrs and objAttrs overlay the subject's and the target's stored
	// attributes (Request.SubjectAttrs, Request.TargetAttrs).
	subAttrs, objAttrs map[string]any
}

func (ev *evalCtx) action(a *model.Action) rolecall.Decision {
	e := ev.e
	ok := true
	if a.Actor == "operator" {
		if ev.tr == nil {
			return rolecall.Decision{}
		}
		ok = false
		ev.tr.failed = append(ev.tr.failed, rolecall.Precondition{ID: "operator_only", Reason: "only the platform operator (" + orDefault(e.m.Operator.Name, "operator") + ") may do this"})
	}
	if ev.item.res >= 0 && !e.within(ev.item.res, ev.target) {
		ok = false
		if ev.tr == nil {
			return rolecall.Decision{}
		}
		ev.tr.failed = append(ev.tr.failed, rolecall.Precondition{ID: "item", Reason: e.label(ev.item) + " is not part of " + e.label(ev.target)})
	}
	for _, pc := range a.When {
		if pc.Program == nil {
			continue
		}
		held, err := pc.Program.Eval(ev.subject(), ev.view(ev.target), ev.ctx)
		if err != nil || !held {
			ok = false
			if ev.tr == nil {
				return rolecall.Decision{}
			}
			reason := pc.Reason.Render(ev.subject(), ev.view(ev.target), ev.ctx)
			if err != nil {
				reason += " (" + err.Error() + ")"
			}
			ev.tr.failed = append(ev.tr.failed, rolecall.Precondition{ID: pc.ID, Reason: reason})
		}
	}
	if a.Requires != nil && !ev.req(a.Requires) {
		ok = false
	}
	d := rolecall.Decision{Allowed: ok}
	if ok && a.Fields != "" {
		o := ev.target
		if a.Fields == "item" {
			o = ev.item
		}
		if o.res >= 0 || o.prop != nil {
			d.Withheld = ev.withheld(o)
		}
	}
	return d
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// within reports whether resource r lies under the target or under one of
// the target's inputs (a verbatim of a source a dataset is built from).
func (e *Engine) within(r int32, t obj) bool {
	var roots []int32
	var inputs [][]int32
	switch {
	case t.res >= 0:
		roots = append(roots, t.res)
		inputs = e.resList.at(t.res).inputs
	case t.prop != nil:
		inputs = t.prop.inputs
	}
	for _, in := range inputs {
		roots = append(roots, in...)
	}
	for x := r; x >= 0; x = e.resList.at(x).parent {
		if slices.Contains(roots, x) {
			return true
		}
	}
	if t.isNode() {
		return e.isBelowOrAt(e.resList.at(r).node, t.node)
	}
	return false
}

// req evaluates a requirement node.
func (ev *evalCtx) req(r *model.Req) bool {
	if r.If != nil {
		// The requirement applies where its condition holds; a condition
		// that cannot be evaluated leaves it applying (fail closed).
		held, err := r.If.Eval(ev.subject(), ev.view(ev.target), ev.ctx)
		if err == nil && !held {
			return true
		}
	}
	switch r.Kind {
	case model.ReqPerm:
		if r.Perm == nil {
			return false
		}
		if r.Rel.IsTarget() {
			return ev.leaf(r.Perm, ev.target)
		}
		objs := ev.e.relate(r.Rel, ev.target, ev.item)
		if r.Rel.Any {
			return ev.leafAny(r.Perm, objs)
		}
		ok := true
		for _, o := range objs {
			if !ev.leaf(r.Perm, o) {
				ok = false
				if ev.tr == nil {
					return false
				}
			}
		}
		return ok
	case model.ReqAll:
		if r.Local && ev.tr == nil {
			var acc [maxWords]uint64
			ev.plainOn(ev.target, &acc)
			if containsAll(&acc, r.LocalBits) {
				return true
			}
		}
		ok := true
		for _, k := range r.Kids {
			if !ev.req(k) {
				ok = false
				if ev.tr == nil {
					return false
				}
			}
		}
		return ok
	default: // ReqAny
		if r.Local && ev.tr == nil {
			var acc [maxWords]uint64
			ev.plainOn(ev.target, &acc)
			if intersects(&acc, r.LocalBits) {
				return true
			}
		}
		if ev.tr != nil {
			// evaluate every branch so a denial lists every alternative
			ev.tr.anyDepth++
			defer func() { ev.tr.anyDepth-- }()
			start := len(ev.tr.needs)
			ok := false
			for _, k := range r.Kids {
				if ev.req(k) {
					ok = true
				}
			}
			if ok {
				ev.tr.needs = ev.tr.needs[:start] // another branch was met
			} else if ev.tr.anyDepth == 1 {
				ev.tr.mergeNeeds(start)
			}
			return ok
		}
		for _, k := range r.Kids {
			if ev.req(k) {
				return true
			}
		}
		return false
	}
}

// maxAlternatives bounds how many objects an explanation lists for a
// requirement any one of many objects would meet.
const maxAlternatives = 5

// leafAny decides whether p holds on at least one of objs. Traced, a
// failure becomes one need listing the first few objects as alternatives.
func (ev *evalCtx) leafAny(p *model.Permission, objs []obj) bool {
	if ev.tr == nil {
		for _, o := range objs {
			if ev.leaf(p, o) {
				return true
			}
		}
		return false
	}
	start := len(ev.tr.needs)
	for _, o := range objs {
		if ev.leaf(p, o) {
			ev.tr.needs = ev.tr.needs[:start]
			return true
		}
	}
	var alts []rolecall.Requirement
	for _, n := range ev.tr.needs[start:] {
		alts = append(alts, n.AnyOf...)
	}
	if len(alts) > maxAlternatives {
		alts = alts[:maxAlternatives]
	}
	if len(objs) == 0 {
		alts = []rolecall.Requirement{{Permission: p.ID, On: "any of the objects the requirement names (there are none)"}}
	}
	ev.tr.needs = append(ev.tr.needs[:start], rolecall.Need{AnyOf: alts})
	return false
}

func containsAll(acc *[maxWords]uint64, b model.Bits) bool {
	for i, w := range b {
		if w&^acc[i] != 0 {
			return false
		}
	}
	return true
}

func intersects(acc *[maxWords]uint64, b model.Bits) bool {
	for i, w := range b {
		if w&acc[i] != 0 {
			return true
		}
	}
	return false
}

// leaf decides whether the subject holds permission p on object o; with a
// tracer it records the paths found or what is missing.
func (ev *evalCtx) leaf(p *model.Permission, o obj) bool {
	if ev.tr != nil {
		return ev.traceLeaf(p, o)
	}
	if ev.plainHas(p.Index, o) {
		return true
	}
	return ev.condHolds(p, o)
}

// plainHas reports whether the subject holds permission i on o without
// conditions; it stops at the first grant found.
func (ev *evalCtx) plainHas(i int, o obj) bool {
	e := ev.e
	word, bit := i>>6, uint64(1)<<(uint(i)&63)
	if o.prop != nil || (!o.cold && e.anyResGrants(o.res)) {
		var acc [maxWords]uint64
		ev.plainOn(o, &acc)
		return acc[word]&bit != 0
	}
	w := e.words
	sp := e.userSpan.at(ev.u)
	for n := o.node; n >= 0; n = e.nodeParent[n] {
		if k := spanIndex(sp, n); k >= 0 && sp.plain[k*w+word]&bit != 0 {
			return true
		}
	}
	return false
}

// anyResGrants reports whether a resource or one of its ancestors gives
// grants of its own.
func (e *Engine) anyResGrants(r int32) bool {
	for ; r >= 0; r = e.resHot.at(r).parent {
		if e.resHot.at(r).flags != 0 {
			return true
		}
	}
	return false
}

// plainOn ORs into acc every unconditional permission the subject holds on
// o: bindings on o and its ancestors, implicit grants, accepted offers.
func (ev *evalCtx) plainOn(o obj, acc *[maxWords]uint64) {
	e := ev.e
	if o.prop != nil {
		for _, im := range o.prop.typ.Implicit {
			if e.implicitApplies(im, ev.u, o.prop.owner, o.prop.groups) {
				orBits(acc, im.Set.Plain)
			}
		}
	}
	start := o.res
	if o.prop != nil {
		start = o.prop.parent
	}
	for r := start; r >= 0; r = e.resHot.at(r).parent {
		if e.resHot.at(r).flags != 0 {
			ev.resPlain(r, acc)
		}
	}
	w := e.words
	sp := e.userSpan.at(ev.u)
	for n := o.node; n >= 0; n = e.nodeParent[n] {
		if i := spanIndex(sp, n); i >= 0 {
			for j, x := range sp.plain[i*w : i*w+w] {
				acc[j] |= x
			}
		}
	}
}

// resPlain ORs into acc what a resource itself gives the subject.
func (ev *evalCtx) resPlain(r int32, acc *[maxWords]uint64) {
	e := ev.e
	res := e.resList.at(r)
	if len(res.bindings) > 0 {
		if g := e.userList.at(ev.u).resGrant[r]; g != nil {
			orBits(acc, g.plain)
		}
	}
	for _, im := range res.typ.Implicit {
		if e.implicitApplies(im, ev.u, res.owner, res.groups) {
			orBits(acc, im.Set.Plain)
		}
	}
	for _, oi := range res.offers {
		if set := e.offerSet(oi, ev.u, r); set != nil {
			orBits(acc, set.Plain)
		}
	}
}

func orBits(acc *[maxWords]uint64, b model.Bits) {
	for i, w := range b {
		acc[i] |= w
	}
}

// spanIndex returns the position of node n in a user's span, or -1.
func spanIndex(sp *span, n int32) int {
	ids := sp.nodes
	if len(ids) <= 32 {
		// Short spans: count the ids below n without branches, which beats
		// a binary search's mispredicted jumps.
		i := 0
		for _, x := range ids {
			i += int(uint32(x-n) >> 31)
		}
		if i < len(ids) && ids[i] == n {
			return i
		}
		return -1
	}
	lo, hi := 0, len(ids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ids[m] < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(ids) && ids[lo] == n {
		return lo
	}
	return -1
}

// index returns the position of node n in the user's nodes, or -1.
func (u *user) index(n int32) int {
	i, ok := slices.BinarySearchFunc(u.nodes, n, func(g nodeGrants, n int32) int { return int(g.node - n) })
	if !ok {
		return -1
	}
	return i
}

// find returns the user's grants at node n (binary search).
func (u *user) find(n int32) *grants {
	if i := u.index(n); i >= 0 {
		return u.nodes[i].grants
	}
	return nil
}

func (e *Engine) implicitApplies(im *model.Implicit, u int32, owner string, groups []int32) bool {
	switch im.Relation {
	case model.RelOwner:
		return owner != "" && owner == e.userList.at(u).id
	case model.RelGroupMember:
		ug := e.userList.at(u).groups
		for _, g := range groups {
			if _, ok := slices.BinarySearch(ug, g); ok {
				return true
			}
		}
	}
	return false
}

// offerSet returns what offer oi gives user u on resource r, or nil when it
// gives nothing: not addressed to u, not accepted, outside its time bounds,
// or its kind's usable_when does not hold.
func (e *Engine) offerSet(oi, u, r int32) *model.GrantSet {
	o := &e.offers.at(oi).Offer
	if o.State != rolecall.OfferAccepted || o.Recipient != e.userList.at(u).id {
		return nil
	}
	if !o.NotBefore.IsZero() || !o.NotAfter.IsZero() {
		now := e.now()
		if (!o.NotBefore.IsZero() && now.Before(o.NotBefore)) || (!o.NotAfter.IsZero() && !now.Before(o.NotAfter)) {
			return nil
		}
	}
	kind, _ := e.m.Offer(o.Kind)
	for _, p := range kind.UsableWhen {
		if ok, err := p.Eval(e.subjView(u), e.view(obj{res: r, node: e.resList.at(r).node}), nil); err != nil || !ok {
			return nil
		}
	}
	return kind.Set
}

// condHolds looks for a conditional grant of p on o whose conditions hold.
func (ev *evalCtx) condHolds(p *model.Permission, o obj) bool {
	e := ev.e
	if !e.userSpan.at(ev.u).cond && o.prop == nil && (o.cold || !e.anyResGrants(o.res)) {
		return false
	}
	u := e.userList.at(ev.u)
	check := func(g *grants) bool {
		for i := range g.cond {
			c := &g.cond[i]
			if c.bits.Has(p.Index) && ev.condOK(c, o) {
				return true
			}
		}
		return false
	}
	qualified := func(set *model.GrantSet) bool {
		for _, q := range set.Qualified {
			if q.Bits.Has(p.Index) {
				if ok, _, _ := ev.qualsHold(q.Qualifiers, o); ok {
					return true
				}
			}
		}
		return false
	}
	implicit := func(rt *model.ResourceType, owner string, groups []int32) bool {
		for _, im := range rt.Implicit {
			if len(im.Set.Qualified) > 0 && e.implicitApplies(im, ev.u, owner, groups) && qualified(im.Set) {
				return true
			}
		}
		return false
	}
	if o.prop != nil && implicit(o.prop.typ, o.prop.owner, o.prop.groups) {
		return true
	}
	start := o.res
	if o.prop != nil {
		start = o.prop.parent
	}
	for r := start; r >= 0; r = e.resList.at(r).parent {
		res := e.resList.at(r)
		if len(res.bindings) > 0 {
			if g := u.resGrant[r]; g != nil && check(g) {
				return true
			}
		}
		if implicit(res.typ, res.owner, res.groups) {
			return true
		}
		for _, oi := range res.offers {
			if set := e.offerSet(oi, ev.u, r); set != nil && qualified(set) {
				return true
			}
		}
	}
	for n := o.node; n >= 0; n = e.nodeList.at(n).parent {
		if g := u.find(n); g != nil && len(g.cond) > 0 && check(g) {
			return true
		}
	}
	return false
}

// condOK evaluates a conditional grant's time bounds and qualifiers on o.
func (ev *evalCtx) condOK(c *condGrant, o obj) bool {
	if !c.from.IsZero() || !c.until.IsZero() {
		now := ev.e.now()
		if (!c.from.IsZero() && now.Before(c.from)) || (!c.until.IsZero() && !now.Before(c.until)) {
			return false
		}
	}
	ok, _, _ := ev.qualsHold(c.quals, o)
	return ok
}

// qualsHold evaluates qualifiers on o; on failure it returns the first one
// that failed and why.
func (ev *evalCtx) qualsHold(qs []*model.Qualifier, o obj) (bool, *model.Qualifier, string) {
	for _, q := range qs {
		if q.Program == nil {
			return false, q, "the condition did not compile"
		}
		sub, obj := ev.subject(), ev.view(o)
		ok, err := q.Program.Eval(sub, obj, ev.ctx)
		if err != nil {
			return false, q, err.Error()
		}
		if !ok {
			if ev.tr == nil {
				return false, q, ""
			}
			why := q.When + " is false"
			if vals := q.Program.Values(sub, obj, ev.ctx); vals != "" {
				why += " (" + vals + ")"
			}
			return false, q, why
		}
	}
	return true, nil, ""
}

// withheld lists the fields of o the subject may not see, by field name.
func (ev *evalCtx) withheld(o obj) []string {
	e := ev.e
	var rt *model.ResourceType
	var fields map[string]string
	if o.prop != nil {
		rt, fields = o.prop.typ, o.prop.fields
	} else {
		rt, fields = e.resList.at(o.res).typ, e.resList.at(o.res).fields
	}
	if len(rt.Classes) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	consider := func(f, class string) {
		if class == "" || seen[f] {
			return
		}
		seen[f] = true
		for _, c := range rt.Classes {
			if c.ID == class {
				sub := evalCtx{e: e, u: ev.u, ctx: ev.ctx, target: o, item: obj{res: -1, node: -1}}
				if !sub.leaf(c.UnlockedBy, o) {
					out = append(out, f)
					if ev.tr != nil {
						ev.tr.withheld = append(ev.tr.withheld, rolecall.Withheld{Field: f, Class: class, Requires: c.UnlockedBy.ID, On: e.label(o)})
					}
				}
			}
		}
	}
	for f, c := range fields {
		consider(f, c)
	}
	for f, c := range rt.Fields {
		consider(f, c)
	}
	slices.Sort(out)
	if ev.tr != nil {
		slices.SortFunc(ev.tr.withheld, func(a, b rolecall.Withheld) int { return strings.Compare(a.Field, b.Field) })
	}
	return out
}

// relate returns the objects a relation names, from the target or item.
func (e *Engine) relate(rel model.Relation, target, item obj) []obj {
	cur := []obj{target}
	if rel.Base == "item" {
		if item.res < 0 && item.prop == nil {
			return nil
		}
		cur = []obj{item}
	}
	for _, step := range rel.Steps {
		var next []obj
		for _, o := range cur {
			next = append(next, e.step(o, step)...)
		}
		cur = next
	}
	return cur
}

func (e *Engine) step(o obj, step string) []obj {
	if e.m.Below(step, e.typeID(o)) {
		return e.descendants(o, step)
	}
	var rt *model.ResourceType
	var parent int32 = -1
	var inputs [][]int32
	switch {
	case o.prop != nil:
		rt, parent, inputs = o.prop.typ, o.prop.parent, o.prop.inputs
	case o.res >= 0:
		r := e.resList.at(o.res)
		rt, parent, inputs = r.typ, r.parent, r.inputs
	default:
		n := e.nodeList.at(o.node)
		if step == "parent" {
			if n.parent < 0 {
				return nil
			}
			return []obj{{res: -1, node: n.parent}}
		}
		for x := n.parent; x >= 0; x = e.nodeList.at(x).parent {
			if e.nodeList.at(x).level.ID == step {
				return []obj{{res: -1, node: x}}
			}
		}
		return nil
	}
	if step == "parent" {
		if parent >= 0 {
			return []obj{{res: parent, node: e.resList.at(parent).node}}
		}
		return []obj{{res: -1, node: o.node}}
	}
	for i, in := range rt.Inputs {
		if in.Name == step {
			var out []obj
			if i < len(inputs) {
				for _, x := range inputs[i] {
					out = append(out, obj{res: x, node: e.resList.at(x).node})
				}
			}
			return out
		}
	}
	for x := parent; x >= 0; x = e.resList.at(x).parent {
		if e.resList.at(x).typ.ID == step {
			return []obj{{res: x, node: e.resList.at(x).node}}
		}
	}
	for x := o.node; x >= 0; x = e.nodeList.at(x).parent {
		if e.nodeList.at(x).level.ID == step {
			return []obj{{res: -1, node: x}}
		}
	}
	return nil
}

// descendants returns every node of level typ, or every resource of type
// typ, strictly below o, in index order (the model says typ is below o's
// type or level).
func (e *Engine) descendants(o obj, typ string) []obj {
	var out []obj
	if l, ok := e.m.Level(typ); ok {
		if !o.isNode() {
			return nil
		}
		for i := range e.nodeList.n {
			n := int32(i)
			if !e.nodeList.at(n).dead && e.nodeList.at(n).level == l && e.nodeList.at(n).parent >= 0 && e.isBelowOrAt(e.nodeList.at(n).parent, o.node) {
				out = append(out, obj{res: -1, node: n})
			}
		}
		return out
	}
	rt, _ := e.m.Resource(typ)
	switch {
	case o.isNode():
		for i := range e.resList.v.n {
			r := e.resList.at(i)
			if r.typ == rt && !r.dead && e.isBelowOrAt(r.node, o.node) {
				out = append(out, obj{res: int32(i), node: r.node})
			}
		}
	case o.res >= 0:
		for i := range e.resList.v.n {
			r := e.resList.at(i)
			if r.typ != rt || r.dead {
				continue
			}
			for p := r.parent; p >= 0; p = e.resList.at(p).parent {
				if p == o.res {
					out = append(out, obj{res: int32(i), node: r.node})
					break
				}
			}
		}
	}
	return out // a proposed resource has no descendants yet
}
