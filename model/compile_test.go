package model

import (
	"slices"
	"strings"
	"testing"
)

// mustPreset compiles an embedded preset or stops the test.
func mustPreset(t *testing.T, name string) *Model {
	t.Helper()
	m, err := Preset(name)
	if err != nil {
		t.Fatalf("Preset(%q): %v", name, err)
	}
	return m
}

// mustParse compiles an inline model or stops the test.
func mustParse(t *testing.T, src string) *Model {
	t.Helper()
	m, err := Parse("inline.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func perm(t *testing.T, m *Model, id string) *Permission {
	t.Helper()
	p, ok := m.Perm(id)
	if !ok {
		t.Fatalf("model %s has no permission %q", m.ID, id)
	}
	return p
}

func role(t *testing.T, m *Model, id string) *Role {
	t.Helper()
	r, ok := m.Role(id)
	if !ok {
		t.Fatalf("model %s has no role %q", m.ID, id)
	}
	return r
}

func level(t *testing.T, m *Model, id string) *Level {
	t.Helper()
	l, ok := m.Level(id)
	if !ok {
		t.Fatalf("model %s has no level %q", m.ID, id)
	}
	return l
}

func action(t *testing.T, m *Model, id string) *Action {
	t.Helper()
	a, ok := m.Action(id)
	if !ok {
		t.Fatalf("model %s has no action %q", m.ID, id)
	}
	return a
}

func permIDs(ps []*Permission) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// sorted returns the ids of b, sorted, so expectations need not follow catalog order.
func sorted(m *Model, b Bits) []string {
	out := append([]string{}, m.PermNames(b)...)
	slices.Sort(out)
	return out
}

func sortedOf(ids ...string) []string {
	out := append([]string{}, ids...)
	slices.Sort(out)
	return out
}

// grantsText renders a grant set as "plain: a, b | q1 and q2: c" with ids
// sorted, for comparison in tables.
func grantsText(m *Model, g *GrantSet) string {
	parts := []string{"plain: " + strings.Join(sorted(m, g.Plain), ", ")}
	for _, q := range g.Qualified {
		parts = append(parts, qualNames(q.Qualifiers)+": "+strings.Join(sorted(m, q.Bits), ", "))
	}
	return strings.Join(parts, " | ")
}

// TestPresetsCompile compiles every preset and checks the invariants every
// compiled model keeps.
func TestPresetsCompile(t *testing.T) {
	names := Presets()
	for _, want := range []string{"inbox", "infosum", "labelbox", "reinfer"} {
		if !slices.Contains(names, want) {
			t.Errorf("Presets() = %v, missing %s", names, want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			m := mustPreset(t, name)
			if m.ID != name {
				t.Errorf("ID = %q, want %q", m.ID, name)
			}
			if m.Tenant == nil || !m.Tenant.Tenant {
				t.Errorf("Tenant = %v", m.Tenant)
			}
			for i, l := range m.Levels {
				if l.Index != i {
					t.Errorf("level %s: Index %d at position %d", l.ID, l.Index, i)
				}
				if (l.Parent == nil) != l.Tenant {
					t.Errorf("level %s: tenant %v but parent %v", l.ID, l.Tenant, l.Parent)
				}
			}
			for i, p := range m.Perms {
				if p.Index != i {
					t.Errorf("permission %s: Index %d at position %d", p.ID, p.Index, i)
				}
				if len(p.Closure) != m.Words {
					t.Errorf("permission %s: closure of %d words, model has %d", p.ID, len(p.Closure), m.Words)
				}
				if !p.Closure.Has(p.Index) {
					t.Errorf("permission %s: closure lacks itself", p.ID)
				}
				for _, q := range p.Implies {
					if !p.Closure.ContainsAll(q.Closure) {
						t.Errorf("permission %s implies %s but its closure lacks %v", p.ID, q.ID, m.PermNames(q.Closure))
					}
				}
				for _, q := range m.Perms {
					if implied := q != p && q.Closure.Has(p.Index); implied != slices.Contains(p.ImpliedBy, q) {
						t.Errorf("permission %s: ImpliedBy %v disagrees with the closure of %s", p.ID, permIDs(p.ImpliedBy), q.ID)
					}
				}
				if got, _ := m.Perm(p.ID); got != p {
					t.Errorf("Perm(%q) = %v", p.ID, got)
				}
			}
			for _, r := range m.Roles {
				sets := []*GrantSet{r.Grants}
				for _, g := range r.ByLevel {
					sets = append(sets, g)
				}
				for _, g := range sets {
					union := NewBits(len(m.Perms))
					union.Or(g.Plain)
					for _, q := range g.Qualified {
						if g.Plain.Intersects(q.Bits) {
							t.Errorf("role %s: %v both plain and qualified", r.ID, m.PermNames(q.Bits))
						}
						if len(q.Qualifiers) == 0 || q.Bits.IsEmpty() {
							t.Errorf("role %s: empty qualified entry %+v", r.ID, q)
						}
						union.Or(q.Bits)
					}
					if !slices.Equal(union, g.Any) {
						t.Errorf("role %s: Any %v, want %v", r.ID, m.PermNames(g.Any), m.PermNames(union))
					}
					for _, it := range g.Items {
						if !g.Any.ContainsAll(it.Perm.Closure) {
							t.Errorf("role %s grants %s but not all of its closure", r.ID, it.Perm.ID)
						}
					}
				}
			}
		})
	}
}

func TestClosures(t *testing.T) {
	tests := []struct {
		preset, perm string
		closure      []string
		impliedBy    []string // catalog order
	}{
		{"reinfer", "sources_admin", []string{"sources_admin", "view_sensitive_data", "view_sources"}, []string{}},
		{"reinfer", "view_sources", []string{"view_sources"}, []string{"view_sensitive_data", "sources_admin"}},
		{"reinfer", "view_labels", []string{"view_labels"}, []string{"modify_datasets", "review_and_label", "datasets_admin"}},
		{"reinfer", "datasets_admin", []string{"datasets_admin", "modify_datasets", "review_and_label", "view_labels"}, []string{}},
		{"reinfer", "triggers_admin", []string{"modify_triggers", "triggers_admin", "view_triggers"}, []string{}},
		{"reinfer", "modify_triggers", []string{"modify_triggers"}, []string{"triggers_admin"}},
		{"reinfer", "consume_triggers", []string{"consume_triggers"}, []string{}},
		{"reinfer", "modify_users", []string{"modify_users", "view_users"}, []string{}},
		{"infosum", "use_dataset", []string{"query_dataset", "see_dataset", "use_dataset"}, []string{}},
		{"infosum", "see_dataset", []string{"see_dataset"}, []string{"use_dataset", "datasets.list_outside_teams"}},
		{"labelbox", "view_all_labels", []string{"view_all_labels", "view_others_labels", "view_own_labels"}, []string{}},
		{"labelbox", "view_own_issue_comments", []string{"view_own_issue_comments"}, []string{"view_others_issue_comments"}},
		{"inbox", "write_feedback", []string{"read_feedback", "write_feedback"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.perm, func(t *testing.T) {
			m := mustPreset(t, tt.preset)
			p := perm(t, m, tt.perm)
			if got, want := sorted(m, p.Closure), sortedOf(tt.closure...); !slices.Equal(got, want) {
				t.Errorf("closure = %v, want %v", got, want)
			}
			if got := permIDs(p.ImpliedBy); !slices.Equal(got, tt.impliedBy) {
				t.Errorf("ImpliedBy = %v, want %v", got, tt.impliedBy)
			}
		})
	}
}

func TestImplicationChain(t *testing.T) {
	m := mustPreset(t, "reinfer")
	tests := []struct {
		from, to string
		want     []string
	}{
		{"sources_admin", "view_sources", []string{"sources_admin", "view_sensitive_data", "view_sources"}},
		{"sources_admin", "view_sensitive_data", []string{"sources_admin", "view_sensitive_data"}},
		// two paths of the same length: the first implication written wins
		{"datasets_admin", "view_labels", []string{"datasets_admin", "modify_datasets", "view_labels"}},
		{"review_and_label", "view_labels", []string{"review_and_label", "view_labels"}},
		{"view_labels", "view_labels", []string{"view_labels"}},
		{"view_sources", "sources_admin", nil}, // implication does not run backwards
		{"modify_triggers", "view_triggers", nil},
		{"sources_admin", "view_labels", nil},
	}
	for _, tt := range tests {
		got := m.ImplicationChain(perm(t, m, tt.from), perm(t, m, tt.to))
		if !slices.Equal(got, tt.want) {
			t.Errorf("ImplicationChain(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		preset, perm string
		flags        []string
	}{
		{"reinfer", "upload_files", []string{}},                         // utility is programmatic; except_flags removes it
		{"reinfer", "add_remove_buckets", []string{"programmatic"}},     // from the buckets category
		{"reinfer", "read_appliance_configs", []string{"programmatic"}}, // utility, no exception
		{"reinfer", "view_integrations", []string{"programmatic"}},
		{"reinfer", "view_sources", []string{"default_member"}},
		{"reinfer", "view_sensitive_data", []string{"sensitive"}},
		{"reinfer", "view_users", []string{"admin_read"}}, // a flag the model declares
		{"reinfer", "sources_admin", []string{}},
		{"inbox", "create_inbox", []string{"org_level"}},
		{"infosum", "users.reset_password", []string{"security"}},
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.perm, func(t *testing.T) {
			m := mustPreset(t, tt.preset)
			p := perm(t, m, tt.perm)
			got := append([]string{}, p.Flags...)
			if !slices.Equal(got, tt.flags) {
				t.Errorf("Flags = %v, want %v", got, tt.flags)
			}
			for _, f := range []string{"programmatic", "sensitive", "default_member"} {
				if p.HasFlag(f) != slices.Contains(tt.flags, f) {
					t.Errorf("HasFlag(%s) = %v", f, p.HasFlag(f))
				}
			}
		})
	}
	m := mustPreset(t, "reinfer")
	for _, id := range []string{"sensitive", "programmatic", "api_only", "ui_only", "default_member"} {
		if f, ok := m.Flag(id); !ok || !f.Builtin {
			t.Errorf("built-in flag %s: %v %v", id, f, ok)
		}
	}
	if f, ok := m.Flag("admin_read"); !ok || f.Builtin || f.Name != "Admin read" {
		t.Errorf("flag admin_read = %+v, %v", f, ok)
	}
}

func TestAliases(t *testing.T) {
	tests := []struct{ preset, name, perm string }{
		{"reinfer", "sources-read", "view_sources"},
		{"reinfer", "voc-readonly", "view_labels"},
		{"reinfer", "triggers-admin", "triggers_admin"},
		{"reinfer", "streams-admin", "triggers_admin"},
		{"reinfer", "view_sources", "view_sources"},
	}
	for _, tt := range tests {
		m := mustPreset(t, tt.preset)
		p, ok := m.Perm(tt.name)
		if !ok || p.ID != tt.perm {
			t.Errorf("%s: Perm(%q) = %v, %v; want %s", tt.preset, tt.name, p, ok, tt.perm)
		}
	}
	m := mustPreset(t, "reinfer")
	if _, ok := m.Perm("sources-reed"); ok {
		t.Errorf("Perm found a misspelled alias")
	}
	lb := mustPreset(t, "labelbox")
	for alias, id := range map[string]string{"ADMIN": "admin", "LABELER": "labeler", "admin": "admin"} {
		if r, ok := lb.Role(alias); !ok || r.ID != id {
			t.Errorf("labelbox: Role(%q) = %v, %v; want %s", alias, r, ok, id)
		}
	}
}

// grantsModel exercises grant compilation: qualified grants, an unqualified
// grant covering a qualified one, intrinsic and role-wide qualifiers, `all`,
// all_except and grants_at.
const grantsModel = `
model: grants
levels:
  - {id: org, tenant: true}
  - {id: project, parent: org}
permissions:
  - {id: view}
  - {id: edit, implies: [view]}
  - {id: delete}
  - {id: view_own, qualifiers: own_only}
  - {id: view_all, implies: [view_own]}
  - {id: secret, grantable: false}
qualifiers:
  - {id: own_only, when: "resource.owner == subject.id"}
  - {id: team_only, when: "resource.groups.exists(g, g in subject.groups)"}
roles:
  - {id: qualified_edit, bindable_at: [org], grants: [{edit: own_only}]}
  - {id: plain_view_covers, bindable_at: [org], grants: [{edit: own_only}, view]}
  - {id: plain_first, bindable_at: [org], grants: [view, {view: own_only}]}
  - {id: plain_last, bindable_at: [org], grants: [{view: own_only}, view]}
  - {id: plain_edit_covers_all, bindable_at: [org], grants: [{view: [own_only, team_only]}, edit]}
  - {id: two_qualifiers, bindable_at: [org], grants: [{edit: [team_only, own_only]}]}
  - {id: intrinsic, bindable_at: [org], grants: [view_all]}
  - {id: role_wide, bindable_at: [org], when: team_only, grants: [view, {delete: own_only}, {edit: team_only}]}
  - {id: everything, bindable_at: [org], grants: all}
  - {id: all_but_delete, bindable_at: [org], grants: {all_except: [delete]}}
  - id: by_level
    bindable_at: [org, project]
    grants: [view]
    grants_at:
      project: [edit, {delete: own_only}]
`

func TestRoleGrants(t *testing.T) {
	m := mustParse(t, grantsModel)
	tests := []struct {
		role string
		want string
		all  bool
	}{
		{"qualified_edit", "plain:  | own_only: edit, view", false},
		{"plain_view_covers", "plain: view | own_only: edit", false},
		{"plain_first", "plain: view", false},
		{"plain_last", "plain: view", false},
		{"plain_edit_covers_all", "plain: edit, view", false},
		{"two_qualifiers", "plain:  | own_only and team_only: edit, view", false},
		{"intrinsic", "plain: view_all | own_only: view_own", false},
		{"role_wide", "plain:  | team_only: edit, view | own_only and team_only: delete", false},
		{"everything", "plain: delete, edit, view, view_all | own_only: view_own", true},
		{"all_but_delete", "plain: edit, view, view_all | own_only: view_own", false},
		{"by_level", "plain: view", false},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			r := role(t, m, tt.role)
			if got := grantsText(m, r.Grants); got != tt.want {
				t.Errorf("grants = %q\n           want %q", got, tt.want)
			}
			if r.All != tt.all {
				t.Errorf("All = %v, want %v", r.All, tt.all)
			}
			if r.Grants.Any.Has(perm(t, m, "secret").Index) {
				t.Errorf("grants the non-grantable permission secret")
			}
		})
	}

	// Items keep the grants as written, for explanations.
	r := role(t, m, "plain_view_covers")
	var items []string
	for _, it := range r.Grants.Items {
		items = append(items, it.Perm.ID+"/"+qualNames(it.Qualifiers))
	}
	if want := []string{"edit/own_only", "view/"}; !slices.Equal(items, want) {
		t.Errorf("plain_view_covers items = %v, want %v", items, want)
	}

	// grants_at replaces grants for bindings at that level only.
	r = role(t, m, "by_level")
	org, project := level(t, m, "org"), level(t, m, "project")
	if got, want := grantsText(m, r.GrantsAt(project.Index)), "plain: edit, view | own_only: delete"; got != want {
		t.Errorf("by_level at project = %q, want %q", got, want)
	}
	if r.GrantsAt(org.Index) != r.Grants {
		t.Errorf("by_level at org: not the role's grants")
	}
	if len(r.ByLevel) != 1 {
		t.Errorf("by_level: ByLevel has %d levels, want 1", len(r.ByLevel))
	}
}

func TestPresetRoles(t *testing.T) {
	tests := []struct {
		preset, role, at string // at: "" for the role's grants
		want             string
		all              bool
	}{
		{"inbox", "operator", "", "plain: escalate_document, read_feedback, read_release_notes, reject_document, review, submit, upload, view_list", false},
		{"labelbox", "tenant_admin", "", "plain: add_groups_to_projects, add_members_to_groups, add_workspace_members, create_custom_api_keys, create_custom_roles, create_groups, create_workspaces, manage_member_roles, remove_workspace_members", false},
		{"labelbox", "labeler", "", "plain: benchmark_receive | own_only_except_rework: label_create_modify | own_only: issue_resolve_reopen, label_review, metrics_view | on_own_assets_only: comment_manage, issue_create, issue_update_delete", false},
		{"labelbox", "workforce_labeler", "", "plain:  | own_only and own_team_only: label_create_modify, metrics_view", false},
		{"labelbox", "workforce_reviewer", "", "plain:  | own_team_only: label_create_modify, label_review, metrics_view", false},
		{"labelbox", "reviewer", "project", "plain: benchmark_receive, comment_manage, issue_create, issue_resolve_reopen, label_create_modify, label_review, workflow_move_data_rows | own_only: issue_update_delete, metrics_view", false},
		{"labelbox", "project_lead", "organization", "plain: ", false}, // not bindable there: no grants
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.role+"@"+tt.at, func(t *testing.T) {
			m := mustPreset(t, tt.preset)
			r := role(t, m, tt.role)
			g := r.Grants
			if tt.at != "" {
				g = r.GrantsAt(level(t, m, tt.at).Index)
			}
			if got := grantsText(m, g); got != tt.want {
				t.Errorf("grants = %q\n           want %q", got, tt.want)
			}
			if r.All != tt.all {
				t.Errorf("All = %v, want %v", r.All, tt.all)
			}
		})
	}

	// inbox administrator: `grants: all`.
	in := mustPreset(t, "inbox")
	admin := role(t, in, "administrator")
	if !admin.All || admin.Kind != Template || admin.Grants.Plain.Count() != len(in.Perms) {
		t.Errorf("inbox administrator: All %v, kind %v, %d of %d permissions", admin.All, admin.Kind, admin.Grants.Plain.Count(), len(in.Perms))
	}

	// labelbox admin: all_except create_workspaces; intrinsic qualifiers stay.
	lb := mustPreset(t, "labelbox")
	admin = role(t, lb, "admin")
	if admin.All {
		t.Errorf("labelbox admin: All with all_except")
	}
	for _, p := range lb.Perms {
		plain := admin.Grants.Plain.Has(p.Index)
		anyQ := admin.Grants.Any.Has(p.Index)
		switch {
		case p.ID == "create_workspaces":
			if anyQ {
				t.Errorf("labelbox admin grants create_workspaces")
			}
		case len(p.Qualifiers) > 0:
			if plain || !anyQ {
				t.Errorf("labelbox admin: %s (intrinsically %s) plain %v, any %v", p.ID, qualNames(p.Qualifiers), plain, anyQ)
			}
		default:
			if !plain {
				t.Errorf("labelbox admin lacks %s", p.ID)
			}
		}
	}

	// project_lead: grants_at differ per level.
	pl := role(t, lb, "project_lead")
	ws, pr := level(t, lb, "workspace"), level(t, lb, "project")
	catalog := perm(t, lb, "catalog_view_datasets")
	if !pl.GrantsAt(ws.Index).Plain.Has(catalog.Index) || pl.GrantsAt(pr.Index).Any.Has(catalog.Index) {
		t.Errorf("project_lead: catalog_view_datasets should be granted at workspace only")
	}
}

func TestInfosumImplicit(t *testing.T) {
	m := mustPreset(t, "infosum")
	ds, ok := m.Resource("dataset")
	if !ok {
		t.Fatal("no resource dataset")
	}
	if len(ds.Implicit) != 1 || ds.Implicit[0].Relation != RelGroupMember {
		t.Fatalf("dataset implicit = %+v", ds.Implicit)
	}
	if got, want := sorted(m, ds.Implicit[0].Grants), sortedOf("use_dataset", "see_dataset", "query_dataset"); !slices.Equal(got, want) {
		t.Errorf("dataset implicit grants = %v, want %v", got, want)
	}
	for _, id := range []string{"see_dataset", "query_dataset", "use_dataset"} {
		p := perm(t, m, id)
		if p.Grantable || m.CustomRoles.Grantable.Has(p.Index) {
			t.Errorf("%s: grantable %v, custom-grantable %v", id, p.Grantable, m.CustomRoles.Grantable.Has(p.Index))
		}
	}
}

func TestPolicies(t *testing.T) {
	ri := mustPreset(t, "reinfer")
	project := level(t, ri, "project")
	if !ri.Direct.Allowed(project) || ri.Direct.Allowed(level(t, ri, "tenant")) {
		t.Errorf("reinfer direct grants at %v", ri.Direct.At)
	}
	if got, want := sorted(ri, ri.Members.OnJoin[project.Index]), sortedOf("view_sources", "view_labels"); !slices.Equal(got, want) {
		t.Errorf("reinfer on_join at project = %v, want %v", got, want)
	}
	if ri.CustomRoles.Allowed || ri.CustomRoles.Max != -1 {
		t.Errorf("reinfer custom roles = %+v", ri.CustomRoles)
	}

	lb := mustPreset(t, "labelbox")
	cr := lb.CustomRoles
	if !cr.Allowed || cr.Max != 5 || cr.Per != level(t, lb, "workspace") || cr.Feature != "custom_roles" || !slices.Equal(cr.BindableAt, []string{"project"}) {
		t.Errorf("labelbox custom roles = %+v", cr)
	}
	if cr.Grantable.Has(perm(t, lb, "create_workspaces").Index) || !cr.Grantable.Has(perm(t, lb, "create_labels").Index) {
		t.Errorf("labelbox custom roles grantable = %v", lb.PermNames(cr.Grantable))
	}
	if lb.Members.DefaultRoleAt != level(t, lb, "workspace") || !lb.Groups.Enabled || !lb.Groups.DefaultRole {
		t.Errorf("labelbox members %+v groups %+v", lb.Members, lb.Groups)
	}
	if got := len(lb.RulesNamed("exclusive_levels")); got != 1 {
		t.Errorf("labelbox exclusive_levels rules: %d", got)
	} else if r, ok := lb.RulesNamed("exclusive_levels")[0].Params.(*ExclusiveLevelsRule); !ok || !slices.Equal(r.Levels, []string{"workspace", "project"}) {
		t.Errorf("exclusive_levels params = %#v", lb.RulesNamed("exclusive_levels")[0].Params)
	}
	if a, ok := ri.Act("delete_user"); !ok || a.Requires != "modify_users" || a.On != "every_membership_of_target" {
		t.Errorf("reinfer act delete_user = %+v, %v", a, ok)
	}

	in := mustPreset(t, "inbox")
	if in.Tenant.Wildcard != "*" {
		t.Errorf("inbox wildcard = %q", in.Tenant.Wildcard)
	}
	if in.CustomRoles.Max != -1 || !in.CustomRoles.Allowed || in.CustomRoles.Per != in.Tenant {
		t.Errorf("inbox custom roles = %+v", in.CustomRoles)
	}
}

// TestRequirements checks compiled requirement trees, and the Local fast
// path: set on all_of/any_of nodes whose children are all unconditional
// permissions on the target.
func TestRequirements(t *testing.T) {
	tests := []struct {
		preset, action string
		text           string
		local          []string // nil: not local
	}{
		{"reinfer", "source.view", "view_sources", nil},
		{"reinfer", "source.view_data", "all_of(view_sources, view_labels)", []string{"view_labels", "view_sources"}},
		{"reinfer", "user.view_in_project", "any_of(view_users, modify_users)", []string{"modify_users", "view_users"}},
		{"reinfer", "verbatim.view", "all_of(view_labels, view_sources on resource.sources)", nil},
		{"reinfer", "trigger.fetch_advance", "all_of(consume_triggers, view_labels, view_sources on resource.dataset.sources)", nil},
		{"inbox", "review.pick_next", "all_of(review, if resource.escalated: all_of(pick_next_escalated))", nil},
		{"inbox", "feedback.read", "any_of(read_feedback, write_feedback)", []string{"read_feedback", "write_feedback"}},
	}
	for _, tt := range tests {
		t.Run(tt.preset+"/"+tt.action, func(t *testing.T) {
			m := mustPreset(t, tt.preset)
			a := action(t, m, tt.action)
			if got := a.Requires.String(); got != tt.text {
				t.Errorf("requires %s, want %s", got, tt.text)
			}
			if a.Requires.Local != (tt.local != nil) {
				t.Errorf("Local = %v, want %v", a.Requires.Local, tt.local != nil)
			}
			if tt.local != nil {
				if got := sorted(m, a.Requires.LocalBits); !slices.Equal(got, tt.local) {
					t.Errorf("LocalBits = %v, want %v", got, tt.local)
				}
			} else if a.Requires.LocalBits != nil {
				t.Errorf("LocalBits set on a node that is not local")
			}
		})
	}

	// the nested conditional node of pick_next is local, the conditional itself is skipped by its parent
	m := mustPreset(t, "inbox")
	kid := action(t, m, "review.pick_next").Requires.Kids[1]
	if kid.If == nil || kid.IfExpr != "resource.escalated" || !kid.Local {
		t.Errorf("pick_next second child: If %v %q, Local %v", kid.If, kid.IfExpr, kid.Local)
	}

	// relations are parsed into a base and steps
	ri := mustPreset(t, "reinfer")
	rel := action(t, ri, "trigger.fetch_advance").Requires.Kids[2].Rel
	if rel.Base != "resource" || !slices.Equal(rel.Steps, []string{"dataset", "sources"}) || rel.IsTarget() {
		t.Errorf("relation = %+v", rel)
	}
	if a := action(t, ri, "verbatim.view"); a.Item == nil || a.Item.ID != "verbatim" || a.Fields != "item" {
		t.Errorf("verbatim.view item %v fields %q", a.Item, a.Fields)
	}
}
