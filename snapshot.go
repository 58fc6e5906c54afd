package rolecall

// maxDepth bounds the walks up a chain of parents (scopes, resources), so
// that a malformed snapshot cannot loop.
const maxDepth = 64

// Part returns the part of a snapshot that belongs to the organizations
// keep accepts: their scope nodes, the memberships, groups (with their
// members), resources, custom roles, bindings and offers there. A
// resource belongs where its home scope is (a child resource where its
// top parent is), a binding on a resource where the resource does, an
// offer where the resource it offers does. Users are identities of no
// organization: all are kept. The revision is the snapshot's.
func (s *Snapshot) Part(keep func(org string) bool) *Snapshot {
	parent := make(map[string]string, len(s.Scopes))
	for _, sc := range s.Scopes {
		parent[sc.ID] = sc.Parent
	}
	inOrg := func(scope string) bool {
		for i := 0; i < maxDepth && parent[scope] != ""; i++ {
			scope = parent[scope]
		}
		return keep(scope)
	}
	res := make(map[ResourceRef]*Resource, len(s.Resources))
	for i := range s.Resources {
		res[s.Resources[i].Ref()] = &s.Resources[i]
	}
	resIn := func(ref ResourceRef) bool {
		for i := 0; i < maxDepth; i++ {
			r := res[ref]
			switch {
			case r == nil:
				return false
			case r.Parent == nil:
				return inOrg(r.Scope)
			}
			ref = *r.Parent
		}
		return false
	}
	out := &Snapshot{Revision: s.Revision, Users: s.Users}
	for _, x := range s.Scopes {
		if inOrg(x.ID) {
			out.Scopes = append(out.Scopes, x)
		}
	}
	for _, x := range s.Memberships {
		if inOrg(x.Scope) {
			out.Memberships = append(out.Memberships, x)
		}
	}
	groups := map[string]bool{}
	for _, x := range s.Groups {
		if inOrg(x.Scope) {
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
		if resIn(x.Ref()) {
			out.Resources = append(out.Resources, x)
		}
	}
	for _, x := range s.Roles {
		if keep(x.Org) {
			out.Roles = append(out.Roles, x)
		}
	}
	for _, x := range s.Bindings {
		if (x.Resource != nil && resIn(*x.Resource)) || (x.Resource == nil && inOrg(x.Scope)) {
			out.Bindings = append(out.Bindings, x)
		}
	}
	for _, x := range s.Offers {
		if resIn(x.Resource) {
			out.Offers = append(out.Offers, x)
		}
	}
	return out
}
