package model

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
)

// Show writes a readable summary of the model: levels, the catalog by
// category with flags and implications, what each role grants after
// closure (qualified grants marked), actions and the documented
// assumptions.
func (m *Model) Show(w io.Writer) {
	fmt.Fprintf(w, "model %s (%s)\n", m.ID, m.Name)
	if m.Description != "" {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(m.Description))
	}
	fmt.Fprintf(w, "\nlevels:\n")
	for _, l := range m.Levels {
		extra := ""
		if l.Tenant {
			extra = " (tenant)"
		}
		if l.Wildcard != "" {
			extra += fmt.Sprintf(" wildcard %q", l.Wildcard)
		}
		fmt.Fprintf(w, "  %s%s%s\n", strings.Repeat("  ", l.Depth), l.ID, extra)
	}
	fmt.Fprintf(w, "\ncatalog (%d permissions):\n", len(m.Perms))
	for _, c := range m.Categories {
		if len(c.Perms) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s", c.Name)
		if c.Description != "" {
			fmt.Fprintf(w, " — %s", c.Description)
		}
		fmt.Fprintln(w)
		for _, p := range c.Perms {
			fmt.Fprintf(w, "    %-28s %s", p.ID, p.Name)
			if len(p.Flags) > 0 {
				fmt.Fprintf(w, " [%s]", strings.Join(p.Flags, ", "))
			}
			if len(p.Implies) > 0 {
				var ids []string
				for _, q := range p.Implies {
					ids = append(ids, q.ID)
				}
				fmt.Fprintf(w, " ⇒ %s", strings.Join(ids, ", "))
			}
			if len(p.Qualifiers) > 0 {
				fmt.Fprintf(w, " (%s)", qualNames(p.Qualifiers))
			}
			if !p.Grantable {
				fmt.Fprintf(w, " (not grantable)")
			}
			fmt.Fprintln(w)
		}
	}
	if len(m.Roles) > 0 {
		fmt.Fprintf(w, "\nroles (after closure):\n")
		for _, r := range m.Roles {
			fmt.Fprintf(w, "  %s (%s, %s) bindable at %s\n", r.ID, r.Name, r.Kind, strings.Join(r.BindableAt, ", "))
			switch {
			case r.All:
				fmt.Fprintf(w, "    all permissions, including ones added later\n")
			case len(r.Grants.Items) > 0 || len(r.ByLevel) == 0:
				m.showGrants(w, "    ", r.Grants)
			}
			lv := make([]int, 0, len(r.ByLevel))
			for i := range r.ByLevel {
				lv = append(lv, i)
			}
			sort.Ints(lv)
			for _, i := range lv {
				fmt.Fprintf(w, "    at %s:\n", m.Levels[i].ID)
				m.showGrants(w, "      ", r.ByLevel[i])
			}
		}
	}
	if m.Direct.At != nil {
		var at []string
		for _, l := range m.Direct.At {
			at = append(at, l.ID)
		}
		fmt.Fprintf(w, "\ndirect permission grants at: %s\n", strings.Join(at, ", "))
	}
	if len(m.Actions) > 0 {
		fmt.Fprintf(w, "\nactions:\n")
		for _, a := range m.Actions {
			on := strings.Join(a.On, "|")
			if a.Item != nil {
				on += " (item " + a.Item.ID + ")"
			}
			req := "-"
			if a.Requires != nil {
				req = a.Requires.String()
			}
			fmt.Fprintf(w, "  %-36s on %s: %s\n", a.ID, on, req)
		}
	}
	if len(m.Assumptions) > 0 {
		fmt.Fprintf(w, "\nassumptions:\n")
		for _, k := range slices.Sorted(maps.Keys(m.Assumptions)) {
			fmt.Fprintf(w, "  %s: %s\n", k, m.Assumptions[k])
		}
	}
}

func (m *Model) showGrants(w io.Writer, indent string, g *GrantSet) {
	if g == nil {
		return
	}
	plain := m.PermNames(g.Plain)
	if len(plain) > 0 {
		fmt.Fprintf(w, "%s%s\n", indent, strings.Join(plain, ", "))
	}
	for _, q := range g.Qualified {
		fmt.Fprintf(w, "%s%s: %s\n", indent, qualNames(q.Qualifiers), strings.Join(m.PermNames(q.Bits), ", "))
	}
	if len(plain) == 0 && len(g.Qualified) == 0 {
		fmt.Fprintf(w, "%s(nothing)\n", indent)
	}
}

func qualNames(qs []*Qualifier) string {
	var s []string
	for _, q := range qs {
		s = append(s, q.ID)
	}
	return strings.Join(s, " and ")
}

// String renders a requirement tree, e.g. "all_of(view_labels,
// view_sources on resource.sources)".
func (r *Req) String() string {
	var s string
	switch r.Kind {
	case ReqPerm:
		id := "?"
		if r.Perm != nil {
			id = r.Perm.ID
		}
		s = id
		if !r.Rel.IsTarget() {
			s += " on " + r.Rel.Text
		}
	default:
		parts := make([]string, len(r.Kids))
		for i, k := range r.Kids {
			parts[i] = k.String()
		}
		op := "all_of"
		if r.Kind == ReqAny {
			op = "any_of"
		}
		s = op + "(" + strings.Join(parts, ", ") + ")"
	}
	if r.IfExpr != "" {
		s = "if " + r.IfExpr + ": " + s
	}
	return s
}
