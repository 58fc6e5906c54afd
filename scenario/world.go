package scenario

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/yamlx"
	"github.com/rolecall/rolecall/model"
)

// world is the state a case runs in: the fixture, then the case's given,
// then its set steps. Entries with the id of an existing entry replace it.
type world struct {
	scopes    []scopeDoc
	users     []userDoc
	members   []memberDoc
	groups    []groupDoc
	resources []resourceDoc
	roles     []roleDoc
	bindings  []bindingDoc
	offers    []offerDoc
}

func (w *world) clone() *world {
	c := *w
	c.scopes = slices.Clone(w.scopes)
	c.users = slices.Clone(w.users)
	c.members = slices.Clone(w.members)
	c.groups = slices.Clone(w.groups)
	c.resources = slices.Clone(w.resources)
	c.roles = slices.Clone(w.roles)
	c.bindings = slices.Clone(w.bindings)
	c.offers = slices.Clone(w.offers)
	return &c
}

func upsert[T any](list []T, items []T, key func(T) string) []T {
	for _, it := range items {
		k := key(it)
		i := -1
		if k != "" {
			i = slices.IndexFunc(list, func(x T) bool { return key(x) == k })
		}
		if i >= 0 {
			list[i] = it
		} else {
			list = append(list, it)
		}
	}
	return list
}

func (w *world) apply(f *fixtureDoc) {
	if f == nil {
		return
	}
	w.scopes = upsert(w.scopes, f.Scopes, func(s scopeDoc) string { return s.ID.V })
	w.users = upsert(w.users, f.Users, func(u userDoc) string { return u.ID.V })
	w.members = upsert(w.members, f.Members, func(m memberDoc) string { return m.User.V + "@" + m.Scope.V })
	w.groups = upsert(w.groups, f.Groups, func(g groupDoc) string { return g.ID.V })
	w.resources = upsert(w.resources, f.Resources, func(r resourceDoc) string { return r.Type.V + ":" + r.ID.V })
	w.roles = upsert(w.roles, f.Roles, func(r roleDoc) string { return r.Org.V + "/" + r.Scope.V + "/" + r.ID.V })
	w.bindings = upsert(w.bindings, f.Bindings, func(b bindingDoc) string { return b.ID.V })
	w.offers = upsert(w.offers, f.Offers, func(o offerDoc) string { return o.ID.V })
}

// patch merges attributes into one resource.
func (w *world) patch(ref str, attrs map[string]any) error {
	r, err := parseRef(ref)
	if err != nil {
		return err
	}
	for i := range w.resources {
		if w.resources[i].Type.V == r.Type && w.resources[i].ID.V == r.ID {
			merged := map[string]any{}
			for k, v := range w.resources[i].Attrs {
				merged[k] = v
			}
			for k, v := range attrs {
				merged[k] = v
			}
			w.resources[i].Attrs = merged
			return nil
		}
	}
	return posErr(ref.Pos, "set: no resource %s in the fixture", ref.V)
}

// posError is an error at a line of the scenario file.
type posError struct {
	yamlx.Pos
	msg string
}

func (e *posError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.msg) }

func posErr(p yamlx.Pos, format string, args ...any) error {
	return &posError{Pos: p, msg: fmt.Sprintf(format, args...)}
}

func parseRef(s str) (rolecall.ResourceRef, error) {
	r, err := rolecall.ParseResourceRef(s.V)
	if err != nil {
		return r, posErr(s.Pos, "resource %q: write it as \"type:id\"", s.V)
	}
	return r, nil
}

func parseTime(s str) (time.Time, error) {
	if s.V == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s.V); err == nil {
			return t, nil
		}
	}
	return time.Time{}, posErr(s.Pos, "time %q: use RFC 3339 (2026-12-31T00:00:00Z) or a date (2026-12-31)", s.V)
}

// normalize turns YAML values into the types conditions expect.
func normalize(attrs map[string]any) map[string]any {
	if attrs == nil {
		return nil
	}
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		switch x := v.(type) {
		case int:
			out[k] = int64(x)
		case []any:
			ss := make([]string, 0, len(x))
			for _, e := range x {
				ss = append(ss, fmt.Sprint(e))
			}
			out[k] = ss
		default:
			out[k] = v
		}
	}
	return out
}

func strs(l []str) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s.V
	}
	return out
}

// data converts the world into engine data, resolving "*" scopes and
// applying the model's on_join grants.
func (w *world) data(m *model.Model) (*engine.Data, error) {
	d := &engine.Data{}
	var errs rolecall.Errors
	levelOf := map[string]string{}
	parentOf := map[string]string{}
	for _, s := range w.scopes {
		d.Scopes = append(d.Scopes, rolecall.Scope{ID: s.ID.V, Level: s.Level.V, Parent: s.Parent.V, Name: s.Name, Attrs: normalize(s.Attrs)})
		levelOf[s.ID.V] = s.Level.V
		parentOf[s.ID.V] = s.Parent.V
	}
	orgOf := func(n string) string {
		for i := 0; i < 64 && parentOf[n] != ""; i++ {
			n = parentOf[n]
		}
		return n
	}
	for _, u := range w.users {
		d.Users = append(d.Users, rolecall.User{ID: u.ID.V, Name: u.Name, Email: u.Email, Attrs: normalize(u.Attrs)})
	}
	userOrgs := map[string][]string{}
	for _, ms := range w.members {
		d.Memberships = append(d.Memberships, rolecall.Membership{User: ms.User.V, Scope: ms.Scope.V, DefaultRole: ms.DefaultRole.V})
		if o := orgOf(ms.Scope.V); !slices.Contains(userOrgs[ms.User.V], o) {
			userOrgs[ms.User.V] = append(userOrgs[ms.User.V], o)
		}
		if ms.Join {
			l, ok := m.Level(levelOf[ms.Scope.V])
			if !ok {
				errs = append(errs, posErr(ms.Pos, "member %s: scope %q is not in the fixture", ms.User.V, ms.Scope.V))
				continue
			}
			bits, ok := m.Members.OnJoin[l.Index]
			if !ok {
				errs = append(errs, posErr(ms.Pos, "member %s: join: true, but model %s grants nothing on joining a %s (members.on_join)", ms.User.V, m.ID, l.ID))
				continue
			}
			d.Bindings = append(d.Bindings, rolecall.Binding{Subject: rolecall.UserSubject(ms.User.V), Permissions: m.PermNames(bits), Scope: ms.Scope.V})
		}
	}
	groupOrg := map[string]string{}
	for _, g := range w.groups {
		d.Groups = append(d.Groups, rolecall.Group{ID: g.ID.V, Scope: g.Scope.V, Name: g.Name, AllMembers: g.AllMembers, Attrs: normalize(g.Attrs)})
		groupOrg[g.ID.V] = orgOf(g.Scope.V)
		for _, u := range g.Members {
			d.GroupMembers = append(d.GroupMembers, rolecall.GroupMember{Group: g.ID.V, User: u.V})
		}
	}
	for _, r := range w.resources {
		res, err := resourceOf(&r, r.Type.V)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.Resources = append(d.Resources, res)
	}
	for _, r := range w.roles {
		role := rolecall.Role{ID: r.ID.V, Org: r.Org.V, Scope: r.Scope.V, Name: r.Name, Description: r.Description}
		for _, g := range r.Grants.Items {
			role.Grants = append(role.Grants, rolecall.Grant{Permission: g.Perm.V, Qualifiers: strs(g.Quals)})
		}
		d.Roles = append(d.Roles, role)
	}
	for _, b := range w.bindings {
		bd := rolecall.Binding{ID: b.ID.V, Role: b.Role.V, Permissions: strs(b.Permissions), DefaultRole: b.DefaultRole, Scope: b.Scope.V, Wildcard: b.Wildcard}
		switch {
		case b.User.V != "" && b.Group.V == "":
			bd.Subject = rolecall.UserSubject(b.User.V)
		case b.Group.V != "" && b.User.V == "":
			bd.Subject = rolecall.GroupSubject(b.Group.V)
		default:
			errs = append(errs, posErr(b.Pos, "binding: give exactly one of user or group"))
			continue
		}
		if b.Resource.V != "" {
			ref, err := parseRef(b.Resource)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			bd.Resource = &ref
		} else if b.Scope.V == "" {
			errs = append(errs, posErr(b.Pos, "binding of %s: give a scope (a node id or \"*\") or a resource", bd.Subject))
			continue
		}
		if b.Scope.V == "*" {
			var orgs []string
			if b.User.V != "" {
				orgs = userOrgs[b.User.V]
			} else if o := groupOrg[b.Group.V]; o != "" {
				orgs = []string{o}
			}
			if len(orgs) != 1 {
				errs = append(errs, posErr(b.Scope.Pos, "binding of %s on \"*\": the subject must be a member of exactly one organization (found %d); write the organization's id with wildcard: true", bd.Subject, len(orgs)))
				continue
			}
			bd.Scope, bd.Wildcard = orgs[0], true
		}
		var err error
		if bd.NotBefore, bd.NotAfter, err = bounds(b.NotBefore, b.NotAfter); err != nil {
			errs = append(errs, err)
			continue
		}
		d.Bindings = append(d.Bindings, bd)
	}
	for _, o := range w.offers {
		ref, err := parseRef(o.Resource)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		od := rolecall.Offer{ID: o.ID.V, Kind: o.Kind.V, Resource: ref, Recipient: o.Recipient.V, State: o.State.V}
		if od.NotBefore, od.NotAfter, err = bounds(o.NotBefore, o.NotAfter); err != nil {
			errs = append(errs, err)
			continue
		}
		d.Offers = append(d.Offers, od)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return d, nil
}

// bounds parses a not_before/not_after pair.
func bounds(from, until str) (time.Time, time.Time, error) {
	f, err := parseTime(from)
	if err != nil {
		return f, time.Time{}, err
	}
	u, err := parseTime(until)
	if err == nil && !f.IsZero() && !u.IsZero() && !f.Before(u) {
		err = posErr(until.Pos, "not_after %s is not after not_before %s", until.V, from.V)
	}
	return f, u, err
}

func resourceOf(r *resourceDoc, typ string) (rolecall.Resource, error) {
	res := rolecall.Resource{Type: typ, ID: r.ID.V, Scope: r.Scope.V, Owner: r.Owner.V, Groups: strs(r.Groups), Fields: r.Fields, Attrs: normalize(r.Attrs)}
	if r.Parent.V != "" {
		p, err := parseRef(r.Parent)
		if err != nil {
			return res, err
		}
		res.Parent = &p
	}
	if len(r.Inputs) > 0 {
		res.Inputs = map[string][]rolecall.ResourceRef{}
		for name, refs := range r.Inputs {
			for _, s := range refs {
				ref, err := parseRef(s)
				if err != nil {
					return res, err
				}
				res.Inputs[name] = append(res.Inputs[name], ref)
			}
		}
	}
	return res, nil
}

// target resolves a step's `on` (and `item`).
func target(m *model.Model, t *targetDoc, item str) (rolecall.Target, error) {
	var out rolecall.Target
	switch {
	case t.Proposed != nil:
		res, err := resourceOf(t.Proposed, t.Proposed.New.V)
		if err != nil {
			return out, err
		}
		out.Proposed = &res
	case t.Ref.V == "":
		return out, posErr(t.Pos, "the step has no `on:`; name a scope, a resource (\"type:id\") or {new: type, ...}")
	default:
		if typ, id, ok := strings.Cut(t.Ref.V, ":"); ok {
			if _, isType := m.Resource(typ); isType {
				out.Resource = rolecall.ResourceRef{Type: typ, ID: id}
				break
			}
		}
		out.Scope = t.Ref.V
	}
	if item.V != "" {
		ref, err := parseRef(item)
		if err != nil {
			return out, err
		}
		out.Item = &ref
	}
	return out, nil
}
