package engine

import (
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
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

// Flags returns the flags of a permission.
func (e *Engine) Flags(permission string) ([]string, error) {
	p, ok := e.m.Perm(permission)
	if !ok {
		return nil, notFound("engine.Flags", permission, "no such permission in model "+e.m.ID)
	}
	return p.Flags, nil
}

// Role resolves a role id the way a binding at scope would: a custom role
// owned by the scope or the nearest node above it, else the model's role.
func (e *Engine) Role(scope, id string) (*model.Role, bool) {
	n, ok := e.nodes[scope]
	if !ok {
		return nil, false
	}
	r := e.role(n, id)
	return r, r != nil
}

// TimeBound lists the bindings of an organization (at its nodes or on its
// resources) that have a start or an expiry, in id order: the access to
// review.
func (e *Engine) TimeBound(org string) []rolecall.Binding {
	o, ok := e.nodes[org]
	if !ok {
		return nil
	}
	var out []rolecall.Binding
	for i := range e.bindings.n {
		b := e.bindings.at(i)
		if b.dead || (b.NotBefore.IsZero() && b.NotAfter.IsZero()) {
			continue
		}
		var at int32 = -1
		if b.Resource != nil {
			if r, ok := e.resolveRes(*b.Resource); ok {
				at = e.resList.at(r).node
			}
		} else if n, ok := e.nodes[b.Scope]; ok {
			at = n
		}
		if at >= 0 && e.nodeList.at(at).org == o {
			out = append(out, b.Binding)
		}
	}
	slices.SortFunc(out, func(a, b rolecall.Binding) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// HoldsAnywhere reports whether a user holds a permission without
// conditions at some node of an organization (the organization itself or
// any node below it).
func (e *Engine) HoldsAnywhere(user, permission, org string) bool {
	u, ok := e.users.get(user)
	o, ok2 := e.nodes[org]
	p, ok3 := e.m.Perm(permission)
	if !ok || !ok2 || !ok3 {
		return false
	}
	sp := e.userSpan.at(u)
	word, bit := p.Index>>6, uint64(1)<<(uint(p.Index)&63)
	for k, n := range sp.nodes {
		if sp.plain[k*e.words+word]&bit != 0 && e.nodeList.at(n).org == o {
			return true
		}
	}
	return false
}

// Member is a user as an organization's member lists show it: the nodes of
// the organization the user is a member of, and the groups there.
type Member struct {
	ID     string   `json:"id"`
	Name   string   `json:"name,omitempty"`
	Email  string   `json:"email,omitempty"`
	Scopes []string `json:"scopes"`
	Groups []string `json:"groups,omitempty"`
}

// Members lists the members of an organization, in id order.
func (e *Engine) Members(org string) []Member {
	o, ok := e.nodes[org]
	if !ok {
		return nil
	}
	var out []Member
	for u := range e.userList.v.n {
		ur := e.userList.at(u)
		if ur.dead {
			continue
		}
		var m *Member
		for _, n := range ur.member {
			if e.nodeList.at(n).org != o {
				continue
			}
			if m == nil {
				m = &Member{ID: ur.id, Name: ur.name, Email: ur.email}
			}
			m.Scopes = append(m.Scopes, e.nodeList.at(n).id)
		}
		if m == nil {
			continue
		}
		for _, g := range ur.groups {
			if e.nodeList.at(e.groupList.at(g).node).org == o {
				m.Groups = append(m.Groups, e.groupList.at(g).id)
			}
		}
		slices.Sort(m.Scopes)
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// ScopeLevel returns the level id of a scope node, or "".
func (e *Engine) ScopeLevel(id string) string {
	if n, ok := e.nodes[id]; ok {
		return e.nodeList.at(n).level.ID
	}
	return ""
}

// OrgOf returns the organization a target belongs to: its scope's, its
// resource's home scope's, or, for a proposed resource, its scope's or
// parent's. ok is false for a target that names nothing existing.
func (e *Engine) OrgOf(t rolecall.Target) (string, bool) {
	var n int32 = -1
	switch {
	case t.Proposed != nil && t.Proposed.Parent != nil:
		if r, ok := e.resolveRes(*t.Proposed.Parent); ok {
			n = e.resList.at(r).node
		}
	case t.Proposed != nil:
		if x, ok := e.nodes[t.Proposed.Scope]; ok {
			n = x
		}
	case !t.Resource.IsZero():
		if r, ok := e.resolveRes(t.Resource); ok {
			n = e.resList.at(r).node
		}
	default:
		if x, ok := e.nodes[t.Scope]; ok {
			n = x
		}
	}
	if n < 0 {
		return "", false
	}
	return e.nodeList.at(e.nodeList.at(n).org).id, true
}

// MemberOf reports whether a user is a member of an organization (at any
// node of it), without allocating.
func (e *Engine) MemberOf(user, org string) bool {
	u, ok := e.users.get(user)
	o, ok2 := e.nodes[org]
	if !ok || !ok2 {
		return false
	}
	for _, n := range e.userList.at(u).member {
		if e.nodeList.at(n).org == o {
			return true
		}
	}
	return false
}
