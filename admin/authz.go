package admin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
)

// scope reads a scope node, or fails with NotFound.
func (x *acting) scope(id string) (rolecall.Scope, error) {
	var s rolecall.Scope
	found, err := x.tx.Get(rolecall.ObjScope, id, &s)
	if err != nil {
		return s, err
	}
	if !found {
		return s, x.notFound(id, "no such %s", x.s.levelNames())
	}
	return s, nil
}

func (s *Service) levelNames() string {
	var ns []string
	for _, l := range s.m.Levels {
		ns = append(ns, strings.ToLower(l.Name))
	}
	return strings.Join(ns, " or ")
}

// chain returns a scope and its ancestors, the scope first.
func (x *acting) chain(id string) ([]rolecall.Scope, error) {
	var out []rolecall.Scope
	for id != "" {
		s, err := x.scope(id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		id = s.Parent
	}
	return out, nil
}

// label names a scope in messages: its level and its name (or id).
func (x *acting) label(s rolecall.Scope) string {
	level := s.Level
	if l, ok := x.s.m.Level(s.Level); ok {
		level = strings.ToLower(l.Name)
	}
	name := s.Name
	if name == "" {
		name = s.ID
	}
	return level + " " + name
}

// enter resolves the node an act happens at: its chain, and the
// organization, which becomes the act's. An actor who is not the operator
// must be a member of that organization: another organization's objects
// read as not found.
func (x *acting) enter(id string) ([]rolecall.Scope, error) {
	ch, err := x.chain(id)
	if err != nil {
		return nil, err
	}
	org := ch[len(ch)-1].ID
	if err := x.enterOrg(org); err != nil {
		return nil, x.notFound(id, "no such %s", x.s.levelNames())
	}
	return ch, nil
}

// enterOrg makes org the act's organization, checking that the actor
// belongs to it.
func (x *acting) enterOrg(org string) error {
	if x.org != "" && x.org != org {
		return x.invalid(x.r.Act, "the act spans organizations %s and %s; act within one", x.org, org)
	}
	x.org = org
	if x.actor.Operator {
		return nil
	}
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjMembership, Org: org, User: x.actor.User})
	if err != nil {
		return err
	}
	if len(ks) == 0 {
		return x.notFound(org, "no such organization")
	}
	return nil
}

// authorize checks that the actor holds the act's required right where the
// model says, for an act aimed at target (a node or a resource) in the
// node chain ch. The operator holds every right.
func (x *acting) authorize(target rolecall.Target, ch []rolecall.Scope) error {
	if x.actor.Operator || x.act.Requires == "" {
		return nil
	}
	var targets []rolecall.Target
	switch on := x.act.On; on {
	case "", "target":
		targets = []rolecall.Target{target}
	case "organization":
		targets = []rolecall.Target{rolecall.ScopeTarget(ch[len(ch)-1].ID)}
	case "every_membership_of_target":
		ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjMembership, Org: x.org, User: x.r.User})
		if err != nil {
			return err
		}
		for _, k := range ks {
			var ms rolecall.Membership
			if _, err := x.tx.Get(rolecall.ObjMembership, k, &ms); err != nil {
				return err
			}
			targets = append(targets, rolecall.ScopeTarget(ms.Scope))
		}
		if len(targets) == 0 {
			targets = []rolecall.Target{rolecall.ScopeTarget(x.org)}
		}
	default: // a level: the target's ancestor at that level
		for _, s := range ch {
			if s.Level == on {
				targets = []rolecall.Target{rolecall.ScopeTarget(s.ID)}
			}
		}
		if targets == nil {
			return x.invalid(x.r.Act, "the act is checked at the %s, and %s has none above it", on, target)
		}
	}
	var paths []string
	for _, t := range targets {
		d, err := x.e.Explain(engine.Request{Subject: x.actor.User, Permission: x.act.Requires, Target: t})
		if err != nil {
			return err
		}
		if !d.Allowed {
			where := t.String()
			if t.Scope != "" {
				if s, err := x.scope(t.Scope); err == nil {
					where = x.label(s)
				}
			}
			need := x.act.Requires
			if miss := missingPerms(d); len(miss) > 0 && (len(miss) > 1 || miss[0] != need) {
				need = strings.Join(miss, " or ") + " (for " + x.act.Requires + ")"
			}
			return rolecall.E(x.op, rolecall.PermissionDenied, "authorization",
				fmt.Sprintf("%s does not hold %s on %s, which %s needs; someone who holds it must act, or grant it to %s first",
					x.actor.User, need, where, x.r.Act, x.actor.User))
		}
		if d.Explanation != nil && len(d.Explanation.Granted) > 0 {
			paths = append(paths, d.Explanation.Granted[0].String())
		}
	}
	x.decision = strings.Join(paths, "; ")
	return nil
}

// operatorOnly refuses acts the model reserves for the operator.
func (x *acting) operatorOnly() error {
	if x.actor.Operator {
		return nil
	}
	reserved := x.act.Actor == "operator"
	for _, r := range x.s.m.Admin.Rules {
		if p, ok := r.Params.(*modelOperatorOnly); ok {
			for _, a := range p.Acts {
				if a == x.r.Act {
					reserved = true
				}
			}
		}
	}
	if !reserved {
		return nil
	}
	who := "the platform operator"
	if n := x.s.m.Operator.Name; n != "" {
		who = "the platform operator (" + n + ")"
	}
	return x.refuse("operator_only", "only %s may %s; ask %s to do it", who, strings.ReplaceAll(x.r.Act, "_", " "), who)
}

// missingPerms lists the permissions a denial names as missing.
func missingPerms(d rolecall.Decision) []string {
	var out []string
	if d.Explanation == nil {
		return nil
	}
	for _, n := range d.Explanation.Missing {
		for _, r := range n.AnyOf {
			if !slices.Contains(out, r.Permission) {
				out = append(out, r.Permission)
			}
		}
	}
	return out
}

// atScope is the start of most acts: the named arguments must be given,
// the request's scope is entered (its organization becomes the act's), and
// the actor must hold the act's right there. It returns the scope's chain.
func (x *acting) atScope(fields ...string) ([]rolecall.Scope, error) {
	if err := x.need(fields...); err != nil {
		return nil, err
	}
	return x.enterAuthorized(x.r.Scope)
}

// enterAuthorized enters a scope (its organization becomes the act's) and
// checks that the actor holds the act's right there. It returns the
// scope's chain.
func (x *acting) enterAuthorized(scope string) ([]rolecall.Scope, error) {
	ch, err := x.enter(scope)
	if err != nil {
		return nil, err
	}
	if err := x.authorize(rolecall.ScopeTarget(scope), ch); err != nil {
		return nil, err
	}
	return ch, nil
}
