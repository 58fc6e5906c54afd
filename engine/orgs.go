package engine

import "github.com/rolecall/rolecall"

// onlyOrgs returns the part of a snapshot that belongs to the given
// organizations, for a replica that holds only some: their scope nodes and
// everything in them, every user (users are global identities; a
// membership added later must find its user). An offer is kept with the
// organization of the resource it offers, so offers between organizations
// need both on the same replicas.
func onlyOrgs(s *rolecall.Snapshot, orgs map[string]bool) *rolecall.Snapshot {
	parent := make(map[string]string, len(s.Scopes))
	for _, sc := range s.Scopes {
		parent[sc.ID] = sc.Parent
	}
	orgOf := map[string]string{}
	var org func(string) string
	org = func(id string) string {
		if o, ok := orgOf[id]; ok {
			return o
		}
		o := id
		if p := parent[id]; p != "" {
			o = org(p)
		}
		orgOf[id] = o
		return o
	}
	keep := func(scope string) bool { return orgs[org(scope)] }
	res := make(map[rolecall.ResourceRef]*rolecall.Resource, len(s.Resources))
	for i := range s.Resources {
		res[s.Resources[i].Ref()] = &s.Resources[i]
	}
	var resOrg func(rolecall.ResourceRef, int) string
	resOrg = func(ref rolecall.ResourceRef, depth int) string {
		r := res[ref]
		switch {
		case r == nil || depth > 64:
			return ""
		case r.Scope != "":
			return org(r.Scope)
		case r.Parent != nil:
			return resOrg(*r.Parent, depth+1)
		}
		return ""
	}
	groups := map[string]bool{}
	out := &rolecall.Snapshot{Revision: s.Revision, Users: s.Users}
	for _, x := range s.Scopes {
		if keep(x.ID) {
			out.Scopes = append(out.Scopes, x)
		}
	}
	for _, x := range s.Memberships {
		if keep(x.Scope) {
			out.Memberships = append(out.Memberships, x)
		}
	}
	for _, x := range s.Groups {
		if keep(x.Scope) {
			out.Groups = append(out.Groups, x)
			groups[x.ID] = true
		}
	}
	for _, x := range s.GroupMembers {
		if groups[x.Group] {
			out.GroupMembers = append(out.GroupMembers, x)
		}
	}
	for _, x := range s.Resources {
		if orgs[resOrg(x.Ref(), 0)] {
			out.Resources = append(out.Resources, x)
		}
	}
	for _, x := range s.Roles {
		if orgs[x.Org] {
			out.Roles = append(out.Roles, x)
		}
	}
	for _, x := range s.Bindings {
		if (x.Resource != nil && orgs[resOrg(*x.Resource, 0)]) || (x.Resource == nil && keep(x.Scope)) {
			out.Bindings = append(out.Bindings, x)
		}
	}
	for _, x := range s.Offers {
		if orgs[resOrg(x.Resource, 0)] {
			out.Offers = append(out.Offers, x)
		}
	}
	return out
}
