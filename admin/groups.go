package admin

import (
	"slices"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

func init() {
	acts["create_group"] = (*acting).createGroup
	acts["rename_group"] = (*acting).renameGroup
	acts["delete_group"] = (*acting).deleteGroup
	acts["add_group_member"] = (*acting).addGroupMember
	acts["remove_group_member"] = (*acting).removeGroupMember
}

// group reads a group of the actor's organization and enters its node.
func (x *acting) group(id string) (rolecall.Group, []rolecall.Scope, error) {
	var g rolecall.Group
	found, err := x.tx.Get(rolecall.ObjGroup, id, &g)
	if err != nil {
		return g, nil, err
	}
	if !found {
		return g, nil, x.notFound(id, "no such %s", x.s.groupWord())
	}
	ch, err := x.enter(g.Scope)
	if err != nil {
		return g, nil, x.notFound(id, "no such %s", x.s.groupWord())
	}
	if err := x.authorize(rolecall.ScopeTarget(g.Scope), ch); err != nil {
		return g, nil, err
	}
	return g, ch, nil
}

func (s *Service) groupWord() string {
	if s.m.Groups.Name != "" {
		return s.m.Groups.Name
	}
	return "group"
}

// immutableGroup refuses changes to groups the model marks immutable.
// editableGroup is the start of the acts that change a group: the group
// and the named arguments must be given, the actor must hold the act's
// right at the group's scope, and the model must not hold the group
// immutable. It returns the group and its scope's chain.
func (x *acting) editableGroup(fields ...string) (rolecall.Group, []rolecall.Scope, error) {
	if err := x.need(append([]string{"group"}, fields...)...); err != nil {
		return rolecall.Group{}, nil, err
	}
	g, ch, err := x.group(x.r.Group)
	if err != nil {
		return g, nil, err
	}
	if err := x.immutableGroup(g); err != nil {
		return g, nil, err
	}
	return g, ch, nil
}

func (x *acting) immutableGroup(g rolecall.Group) error {
	if p, ok := rule[model.ImmutableRule](x.s.m); ok && slices.Contains(p.Groups, g.ID) {
		name := g.Name
		if name == "" {
			name = g.ID
		}
		return x.refuse("immutable", "the %s %s cannot be changed or deleted", name, x.s.groupWord())
	}
	return nil
}

func (x *acting) createGroup() error {
	if x.r.Group == "" && x.r.Name != "" {
		x.r.Group = roleID(x.r.Name)
	}
	if _, err := x.atScope("group", "scope"); err != nil {
		return err
	}
	g := rolecall.Group{ID: x.r.Group, Scope: x.r.Scope, Name: x.r.Name}
	if err := x.tx.CreateGroup(g); err != nil {
		return err
	}
	x.done("group "+g.ID, nil, g)
	return nil
}

func (x *acting) renameGroup() error {
	g, _, err := x.editableGroup("name")
	if err != nil {
		return err
	}
	if err := x.unchangedSince(rolecall.ObjGroup, g.ID); err != nil {
		return err
	}
	ng := g
	ng.Name = x.r.Name
	if err := x.tx.ReplaceGroup(ng); err != nil {
		return err
	}
	x.done("group "+g.ID, g, ng)
	return nil
}

// deleteGroup deletes a group with its memberships and bindings.
func (x *acting) deleteGroup() error {
	g, _, err := x.editableGroup()
	if err != nil {
		return err
	}
	for _, kind := range []rolecall.ObjectKind{rolecall.ObjGroupMember, rolecall.ObjBinding} {
		if _, err := x.tx.DeleteWhere(rolecall.Filter{Kind: kind, Group: g.ID}); err != nil {
			return err
		}
	}
	if err := x.tx.Delete(rolecall.ObjGroup, g.ID); err != nil {
		return err
	}
	x.done("group "+g.ID, g, nil)
	return nil
}

func (x *acting) addGroupMember() error {
	g, ch, err := x.editableGroup("user")
	if err != nil {
		return err
	}
	if g.AllMembers {
		return x.refuse("all_members", "%s holds every member of %s by itself; add %s as a member there instead", g.ID, x.label(ch[0]), x.r.User)
	}
	if err := x.visible(x.r.User); err != nil {
		return err
	}
	if err := x.groupsOnlyFor(x.r.User); err != nil {
		return err
	}
	gm := rolecall.GroupMember{Group: g.ID, User: x.r.User}
	if err := x.tx.CreateGroupMember(gm); err != nil {
		return err
	}
	x.done("group_member "+gm.Key(), nil, gm)
	return nil
}

func (x *acting) removeGroupMember() error {
	g, ch, err := x.editableGroup("user")
	if err != nil {
		return err
	}
	if g.AllMembers {
		return x.refuse("all_members", "%s holds every member of %s by itself; remove %s from %s instead", g.ID, x.label(ch[0]), x.r.User, x.label(ch[0]))
	}
	gm := rolecall.GroupMember{Group: g.ID, User: x.r.User}
	if err := x.tx.Delete(rolecall.ObjGroupMember, gm.Key()); err != nil {
		return err
	}
	x.done("group_member "+gm.Key(), gm, nil)
	return nil
}

// groupsOnlyFor refuses to put in a group a member who holds a binding at
// the level the model reserves (Labelbox: workspace-wide members do not
// join groups).
func (x *acting) groupsOnlyFor(user string) error {
	p, ok := rule[model.GroupsOnlyForRule](x.s.m)
	if !ok {
		return nil
	}
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjBinding, Org: x.org, User: user})
	if err != nil {
		return err
	}
	for _, k := range ks {
		var b rolecall.Binding
		if _, err := x.tx.Get(rolecall.ObjBinding, k, &b); err != nil {
			return err
		}
		if b.Scope == "" {
			continue
		}
		s, err := x.scope(b.Scope)
		if err != nil {
			return err
		}
		if s.Level == p.WithoutBindingAt {
			role := b.Role
			if r, ok := x.e.Role(b.Scope, b.Role); ok && r.Name != "" {
				role = r.Name
			}
			return x.refuse("groups_only_for", "%s holds the %s-wide role %s in %s, and only members without one join %ss; change %s's role there first",
				user, s.Level, role, x.label(s), x.s.groupWord(), user)
		}
	}
	return nil
}
