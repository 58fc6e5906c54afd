package admin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

func init() {
	acts["create_custom_role"] = (*acting).createCustomRole
	acts["update_custom_role"] = (*acting).updateCustomRole
	acts["delete_custom_role"] = (*acting).deleteCustomRole
}

// roleID turns a display name into a role id: "QA lead" -> "qa_lead".
func roleID(name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), " ", "_")
}

// immutableRole refuses changes to roles the model marks immutable, and to
// the model's own roles.
func (x *acting) immutableRole(id string) error {
	if p, ok := rule[model.ImmutableRule](x.s.m); ok && slices.Contains(p.Roles, id) {
		name := id
		if r, ok := x.s.m.Role(id); ok && r.Name != "" {
			name = r.Name
		}
		return x.refuse("immutable", "the %s role (%s) cannot be changed or deleted; create a custom role instead", name, id)
	}
	if r, ok := x.s.m.Role(id); ok && r.Kind == model.Builtin {
		return x.refuse("builtin", "%s is a built-in role of the model and cannot be changed; create a custom role instead", id)
	}
	return nil
}

// createCustomRole defines a role of the organization (or of a node below
// it, where the model places custom roles), within the model's limits.
func (x *acting) createCustomRole() error {
	if x.r.Role == "" && x.r.Name != "" {
		x.r.Role = roleID(x.r.Name)
	}
	if err := x.need("role"); err != nil {
		return err
	}
	ch, err := x.roleScope()
	if err != nil {
		return err
	}
	x.r.Scope = ch[0].ID
	if err := x.authorize(rolecall.ScopeTarget(x.r.Scope), ch); err != nil {
		return err
	}
	cr := x.s.m.CustomRoles
	if !cr.Allowed {
		return x.refuse("custom_roles", "model %s has no custom roles; bind one of its roles instead", x.s.m.ID)
	}
	if err := x.immutableRole(x.r.Role); err != nil {
		return err
	}
	if m, ok := x.s.m.Role(x.r.Role); ok && m.Kind != model.Custom {
		return rolecall.E(x.op, rolecall.Conflict, "role "+x.r.Role,
			fmt.Sprintf("model %s has a built-in role %s (%s); give the custom role another name", x.s.m.ID, x.r.Role, firstNonEmpty(m.Name, m.ID)))
	}
	if err := x.planAllows(ch, cr.Feature, "custom roles"); err != nil {
		return err
	}
	owner := ch[0]
	role := rolecall.Role{ID: x.r.Role, Org: x.org, Name: x.r.Name, Grants: grants(x.r.Permissions)}
	if owner.ID != x.org {
		role.Scope = owner.ID
	}
	if err := x.maxCustomRoles(ch); err != nil {
		return err
	}
	if _, err := engine.CompileRole(x.s.m, role); err != nil {
		return rolecall.E(x.op, rolecall.Invalid, "role "+role.ID, errMsg(err))
	}
	if err := x.tx.CreateRole(role); err != nil {
		return err
	}
	x.done("role "+role.Key(), nil, role)
	return nil
}

func errMsg(err error) string {
	if re, ok := err.(*rolecall.Error); ok {
		return re.Msg
	}
	return err.Error()
}

func grants(perms []string) []rolecall.Grant {
	var gs []rolecall.Grant
	for _, p := range perms {
		gs = append(gs, rolecall.Grant{Permission: p})
	}
	return gs
}

// planAllows refuses what needs a plan feature the organization's (or the
// node's) plan lacks. A node's plan is its own attribute "plan", or its
// nearest ancestor's.
func (x *acting) planAllows(ch []rolecall.Scope, feature, what string) error {
	if feature == "" || len(x.s.m.Plans) == 0 {
		return nil
	}
	plan, at := "", ch[0]
	for _, s := range ch {
		if p, ok := s.Attrs["plan"].(string); ok {
			plan, at = p, s
			break
		}
	}
	var with []string
	for _, p := range x.s.m.Plans {
		if slices.Contains(p.Features, feature) {
			if p.ID == plan {
				return nil
			}
			with = append(with, p.Name)
		}
	}
	have := "no plan"
	if plan != "" {
		have = "the " + plan + " plan"
	}
	return x.refuse("plan", "%s need a plan with %s (%s); %s is on %s", what, feature, strings.Join(with, ", "), x.label(at), have)
}

// maxCustomRoles applies the model's limit on custom roles per node.
func (x *acting) maxCustomRoles(ch []rolecall.Scope) error {
	cr := x.s.m.CustomRoles
	max, per := cr.Max, cr.Per
	if p, ok := rule[model.MaxCountRule](x.s.m); ok && p.What == "custom_roles" {
		max = p.Max
		if l, ok := x.s.m.Level(p.Per); ok {
			per = l
		}
	}
	if max < 0 {
		return nil
	}
	at := ch[len(ch)-1]
	if per != nil {
		for _, s := range ch {
			if s.Level == per.ID {
				at = s
			}
		}
	}
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjRole, Scope: at.ID})
	if err != nil {
		return err
	}
	if at.ID == x.org {
		ks, err = x.tx.Find(rolecall.Filter{Kind: rolecall.ObjRole, Org: x.org})
		if err != nil {
			return err
		}
	}
	if max > 0 && len(ks) >= max {
		return x.refuse("max_count", "%s already has %d custom roles, the most it may have (%d); delete or edit one instead", x.label(at), len(ks), max)
	}
	return nil
}

// customRole finds a custom role by id in the act's organization, at the
// request's scope or anywhere in the organization.
func (x *acting) customRole(id string) (rolecall.Role, error) {
	var r rolecall.Role
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjRole, Org: x.org})
	if err != nil {
		return r, err
	}
	for _, k := range ks {
		var c rolecall.Role
		if _, err := x.tx.Get(rolecall.ObjRole, k, &c); err != nil {
			return r, err
		}
		if c.ID == id && (x.r.Scope == "" || x.r.Scope == x.org || c.Scope == x.r.Scope) {
			return c, nil
		}
	}
	return r, x.notFound(id, "no such custom role in %s", x.org)
}

// roleScope enters the organization of a custom-role act: the request's
// scope or organization, else the actor's only organization.
func (x *acting) roleScope() ([]rolecall.Scope, error) {
	s := x.r.Scope
	if s == "" {
		s = x.r.Org
	}
	if s == "" && !x.actor.Operator {
		orgs, err := x.orgsOf(x.actor.User)
		if err != nil {
			return nil, err
		}
		if len(orgs) > 1 {
			return nil, x.invalid("scope", "you belong to several organizations; give the organization")
		}
		if len(orgs) == 1 {
			s = orgs[0]
		}
	}
	if s == "" {
		return nil, x.invalid("scope", "give the organization")
	}
	return x.enter(s)
}

// editedRole is the start of an edit of a custom role: the organization
// entered, the actor's right checked there, the role neither immutable nor
// changed since the edit's base; it returns the role as stored.
func (x *acting) editedRole() (rolecall.Role, error) {
	if err := x.need("role"); err != nil {
		return rolecall.Role{}, err
	}
	ch, err := x.roleScope()
	if err != nil {
		return rolecall.Role{}, err
	}
	if err := x.authorize(rolecall.ScopeTarget(ch[0].ID), ch); err != nil {
		return rolecall.Role{}, err
	}
	if err := x.immutableRole(x.r.Role); err != nil {
		return rolecall.Role{}, err
	}
	old, err := x.customRole(x.r.Role)
	if err != nil {
		return rolecall.Role{}, err
	}
	return old, x.unchangedSince(rolecall.ObjRole, old.Key())
}

// updateCustomRole changes a custom role's name or permissions.
func (x *acting) updateCustomRole() error {
	old, err := x.editedRole()
	if err != nil {
		return err
	}
	nr := old
	nr.Grants = slices.Clone(old.Grants)
	if x.r.Name != "" {
		nr.Name = x.r.Name
	}
	if len(x.r.Permissions) > 0 {
		nr.Grants = grants(x.r.Permissions)
	}
	for _, p := range x.r.AddPermissions {
		if !slices.ContainsFunc(nr.Grants, func(g rolecall.Grant) bool { return g.Permission == p }) {
			nr.Grants = append(nr.Grants, rolecall.Grant{Permission: p})
		}
	}
	nr.Grants = slices.DeleteFunc(nr.Grants, func(g rolecall.Grant) bool { return slices.Contains(x.r.RemovePermissions, g.Permission) })
	if _, err := engine.CompileRole(x.s.m, nr); err != nil {
		return rolecall.E(x.op, rolecall.Invalid, "role "+nr.ID, errMsg(err))
	}
	// what the edit adds, every holder gets: only what the actor holds
	var added []model.GrantItem
	for _, g := range nr.Grants {
		if !slices.ContainsFunc(old.Grants, func(o rolecall.Grant) bool { return o.Permission == g.Permission }) {
			if p, ok := x.s.m.Perm(g.Permission); ok {
				added = append(added, model.GrantItem{Perm: p})
			}
		}
	}
	if len(added) > 0 {
		owner := old.Org
		if old.Scope != "" {
			owner = old.Scope
		}
		if err := x.noEscalation(owner, model.BuildGrantSet(x.s.m, added, nil)); err != nil {
			return err
		}
	}
	if err := x.tx.ReplaceRole(nr); err != nil {
		return err
	}
	x.done("role "+nr.Key(), old, nr)
	return nil
}

// deleteCustomRole deletes a custom role no binding or member uses.
func (x *acting) deleteCustomRole() error {
	old, err := x.editedRole()
	if err != nil {
		return err
	}
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjBinding, Org: x.org})
	if err != nil {
		return err
	}
	used := 0
	for _, k := range ks {
		var b rolecall.Binding
		if _, err := x.tx.Get(rolecall.ObjBinding, k, &b); err != nil {
			return err
		}
		if b.Role == old.ID {
			used++
		}
	}
	if used > 0 {
		return x.refuse("in_use", "role %s is bound %s; unbind it first", old.ID, plural(used, "time"))
	}
	if err := x.tx.Delete(rolecall.ObjRole, old.Key()); err != nil {
		return err
	}
	x.done("role "+old.Key(), old, nil)
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d %ss", n, what)
}
