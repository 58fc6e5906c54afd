package engine_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/scenario"
	"path/filepath"
	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// qualifierMenu is what random models choose their conditions from.
var qualifierMenu = map[string]string{
	"owned":   "resource.owner == subject.id",
	"flagged": "resource.flag",
	"team":    "resource.groups.exists(g, g in subject.groups)",
	"parent":  "resource.parent.owner == subject.id",
}

// genModel draws a random model and returns its YAML.
func genModel(t *rapid.T) string {
	var b strings.Builder
	nperm := rapid.IntRange(1, 8).Draw(t, "perms")
	perms := make([]string, nperm)
	for i := range perms {
		perms[i] = fmt.Sprintf("p%d", i)
	}
	quals := []string{"owned", "flagged", "team", "parent"}
	b.WriteString("model: random\nlevels:\n  - {id: org, tenant: true, wildcard: \"*\"}\n  - {id: proj, parent: org}\n")
	b.WriteString("qualifiers:\n")
	for _, q := range quals {
		fmt.Fprintf(&b, "  %s: {when: %q}\n", q, qualifierMenu[q])
	}
	b.WriteString("permissions:\n")
	for i, p := range perms {
		var imp []string
		for j := 0; j < i; j++ {
			if rapid.IntRange(0, 3).Draw(t, "implies") == 0 {
				imp = append(imp, perms[j])
			}
		}
		fmt.Fprintf(&b, "  - {id: %s, implies: [%s]", p, strings.Join(imp, ", "))
		if rapid.IntRange(0, 6).Draw(t, "intrinsic") == 0 {
			fmt.Fprintf(&b, ", qualifiers: [%s]", rapid.SampledFrom(quals).Draw(t, "iq"))
		}
		b.WriteString("}\n")
	}
	grant := func(label string) string {
		p := rapid.SampledFrom(perms).Draw(t, label)
		switch rapid.IntRange(0, 3).Draw(t, label+"q") {
		case 0:
			return fmt.Sprintf("{%s: %s}", p, rapid.SampledFrom(quals).Draw(t, label+"qq"))
		case 1:
			return fmt.Sprintf("{%s: [%s, %s]}", p, rapid.SampledFrom(quals).Draw(t, label+"q1"), rapid.SampledFrom(quals).Draw(t, label+"q2"))
		}
		return p
	}
	grants := func(label string) string {
		n := rapid.IntRange(1, 3).Draw(t, label+"n")
		var gs []string
		for i := 0; i < n; i++ {
			gs = append(gs, grant(fmt.Sprintf("%s%d", label, i)))
		}
		return "[" + strings.Join(gs, ", ") + "]"
	}
	b.WriteString("resources:\n")
	b.WriteString("  src: {scope: proj}\n")
	b.WriteString("  doc:\n    scope: proj\n    owner: created_by\n    groups: true\n    attributes: {flag: bool}\n    inputs: {srcs: {type: src, cross_scope: true}}\n")
	var implicit []string
	if rapid.Bool().Draw(t, "implicitOwner") {
		implicit = append(implicit, fmt.Sprintf("{relation: owner, grants: [%s]}", rapid.SampledFrom(perms).Draw(t, "io")))
	}
	if rapid.Bool().Draw(t, "implicitGroup") {
		implicit = append(implicit, fmt.Sprintf("{relation: group_member, grants: [%s], when: [%s]}", rapid.SampledFrom(perms).Draw(t, "ig"), rapid.SampledFrom([]string{"owned", "flagged"}).Draw(t, "igq")))
	}
	if len(implicit) > 0 {
		fmt.Fprintf(&b, "    implicit: [%s]\n", strings.Join(implicit, ", "))
	}
	b.WriteString("  note: {parent: doc, owner: created_by, attributes: {flag: bool}}\n")
	b.WriteString("roles:\n")
	targets := []string{"org", "proj", `"*"`, "resource:doc"}
	nrole := rapid.IntRange(1, 4).Draw(t, "roles")
	for i := 0; i < nrole; i++ {
		var at []string
		for _, tg := range targets {
			if rapid.Bool().Draw(t, "bind") {
				at = append(at, tg)
			}
		}
		if len(at) == 0 {
			at = []string{"proj"}
		}
		fmt.Fprintf(&b, "  r%d:\n    bindable_at: [%s]\n", i, strings.Join(at, ", "))
		if rapid.IntRange(0, 4).Draw(t, "grantsAll") == 0 {
			b.WriteString("    grants: all\n")
		} else {
			fmt.Fprintf(&b, "    grants: %s\n", grants(fmt.Sprintf("r%d", i)))
		}
		if rapid.IntRange(0, 4).Draw(t, "roleWhen") == 0 {
			fmt.Fprintf(&b, "    when: %s\n", rapid.SampledFrom(quals).Draw(t, "rw"))
		}
		if slices.Contains(at, "proj") && rapid.IntRange(0, 3).Draw(t, "byLevel") == 0 {
			fmt.Fprintf(&b, "    grants_at: {proj: %s}\n", grants(fmt.Sprintf("r%dp", i)))
		}
	}
	b.WriteString("members: {default_role: {at: org}}\n")
	b.WriteString("groups: {bindable_at: [org, proj], default_role: true}\n")
	b.WriteString("direct_grants: {at: [proj]}\n")
	b.WriteString("custom_roles: {bindable_at: [proj, org]}\n")
	b.WriteString("offers:\n  share: {resource: doc, grants: [" + rapid.SampledFrom(perms).Draw(t, "offer") + "], usable_when: [resource.flag]}\n")
	b.WriteString("actions:\n")
	rels := []string{"resource", "resource.parent", "resource.srcs", "resource.proj", "resource.org"}
	var req func(depth int, label string) string
	req = func(depth int, label string) string {
		if depth == 0 || rapid.IntRange(0, 2).Draw(t, label) == 0 {
			p := rapid.SampledFrom(perms).Draw(t, label+"p")
			rel := rapid.SampledFrom(rels).Draw(t, label+"r")
			return fmt.Sprintf("{%s: %s}", p, rel)
		}
		op := rapid.SampledFrom([]string{"all_of", "any_of"}).Draw(t, label+"op")
		n := rapid.IntRange(1, 3).Draw(t, label+"n")
		var kids []string
		for i := 0; i < n; i++ {
			kids = append(kids, req(depth-1, fmt.Sprintf("%s%d", label, i)))
		}
		cond := ""
		if rapid.IntRange(0, 4).Draw(t, label+"if") == 0 {
			cond = "if: resource.flag, "
		}
		return fmt.Sprintf("{%s%s: [%s]}", cond, op, strings.Join(kids, ", "))
	}
	if rapid.Bool().Draw(t, "upward") {
		// authorized through a child: some (or every) doc of the project,
		// some project of the organization
		fmt.Fprintf(&b, "  up_doc:\n    on: [proj]\n    requires: {any_of: [%s, {%s: %q}]}\n",
			rapid.SampledFrom(perms).Draw(t, "upp"), rapid.SampledFrom(perms).Draw(t, "upq"),
			rapid.SampledFrom([]string{"resource.doc[any]", "resource.doc", "resource.note[any]"}).Draw(t, "uprel"))
		fmt.Fprintf(&b, "  up_proj:\n    on: [org]\n    requires: {%s: \"resource.proj[any]\"}\n", rapid.SampledFrom(perms).Draw(t, "upo"))
	}
	nact := rapid.IntRange(0, 3).Draw(t, "actions")
	for i := 0; i < nact; i++ {
		fmt.Fprintf(&b, "  a%d:\n    on: [doc]\n    requires: %s\n", i, req(2, fmt.Sprintf("a%d", i)))
		if rapid.IntRange(0, 3).Draw(t, "when") == 0 {
			b.WriteString("    when: [{check: \"resource.owner != ''\", reason: \"{resource.id} has no owner\"}]\n")
		}
	}
	return b.String()
}

// genData draws random data for a random model.
func genData(t *rapid.T, m *model.Model) *engine.Data {
	d := &engine.Data{}
	users := []string{"u0", "u1", "u2", "u3"}[:rapid.IntRange(1, 4).Draw(t, "users")]
	for _, u := range users {
		d.Users = append(d.Users, rolecall.User{ID: u})
	}
	var roles []string
	for _, r := range m.Roles {
		roles = append(roles, r.ID)
	}
	norg := rapid.IntRange(1, 2).Draw(t, "orgs")
	var projs, docs, srcs []string
	projOrg := map[string]string{}
	for o := 0; o < norg; o++ {
		org := fmt.Sprintf("o%d", o)
		d.Scopes = append(d.Scopes, rolecall.Scope{ID: org, Level: "org"})
		for p := 0; p < rapid.IntRange(1, 2).Draw(t, "projs"); p++ {
			pr := fmt.Sprintf("%s.p%d", org, p)
			projOrg[pr] = org
			d.Scopes = append(d.Scopes, rolecall.Scope{ID: pr, Level: "proj", Parent: org})
			projs = append(projs, pr)
			s := pr + ".s"
			srcs = append(srcs, s)
			d.Resources = append(d.Resources, rolecall.Resource{Type: "src", ID: s, Scope: pr})
		}
		if rapid.Bool().Draw(t, "customRole") {
			var gs []rolecall.Grant
			for i := 0; i < rapid.IntRange(1, 3).Draw(t, "crg"); i++ {
				g := rolecall.Grant{Permission: rapid.SampledFrom(m.Perms).Draw(t, "crp").ID}
				if rapid.Bool().Draw(t, "crq") {
					g.Qualifiers = []string{rapid.SampledFrom([]string{"owned", "flagged", "team"}).Draw(t, "crqq")}
				}
				gs = append(gs, g)
			}
			cr := rolecall.Role{ID: "custom", Org: org, Grants: gs}
			if rapid.Bool().Draw(t, "roleInProject") {
				cr.Scope = org + ".p0" // owned by the first project: usable there only
			}
			d.Roles = append(d.Roles, cr)
		}
		for _, u := range users {
			if rapid.IntRange(0, 3).Draw(t, "member") > 0 {
				ms := rolecall.Membership{User: u, Scope: org}
				if rapid.Bool().Draw(t, "defaultRole") {
					ms.DefaultRole = rapid.SampledFrom(roles).Draw(t, "dr")
				}
				d.Memberships = append(d.Memberships, ms)
			}
		}
		for g := 0; g < rapid.IntRange(0, 2).Draw(t, "groups"); g++ {
			gid := fmt.Sprintf("%s.g%d", org, g)
			d.Groups = append(d.Groups, rolecall.Group{ID: gid, Scope: org, AllMembers: rapid.IntRange(0, 3).Draw(t, "all") == 0})
			for _, u := range users {
				if rapid.Bool().Draw(t, "gm") {
					d.GroupMembers = append(d.GroupMembers, rolecall.GroupMember{Group: gid, User: u})
				}
			}
		}
	}
	owner := func(label string) string {
		return rapid.SampledFrom(append([]string{""}, users...)).Draw(t, label)
	}
	var groups []string
	for _, g := range d.Groups {
		groups = append(groups, g.ID)
	}
	for i, pr := range projs {
		for k := 0; k < rapid.IntRange(0, 2).Draw(t, "docs"); k++ {
			id := fmt.Sprintf("%s.d%d", pr, k)
			r := rolecall.Resource{Type: "doc", ID: id, Scope: pr, Owner: owner("docOwner"), Attrs: map[string]any{"flag": rapid.Bool().Draw(t, "flag")}}
			for _, g := range groups {
				if rapid.IntRange(0, 2).Draw(t, "docGroup") == 0 {
					r.Groups = append(r.Groups, g)
				}
			}
			if n := rapid.IntRange(0, 2).Draw(t, "inputs"); n > 0 {
				r.Inputs = map[string][]rolecall.ResourceRef{}
				for j := 0; j < n; j++ {
					r.Inputs["srcs"] = append(r.Inputs["srcs"], rolecall.ResourceRef{Type: "src", ID: srcs[(i+j)%len(srcs)]})
				}
			}
			d.Resources = append(d.Resources, r)
			docs = append(docs, id)
			if rapid.Bool().Draw(t, "note") {
				d.Resources = append(d.Resources, rolecall.Resource{Type: "note", ID: id + ".n", Parent: &rolecall.ResourceRef{Type: "doc", ID: id},
					Owner: owner("noteOwner"), Attrs: map[string]any{"flag": rapid.Bool().Draw(t, "nflag")}})
			}
		}
	}
	// bindings, valid by construction
	nb := rapid.IntRange(0, 8).Draw(t, "bindings")
	for i := 0; i < nb; i++ {
		b := rolecall.Binding{}
		if len(groups) > 0 && rapid.IntRange(0, 2).Draw(t, "groupSubject") == 0 {
			b.Subject = rolecall.GroupSubject(rapid.SampledFrom(groups).Draw(t, "bg"))
		} else {
			b.Subject = rolecall.UserSubject(rapid.SampledFrom(users).Draw(t, "bu"))
		}
		switch rapid.IntRange(0, 5).Draw(t, "kind") {
		case 0: // direct permissions on a project
			b.Scope = rapid.SampledFrom(projs).Draw(t, "dp")
			b.Permissions = []string{rapid.SampledFrom(m.Perms).Draw(t, "dperm").ID}
		case 1: // default role, groups only
			if b.Subject.Kind != rolecall.SubjectGroup {
				continue
			}
			b.DefaultRole = true
			b.Scope = rapid.SampledFrom(projs).Draw(t, "drp")
		case 2: // custom role
			pr := rapid.SampledFrom(projs).Draw(t, "cp")
			found := false
			for _, r := range d.Roles {
				if r.Org == projOrg[pr] && (r.Scope == "" || r.Scope == pr) {
					found = true
				}
			}
			if !found {
				continue
			}
			b.Role, b.Scope = "custom", pr
		default:
			r := rapid.SampledFrom(m.Roles).Draw(t, "role")
			b.Role = r.ID
			switch tg := rapid.SampledFrom(r.BindableAt).Draw(t, "target"); tg {
			case "org":
				b.Scope = projOrg[rapid.SampledFrom(projs).Draw(t, "bo")]
			case "*":
				b.Scope, b.Wildcard = projOrg[rapid.SampledFrom(projs).Draw(t, "bw")], true
			case "proj":
				b.Scope = rapid.SampledFrom(projs).Draw(t, "bp")
			default:
				if len(docs) == 0 {
					continue
				}
				b.Resource = &rolecall.ResourceRef{Type: "doc", ID: rapid.SampledFrom(docs).Draw(t, "bd")}
			}
		}
		switch rapid.IntRange(0, 5).Draw(t, "time") {
		case 0:
			b.NotAfter = t0.Add(-time.Hour) // expired
		case 1:
			b.NotBefore, b.NotAfter = t0.Add(-time.Hour), t0.Add(time.Hour)
		case 2:
			b.NotBefore = t0.Add(time.Hour) // not yet
		}
		d.Bindings = append(d.Bindings, b)
	}
	for i := 0; i < rapid.IntRange(0, 2).Draw(t, "offers"); i++ {
		if len(docs) == 0 {
			break
		}
		d.Offers = append(d.Offers, rolecall.Offer{ID: fmt.Sprintf("of%d", i), Kind: "share",
			Resource:  rolecall.ResourceRef{Type: "doc", ID: rapid.SampledFrom(docs).Draw(t, "od")},
			Recipient: rapid.SampledFrom(users).Draw(t, "or"),
			State:     rapid.SampledFrom([]string{"pending", "accepted", "revoked"}).Draw(t, "os")})
	}
	return d
}

// TestEngineAgreesWithBruteForce checks Check, Explain's verdict, Effective
// and LookupResources against the naive evaluator on random models and
// data, for every user, permission or action, and object.
func TestEngineAgreesWithBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		src := genModel(t)
		m, err := model.Parse("random.yaml", []byte(src))
		if err != nil {
			t.Fatalf("generated model does not compile: %v\n%s", err, src)
		}
		d := genData(t, m)
		dump, _ := json.MarshalIndent(d, "", " ")
		t.Logf("model:\n%s\ndata:\n%s", src, dump)
		e, err := engine.New(m, d)
		if err != nil {
			t.Fatalf("engine.New: %v", err)
		}
		e.Now = func() time.Time { return t0 }
		bf := &brute{m: m, d: d, now: t0}
		compareAll(t, m, d, e, bf)
	})
}

// compareAll compares the engine with the brute-force evaluator on every
// (user, permission or action, object) of the data.
func compareAll(t interface {
	Fatalf(string, ...any)
}, m *model.Model, d *engine.Data, e *engine.Engine, bf *brute) {
	var objs []bobj
	var targets []rolecall.Target
	for _, s := range d.Scopes {
		objs = append(objs, bobj{node: s.ID})
		targets = append(targets, rolecall.ScopeTarget(s.ID))
	}
	for i := range d.Resources {
		r := &d.Resources[i]
		objs = append(objs, bobj{res: r})
		targets = append(targets, rolecall.ResourceTarget(r.Type, r.ID))
	}
	var asks []string
	for _, p := range m.Perms {
		asks = append(asks, p.ID)
	}
	applies := func(a *model.Action, o bobj) bool {
		if a.Item != nil {
			return false // items are covered by the scenario files
		}
		typ := bview{bf, o}.Type()
		return len(a.On) == 0 || slices.Contains(a.On, typ)
	}
	// LookupSubjects: who holds each permission (or applicable action) on
	// each object, in id order
	for i, o := range objs {
		for _, ask := range asks {
			lookupSubjects(t, e, bf, d, ask, targets[i], o)
		}
		for _, a := range m.Actions {
			if applies(a, o) {
				lookupSubjects(t, e, bf, d, a.ID, targets[i], o)
			}
		}
	}
	for _, u := range d.Users {
		for i, o := range objs {
			var want []string
			for _, p := range m.Perms {
				if bf.holds(u.ID, p, o) {
					want = append(want, p.ID)
				}
			}
			eff, err := e.Effective(u.ID, targets[i], nil)
			if err != nil {
				t.Fatalf("Effective: %v", err)
			}
			var got []string
			for _, x := range eff {
				got = append(got, x.Permission)
			}
			if !slices.Equal(want, got) {
				t.Fatalf("Effective(%s, %s) = %v, brute force %v", u.ID, targets[i], got, want)
			}
			for _, ask := range asks {
				check(t, e, bf, u.ID, ask, targets[i], o)
			}
			for _, a := range m.Actions {
				if applies(a, o) {
					check(t, e, bf, u.ID, a.ID, targets[i], o)
				}
			}
		}
		for _, rt := range m.Resources {
			for _, ask := range asks {
				lookup(t, e, bf, d, u.ID, ask, rt.ID)
			}
			for _, a := range m.Actions {
				if a.Item == nil && (len(a.On) == 0 || slices.Contains(a.On, rt.ID)) {
					lookup(t, e, bf, d, u.ID, a.ID, rt.ID)
				}
			}
		}
	}
}

func lookupSubjects(t interface {
	Fatalf(string, ...any)
}, e *engine.Engine, bf *brute, d *engine.Data, ask string, target rolecall.Target, o bobj) {
	got, err := e.LookupSubjects(engine.SubjectQuery{Permission: ask, Target: target})
	if err != nil {
		t.Fatalf("LookupSubjects(%s, %s): %v", ask, target, err)
	}
	var want []string
	for _, u := range d.Users {
		if bf.check(u.ID, ask, o) {
			want = append(want, u.ID)
		}
	}
	slices.Sort(want)
	if !slices.Equal(want, got.Users) {
		t.Fatalf("LookupSubjects(%s, %s) = %v, brute force %v", ask, target, got.Users, want)
	}
}

func lookup(t interface {
	Fatalf(string, ...any)
}, e *engine.Engine, bf *brute, d *engine.Data, user, ask, typ string) {
	got, _, err := e.LookupResources(engine.ResourceQuery{Subject: user, Permission: ask, Type: typ})
	if err != nil {
		t.Fatalf("LookupResources: %v", err)
	}
	var found []*rolecall.Resource
	for i := range d.Resources {
		if r := &d.Resources[i]; r.Type == typ && bf.check(user, ask, bobj{res: r}) {
			found = append(found, r)
		}
	}
	// the lookup order: home scope id, then id
	slices.SortFunc(found, func(a, b *rolecall.Resource) int {
		if c := strings.Compare(bf.home(bobj{res: a}), bf.home(bobj{res: b})); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var want []string
	for _, r := range found {
		want = append(want, r.ID)
	}
	if !slices.Equal(want, got) {
		t.Fatalf("LookupResources(%s, %s, %s) = %v, brute force %v", user, ask, typ, got, want)
	}
}

func check(t interface {
	Fatalf(string, ...any)
}, e *engine.Engine, bf *brute, user, ask string, target rolecall.Target, o bobj) {
	want := bf.check(user, ask, o)
	r := engine.Request{Subject: user, Permission: ask, Target: target}
	d, err := e.Check(r)
	if err != nil {
		t.Fatalf("Check(%s, %s, %s): %v", user, ask, target, err)
	}
	x, err := e.Explain(r)
	if err != nil {
		t.Fatalf("Explain(%s, %s, %s): %v", user, ask, target, err)
	}
	if d.Allowed != want || x.Allowed != want {
		t.Fatalf("%s %s on %s: Check %v, Explain %v, brute force %v\n%s", user, ask, target, d.Allowed, x.Allowed, want, x.Explanation)
	}
	if x.Allowed != (len(x.Explanation.Missing) == 0 && len(x.Explanation.Failed) == 0) && want {
		t.Fatalf("%s %s on %s: allowed, but the explanation lists what is missing:\n%s", user, ask, target, x.Explanation)
	}
	if !want && len(x.Explanation.Missing) == 0 && len(x.Explanation.Failed) == 0 {
		t.Fatalf("%s %s on %s: denied, but the explanation names nothing missing or failed:\n%s", user, ask, target, x.Explanation)
	}
}

// TestEngineAgreesWithBruteForceOnPresets runs the same comparison on the
// fixture of every preset's scenario file.
func TestEngineAgreesWithBruteForceOnPresets(t *testing.T) {
	files, _ := filepath.Glob("../scenario/presets/*.yaml")
	if len(files) == 0 {
		t.Fatal("no scenario files found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := scenario.Load(f, scenario.Options{})
			if err != nil {
				t.Fatal(err)
			}
			worlds, err := s.Worlds()
			if err != nil {
				t.Fatal(err)
			}
			for id, d := range worlds {
				e, err := engine.New(s.Model, d)
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				e.Now = func() time.Time { return t0 }
				compareAll(&caseT{t, id}, s.Model, d, e, &brute{m: s.Model, d: d, now: t0})
			}
		})
	}
}

// caseT prefixes failures with the scenario case they happened in.
type caseT struct {
	t  *testing.T
	id string
}

func (c *caseT) Fatalf(format string, args ...any) {
	c.t.Helper()
	c.t.Fatalf(c.id+": "+format, args...)
}
