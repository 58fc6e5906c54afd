package admin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

func init() {
	acts["create_user"] = (*acting).createUser
	acts["add_domain"] = (*acting).addDomain
	acts["add_member"] = (*acting).addMember
	acts["remove_member"] = (*acting).removeMember
	acts["bind_role"] = (*acting).bindRole
	acts["unbind_role"] = (*acting).unbindRole
	acts["grant_permissions"] = (*acting).grantPermissions
	acts["revoke_permissions"] = (*acting).revokePermissions
}

// rule returns the model's admin rule with parameters of type T, if it
// has one.
func rule[T any](m *model.Model) (*T, bool) {
	for _, r := range m.Admin.Rules {
		if p, ok := r.Params.(*T); ok {
			return p, true
		}
	}
	return nil, false
}

type modelOperatorOnly = model.OperatorOnlyRule

// domainOf returns an email address's domain, lower case.
func domainOf(email string) string {
	_, d, ok := strings.Cut(email, "@")
	if !ok {
		return ""
	}
	return strings.ToLower(d)
}

// createUser creates a user; with email_domain_join, a user whose email
// domain an organization registered joins it at once.
func (x *acting) createUser() error {
	if err := x.need("user"); err != nil {
		return err
	}
	u := rolecall.User{ID: x.r.User, Name: x.r.Name, Email: x.r.Email}
	if x.r.Scope == "" && !x.actor.Operator {
		return x.invalid("scope", "give the scope the new user joins; only the operator creates users outside any")
	}
	if x.r.Scope != "" {
		if _, err := x.enterAuthorized(x.r.Scope); err != nil {
			return err
		}
	}
	if err := x.tx.CreateUser(u); err != nil {
		return err
	}
	if x.r.Scope != "" {
		if err := x.tx.CreateMembership(rolecall.Membership{User: u.ID, Scope: x.r.Scope}); err != nil {
			return err
		}
		ch, err := x.chain(x.r.Scope)
		if err != nil {
			return err
		}
		if err := x.joined(ch, u.ID); err != nil {
			return err
		}
	}
	if _, ok := rule[model.EmailDomainJoinRule](x.s.m); ok {
		if d := domainOf(u.Email); d != "" {
			var dom rolecall.Domain
			found, err := x.tx.Get(rolecall.ObjDomain, d, &dom)
			if err != nil {
				return err
			}
			// the actor's own organization only, unless the operator acts
			if found && dom.Org != x.r.Scope && (x.actor.Operator || dom.Org == x.org) {
				if x.org == "" {
					x.org = dom.Org
				}
				if err := x.tx.CreateMembership(rolecall.Membership{User: u.ID, Scope: dom.Org}); err != nil {
					return err
				}
			}
		}
	}
	x.done("user "+u.ID, nil, u)
	return nil
}

// addDomain registers an email domain of an organization.
func (x *acting) addDomain() error {
	if err := x.need("scope", "domain"); err != nil {
		return err
	}
	ch, err := x.enter(x.r.Scope)
	if err != nil {
		return err
	}
	if err := x.authorize(rolecall.ScopeTarget(x.org), ch); err != nil {
		return err
	}
	d := rolecall.Domain{Org: x.org, Domain: strings.ToLower(x.r.Domain)}
	if err := x.tx.CreateDomain(d); err != nil {
		return err
	}
	x.done("domain "+d.Domain, nil, d)
	return nil
}

// addMember makes a user a member of a node, with a role there if given.
func (x *acting) addMember() error {
	ch, err := x.atScope("user", "scope")
	if err != nil {
		return err
	}
	if err := x.visible(x.r.User); err != nil {
		return err
	}
	ms := rolecall.Membership{User: x.r.User, Scope: x.r.Scope}
	if err := x.tx.CreateMembership(ms); err != nil {
		return err
	}
	x.done("membership "+ms.Key(), nil, ms)
	if err := x.joined(ch, x.r.User); err != nil {
		return err
	}
	role := x.r.Role
	if role == "" {
		// Without a role, a member added below the default-role level gets
		// the default role they carry there, resolved now.
		if at := x.s.m.Members.DefaultRoleAt; at != nil && ch[0].Level != at.ID {
			if role, err = x.defaultRoleOf(x.r.User, ch); err != nil {
				return err
			}
		}
	}
	if role != "" {
		return x.bind(ch, rolecall.Binding{Subject: rolecall.UserSubject(x.r.User), Role: role, Scope: x.r.Scope})
	}
	return nil
}

// removeMember ends a user's membership of a node and the bindings the
// user holds there.
func (x *acting) removeMember() error {
	ch, err := x.atScope("user", "scope")
	if err != nil {
		return err
	}
	ms := rolecall.Membership{User: x.r.User, Scope: x.r.Scope}
	var old rolecall.Membership
	found, err := x.tx.Get(rolecall.ObjMembership, ms.Key(), &old)
	if err != nil {
		return err
	}
	if !found {
		return x.notFound(x.r.User, "is not a member of %s", x.label(ch[0]))
	}
	bs, err := x.bindingsOf(rolecall.UserSubject(x.r.User), x.r.Scope)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if err := x.minHolders(ch, b); err != nil {
			return err
		}
		if err := x.tx.Delete(rolecall.ObjBinding, b.ID); err != nil {
			return err
		}
	}
	if err := x.tx.Delete(rolecall.ObjMembership, ms.Key()); err != nil {
		return err
	}
	x.done("membership "+ms.Key(), old, nil)
	return nil
}

// bindingsOf lists the bindings a subject holds at a node.
func (x *acting) bindingsOf(sub rolecall.SubjectRef, scope string) ([]rolecall.Binding, error) {
	return x.bindingsWhere(sub, func(b rolecall.Binding) bool { return b.Scope == scope && b.Resource == nil })
}

// bindingsWhere lists the bindings a subject holds in the act's
// organization that keep selects.
func (x *acting) bindingsWhere(sub rolecall.SubjectRef, keep func(rolecall.Binding) bool) ([]rolecall.Binding, error) {
	f := rolecall.Filter{Kind: rolecall.ObjBinding, Org: x.org}
	if sub.Kind == rolecall.SubjectGroup {
		f.Group = sub.ID
	} else {
		f.User = sub.ID
	}
	ks, err := x.tx.Find(f)
	if err != nil {
		return nil, err
	}
	var out []rolecall.Binding
	for _, k := range ks {
		var b rolecall.Binding
		if _, err := x.tx.Get(rolecall.ObjBinding, k, &b); err != nil {
			return nil, err
		}
		if keep(b) {
			out = append(out, b)
		}
	}
	return out, nil
}

// wildcard resolves the request's scope: "*" stands for every node of the
// organization (a wildcard binding at it).
func (x *acting) place() (scope string, wildcard bool, err error) {
	if x.r.Scope != "*" {
		return x.r.Scope, false, nil
	}
	org := x.r.Org
	if org == "" && !x.actor.Operator {
		orgs, err := x.orgsOf(x.actor.User)
		if err != nil {
			return "", false, err
		}
		if len(orgs) == 1 {
			org = orgs[0]
		}
	}
	if org == "" {
		return "", false, x.invalid("scope", `"*" stands for every node of an organization; give the organization`)
	}
	return org, true, nil
}

// bindRole binds a role to a user at a node (or on "*").
func (x *acting) bindRole() error {
	if err := x.need("user", "role"); err != nil {
		return err
	}
	if x.r.Resource != nil {
		ch, err := x.enterResource()
		if err != nil {
			return err
		}
		return x.bind(ch, rolecall.Binding{Subject: rolecall.UserSubject(x.r.User), Role: x.r.Role, Resource: x.r.Resource,
			NotBefore: x.r.NotBefore, NotAfter: x.r.NotAfter})
	}
	if x.r.Scope == "" {
		where := describeTargets(x.s.m, x.s.m.CustomRoles.BindableAt)
		if r, ok := x.s.m.Role(x.r.Role); ok {
			where = describeTargets(x.s.m, r.BindableAt)
		}
		return x.invalid("scope", "a role is never global: give where to bind %s (%s)", x.r.Role, where)
	}
	scope, wildcard, err := x.place()
	if err != nil {
		return err
	}
	ch, err := x.enterAuthorized(scope)
	if err != nil {
		return err
	}
	return x.bind(ch, rolecall.Binding{Subject: rolecall.UserSubject(x.r.User), Role: x.r.Role, Scope: scope, Wildcard: wildcard,
		NotBefore: x.r.NotBefore, NotAfter: x.r.NotAfter})
}

// bind checks a new binding against the model and its rules and writes it.
func (x *acting) bind(ch []rolecall.Scope, b rolecall.Binding) error {
	r, level, err := x.bindable(ch, b)
	if err != nil {
		return err
	}
	if b.Subject.Kind == rolecall.SubjectUser {
		if err := x.visible(b.Subject.ID); err != nil {
			return err
		}
	}
	if err := x.bindingRules(ch, b, r); err != nil {
		return err
	}
	if err := x.noEscalation(ch[0].ID, r.GrantsAt(levelIndex(x.s.m, level))); err != nil {
		return err
	}
	if err := x.tx.CreateBinding(&b); err != nil {
		return err
	}
	x.done("binding "+b.ID, nil, b)
	return nil
}

// bindable resolves a binding's role and checks that the model lets it be
// bound there, and by this actor; it returns the role and the level.
func (x *acting) bindable(ch []rolecall.Scope, b rolecall.Binding) (*model.Role, string, error) {
	r, ok := x.e.Role(ch[0].ID, b.Role)
	if !ok {
		return nil, "", x.notFound(b.Role, "no such role in %s", x.label(ch[len(ch)-1]))
	}
	level := ch[0].Level
	target := level
	if b.Wildcard {
		if l, ok := x.s.m.Level(level); ok && l.Wildcard != "" {
			target = l.Wildcard
		}
	}
	if b.Resource != nil {
		level, target = "", "resource:"+b.Resource.Type
	}
	if !slices.Contains(r.BindableAt, target) {
		return nil, "", x.refuse("bindable_at", "role %s cannot be bound at %s; it is bound at %s", r.ID, describeTarget(x.s.m, target), describeTargets(x.s.m, r.BindableAt))
	}
	if r.AssignableBy == "operator" && !x.actor.Operator {
		return nil, "", x.refuse("assignable_by", "only the platform operator may assign role %s; ask the operator", r.ID)
	}
	return r, level, nil
}

func levelIndex(m *model.Model, id string) int {
	if l, ok := m.Level(id); ok {
		return l.Index
	}
	return -1
}

func describeTarget(m *model.Model, t string) string {
	if l, ok := m.Level(t); ok {
		return "a " + strings.ToLower(l.Name)
	}
	if strings.HasPrefix(t, "resource:") {
		return "a " + strings.TrimPrefix(t, "resource:")
	}
	return `"` + t + `"`
}

func describeTargets(m *model.Model, ts []string) string {
	var out []string
	for _, t := range ts {
		out = append(out, describeTarget(m, t))
	}
	return strings.Join(out, " or ")
}

// unbindRole removes a user's binding of a role at a node (or on "*", or on
// a resource).
func (x *acting) unbindRole() error {
	if err := x.need("user", "role"); err != nil {
		return err
	}
	var ch []rolecall.Scope
	var where string
	var here func(rolecall.Binding) bool
	if ref := x.r.Resource; ref != nil {
		var err error
		if ch, err = x.enterResource(); err != nil {
			return err
		}
		where = ref.String()
		here = func(b rolecall.Binding) bool { return b.Resource != nil && *b.Resource == *ref }
	} else {
		if err := x.need("scope"); err != nil {
			return err
		}
		scope, wildcard, err := x.place()
		if err != nil {
			return err
		}
		if ch, err = x.enterAuthorized(scope); err != nil {
			return err
		}
		where = x.label(ch[0])
		here = func(b rolecall.Binding) bool { return b.Resource == nil && b.Scope == scope && b.Wildcard == wildcard }
	}
	bs, err := x.bindingsWhere(rolecall.UserSubject(x.r.User), func(b rolecall.Binding) bool { return b.Role == x.r.Role && here(b) })
	if err != nil {
		return err
	}
	if len(bs) == 0 {
		return x.notFound(x.r.User, "does not hold role %s at %s", x.r.Role, where)
	}
	b := bs[0]
	if err := x.unchangedSince(rolecall.ObjBinding, b.ID); err != nil {
		return err
	}
	if err := x.minHolders(ch, b); err != nil {
		return err
	}
	if err := x.tx.Delete(rolecall.ObjBinding, b.ID); err != nil {
		return err
	}
	x.done("binding "+b.ID, b, nil)
	return nil
}

// grantPermissions binds permissions directly to a user at a node, where
// the model allows direct grants.
func (x *acting) grantPermissions() error {
	ch, err := x.atScope("user", "permissions", "scope")
	if err != nil {
		return err
	}
	if _, ok := rule[model.RolesOnlyRule](x.s.m); ok {
		return x.refuse("roles_only", "rights are given through roles only; put %s in a role and bind the role to %s", strings.Join(x.r.Permissions, ", "), x.r.User)
	}
	l, _ := x.s.m.Level(ch[0].Level)
	if l == nil || !x.s.m.Direct.Allowed(l) {
		return x.refuse("direct_grants", "model %s does not allow permissions granted directly at a %s; bind a role instead", x.s.m.ID, ch[0].Level)
	}
	var items []model.GrantItem
	for _, id := range x.r.Permissions {
		p, ok := x.s.m.Perm(id)
		if !ok {
			return x.notFound(id, "no such permission in model %s", x.s.m.ID)
		}
		items = append(items, model.GrantItem{Perm: p})
	}
	if err := x.visible(x.r.User); err != nil {
		return err
	}
	if err := x.noEscalation(x.r.Scope, model.BuildGrantSet(x.s.m, items, nil)); err != nil {
		return err
	}
	// one direct binding per user and node: merge with the existing one
	bs, err := x.bindingsOf(rolecall.UserSubject(x.r.User), x.r.Scope)
	if err != nil {
		return err
	}
	var before *rolecall.Binding
	perms := slices.Clone(x.r.Permissions)
	for _, b := range bs {
		if len(b.Permissions) > 0 && b.NotBefore.Equal(x.r.NotBefore) && b.NotAfter.Equal(x.r.NotAfter) {
			before = &b
			perms = append(slices.Clone(b.Permissions), perms...)
			if err := x.tx.Delete(rolecall.ObjBinding, b.ID); err != nil {
				return err
			}
			break
		}
	}
	slices.Sort(perms)
	perms = slices.Compact(perms)
	nb := rolecall.Binding{Subject: rolecall.UserSubject(x.r.User), Permissions: perms, Scope: x.r.Scope, NotBefore: x.r.NotBefore, NotAfter: x.r.NotAfter}
	if err := x.tx.CreateBinding(&nb); err != nil {
		return err
	}
	x.done("binding "+nb.ID, before, nb)
	return nil
}

// revokePermissions takes directly granted permissions back.
func (x *acting) revokePermissions() error {
	ch, err := x.atScope("user", "permissions", "scope")
	if err != nil {
		return err
	}
	bs, err := x.bindingsOf(rolecall.UserSubject(x.r.User), x.r.Scope)
	if err != nil {
		return err
	}
	for _, b := range bs {
		if len(b.Permissions) == 0 {
			continue
		}
		rest := slices.DeleteFunc(slices.Clone(b.Permissions), func(p string) bool { return slices.Contains(x.r.Permissions, p) })
		if err := x.tx.Delete(rolecall.ObjBinding, b.ID); err != nil {
			return err
		}
		var after any
		if len(rest) > 0 {
			nb := b
			nb.ID, nb.Permissions = "", rest
			if err := x.tx.CreateBinding(&nb); err != nil {
				return err
			}
			after = nb
		}
		x.done("binding "+b.ID, b, after)
		return nil
	}
	return x.notFound(x.r.User, "holds no permissions granted directly at %s", x.label(ch[0]))
}

// noEscalation refuses to give what the actor does not hold: every
// permission of set must be one the actor holds at scope (compared on
// effective permissions, implications included, or on assigned ones).
func (x *acting) noEscalation(scope string, set *model.GrantSet) error {
	p, ok := rule[model.NoEscalationRule](x.s.m)
	if !ok || x.actor.Operator {
		return nil
	}
	eff, err := x.e.Effective(x.actor.User, rolecall.ScopeTarget(scope), nil)
	if err != nil {
		return err
	}
	held := map[string]bool{}
	for _, e := range eff {
		held[e.Permission] = true
	}
	if p.Compare == "assigned" {
		held = map[string]bool{}
		for _, e := range eff {
			for _, path := range e.Paths {
				if len(path.Chain) <= 1 {
					held[e.Permission] = true
				}
			}
		}
	}
	var lacking []string
	items := set.Items
	for _, it := range items {
		if !held[it.Perm.ID] {
			lacking = append(lacking, it.Perm.ID)
		}
	}
	if len(items) == 0 {
		for _, q := range x.s.m.Perms {
			if set.Any.Has(q.Index) && !held[q.ID] {
				lacking = append(lacking, q.ID)
			}
		}
	}
	if len(lacking) == 0 {
		return nil
	}
	s, _ := x.scope(scope)
	return x.refuse("no_escalation", "%s does not hold %s in %s and so cannot grant it; an admin must grant it to %s first, or grant it to %s directly",
		x.actor.User, strings.Join(lacking, ", "), x.label(s), x.actor.User, x.r.User)
}

// visible refuses to pick a user the actor shares no node of the rule's
// level with (visibility: share_membership).
func (x *acting) visible(user string) error {
	p, ok := rule[model.VisibilityRule](x.s.m)
	if !ok || x.actor.Operator || p.Subjects != "share_membership" {
		return nil
	}
	mine, err := x.memberNodes(x.actor.User, p.Level)
	if err != nil {
		return err
	}
	theirs, err := x.memberNodes(user, p.Level)
	if err != nil {
		return err
	}
	for n := range theirs {
		if mine[n] {
			return nil
		}
	}
	return x.notFound(user, "no such user among the members of your %ss", p.Level)
}

// memberNodes lists the nodes of a level a user is a member of, in the
// act's organization.
func (x *acting) memberNodes(user, level string) (map[string]bool, error) {
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjMembership, Org: x.org, User: user})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, k := range ks {
		var ms rolecall.Membership
		if _, err := x.tx.Get(rolecall.ObjMembership, k, &ms); err != nil {
			return nil, err
		}
		s, err := x.scope(ms.Scope)
		if err != nil {
			return nil, err
		}
		if level == "" || s.Level == level {
			out[s.ID] = true
		}
	}
	return out, nil
}

// minHolders refuses to remove the last holders of a role the model says
// an organization keeps.
func (x *acting) minHolders(ch []rolecall.Scope, b rolecall.Binding) error {
	p, ok := rule[model.MinHoldersRule](x.s.m)
	if !ok || b.Role != p.Role {
		return nil
	}
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjBinding, Org: x.org})
	if err != nil {
		return err
	}
	holders := map[string]bool{}
	for _, k := range ks {
		var o rolecall.Binding
		if _, err := x.tx.Get(rolecall.ObjBinding, k, &o); err != nil {
			return err
		}
		now := x.s.now()
		active := (o.NotBefore.IsZero() || !now.Before(o.NotBefore)) && (o.NotAfter.IsZero() || now.Before(o.NotAfter))
		if o.Role == p.Role && o.ID != b.ID && o.Subject.Kind == rolecall.SubjectUser && active {
			holders[o.Subject.ID] = true
		}
	}
	if len(holders) >= p.Count {
		return nil
	}
	org := ch[len(ch)-1]
	name := p.Role
	if r, ok := x.e.Role(org.ID, p.Role); ok && r.Name != "" {
		name = r.Name
	}
	return x.refuse("min_holders", "%s must keep at least %s %s; assign the %s role to another member first", orgName(org), countWord(p.Count, name), "", name)
}

func orgName(s rolecall.Scope) string {
	if s.Name != "" {
		return s.Name
	}
	return s.ID
}

func countWord(n int, what string) string {
	if n == 1 {
		return "one " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// bindingRules applies the model's rules about where a member may hold
// roles: one role per node, exclusive levels, access that comes through a
// group, bindings that cannot be overridden below, wildcard advice.
func (x *acting) bindingRules(ch []rolecall.Scope, b rolecall.Binding, r *model.Role) error {
	if b.Subject.Kind == rolecall.SubjectUser && b.Resource == nil {
		if err := x.levelRules(ch, b); err != nil {
			return err
		}
		if err := x.groupLocked(ch, b); err != nil {
			return err
		}
		if err := x.oneRolePerNode(ch, b); err != nil {
			return err
		}
	}
	if p, ok := rule[model.WildcardAdvisoryRule](x.s.m); ok && b.Wildcard && !slices.Contains(p.ExceptRoles, r.ID) {
		msg := p.Message
		if msg == "" {
			msg = "wildcard bindings are advised against"
		}
		x.warn("%s (binding %s on %s)", msg, r.ID, x.s.wildcardToken(ch[0].Level))
	}
	return nil
}

func (s *Service) wildcardToken(level string) string {
	if l, ok := s.m.Level(level); ok && l.Wildcard != "" {
		return `"` + l.Wildcard + `"`
	}
	return level
}

// userBindings lists the bindings a user holds in the act's organization,
// each with the node it sits at.
func (x *acting) userBindings(user string) ([]rolecall.Binding, []rolecall.Scope, error) {
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjBinding, Org: x.org, User: user})
	if err != nil {
		return nil, nil, err
	}
	var bs []rolecall.Binding
	var at []rolecall.Scope
	for _, k := range ks {
		var b rolecall.Binding
		if _, err := x.tx.Get(rolecall.ObjBinding, k, &b); err != nil {
			return nil, nil, err
		}
		if b.Scope == "" {
			continue
		}
		s, err := x.scope(b.Scope)
		if err != nil {
			return nil, nil, err
		}
		bs, at = append(bs, b), append(at, s)
	}
	return bs, at, nil
}

func (x *acting) roleName(scope, id string) string {
	if r, ok := x.e.Role(scope, id); ok && r.Name != "" {
		return r.Name
	}
	return id
}

// levelRules applies exclusive_levels (a member holds roles at one of the
// levels, never at two) and not_overridable (a role at the level cannot be
// overridden below it).
func (x *acting) levelRules(ch []rolecall.Scope, b rolecall.Binding) error {
	user, level := b.Subject.ID, ch[0].Level
	bs, at, err := x.userBindings(user)
	if err != nil {
		return err
	}
	if p, ok := rule[model.ExclusiveLevelsRule](x.s.m); ok && slices.Contains(p.Levels, level) {
		for i, o := range bs {
			if o.Role == "" || at[i].Level == level || !slices.Contains(p.Levels, at[i].Level) {
				continue
			}
			return x.refuse("exclusive_levels", "%s holds the %s-wide role %s in %s; a member holds roles at the %s or per %s, never both; change %s's role in %s instead",
				user, at[i].Level, x.roleName(o.Scope, o.Role), x.label(at[i]), at[i].Level, level, user, x.label(at[i]))
		}
	}
	if p, ok := rule[model.NotOverridableRule](x.s.m); ok && level != p.Level {
		for i, o := range bs {
			if o.Role == "" || at[i].Level != p.Level || !slices.ContainsFunc(ch[1:], func(s rolecall.Scope) bool { return s.ID == at[i].ID }) {
				continue
			}
			return x.refuse("not_overridable", "%s holds the %s-wide role %s in %s, which cannot be overridden below it; change %s's role there instead",
				user, p.Level, x.roleName(o.Scope, o.Role), x.label(at[i]), user)
		}
	}
	return nil
}

// groupLocked refuses a manual binding where the user's access already
// comes through a group (group_bindings_locked).
func (x *acting) groupLocked(ch []rolecall.Scope, b rolecall.Binding) error {
	if _, ok := rule[model.GroupBindingsLockedRule](x.s.m); !ok {
		return nil
	}
	gks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjGroupMember, Org: x.org, User: b.Subject.ID})
	if err != nil {
		return err
	}
	for _, k := range gks {
		var gm rolecall.GroupMember
		if _, err := x.tx.Get(rolecall.ObjGroupMember, k, &gm); err != nil {
			return err
		}
		gbs, err := x.bindingsOf(rolecall.GroupSubject(gm.Group), b.Scope)
		if err != nil {
			return err
		}
		if len(gbs) > 0 {
			return x.refuse("group_bindings_locked", "%s's access to %s comes through %s %s; change the %s's assignment, or remove %s from %s first",
				b.Subject.ID, x.label(ch[0]), x.s.groupWord(), gm.Group, x.s.groupWord(), b.Subject.ID, gm.Group)
		}
	}
	return nil
}

// oneRolePerNode replaces the user's role at the node, where the model
// keeps one role per member and node.
func (x *acting) oneRolePerNode(ch []rolecall.Scope, b rolecall.Binding) error {
	p, ok := rule[model.OneRolePerNodeRule](x.s.m)
	if !ok || !slices.Contains(p.Levels, ch[0].Level) {
		return nil
	}
	bs, err := x.bindingsOf(b.Subject, b.Scope)
	if err != nil {
		return err
	}
	for _, o := range bs {
		if o.Role != "" && o.Wildcard == b.Wildcard {
			if o.Role != b.Role {
				if err := x.minHolders(ch, o); err != nil {
					return err
				}
			}
			if err := x.tx.Delete(rolecall.ObjBinding, o.ID); err != nil {
				return err
			}
			x.before = o
		}
	}
	return nil
}

// defaultRoleOf returns the default role a member carries at the model's
// default-role level above a node, or "".
func (x *acting) defaultRoleOf(user string, ch []rolecall.Scope) (string, error) {
	at := x.s.m.Members.DefaultRoleAt
	if at == nil {
		return "", nil
	}
	for _, s := range ch {
		if s.Level != at.ID {
			continue
		}
		var ms rolecall.Membership
		found, err := x.tx.Get(rolecall.ObjMembership, (&rolecall.Membership{User: user, Scope: s.ID}).Key(), &ms)
		if err != nil || !found {
			return "", err
		}
		return ms.DefaultRole, nil
	}
	return "", nil
}

// enterResource enters the organization of the request's resource and
// authorizes the act on it; it returns the resource's home node chain.
func (x *acting) enterResource() ([]rolecall.Scope, error) {
	var r rolecall.Resource
	found, err := x.tx.Get(rolecall.ObjResource, x.r.Resource.String(), &r)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, x.notFound(x.r.Resource.String(), "no such resource")
	}
	ch, err := x.resourceChain(r)
	if err != nil {
		return nil, err
	}
	if _, err := x.enter(ch[0].ID); err != nil {
		return nil, x.notFound(x.r.Resource.String(), "no such resource")
	}
	if err := x.authorize(rolecall.ResourceTarget(r.Type, r.ID), ch); err != nil {
		return nil, err
	}
	return ch, nil
}
