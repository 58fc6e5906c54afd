// Package rbacdp is the reference workload rbac-dp, ported bit for bit from
// the shared benchmark generator (seed 20261122, math/rand/v2 PCG streams
// (seed, 1) for data, (seed, 2) for checks, (seed, 3) for lookups), plus
// its conversion into rolecall data (load.go).
package rbacdp

import (
	"fmt"
	"math/rand/v2"
)

// Workload 'rbac-dp': a role-based data-platform workload, generated
// deterministically from a seed with math/rand/v2's PCG generator.
//
// Entity numbering (all ids are dense integers, printed with a prefix):
//   org_O      O in [0, Orgs)
//   proj_P     P in [0, Orgs*ProjectsPerOrg), org(P) = P / ProjectsPerOrg
//   user_U     U in [0, Orgs*UsersPerOrg),    org(U) = U / UsersPerOrg
//   group_G    G in [0, Orgs*GroupsPerOrg),   org(G) = G / GroupsPerOrg
//   ds_D       D in [0, projects*ResPerProject), project(D) = D / ResPerProject
//   src_S      S in [0, projects*ResPerProject), project(S) = S / ResPerProject

// Permission catalog, in a fixed order (bit i of a mask = Perms[i]).
var Perms = []string{
	"sources_view",           // 0
	"sources_view_sensitive", // 1 implies sources_view
	"sources_admin",          // 2 implies sources_view_sensitive
	"labels_view",            // 3
	"datasets_modify",        // 4 implies labels_view
	"review_and_label",       // 5 implies labels_view
	"datasets_admin",         // 6 implies datasets_modify, review_and_label
	"users_view",             // 7
	"users_modify",           // 8 implies users_view
}

const permLabelsView = 3

func bits(idx ...int) uint16 {
	var m uint16
	for _, i := range idx {
		m |= 1 << i
	}
	return m
}

// Project-scope roles, in the order drawn by the generator.
var Roles = []string{"viewer", "labeller", "dataset_admin"}

// Role masks after closing the implications of the catalog.
var roleMask = []uint16{
	bits(0, 3),                // viewer = {sources_view, labels_view}
	bits(0, 5, 3),             // labeller = {sources_view, review_and_label (+labels_view)}
	bits(2, 1, 0, 6, 4, 5, 3), // dataset_admin = {sources_admin, datasets_admin} closed
}

const orgAdminMask = uint16(1<<9 - 1) // org_admin: all nine permissions

// Params sizes the workload; the defaults are the brief's 'rbac-dp'.
type Params struct {
	Seed             uint64
	Orgs             int
	ProjectsPerOrg   int
	UsersPerOrg      int
	GroupsPerOrg     int
	ResPerProject    int // datasets per project, and as many sources
	GroupsPerUser    int
	ProjectsPerUser  int
	OrgAdminsPerOrg  int
	ProjectsPerGroup int
}

// DefaultParams returns the sizes of the reference workload rbac-dp.
func DefaultParams(seed uint64) Params {
	return Params{
		Seed: seed, Orgs: 10, ProjectsPerOrg: 100, UsersPerOrg: 1000, GroupsPerOrg: 20,
		ResPerProject: 100, GroupsPerUser: 2, ProjectsPerUser: 5, OrgAdminsPerOrg: 10,
		ProjectsPerGroup: 10,
	}
}

// ScaledParams returns rbac-dp at pct percent of its size (100 or more: the
// full size): the same shape with fewer projects, users and resources per
// organization, never so few that a user's projects or an organization's
// admins do not fit.
func ScaledParams(pct int) Params {
	p := DefaultParams(Seed)
	if pct >= 100 {
		return p
	}
	s := func(n, least int) int { return max(least, n*pct/100) }
	p.ProjectsPerOrg = s(p.ProjectsPerOrg, p.ProjectsPerUser*2)
	p.UsersPerOrg = s(p.UsersPerOrg, p.OrgAdminsPerOrg*2)
	p.ResPerProject = s(p.ResPerProject, 2)
	return p
}

// Rel is one relationship: resource#relation@subject[#subjectRelation].
type Rel struct {
	ResType, ResID, Relation string
	SubType, SubID, SubRel   string
}

// Binding is one role of a user on a project.
type Binding struct {
	Project int
	Role    int
}

// Workload is the drawn data and its ground truth.
type Workload struct {
	P Params

	Projects, Users, Groups, Datasets int

	UserGroups    [][]int     // user -> groups
	UserBindings  [][]Binding // user -> direct project roles
	OrgAdmins     [][]int     // org -> users with org_admin
	GroupRole     []int       // group -> role (one role per group)
	GroupProjects [][]int     // group -> projects

	// Ground truth: mask[u][p - org(u)*ProjectsPerOrg] = permissions of user u on project p.
	mask [][]uint16
}

// ID formats an entity id: prefix_i.
func ID(prefix string, i int) string { return fmt.Sprintf("%s_%d", prefix, i) }

// sampleDistinct returns k distinct values of [0, n) (partial Fisher-Yates with r.IntN).
func sampleDistinct(r *rand.Rand, n, k int) []int {
	a := make([]int, n)
	for i := range a {
		a[i] = i
	}
	for i := 0; i < k; i++ {
		j := i + r.IntN(n-i)
		a[i], a[j] = a[j], a[i]
	}
	out := make([]int, k)
	copy(out, a[:k])
	return out
}

// Generate draws the workload. Draw order (one PCG stream, seeded (Seed, 1)):
//  1. for each user in id order: GroupsPerUser distinct groups of its org;
//  2. for each user in id order: ProjectsPerUser distinct projects of its org,
//     then for each of them (in drawn order) a role uniform over Roles;
//  3. for each org in id order: OrgAdminsPerOrg distinct users of the org get org_admin;
//  4. for each group in id order: one role uniform over Roles, then
//     ProjectsPerGroup distinct projects of its org on which the group holds it.
func Generate(p Params) *Workload {
	w := &Workload{P: p}
	w.Projects = p.Orgs * p.ProjectsPerOrg
	w.Users = p.Orgs * p.UsersPerOrg
	w.Groups = p.Orgs * p.GroupsPerOrg
	w.Datasets = w.Projects * p.ResPerProject
	r := rand.New(rand.NewPCG(p.Seed, 1))

	w.UserGroups = make([][]int, w.Users)
	for u := 0; u < w.Users; u++ {
		o := u / p.UsersPerOrg
		gs := sampleDistinct(r, p.GroupsPerOrg, p.GroupsPerUser)
		for i := range gs {
			gs[i] += o * p.GroupsPerOrg
		}
		w.UserGroups[u] = gs
	}
	w.UserBindings = make([][]Binding, w.Users)
	for u := 0; u < w.Users; u++ {
		o := u / p.UsersPerOrg
		ps := sampleDistinct(r, p.ProjectsPerOrg, p.ProjectsPerUser)
		bs := make([]Binding, len(ps))
		for i, pr := range ps {
			bs[i] = Binding{Project: o*p.ProjectsPerOrg + pr, Role: r.IntN(len(Roles))}
		}
		w.UserBindings[u] = bs
	}
	w.OrgAdmins = make([][]int, p.Orgs)
	for o := 0; o < p.Orgs; o++ {
		us := sampleDistinct(r, p.UsersPerOrg, p.OrgAdminsPerOrg)
		for i := range us {
			us[i] += o * p.UsersPerOrg
		}
		w.OrgAdmins[o] = us
	}
	w.GroupRole = make([]int, w.Groups)
	w.GroupProjects = make([][]int, w.Groups)
	for g := 0; g < w.Groups; g++ {
		o := g / p.GroupsPerOrg
		w.GroupRole[g] = r.IntN(len(Roles))
		ps := sampleDistinct(r, p.ProjectsPerOrg, p.ProjectsPerGroup)
		for i := range ps {
			ps[i] += o * p.ProjectsPerOrg
		}
		w.GroupProjects[g] = ps
	}
	w.computeTruth()
	return w
}

func (w *Workload) computeTruth() {
	p := w.P
	w.mask = make([][]uint16, w.Users)
	for u := 0; u < w.Users; u++ {
		w.mask[u] = make([]uint16, p.ProjectsPerOrg)
	}
	for u, bs := range w.UserBindings {
		base := (u / p.UsersPerOrg) * p.ProjectsPerOrg
		for _, b := range bs {
			w.mask[u][b.Project-base] |= roleMask[b.Role]
		}
		for _, g := range w.UserGroups[u] {
			for _, pr := range w.GroupProjects[g] {
				w.mask[u][pr-base] |= roleMask[w.GroupRole[g]]
			}
		}
	}
	for _, us := range w.OrgAdmins {
		for _, u := range us {
			for i := range w.mask[u] {
				w.mask[u][i] |= orgAdminMask
			}
		}
	}
}

// OrgOfUser returns the organization of user u.
func (w *Workload) OrgOfUser(u int) int { return u / w.P.UsersPerOrg }

// ProjectOfDataset returns the project of dataset d.
func (w *Workload) ProjectOfDataset(d int) int { return d / w.P.ResPerProject }

// Allowed is the ground truth for check(user, perm, dataset).
func (w *Workload) Allowed(u, perm, d int) bool {
	pr := w.ProjectOfDataset(d)
	base := w.OrgOfUser(u) * w.P.ProjectsPerOrg
	if pr < base || pr >= base+w.P.ProjectsPerOrg {
		return false
	}
	return w.mask[u][pr-base]&(1<<perm) != 0
}

// LookupCount is the ground truth for the number of datasets u holds perm on.
func (w *Workload) LookupCount(u, perm int) int {
	n := 0
	for _, m := range w.mask[u] {
		if m&(1<<perm) != 0 {
			n += w.P.ResPerProject
		}
	}
	return n
}

// Relationships lists every relationship of the workload, in write order:
// project->org, group membership, org_admin, user roles, group roles,
// dataset->project, source->project.
func (w *Workload) Relationships() []Rel {
	p := w.P
	var out []Rel
	for pr := 0; pr < w.Projects; pr++ {
		out = append(out, Rel{"project", ID("proj", pr), "org", "organization", ID("org", pr/p.ProjectsPerOrg), ""})
	}
	for u, gs := range w.UserGroups {
		for _, g := range gs {
			out = append(out, Rel{"group", ID("group", g), "member", "user", ID("user", u), ""})
		}
	}
	for o, us := range w.OrgAdmins {
		for _, u := range us {
			out = append(out, Rel{"organization", ID("org", o), "org_admin", "user", ID("user", u), ""})
		}
	}
	for u, bs := range w.UserBindings {
		for _, b := range bs {
			out = append(out, Rel{"project", ID("proj", b.Project), Roles[b.Role], "user", ID("user", u), ""})
		}
	}
	for g, ps := range w.GroupProjects {
		for _, pr := range ps {
			out = append(out, Rel{"project", ID("proj", pr), Roles[w.GroupRole[g]], "group", ID("group", g), "member"})
		}
	}
	for d := 0; d < w.Datasets; d++ {
		out = append(out, Rel{"dataset", ID("ds", d), "project", "project", ID("proj", d/p.ResPerProject), ""})
	}
	for s := 0; s < w.Datasets; s++ {
		out = append(out, Rel{"source", ID("src", s), "project", "project", ID("proj", s/p.ResPerProject), ""})
	}
	return out
}

// CheckQuery is one check: user, permission index, dataset, expected answer.
type CheckQuery struct {
	User    int32
	Dataset int32
	Perm    uint8
	Want    bool
}

// CheckQueries draws n checks from the PCG stream seeded (Seed, 2). For each
// query: a fair coin picks the wanted answer; then (user uniform over all
// users, permission uniform over the catalog, dataset uniform over the
// datasets of the user's org) is drawn until the ground truth equals it.
func (w *Workload) CheckQueries(n int) []CheckQuery {
	r := rand.New(rand.NewPCG(w.P.Seed, 2))
	dsPerOrg := w.P.ProjectsPerOrg * w.P.ResPerProject
	out := make([]CheckQuery, n)
	for i := range out {
		want := r.IntN(2) == 1
		for {
			u := r.IntN(w.Users)
			perm := r.IntN(len(Perms))
			d := w.OrgOfUser(u)*dsPerOrg + r.IntN(dsPerOrg)
			if w.Allowed(u, perm, d) == want {
				out[i] = CheckQuery{User: int32(u), Dataset: int32(d), Perm: uint8(perm), Want: want}
				break
			}
		}
	}
	return out
}

// LookupQueries draws n users uniformly from the PCG stream seeded (Seed, 3).
func (w *Workload) LookupQueries(n int) []int32 {
	r := rand.New(rand.NewPCG(w.P.Seed, 3))
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(w.Users))
	}
	return out
}
