package admin

import (
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
)

func init() {
	acts["set_default_permissions"] = (*acting).setDefaultPermissions
}

// defaultPermsAttr is the organization attribute holding its own default
// permission set for members joining a node of a level, where the model
// lets organizations change it.
func defaultPermsAttr(level string) string { return "default_permissions." + level }

// joined gives a user who just became a member of node s the model's
// default permission set for its level (members.on_join), or the
// organization's own set where the model lets it choose one: a snapshot,
// bound directly, which admins may change afterwards.
func (x *acting) joined(ch []rolecall.Scope, user string) error {
	s := ch[0]
	l, ok := x.s.m.Level(s.Level)
	if !ok {
		return nil
	}
	bits, ok := x.s.m.Members.OnJoin[l.Index]
	if !ok {
		return nil
	}
	perms := x.s.m.PermNames(bits)
	if x.s.m.Members.OnJoinConfigurable[l.Index] {
		if own, ok := ch[len(ch)-1].Attrs[defaultPermsAttr(l.ID)].([]any); ok {
			perms = perms[:0]
			for _, p := range own {
				if id, ok := p.(string); ok {
					perms = append(perms, id)
				}
			}
		}
	}
	if len(perms) == 0 {
		return nil
	}
	b := rolecall.Binding{Subject: rolecall.UserSubject(user), Permissions: perms, Scope: s.ID}
	return x.tx.CreateBinding(&b)
}

// setDefaultPermissions sets an organization's own default permission set
// for members joining nodes of a level, where the model allows it.
func (x *acting) setDefaultPermissions() error {
	if err := x.need("level"); err != nil {
		return err
	}
	ch, err := x.roleScope()
	if err != nil {
		return err
	}
	org := ch[len(ch)-1]
	if err := x.authorize(rolecall.ScopeTarget(org.ID), ch[len(ch)-1:]); err != nil {
		return err
	}
	l, ok := x.s.m.Level(x.r.Level)
	if !ok {
		return x.invalid("level", "no such level in model %s", x.s.m.ID)
	}
	if !x.s.m.Members.OnJoinConfigurable[l.Index] {
		return x.refuse("on_join", "model %s does not let an organization change the permissions members get on joining a %s", x.s.m.ID, strings.ToLower(l.Name))
	}
	for _, p := range x.r.Permissions {
		q, ok := x.s.m.Perm(p)
		if !ok || !q.Grantable {
			return x.invalid(p, "is not a permission that can be granted in model %s", x.s.m.ID)
		}
	}
	if err := x.unchangedSince(rolecall.ObjScope, org.ID); err != nil {
		return err
	}
	no := org
	no.Attrs = map[string]any{}
	for k, v := range org.Attrs {
		no.Attrs[k] = v
	}
	perms := slices.Clone(x.r.Permissions)
	slices.Sort(perms)
	list := make([]any, len(perms))
	for i, p := range perms {
		list[i] = p
	}
	no.Attrs[defaultPermsAttr(l.ID)] = list
	if err := x.tx.ReplaceScope(no); err != nil {
		return err
	}
	x.done("scope "+org.ID, org, no)
	return nil
}
