package engine

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

// The directory reads below list what an organization holds (its scope
// nodes, groups, bindings, custom roles and offers) as stored, for pages and
// listings that show them. They read the index without I/O and authorize
// nothing: callers decide who may see what.

// Scope returns a scope node as stored.
func (e *Engine) Scope(id string) (rolecall.Scope, bool) {
	n, ok := e.nodes[id]
	if !ok || e.nodeList.at(n).dead {
		return rolecall.Scope{}, false
	}
	return e.scopeOf(n), true
}

func (e *Engine) scopeOf(n int32) rolecall.Scope {
	nd := e.nodeList.at(n)
	s := rolecall.Scope{ID: nd.id, Level: nd.level.ID, Name: nd.name, Attrs: nd.attrs}
	if nd.parent >= 0 {
		s.Parent = e.nodeList.at(nd.parent).id
	}
	return s
}

// Scopes returns the scope nodes of an organization in tree order: the
// organization first, then each node followed by the nodes below it, the
// children of a node by name and id.
func (e *Engine) Scopes(org string) []rolecall.Scope {
	o, ok := e.nodes[org]
	if !ok || e.nodeList.at(o).dead {
		return nil
	}
	children := map[int32][]int32{}
	for i := range e.nodeList.n {
		nd := e.nodeList.at(i)
		if nd.dead || nd.org != o || i == o {
			continue
		}
		children[nd.parent] = append(children[nd.parent], i)
	}
	out := make([]rolecall.Scope, 0, len(children)+1)
	var walk func(n int32)
	walk = func(n int32) {
		out = append(out, e.scopeOf(n))
		kids := children[n]
		slices.SortFunc(kids, func(a, b int32) int {
			x, y := e.nodeList.at(a), e.nodeList.at(b)
			return cmp.Or(cmp.Compare(x.name, y.name), cmp.Compare(x.id, y.id))
		})
		for _, k := range kids {
			walk(k)
		}
	}
	walk(o)
	return out
}

// User returns a user as stored.
func (e *Engine) User(id string) (rolecall.User, bool) {
	u, ok := e.users.get(id)
	if !ok || e.userList.at(u).dead {
		return rolecall.User{}, false
	}
	ur := e.userList.at(u)
	return rolecall.User{ID: ur.id, Name: ur.name, Email: ur.email, Attrs: ur.attrs}, true
}

// UserByEmail returns the id of the user with an email address (compared
// without regard to case).
func (e *Engine) UserByEmail(email string) (string, bool) {
	if email == "" {
		return "", false
	}
	for u := range e.userList.v.n {
		if ur := e.userList.at(u); !ur.dead && strings.EqualFold(ur.email, email) {
			return ur.id, true
		}
	}
	return "", false
}

// Orgs returns the organizations a user is a member of (at any node), in id
// order.
func (e *Engine) Orgs(user string) []string {
	u, ok := e.users.get(user)
	if !ok {
		return nil
	}
	var out []string
	for _, n := range e.userList.at(u).member {
		out = append(out, e.nodeList.at(e.nodeList.at(n).org).id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Memberships returns a user's memberships of the nodes of an organization,
// in tree order of Scopes.
func (e *Engine) Memberships(user, org string) []rolecall.Membership {
	u, ok := e.users.get(user)
	o, ok2 := e.nodes[org]
	if !ok || !ok2 {
		return nil
	}
	ur := e.userList.at(u)
	var out []rolecall.Membership
	for i, n := range ur.member {
		if e.nodeList.at(n).org == o {
			out = append(out, rolecall.Membership{User: ur.id, Scope: e.nodeList.at(n).id, DefaultRole: ur.defRole[i]})
		}
	}
	slices.SortFunc(out, func(a, b rolecall.Membership) int {
		return cmp.Or(cmp.Compare(e.nodeList.at(e.nodes[a.Scope]).level.Index, e.nodeList.at(e.nodes[b.Scope]).level.Index),
			cmp.Compare(a.Scope, b.Scope))
	})
	return out
}

// Bindings returns the bindings a subject (a user or a group) holds in an
// organization, every organization's when org is "", in id order. A
// user's list holds only bindings made to the user; GroupBindings gives
// those the user holds through groups.
func (e *Engine) Bindings(sub rolecall.SubjectRef, org string) []rolecall.Binding {
	var idx []int32
	switch sub.Kind {
	case rolecall.SubjectGroup:
		g, ok := e.groups[sub.ID]
		if !ok {
			return nil
		}
		idx = e.groupList.at(g).bindings
	default:
		u, ok := e.users.get(sub.ID)
		if !ok {
			return nil
		}
		idx = e.userList.at(u).bindings
	}
	return e.bindingList(idx, org)
}

func (e *Engine) bindingList(idx []int32, org string) []rolecall.Binding {
	o := int32(-1)
	if org != "" {
		n, ok := e.nodes[org]
		if !ok {
			return nil
		}
		o = n
	}
	var out []rolecall.Binding
	for _, bi := range idx {
		b := e.bindings.at(bi)
		if b.dead || (o >= 0 && e.bindingOrg(&b.Binding) != o) {
			continue
		}
		out = append(out, b.Binding)
	}
	slices.SortFunc(out, func(a, b rolecall.Binding) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// bindingOrg is the organization node of a binding's place, -1 if it has
// none.
func (e *Engine) bindingOrg(b *rolecall.Binding) int32 {
	if b.Resource != nil {
		if r, ok := e.resolveRes(*b.Resource); ok {
			return e.nodeList.at(e.resList.at(r).node).org
		}
		return -1
	}
	if n, ok := e.nodes[b.Scope]; ok {
		return e.nodeList.at(n).org
	}
	return -1
}

// GroupInfo is a group as listings show it: the group as stored, and its
// members (for an all-members group, every member of its node and below).
type GroupInfo struct {
	rolecall.Group
	Members []string `json:"members"`
}

// Group returns one group and its members.
func (e *Engine) Group(id string) (GroupInfo, bool) {
	g, ok := e.groups[id]
	if !ok || e.groupList.at(g).dead {
		return GroupInfo{}, false
	}
	return e.groupInfo(g), true
}

func (e *Engine) groupInfo(g int32) GroupInfo {
	gr := e.groupList.at(g)
	gi := GroupInfo{Group: rolecall.Group{ID: gr.id, Name: gr.name, Scope: e.nodeList.at(gr.node).id, AllMembers: gr.allMembers}}
	gi.Members = make([]string, 0, len(gr.members))
	for _, u := range gr.members {
		if ur := e.userList.at(u); !ur.dead {
			gi.Members = append(gi.Members, ur.id)
		}
	}
	slices.Sort(gi.Members)
	return gi
}

// GroupResources returns the resources assigned to a group (up to limit,
// in id order), and how many there are in all.
func (e *Engine) GroupResources(group string, limit int) (refs []rolecall.ResourceRef, total int) {
	g, ok := e.groups[group]
	if !ok {
		return nil, 0
	}
	for r := range e.resList.v.n {
		rr := e.resList.at(r)
		if rr.dead || !slices.Contains(rr.groups, g) {
			continue
		}
		total++
		refs = append(refs, rolecall.ResourceRef{Type: rr.typ.ID, ID: rr.id})
	}
	slices.SortFunc(refs, func(a, b rolecall.ResourceRef) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
	if len(refs) > limit {
		refs = refs[:limit]
	}
	return refs, total
}

// Groups returns the groups of an organization (living at any node of it),
// by name and id.
func (e *Engine) Groups(org string) []GroupInfo {
	o, ok := e.nodes[org]
	if !ok {
		return nil
	}
	var out []GroupInfo
	for g := range e.groupList.v.n {
		gr := e.groupList.at(g)
		if gr.dead || e.nodeList.at(gr.node).org != o {
			continue
		}
		out = append(out, e.groupInfo(g))
	}
	slices.SortFunc(out, func(a, b GroupInfo) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// UserGroups returns the groups of an organization a user is in (put there,
// or as a member of an all-members group's node), by id.
func (e *Engine) UserGroups(user, org string) []string {
	u, ok := e.users.get(user)
	o, ok2 := e.nodes[org]
	if !ok || !ok2 {
		return nil
	}
	var out []string
	for _, g := range e.userList.at(u).groups {
		if gr := e.groupList.at(g); !gr.dead && e.nodeList.at(gr.node).org == o {
			out = append(out, gr.id)
		}
	}
	slices.Sort(out)
	return out
}

// CustomRoles returns the custom roles of an organization (owned by it or
// by a node of it), by name and id.
func (e *Engine) CustomRoles(org string) []*model.Role {
	o, ok := e.nodes[org]
	if !ok {
		return nil
	}
	var out []*model.Role
	for n, roles := range e.custom {
		if e.nodeList.at(n).org != o {
			continue
		}
		for _, r := range roles {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *model.Role) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Offers returns the offers an organization sent (of its resources) and
// those it received (made to its members), by id.
func (e *Engine) Offers(org string) (sent, received []rolecall.Offer) {
	o, ok := e.nodes[org]
	if !ok {
		return nil, nil
	}
	for i := range e.offers.n {
		of := e.offers.at(i)
		if of.dead {
			continue
		}
		if r, ok := e.resolveRes(of.Resource); ok && e.nodeList.at(e.resList.at(r).node).org == o {
			sent = append(sent, of.Offer)
		}
		if u, ok := e.users.get(of.Recipient); ok {
			for _, n := range e.userList.at(u).member {
				if e.nodeList.at(n).org == o {
					received = append(received, of.Offer)
					break
				}
			}
		}
	}
	byID := func(a, b rolecall.Offer) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(sent, byID)
	slices.SortFunc(received, byID)
	return sent, received
}

// Tenants returns the ids of every organization (tenant-level node), in id
// order.
func (e *Engine) Tenants() []string {
	var out []string
	for i := range e.nodeList.n {
		if nd := e.nodeList.at(i); !nd.dead && nd.level == e.m.Tenant {
			out = append(out, nd.id)
		}
	}
	slices.Sort(out)
	return out
}
