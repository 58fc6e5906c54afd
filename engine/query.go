package engine

import (
	"slices"

	"github.com/rolecall/rolecall"
)

// Effective lists every permission the subject holds on the target, each
// with the paths it comes through (qualifiers evaluated on the target).
func (e *Engine) Effective(subject string, target rolecall.Target, ctx map[string]any) ([]rolecall.Effective, error) {
	const op = "engine.Effective"
	u, ok := e.users.get(subject)
	if !ok {
		return nil, notFound(op, subject, "no such user")
	}
	o, err := e.resolveTarget(op, &target)
	if err != nil {
		return nil, err
	}
	ev := evalCtx{e: e, u: u, ctx: ctx, target: o, item: obj{res: -1, node: -1}}
	var out []rolecall.Effective
	for _, p := range e.m.Perms {
		granted, _ := ev.paths(p, o)
		if len(granted) > 0 {
			out = append(out, rolecall.Effective{Permission: p.ID, Paths: dedupPaths(granted)})
		}
	}
	return out, nil
}

// LookupResources lists, in id order, the ids of the resources of type typ
// (inside scope node `in`, if given) on which the subject may do permission
// (a permission or action id). An action that needs an item cannot be
// looked up.
func (e *Engine) LookupResources(subject, permission, typ, in string, ctx map[string]any) ([]string, error) {
	const op = "engine.LookupResources"
	u, ok := e.users.get(subject)
	if !ok {
		return nil, notFound(op, subject, "no such user")
	}
	rt, ok := e.m.Resource(typ)
	if !ok {
		return nil, notFound(op, typ, "no such resource type in model "+e.m.ID)
	}
	q, err := e.question(op, permission)
	if err != nil {
		return nil, err
	}
	if q.act != nil {
		if err := e.applies(op, q.act, typ, typ+" resources"); err != nil {
			return nil, err
		}
		if q.act.NeedsItem {
			return nil, invalid(op, q.act.ID, "the action needs an item, so it cannot be looked up by resource")
		}
	}
	var within int32 = -1
	if in != "" {
		n, ok := e.nodes[in]
		if !ok {
			return nil, notFound(op, in, "no such scope")
		}
		within = n
	}
	var out []string
	e.resIdx[rt.Index].each(func(id string, r resEntry) {
		if within >= 0 && !e.isBelowOrAt(r.node, within) {
			return
		}
		o := obj{res: r.idx, node: r.node, cold: !r.hot}
		ev := evalCtx{e: e, u: u, ctx: ctx, target: o, item: obj{res: -1, node: -1}}
		if q.perm != nil && ev.leaf(q.perm, o) || q.act != nil && ev.action(q.act).Allowed {
			out = append(out, id)
		}
	})
	slices.Sort(out)
	return out, nil
}

// Flags returns the flags of a permission.
func (e *Engine) Flags(permission string) ([]string, error) {
	p, ok := e.m.Perm(permission)
	if !ok {
		return nil, notFound("engine.Flags", permission, "no such permission in model "+e.m.ID)
	}
	return p.Flags, nil
}
