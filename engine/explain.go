package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

// tracer collects what an evaluation found, for Explain.
type tracer struct {
	granted  []rolecall.Path
	needs    []rolecall.Need
	failed   []rolecall.Precondition
	withheld []rolecall.Withheld
	anyDepth int // nesting of any_of nodes being traced
}

// mergeNeeds folds the needs added since start into one need whose
// alternatives are all of theirs (an any_of that failed).
func (tr *tracer) mergeNeeds(start int) {
	if len(tr.needs)-start <= 1 {
		return
	}
	var alts []rolecall.Requirement
	for _, n := range tr.needs[start:] {
		alts = append(alts, n.AnyOf...)
	}
	tr.needs = append(tr.needs[:start], rolecall.Need{AnyOf: alts})
}

func (tr *tracer) explanation(e *Engine, r *Request, d rolecall.Decision) *rolecall.Explanation {
	target := r.Target.String()
	if o, err := e.resolveTarget("", &r.Target); err == nil {
		target = e.label(o)
		if r.Target.Item != nil {
			target += " (item " + r.Target.Item.Type + " " + r.Target.Item.ID + ")"
		}
	}
	x := &rolecall.Explanation{Subject: r.Subject, Request: r.Permission, Target: target, Allowed: d.Allowed,
		Granted: dedupPaths(tr.granted), Failed: tr.failed, Withheld: tr.withheld}
	if !d.Allowed {
		x.Missing = tr.needs
	}
	return x
}

func dedupPaths(ps []rolecall.Path) []rolecall.Path {
	var out []rolecall.Path
	seen := map[string]bool{}
	for _, p := range ps {
		k := p.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out
}

// traceLeaf is leaf with tracing: it records every path that grants p on o,
// or a need naming what would.
func (ev *evalCtx) traceLeaf(p *model.Permission, o obj) bool {
	granted, failed := ev.paths(p, o)
	if len(granted) > 0 {
		ev.tr.granted = append(ev.tr.granted, granted...)
		return true
	}
	ev.tr.needs = append(ev.tr.needs, rolecall.Need{AnyOf: []rolecall.Requirement{ev.e.requirement(ev.u, p, o, failed)}})
	return false
}

// paths lists every way the subject holds p on o (granted), and the
// conditional grants of p whose conditions failed (failed).
func (ev *evalCtx) paths(p *model.Permission, o obj) (granted []rolecall.Path, failed []rolecall.FailedPath) {
	e := ev.e
	u := e.userList.at(ev.u)
	on := e.label(o)
	fromGrants := func(g *grants, at string) {
		for _, src := range g.srcs {
			b := &e.bindings.at(src.binding).Binding
			path := rolecall.Path{Permission: p.ID, On: on, At: at, Wildcard: b.Wildcard, RoleFrom: src.roleFrom, Until: b.NotAfter}
			if src.role != nil {
				path.Via, path.Role = "role", src.role.ID
			} else {
				path.Via = "direct"
			}
			if src.group >= 0 {
				path.Group = e.groupList.at(src.group).id
			}
			path.Chain = e.chain(src.set, p)
			if !b.NotBefore.IsZero() || !b.NotAfter.IsZero() {
				now := e.now()
				if (!b.NotBefore.IsZero() && now.Before(b.NotBefore)) || (!b.NotAfter.IsZero() && !now.Before(b.NotAfter)) {
					if src.set.Any.Has(p.Index) {
						reason := "granted from " + b.NotBefore.Format("2006-01-02")
						if !b.NotAfter.IsZero() {
							reason = "expired on " + b.NotAfter.Format("2006-01-02")
						}
						failed = append(failed, rolecall.FailedPath{Path: path, Qualifier: "time", Reason: reason})
					}
					continue
				}
			}
			g, f := ev.fromSet(src.set, p, o, path)
			granted, failed = append(granted, g...), append(failed, f...)
		}
	}
	fromSet := func(set *model.GrantSet, path rolecall.Path) {
		g, f := ev.fromSet(set, p, o, path)
		granted, failed = append(granted, g...), append(failed, f...)
	}
	implicit := func(rt *model.ResourceType, owner string, groups []int32, ro obj) {
		for _, im := range rt.Implicit {
			if !im.Set.Any.Has(p.Index) || !e.implicitApplies(im, ev.u, owner, groups) {
				continue
			}
			rel := "owner of " + e.label(ro)
			if im.Relation == model.RelGroupMember {
				var gs []string
				for _, g := range groups {
					if _, in := slices.BinarySearch(u.groups, g); in {
						gs = append(gs, e.groupList.at(g).id)
					}
				}
				rel = "members of " + strings.Join(gs, ", ") + ", to which " + e.label(ro) + " is assigned"
			}
			fromSet(im.Set, rolecall.Path{Permission: p.ID, On: on, Via: "implicit", Relation: rel, Chain: e.chain(im.Set, p)})
		}
	}
	if o.prop != nil {
		implicit(o.prop.typ, o.prop.owner, o.prop.groups, o)
	}
	start := o.res
	if o.prop != nil {
		start = o.prop.parent
	}
	for r := start; r >= 0; r = e.resList.at(r).parent {
		res := e.resList.at(r)
		ro := obj{res: r, node: res.node}
		if g := u.resGrant[r]; g != nil {
			fromGrants(g, e.label(ro))
		}
		implicit(res.typ, res.owner, res.groups, ro)
		for _, oi := range res.offers {
			off := &e.offers.at(oi).Offer
			if off.Recipient != u.id {
				continue
			}
			kind, _ := e.m.Offer(off.Kind)
			if !kind.Set.Any.Has(p.Index) {
				continue
			}
			path := rolecall.Path{Permission: p.ID, On: on, Via: "offer", Offer: off.ID, Until: off.NotAfter, Chain: e.chain(kind.Set, p)}
			if set := e.offerSet(oi, ev.u, r); set != nil {
				fromSet(set, path)
			} else {
				why := "the offer is " + off.State
				if off.State == rolecall.OfferAccepted {
					why = "the offer is accepted, but " + strings.Join(kind.UsableText, " and ") + " does not hold (or it is outside its time bounds)"
				}
				failed = append(failed, rolecall.FailedPath{Path: path, Qualifier: "offer", Reason: why})
			}
		}
	}
	for n := o.node; n >= 0; n = e.nodeList.at(n).parent {
		if g := u.find(n); g != nil {
			fromGrants(g, e.label(obj{res: -1, node: n}))
		}
	}
	return granted, failed
}

// fromSet returns the path through which a grant set gives p on o: its
// unqualified part, or the first qualified part whose qualifiers hold; when
// none holds, each qualified part that would have given p, with the
// qualifier that failed.
func (ev *evalCtx) fromSet(set *model.GrantSet, p *model.Permission, o obj, path rolecall.Path) (granted []rolecall.Path, failed []rolecall.FailedPath) {
	if set.Plain.Has(p.Index) {
		return []rolecall.Path{path}, nil
	}
	for _, q := range set.Qualified {
		if !q.Bits.Has(p.Index) {
			continue
		}
		qp := path
		qp.Qualifiers = qualIDs(q.Qualifiers)
		if ok, fq, why := ev.qualsHold(q.Qualifiers, o); ok {
			return []rolecall.Path{qp}, nil
		} else {
			failed = append(failed, rolecall.FailedPath{Path: qp, Qualifier: fq.ID, Reason: why})
		}
	}
	return nil, failed
}

func qualIDs(qs []*model.Qualifier) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.ID)
	}
	return out
}

// chain returns the implication chain from a written grant of set to p.
func (e *Engine) chain(set *model.GrantSet, p *model.Permission) []string {
	var best []string
	for _, it := range set.Items {
		if c := e.m.ImplicationChain(it.Perm, p); c != nil && (best == nil || len(c) < len(best)) {
			best = c
		}
	}
	return best
}

// requirement describes what would grant p on o to user u.
func (e *Engine) requirement(u int32, p *model.Permission, o obj, failed []rolecall.FailedPath) rolecall.Requirement {
	req := rolecall.Requirement{Permission: p.ID, On: e.label(o), Failed: failed}
	if !o.isNode() && o.node >= 0 {
		req.Scope = e.label(obj{res: -1, node: o.node})
	}
	for _, q := range p.ImpliedBy {
		if q.Grantable {
			req.ImpliedBy = append(req.ImpliedBy, q.ID)
		}
	}
	// where on o's chain a binding could sit
	type spot struct {
		label string
		level *model.Level
		res   *model.ResourceType
	}
	var spots []spot
	start := o.res
	if o.prop != nil {
		start = o.prop.parent
	}
	for r := start; r >= 0; r = e.resList.at(r).parent {
		spots = append(spots, spot{label: e.label(obj{res: r, node: e.resList.at(r).node}), res: e.resList.at(r).typ})
	}
	org := int32(-1)
	for n := o.node; n >= 0; n = e.nodeList.at(n).parent {
		spots = append(spots, spot{label: e.label(obj{res: -1, node: n}), level: e.nodeList.at(n).level})
		org = n
	}
	if org >= 0 && e.m.Tenant.Wildcard != "" {
		spots = append(spots, spot{label: e.m.Tenant.Wildcard, level: e.m.Tenant})
	}
	for _, s := range spots {
		if s.level != nil && s.label != e.m.Tenant.Wildcard && e.m.Direct.Allowed(s.level) {
			req.DirectAt = append(req.DirectAt, s.label)
		}
	}
	consider := func(r *model.Role) {
		var at []string
		var quals []string
		plain := false
		for _, s := range spots {
			target := ""
			lvl := -1
			switch {
			case s.res != nil:
				target = "resource:" + s.res.ID
			case s.label == e.m.Tenant.Wildcard:
				target, lvl = e.m.Tenant.Wildcard, s.level.Index
			default:
				target, lvl = s.level.ID, s.level.Index
			}
			set := r.GrantsAt(lvl)
			if !bindableAt(r, target) || !set.Any.Has(p.Index) {
				continue
			}
			at = append(at, s.label)
			if set.Plain.Has(p.Index) {
				plain = true
			} else if quals == nil {
				for _, q := range set.Qualified {
					if q.Bits.Has(p.Index) {
						quals = qualIDs(q.Qualifiers)
						break
					}
				}
			}
		}
		if plain {
			quals = nil
		}
		if len(at) > 0 {
			req.Roles = append(req.Roles, rolecall.RoleOption{Role: r.ID, Name: r.Name, At: at, Qualifiers: quals})
		}
	}
	shadowed := map[string]*model.Role{}
	for n := o.node; n >= 0; n = e.nodeList.at(n).parent {
		for id, r := range e.custom[n] {
			if _, nearer := shadowed[id]; !nearer {
				shadowed[id] = r
			}
		}
	}
	for _, r := range e.m.Roles {
		if _, ok := shadowed[r.ID]; ok {
			continue
		}
		consider(r)
	}
	for _, id := range slices.Sorted(maps.Keys(shadowed)) {
		consider(shadowed[id])
	}
	return req
}
