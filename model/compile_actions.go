package model

import (
	"fmt"
	"github.com/rolecall/rolecall/internal/yamlx"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

func (c *compiler) actions() {
	m := c.m
	for i := range c.f.Actions {
		ad := &c.f.Actions[i]
		c.cur = ad.Pos
		if !c.checkID("action", ad.ID) {
			continue
		}
		if _, dup := m.actions[ad.ID.V]; dup {
			c.at(ad.ID.Pos, "action %q is declared twice; keep one", ad.ID.V)
			continue
		}
		if _, clash := m.perms[ad.ID.V]; clash {
			c.at(ad.ID.Pos, "action %q has the id of a permission; checks name either, so use another id", ad.ID.V)
			continue
		}
		a := &Action{ID: ad.ID.V, Name: ad.Name, Description: ad.Description, Channel: ad.Channel.V, Actor: ad.Actor.V}
		if a.Name == "" {
			a.Name = a.ID
		}
		what := "action " + a.ID
		for _, on := range ad.On {
			if _, ok := m.levels[on.V]; ok {
				a.On = append(a.On, on.V)
			} else if _, ok := m.resources[on.V]; ok {
				a.On = append(a.On, on.V)
			} else {
				c.at(on.Pos, "%s: on %q is neither a level nor a resource type%s", what, on.V, yamlx.Closest(on.V, m.resources))
			}
		}
		itemUnknown := false
		if ad.Item.V != "" {
			t, ok := m.resources[ad.Item.V]
			if !ok {
				c.at(ad.Item.Pos, "%s: item %q is not a resource type%s", what, ad.Item.V, yamlx.Closest(ad.Item.V, m.resources))
				itemUnknown = true
			}
			a.Item = t
		}
		switch a.Channel {
		case "", "api", "ui":
		default:
			c.at(ad.Channel.Pos, "%s: channel %q; use api or ui", what, a.Channel)
		}
		switch a.Actor {
		case "", "operator":
		default:
			c.at(ad.Actor.Pos, "%s: actor %q; the only restricted actor is `operator`", what, a.Actor)
		}
		switch ad.Fields.V {
		case "":
		case "resource":
			a.Fields = "resource"
		case "item":
			if a.Item == nil && !itemUnknown {
				c.at(ad.Fields.Pos, "%s: fields: item, but the action has no item; add `item: <type>`", what)
			}
			a.Fields = "item"
		default:
			c.at(ad.Fields.Pos, "%s: fields %q; use resource or item (whose fields the action reads)", what, ad.Fields.V)
		}
		if ad.Requires == nil {
			if a.Actor != "operator" {
				c.at(ad.Pos, "%s has no `requires:`; give the permissions it needs (or `actor: operator`)", what)
			}
		} else if !itemUnknown || !reqDocUsesItem(ad.Requires) {
			a.Requires = c.req(a, ad.Requires)
		}
		for j, w := range ad.When {
			c.cur = w.Pos
			id := w.ID.V
			if id == "" {
				id = fmt.Sprintf("%s.when%d", a.ID, j+1)
			}
			pc := &Precondition{ID: id, Check: w.Check.V}
			pc.Program = c.cel(what+" precondition "+id, w.Check)
			reason := w.Reason
			if reason.V == "" {
				reason = str{V: "precondition " + id + " does not hold", Pos: w.Pos}
			}
			t, err := m.Env.CompileTemplate(reason.V)
			if err != nil {
				c.celErr(what+" precondition "+id+" reason", reason, err)
			}
			pc.Reason = t
			a.When = append(a.When, pc)
		}
		for _, al := range ad.Aliases {
			a.Aliases = append(a.Aliases, al.V)
		}
		a.NeedsItem = a.Item != nil && (a.Fields == "item" || reqUsesItem(a.Requires))
		m.Actions = append(m.Actions, a)
		m.actions[a.ID] = a
	}
	for i, a := range m.Actions {
		for j, al := range a.Aliases {
			p := c.f.Actions[i].Aliases[j].Pos
			if _, dup := m.actions[al]; dup {
				c.at(p, "alias %q of action %q is already an action id or alias; aliases must be unique", al, a.ID)
				continue
			}
			if _, clash := m.perms[al]; clash {
				c.at(p, "alias %q of action %q is a permission id; checks name either, so pick another alias", al, a.ID)
				continue
			}
			m.actions[al] = a
		}
	}
}

func reqUsesItem(r *Req) bool {
	if r == nil {
		return false
	}
	if r.Kind == ReqPerm {
		return r.Rel.Base == "item"
	}
	for _, k := range r.Kids {
		if reqUsesItem(k) {
			return true
		}
	}
	return false
}

func reqDocUsesItem(r *reqDoc) bool {
	if strings.HasPrefix(r.On.V, "item") {
		return true
	}
	for _, k := range append(append([]*reqDoc{}, r.AllOf...), r.AnyOf...) {
		if reqDocUsesItem(k) {
			return true
		}
	}
	return false
}

func (c *compiler) req(a *Action, rd *reqDoc) *Req {
	c.cur = rd.Pos
	what := "action " + a.ID
	r := &Req{}
	switch {
	case rd.Perm.V != "":
		r.Kind = ReqPerm
		r.Perm = c.permRef(what, rd.Perm)
		r.Rel = c.relation(a, rd.On)
	case rd.AllOf != nil || rd.AnyOf != nil:
		kids := rd.AllOf
		r.Kind = ReqAll
		if rd.AnyOf != nil {
			kids = rd.AnyOf
			r.Kind = ReqAny
		}
		if len(kids) == 0 {
			c.at(rd.Pos, "%s: an empty all_of/any_of requires nothing; remove it or list permissions", what)
		}
		for _, k := range kids {
			r.Kids = append(r.Kids, c.req(a, k))
		}
	}
	if rd.If.V != "" {
		r.IfExpr = rd.If.V
		r.If = c.cel(what+" if", rd.If)
	}
	if r.Kind != ReqPerm && len(r.Kids) > 0 {
		r.Local = true
		r.LocalBits = NewBits(len(c.m.Perms))
		for _, k := range r.Kids {
			if k.Kind != ReqPerm || !k.Rel.IsTarget() || k.If != nil || k.Perm == nil {
				r.Local = false
				break
			}
			r.LocalBits.Set(k.Perm.Index)
		}
		if !r.Local {
			r.LocalBits = nil
		}
	}
	return r
}

// relation parses and checks a relation path against the action's target
// types.
func (c *compiler) relation(a *Action, s str) Relation {
	m := c.m
	text := strings.TrimSpace(s.V)
	if text == "" {
		return Relation{Base: "resource", Text: "resource"}
	}
	parts := strings.Split(text, ".")
	rel := Relation{Base: parts[0], Text: text}
	if len(parts) > 1 && rel.Base == "resource" && len(a.On) == 0 {
		c.at(s.Pos, "action %s: relation %q cannot be checked because the action has no `on:`; say which resource types or levels it applies to", a.ID, text)
	}
	switch rel.Base {
	case "resource":
	case "item":
		if a.Item == nil {
			c.at(s.Pos, "action %s: relation %q starts at item, but the action has no item; add `item: <type>`", a.ID, text)
			return rel
		}
	default:
		c.at(s.Pos, "action %s: relation %q must start with resource or item (e.g. resource.parent, resource.sources)", a.ID, text)
		return rel
	}
	for _, p := range parts[1:] {
		if name, ok := strings.CutSuffix(p, "[any]"); ok {
			rel.Any = true
			p = name
		}
		rel.Steps = append(rel.Steps, strings.TrimSuffix(p, "[*]"))
	}
	// type-check from each possible start
	var starts []string
	if rel.Base == "item" {
		starts = []string{a.Item.ID}
	} else {
		starts = a.On
	}
	for _, start := range starts {
		cur := start
		for _, step := range rel.Steps {
			next, ok := c.step(cur, step)
			if !ok {
				c.at(s.Pos, "action %s: in relation %q, %s has no %q%s; use parent, an input relation, or an ancestor's or descendant's type or level%s", a.ID, text, cur, step, yamlx.Suggest(step, c.steps(cur)), c.stepHint(cur))
				break
			}
			cur = next
		}
	}
	_ = m
	return rel
}

// step returns the type or level reached from cur by one relation step.
func (c *compiler) step(cur, step string) (string, bool) {
	if next, ok := c.ancestorStep(cur, step); ok {
		return next, true
	}
	if c.below(step, cur) {
		return step, true
	}
	return "", false
}

func (c *compiler) below(t, anc string) bool { return c.m.Below(t, anc) }

// ancestorStep follows parent, input and ancestor steps.
func (c *compiler) ancestorStep(cur, step string) (string, bool) {
	m := c.m
	if rt, ok := m.resources[cur]; ok {
		if step == "parent" {
			if rt.Parent != nil {
				return rt.Parent.ID, true
			}
			if rt.Level != nil {
				return rt.Level.ID, true
			}
			return "", false
		}
		for _, in := range rt.Inputs {
			if in.Name == step {
				return in.Type.ID, true
			}
		}
		for p := rt.Parent; p != nil; p = p.Parent {
			if p.ID == step {
				return p.ID, true
			}
		}
		for l := rt.Level; l != nil; l = l.Parent {
			if l.ID == step {
				return l.ID, true
			}
		}
		return "", false
	}
	if l, ok := m.levels[cur]; ok {
		if step == "parent" && l.Parent != nil {
			return l.Parent.ID, true
		}
		for p := l.Parent; p != nil; p = p.Parent {
			if p.ID == step {
				return p.ID, true
			}
		}
	}
	return "", false
}

// steps lists the relation steps valid from a type or level.
func (c *compiler) steps(cur string) []string {
	out := []string{"parent"}
	for _, l := range c.m.Levels {
		if c.below(l.ID, cur) {
			out = append(out, l.ID)
		}
	}
	for _, rt := range c.m.Resources {
		if c.below(rt.ID, cur) {
			out = append(out, rt.ID)
		}
	}
	if rt, ok := c.m.resources[cur]; ok {
		for _, in := range rt.Inputs {
			out = append(out, in.Name)
		}
		for p := rt.Parent; p != nil; p = p.Parent {
			out = append(out, p.ID)
		}
		for l := rt.Level; l != nil; l = l.Parent {
			out = append(out, l.ID)
		}
	} else if l, ok := c.m.levels[cur]; ok {
		for p := l.Parent; p != nil; p = p.Parent {
			out = append(out, p.ID)
		}
	}
	return out
}

func (c *compiler) stepHint(cur string) string {
	rt, ok := c.m.resources[cur]
	if !ok || len(rt.Inputs) == 0 {
		return ""
	}
	var names []string
	for _, in := range rt.Inputs {
		names = append(names, in.Name)
	}
	return " (its inputs: " + strings.Join(names, ", ") + ")"
}

func (c *compiler) offers() {
	m := c.m
	for _, od := range c.f.Offers {
		c.cur = od.Pos
		if !c.checkID("offer", od.ID) {
			continue
		}
		if _, dup := m.offers[od.ID.V]; dup {
			c.at(od.ID.Pos, "offer %q is declared twice; keep one", od.ID.V)
			continue
		}
		o := &OfferKind{ID: od.ID.V, Name: od.Name, Description: od.Description, Grants: NewBits(len(m.Perms))}
		if o.Name == "" {
			o.Name = o.ID
		}
		what := "offer " + o.ID
		rt, ok := m.resources[od.Resource.V]
		if !ok {
			c.at(od.Resource.Pos, "%s: resource %q is not a resource type%s", what, od.Resource.V, yamlx.Closest(od.Resource.V, m.resources))
		}
		o.Resource = rt
		for _, g := range od.Grants {
			if p := c.permRef(what, g); p != nil {
				o.Perms = append(o.Perms, p)
				o.Grants.Or(p.Closure)
			}
		}
		if len(od.Grants) == 0 {
			c.at(od.Pos, "%s grants nothing; add `grants:`", what)
		}
		o.Set = BuildGrantSet(m, permItems(o.Perms), nil)
		for _, u := range od.UsableWhen {
			if p := c.cel(what+" usable_when", u); p != nil {
				o.UsableWhen = append(o.UsableWhen, p)
				o.UsableText = append(o.UsableText, u.V)
			}
		}
		states := []string{"none", "pending", "accepted", "rejected", "revoked", "surrendered"}
		for _, td := range od.Transitions {
			c.cur = td.Pos
			t := Transition{Act: td.Act.V, To: td.To.V, By: td.By.V}
			for _, f := range td.From {
				if !slices.Contains(states, f.V) {
					c.at(f.Pos, "%s: from state %q; states are %s", what, f.V, strings.Join(states, ", "))
				}
				t.From = append(t.From, f.V)
			}
			if t.To != "same" && !slices.Contains(states[1:], t.To) {
				c.at(td.To.Pos, "%s: to state %q; states are %s (or `same` for an update)", what, t.To, strings.Join(states[1:], ", "))
			}
			if t.By != "owner" && t.By != "recipient" {
				c.at(td.By.Pos, "%s: transition by %q; use owner or recipient", what, t.By)
			}
			if t.Act == "" {
				c.at(td.Pos, "%s: transition without `act:` (send, accept, reject, update, revoke, surrender)", what)
			}
			if td.Requires.V != "" {
				t.Requires = c.permRef(what, td.Requires)
			}
			o.Transitions = append(o.Transitions, t)
		}
		m.Offers = append(m.Offers, o)
		m.offers[o.ID] = o
	}
}

// AdminActs is the closed list of admin acts a model may configure.
var AdminActs = []string{
	"create_organization", "create_scope", "rename_scope", "delete_scope",
	"create_user", "delete_user", "invite", "resend_invitation", "revoke_invitation", "accept_invitation",
	"add_member", "remove_member", "set_default_role",
	"bind_role", "unbind_role", "grant_permissions", "revoke_permissions",
	"create_group", "rename_group", "delete_group", "add_group_member", "remove_group_member",
	"bind_group", "unbind_group", "assign_resource_group",
	"create_custom_role", "update_custom_role", "delete_custom_role",
	"add_domain", "remove_domain", "update_settings", "set_default_permissions",
	"view_members", "view_bindings", "explain_other", "view_audit", "export_organization",
}

// Admin rule parameter types, one per rule of the library.
type (
	// NoEscalationRule: an actor grants only what they hold themselves,
	// compared on effective (implied) or assigned permissions.
	NoEscalationRule struct {
		Compare string `yaml:"compare"`
	}
	// MinHoldersRule: at least Count members hold Role in each organization.
	MinHoldersRule struct {
		Role  string `yaml:"role"`
		Count int    `yaml:"count"`
	}
	// ImmutableRule: these roles and groups cannot be changed or deleted.
	ImmutableRule struct {
		Roles  []string `yaml:"roles"`
		Groups []string `yaml:"groups"`
	}
	// ExclusiveLevelsRule: a member has bindings at one of these levels,
	// never at both.
	ExclusiveLevelsRule struct {
		Levels []string `yaml:"levels"`
	}
	// GroupsOnlyForRule: only members without a binding at Level may join
	// groups.
	GroupsOnlyForRule struct {
		WithoutBindingAt string `yaml:"without_binding_at"`
	}
	// GroupBindingsLockedRule: access that comes through a group cannot be
	// changed per node by a manual binding.
	GroupBindingsLockedRule struct{}
	// NotOverridableRule: a binding at Level cannot be overridden by
	// bindings below it.
	NotOverridableRule struct {
		Level string `yaml:"level"`
	}
	// OperatorOnlyRule: only the platform operator performs these acts.
	OperatorOnlyRule struct {
		Acts []string `yaml:"acts"`
	}
	// EmailDomainJoinRule: users whose email domain an organization
	// registered join it (and its AllMembers groups) automatically.
	EmailDomainJoinRule struct{}
	// VisibilityRule: which users an actor may see and pick.
	VisibilityRule struct {
		Subjects string `yaml:"subjects"` // share_membership
		Level    string `yaml:"level"`
	}
	// RequiresEverywhereRule: Act needs Permission at every node of Level
	// the target user belongs to.
	RequiresEverywhereRule struct {
		Act        string `yaml:"act"`
		Permission string `yaml:"permission"`
		Level      string `yaml:"level"`
	}
	// WildcardAdvisoryRule: wildcard bindings are accepted with a warning,
	// except for the listed roles.
	WildcardAdvisoryRule struct {
		ExceptRoles []string `yaml:"except_roles"`
		Message     string   `yaml:"message"`
	}
	// OneRolePerNodeRule: a member holds at most one role per node of these
	// levels; binding another replaces it.
	OneRolePerNodeRule struct {
		Levels []string `yaml:"levels"`
	}
	// RolesOnlyRule: rights are given through roles only, never directly.
	RolesOnlyRule struct{}
	// MaxCountRule: at most Max objects of a kind (custom_roles, groups,
	// members, offers) per node of level Per (the tenant by default).
	MaxCountRule struct {
		What string `yaml:"what"`
		Max  int    `yaml:"max"`
		Per  string `yaml:"per"`
	}
)

var ruleTypes = map[string]struct {
	t    reflect.Type
	list string // field filled when the parameters are a plain list
}{
	"no_escalation":         {reflect.TypeFor[NoEscalationRule](), ""},
	"min_holders":           {reflect.TypeFor[MinHoldersRule](), ""},
	"immutable":             {reflect.TypeFor[ImmutableRule](), ""},
	"exclusive_levels":      {reflect.TypeFor[ExclusiveLevelsRule](), "Levels"},
	"groups_only_for":       {reflect.TypeFor[GroupsOnlyForRule](), ""},
	"group_bindings_locked": {reflect.TypeFor[GroupBindingsLockedRule](), ""},
	"not_overridable":       {reflect.TypeFor[NotOverridableRule](), ""},
	"operator_only":         {reflect.TypeFor[OperatorOnlyRule](), "Acts"},
	"email_domain_join":     {reflect.TypeFor[EmailDomainJoinRule](), ""},
	"visibility":            {reflect.TypeFor[VisibilityRule](), ""},
	"requires_everywhere":   {reflect.TypeFor[RequiresEverywhereRule](), ""},
	"wildcard_advisory":     {reflect.TypeFor[WildcardAdvisoryRule](), ""},
	"one_role_per_node":     {reflect.TypeFor[OneRolePerNodeRule](), "Levels"},
	"roles_only":            {reflect.TypeFor[RolesOnlyRule](), ""},
	"max_count":             {reflect.TypeFor[MaxCountRule](), ""},
}

func (c *compiler) admin() {
	m := c.m
	m.Admin.acts = map[string]*Act{}
	ad := c.f.Admin
	if ad == nil {
		return
	}
	for _, a := range ad.Acts {
		c.cur = a.Pos
		if _, dup := m.Admin.acts[a.ID.V]; dup {
			c.at(a.ID.Pos, "admin act %s is configured twice; keep one", a.ID.V)
			continue
		}
		switch a.On.V {
		case "", "target", "organization", "every_membership_of_target":
		default:
			if _, ok := m.levels[a.On.V]; !ok {
				c.at(a.On.Pos, "admin act %s: on %q; use target, organization (the tenant node), every_membership_of_target or a level%s", a.ID.V, a.On.V, yamlx.Closest(a.On.V, m.levels))
			}
		}
		if !slices.Contains(AdminActs, a.ID.V) {
			c.at(a.ID.Pos, "unknown admin act %q%s; acts are %s", a.ID.V, yamlx.Suggest(a.ID.V, AdminActs), strings.Join(AdminActs, ", "))
			continue
		}
		act := &Act{ID: a.ID.V, Requires: a.Requires.V, On: a.On.V, Actor: a.Actor.V, Description: a.Desc}
		if act.Requires != "" {
			_, isPerm := m.perms[act.Requires]
			_, isAction := m.actions[act.Requires]
			if !isPerm && !isAction {
				c.at(a.Requires.Pos, "admin act %s requires %q, which is neither a permission nor an action%s", act.ID, act.Requires, yamlx.Closest(act.Requires, m.perms))
			}
		} else if act.Actor != "operator" {
			c.at(a.Pos, "admin act %s: give `requires:` (a permission or action) or `actor: operator`", act.ID)
		}
		switch act.Actor {
		case "", "operator":
		default:
			c.at(a.Actor.Pos, "admin act %s: actor %q; the only restricted actor is `operator`", act.ID, act.Actor)
		}
		if a.Condition.V != "" {
			act.Precondition = c.cel("admin act "+act.ID+" precondition", a.Condition)
		}
		m.Admin.Acts = append(m.Admin.Acts, act)
		m.Admin.acts[act.ID] = act
	}
	for _, rd := range ad.Rules {
		c.cur = rd.Pos
		spec, ok := ruleTypes[rd.Name.V]
		if !ok {
			c.at(rd.Name.Pos, "unknown admin rule %q%s; rules are %s", rd.Name.V, yamlx.Suggest(rd.Name.V, slices.Sorted(maps.Keys(ruleTypes))), strings.Join(slices.Sorted(maps.Keys(ruleTypes)), ", "))
			continue
		}
		v := reflect.New(spec.t)
		if rd.Params != nil && !yamlx.IsNull(rd.Params) {
			if rd.Params.Kind == yaml.SequenceNode && spec.list != "" {
				c.Decode(rd.Params, v.Elem().FieldByName(spec.list))
			} else if rd.Params.Kind == yaml.ScalarNode && rd.Params.Value == "true" {
				// {rule: true} enables a rule without parameters
			} else {
				c.Decode(rd.Params, v.Elem())
			}
		}
		c.checkRule(rd, v.Interface())
		m.Admin.Rules = append(m.Admin.Rules, &Rule{Name: rd.Name.V, Params: v.Interface()})
	}
}

// checkRule validates the names a rule refers to.
func (c *compiler) checkRule(rd ruleDoc, params any) {
	m := c.m
	p := rd.Name.Pos
	level := func(s string) {
		if _, ok := m.levels[s]; !ok && s != "" {
			c.at(p, "admin rule %s: %q is not a level%s", rd.Name.V, s, yamlx.Closest(s, m.levels))
		}
	}
	role := func(s string) {
		if _, ok := m.roles[s]; !ok {
			c.at(p, "admin rule %s: %q is not a role%s", rd.Name.V, s, yamlx.Closest(s, m.roles))
		}
	}
	switch r := params.(type) {
	case *NoEscalationRule:
		if r.Compare == "" {
			r.Compare = "effective"
		}
		if r.Compare != "effective" && r.Compare != "assigned" {
			c.at(p, "admin rule no_escalation: compare %q; use effective or assigned", r.Compare)
		}
	case *MinHoldersRule:
		role(r.Role)
		if r.Count < 1 {
			c.at(p, "admin rule min_holders: count %d; give at least 1", r.Count)
		}
	case *ImmutableRule:
		for _, s := range r.Roles {
			role(s)
		}
		for _, g := range r.Groups {
			found := false
			for _, b := range m.Groups.Builtin {
				if b.ID == g {
					found = true
				}
			}
			if !found {
				c.at(p, "admin rule immutable: %q is not a built-in group; declare it under groups.builtin", g)
			}
		}
	case *ExclusiveLevelsRule:
		if len(r.Levels) < 2 {
			c.at(p, "admin rule exclusive_levels: list at least two levels")
		}
		for i, s := range r.Levels {
			level(s)
			if slices.Contains(r.Levels[:i], s) {
				c.at(p, "admin rule exclusive_levels: level %q is listed twice", s)
			}
		}
	case *RolesOnlyRule:
		if len(m.Direct.At) > 0 {
			c.at(p, "admin rule roles_only contradicts direct_grants (permissions bound directly at %s); remove one of them", m.Direct.At[0].ID)
		}
	case *GroupsOnlyForRule:
		level(r.WithoutBindingAt)
	case *NotOverridableRule:
		level(r.Level)
	case *OperatorOnlyRule:
		for _, a := range r.Acts {
			if !slices.Contains(AdminActs, a) {
				c.at(p, "admin rule operator_only: unknown act %q%s", a, yamlx.Suggest(a, AdminActs))
			}
		}
	case *VisibilityRule:
		if r.Subjects != "share_membership" {
			c.at(p, "admin rule visibility: subjects %q; the supported policy is share_membership", r.Subjects)
		}
		level(r.Level)
	case *RequiresEverywhereRule:
		if !slices.Contains(AdminActs, r.Act) {
			c.at(p, "admin rule requires_everywhere: unknown act %q%s", r.Act, yamlx.Suggest(r.Act, AdminActs))
		}
		if _, ok := m.perms[r.Permission]; !ok {
			c.at(p, "admin rule requires_everywhere: unknown permission %q%s", r.Permission, yamlx.Closest(r.Permission, m.perms))
		}
		level(r.Level)
	case *WildcardAdvisoryRule:
		for _, s := range r.ExceptRoles {
			role(s)
		}
	case *MaxCountRule:
		if !slices.Contains([]string{"custom_roles", "groups", "members", "offers"}, r.What) {
			c.at(p, "admin rule max_count: what %q; count custom_roles, groups, members or offers", r.What)
		}
		if r.Max < 0 {
			c.at(p, "admin rule max_count: max is %d; a limit cannot be below zero", r.Max)
		}
		level(r.Per)
	case *OneRolePerNodeRule:
		for _, s := range r.Levels {
			level(s)
		}
	}
}
