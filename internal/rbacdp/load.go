package rbacdp

import (
	"github.com/rolecall/rolecall"
)

// Seed is the seed of the reference workload.
const Seed = 20261122

// Data converts the workload into rolecall's vocabulary: organizations and
// their projects (scope nodes), users (members of their organization),
// groups with their members, datasets and sources (resources in their
// project), and bindings: user and group roles on projects, org_admin on
// the organization. It holds the same facts as the 273,100 relationships.
func (w *Workload) Data() (scopes []rolecall.Scope, users []rolecall.User, members []rolecall.Membership,
	groups []rolecall.Group, groupMembers []rolecall.GroupMember, resources []rolecall.Resource, bindings []rolecall.Binding) {
	p := w.P
	for o := 0; o < p.Orgs; o++ {
		scopes = append(scopes, rolecall.Scope{ID: ID("org", o), Level: "organization"})
	}
	for pr := 0; pr < w.Projects; pr++ {
		scopes = append(scopes, rolecall.Scope{ID: ID("proj", pr), Level: "project", Parent: ID("org", pr/p.ProjectsPerOrg)})
	}
	for u := 0; u < w.Users; u++ {
		users = append(users, rolecall.User{ID: ID("user", u)})
		members = append(members, rolecall.Membership{User: ID("user", u), Scope: ID("org", w.OrgOfUser(u))})
	}
	for g := 0; g < w.Groups; g++ {
		groups = append(groups, rolecall.Group{ID: ID("group", g), Scope: ID("org", g/p.GroupsPerOrg)})
	}
	for u, gs := range w.UserGroups {
		for _, g := range gs {
			groupMembers = append(groupMembers, rolecall.GroupMember{Group: ID("group", g), User: ID("user", u)})
		}
	}
	for d := 0; d < w.Datasets; d++ {
		resources = append(resources, rolecall.Resource{Type: "dataset", ID: ID("ds", d), Scope: ID("proj", d/p.ResPerProject)})
	}
	for s := 0; s < w.Datasets; s++ {
		resources = append(resources, rolecall.Resource{Type: "source", ID: ID("src", s), Scope: ID("proj", s/p.ResPerProject)})
	}
	for o, us := range w.OrgAdmins {
		for _, u := range us {
			bindings = append(bindings, rolecall.Binding{Subject: rolecall.UserSubject(ID("user", u)), Role: "org_admin", Scope: ID("org", o)})
		}
	}
	for u, bs := range w.UserBindings {
		for _, b := range bs {
			bindings = append(bindings, rolecall.Binding{Subject: rolecall.UserSubject(ID("user", u)), Role: Roles[b.Role], Scope: ID("proj", b.Project)})
		}
	}
	for g, ps := range w.GroupProjects {
		for _, pr := range ps {
			bindings = append(bindings, rolecall.Binding{Subject: rolecall.GroupSubject(ID("group", g)), Role: Roles[w.GroupRole[g]], Scope: ID("proj", pr)})
		}
	}
	return
}
