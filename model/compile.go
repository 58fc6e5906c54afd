package model

import (
	"errors"
	"github.com/rolecall/rolecall/internal/yamlx"
	"go.yaml.in/yaml/v3"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/rolecall/rolecall/condition"
)

// builtinFlags are the flags every model knows.
var builtinFlags = []struct{ id, desc string }{
	{"sensitive", "Reveals or touches sensitive data."},
	{"programmatic", "Meant for programmatic (API) users; advisory."},
	{"api_only", "Usable only through the API."},
	{"ui_only", "Usable only through the user interface."},
	{"default_member", "Part of what a member holds by default."},
}

// reservedRoleWords may not be used as role ids.
var reservedRoleWords = map[string]bool{"default_role": true, "all": true}

type compiler struct {
	*decoder
	f     *fileDoc
	m     *Model
	lines []string // the source, for positions inside multi-line values
	// cur is the entry being compiled; errors about a field left out (which
	// has no position) are reported there.
	cur Pos
	// the source entry each accepted object came from
	permDoc map[*Permission]*permDoc
	roleDoc map[*Role]*roleDoc
	resDoc  map[*ResourceType]*resourceDoc
	attrAt  map[string]Pos // first declaration of each attribute name
}

func (c *compiler) at(p Pos, format string, args ...any) {
	if p.Line == 0 {
		p = c.cur
	}
	c.Errorf(p, format, args...)
}

func compile(d *decoder, f *fileDoc, lines []string) *Model {
	c := &compiler{decoder: d, f: f, lines: lines, cur: f.Pos,
		permDoc: map[*Permission]*permDoc{}, roleDoc: map[*Role]*roleDoc{}, resDoc: map[*ResourceType]*resourceDoc{}, attrAt: map[string]Pos{},
		m: &Model{
			levels: map[string]*Level{}, flags: map[string]*Flag{}, categories: map[string]*Category{},
			perms: map[string]*Permission{}, qualifiers: map[string]*Qualifier{}, resources: map[string]*ResourceType{},
			roles: map[string]*Role{}, actions: map[string]*Action{}, offers: map[string]*OfferKind{},
		}}
	m := c.m
	m.ID, m.Name, m.Description, m.File = f.Model, f.Name, f.Description, d.File
	m.Assumptions = f.Assumptions
	if m.ID == "" {
		c.at(f.Pos, "the model has no `model:` id; add `model: <id>` at the top")
	} else if !validID(m.ID) {
		c.at(f.Pos, "model id %q: use letters, digits, '_', '-' and '.'", m.ID)
	}
	if m.Name == "" {
		m.Name = m.ID
	}
	if f.Operator != nil {
		m.Operator = Operator{Name: f.Operator.Name, Description: f.Operator.Description}
	}
	c.levels()
	c.subjects()
	c.flags()
	c.categories()
	c.permissions()
	c.resources()
	c.env()
	c.qualifiers()
	c.permQualifiers()
	c.implicit()
	c.roles()
	c.members()
	c.groups()
	c.direct()
	c.checkOnJoin()
	c.plans()
	c.custom()
	c.actions()
	c.offers()
	c.admin()
	return m
}

func validID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func (c *compiler) checkID(what string, id str) bool {
	if id.V == "" {
		c.at(id.Pos, "%s without an id; add `id:`", what)
		return false
	}
	if !validID(id.V) {
		c.at(id.Pos, "%s id %q: use letters, digits, '_', '-' and '.'", what, id.V)
		return false
	}
	return true
}

func (c *compiler) levels() {
	m := c.m
	if len(c.f.Levels) == 0 {
		c.at(c.f.Pos, "the model declares no levels; add `levels:` with at least the tenant level, e.g. [{id: organization, tenant: true}]")
		return
	}
	for _, ld := range c.f.Levels {
		c.cur = ld.Pos
		if !c.checkID("level", ld.ID) {
			continue
		}
		if _, dup := m.levels[ld.ID.V]; dup {
			c.at(ld.ID.Pos, "level %q is declared twice; keep one", ld.ID.V)
			continue
		}
		l := &Level{ID: ld.ID.V, Name: ld.Name, Plural: ld.Plural, Description: ld.Description, Tenant: ld.Tenant, Wildcard: ld.Wildcard}
		if l.Name == "" {
			l.Name = l.ID
		}
		if l.Plural == "" {
			l.Plural = l.Name + "s"
		}
		if ld.Parent.V != "" {
			p, ok := m.levels[ld.Parent.V]
			if !ok {
				c.at(ld.Parent.Pos, "level %q: parent %q is not a level declared above it%s; list levels top down", l.ID, ld.Parent.V, yamlx.Closest(ld.Parent.V, m.levels))
			} else {
				l.Parent = p
				l.Depth = p.Depth + 1
			}
		}
		if l.Wildcard != "" && !l.Tenant {
			c.at(ld.Pos, "level %q: a wildcard token is allowed only on the tenant level", l.ID)
		}
		for _, a := range ld.Attributes {
			if reservedResourceFields[a.Name.V] {
				c.at(a.Name.Pos, "level %q: attribute %q is a reserved field (id, type, owner, groups, scope, parent); rename it", l.ID, a.Name.V)
				continue
			}
			if at, ok := c.attr(a); ok {
				l.Attributes = append(l.Attributes, at)
				if _, seen := c.attrAt[at.Name]; !seen {
					c.attrAt[at.Name] = a.Name.Pos
				}
			}
		}
		l.Index = len(m.Levels)
		m.Levels = append(m.Levels, l)
		m.levels[l.ID] = l
	}
	for i, l := range m.Levels {
		if l.Tenant {
			if m.Tenant != nil {
				c.at(c.f.Levels[i].Pos, "levels %q and %q are both marked tenant; exactly one level is the tenant", m.Tenant.ID, l.ID)
				continue
			}
			m.Tenant = l
		}
	}
	if m.Tenant == nil {
		c.at(c.f.Levels[0].Pos, "no level is marked `tenant: true`; mark the level that isolates customers (organization, company, ...)")
		return
	}
	for i, l := range m.Levels {
		if l.Tenant && l.Parent != nil {
			c.at(c.f.Levels[i].Pos, "tenant level %q has a parent; the tenant is the top level (the operator stands above it)", l.ID)
		}
		if !l.Tenant && l.Parent == nil {
			c.at(c.f.Levels[i].Pos, "level %q has no parent; every level but the tenant names its parent level", l.ID)
		}
	}
}

func (c *compiler) subjects() {
	if c.f.Subjects == nil {
		return
	}
	for _, a := range c.f.Subjects.Attributes {
		if a.Name.V == "id" || a.Name.V == "groups" {
			c.at(a.Name.Pos, "subject attribute %q is a reserved field (id, groups); rename it", a.Name.V)
			continue
		}
		if at, ok := c.attr(a); ok {
			c.m.SubjectAttributes = append(c.m.SubjectAttributes, at)
		}
	}
}

func (c *compiler) attr(a attrDoc) (Attribute, bool) {
	c.cur = a.Pos
	t, err := condition.ParseType(a.Type.V)
	if err != nil {
		c.at(a.Type.Pos, "attribute %q: %v", a.Name.V, err)
		return Attribute{}, false
	}
	if !validID(a.Name.V) || strings.ContainsAny(a.Name.V, "-.") {
		c.at(a.Name.Pos, "attribute name %q: use letters, digits and '_' (conditions read it as resource.%s)", a.Name.V, a.Name.V)
		return Attribute{}, false
	}
	return Attribute{Name: a.Name.V, Type: t, Description: a.Description}, true
}

func (c *compiler) flags() {
	m := c.m
	for _, b := range builtinFlags {
		f := &Flag{ID: b.id, Name: b.id, Description: b.desc, Builtin: true}
		m.Flags = append(m.Flags, f)
		m.flags[f.ID] = f
	}
	for _, fd := range c.f.Flags {
		c.cur = fd.Pos
		if !c.checkID("flag", fd.ID) {
			continue
		}
		if _, dup := m.flags[fd.ID.V]; dup {
			c.at(fd.ID.Pos, "flag %q is declared twice (or is built in); keep one", fd.ID.V)
			continue
		}
		f := &Flag{ID: fd.ID.V, Name: fd.Name, Description: fd.Description}
		if f.Name == "" {
			f.Name = f.ID
		}
		m.Flags = append(m.Flags, f)
		m.flags[f.ID] = f
	}
}

func (c *compiler) flagRef(s str) bool {
	if _, ok := c.m.flags[s.V]; !ok {
		c.at(s.Pos, "unknown flag %q%s; declare it under `flags:` or use a built-in one (sensitive, programmatic, api_only, ui_only, default_member)", s.V, yamlx.Closest(s.V, c.m.flags))
		return false
	}
	return true
}

func (c *compiler) categories() {
	m := c.m
	for _, cd := range c.f.Categories {
		c.cur = cd.Pos
		if !c.checkID("category", cd.ID) {
			continue
		}
		if _, dup := m.categories[cd.ID.V]; dup {
			c.at(cd.ID.Pos, "category %q is declared twice; keep one", cd.ID.V)
			continue
		}
		cat := &Category{ID: cd.ID.V, Name: cd.Name, Description: cd.Description}
		if cat.Name == "" {
			cat.Name = cat.ID
		}
		for _, f := range cd.Flags {
			if c.flagRef(f) {
				cat.Flags = append(cat.Flags, f.V)
			}
		}
		m.Categories = append(m.Categories, cat)
		m.categories[cat.ID] = cat
	}
}

func (c *compiler) permissions() {
	m := c.m
	var uncategorized *Category
	for i := range c.f.Permissions {
		pd := &c.f.Permissions[i]
		c.cur = pd.Pos
		if !c.checkID("permission", pd.ID) {
			continue
		}
		if prev, dup := m.perms[pd.ID.V]; dup {
			if prev.ID == pd.ID.V {
				c.at(pd.ID.Pos, "permission %q is declared twice (first at line %d); keep one", pd.ID.V, c.permDoc[prev].ID.Line)
			} else {
				c.at(pd.ID.Pos, "permission %q is already an alias of %q; rename one of them", pd.ID.V, prev.ID)
			}
			continue
		}
		p := &Permission{ID: pd.ID.V, Name: pd.Name, Description: pd.Description, Index: len(m.Perms), Grantable: pd.Grantable == nil || *pd.Grantable}
		if p.Name == "" {
			p.Name = p.ID
		}
		switch {
		case pd.Category.V != "":
			cat, ok := m.categories[pd.Category.V]
			if !ok {
				c.at(pd.Category.Pos, "permission %q: unknown category %q%s; declare it under `categories:`", p.ID, pd.Category.V, yamlx.Closest(pd.Category.V, m.categories))
			} else {
				p.Category = cat
			}
		case len(c.f.Categories) > 0:
			c.at(pd.ID.Pos, "permission %q has no category; add `category:` (one of %s)", p.ID, strings.Join(slices.Sorted(maps.Keys(m.categories)), ", "))
		}
		if p.Category == nil {
			if uncategorized == nil {
				uncategorized = &Category{ID: "general", Name: "General"}
				if _, taken := m.categories["general"]; !taken {
					m.Categories = append(m.Categories, uncategorized)
					m.categories["general"] = uncategorized
				}
			}
			p.Category = uncategorized
		}
		flags := append([]string(nil), p.Category.Flags...)
		for _, f := range pd.Flags {
			if c.flagRef(f) && !slices.Contains(flags, f.V) {
				flags = append(flags, f.V)
			}
		}
		for _, f := range pd.ExceptFlags {
			if c.flagRef(f) {
				if !slices.Contains(flags, f.V) {
					c.at(f.Pos, "permission %q: except_flags names %q, which its category does not set; remove it", p.ID, f.V)
				}
				flags = slices.DeleteFunc(flags, func(x string) bool { return x == f.V })
			}
		}
		p.Flags = flags
		p.Category.Perms = append(p.Category.Perms, p)
		m.Perms = append(m.Perms, p)
		m.perms[p.ID] = p
		c.permDoc[p] = pd
	}
	for i := range c.f.Permissions {
		pd := &c.f.Permissions[i]
		c.cur = pd.Pos
		p := m.perms[pd.ID.V]
		if p == nil || c.permDoc[p] != pd {
			continue
		}
		for _, a := range pd.Aliases {
			if prev, dup := m.perms[a.V]; dup {
				c.at(a.Pos, "alias %q of permission %q is already the id or alias of %q; aliases must be unique", a.V, p.ID, prev.ID)
				continue
			}
			p.Aliases = append(p.Aliases, a.V)
			m.perms[a.V] = p
		}
	}
	m.Words = (len(m.Perms) + 63) / 64
	if m.Words == 0 {
		m.Words = 1
	}
	// implies
	for i := range c.f.Permissions {
		pd := &c.f.Permissions[i]
		c.cur = pd.Pos
		p := m.perms[pd.ID.V]
		if p == nil || c.permDoc[p] != pd {
			continue
		}
		for _, s := range pd.Implies {
			q, ok := m.perms[s.V]
			if !ok {
				c.at(s.Pos, "permission %q implies %q, which is not in the catalog%s; declare it under `permissions:` or fix the name", p.ID, s.V, yamlx.Closest(s.V, m.perms))
				continue
			}
			if q == p {
				c.at(s.Pos, "permission %q implies itself; remove it from its implies", p.ID)
				continue
			}
			p.Implies = append(p.Implies, q)
		}
	}
	c.closure()
}

// closure computes each permission's transitive closure and reports cycles
// with their path.
func (c *compiler) closure() {
	m := c.m
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(m.Perms))
	var stack []*Permission
	reported := map[string]bool{}
	var visit func(p *Permission)
	visit = func(p *Permission) {
		color[p.Index] = grey
		stack = append(stack, p)
		p.Closure = NewBits(len(m.Perms))
		p.Closure.Set(p.Index)
		for _, q := range p.Implies {
			switch color[q.Index] {
			case grey:
				i := slices.Index(stack, q)
				var names []string
				for _, s := range stack[i:] {
					names = append(names, s.ID)
				}
				names = append(names, q.ID)
				key := strings.Join(names, ">")
				if !reported[key] {
					reported[key] = true
					c.at(c.permPos(p), "implication cycle: %s; implications must not loop, remove one of these implies", strings.Join(names, " → "))
				}
			case white:
				visit(q)
				p.Closure.Or(q.Closure)
			case black:
				p.Closure.Or(q.Closure)
			}
		}
		stack = stack[:len(stack)-1]
		color[p.Index] = black
	}
	for _, p := range m.Perms {
		if color[p.Index] == white {
			visit(p)
		}
	}
	for _, p := range m.Perms {
		if p.Closure == nil {
			p.Closure = NewBits(len(m.Perms))
			p.Closure.Set(p.Index)
		}
	}
	for _, p := range m.Perms {
		for _, q := range m.Perms {
			if q != p && q.Closure.Has(p.Index) {
				p.ImpliedBy = append(p.ImpliedBy, q)
			}
		}
	}
}

func (c *compiler) permPos(p *Permission) Pos {
	if pd := c.permDoc[p]; pd != nil {
		return pd.ID.Pos
	}
	return Pos{}
}

// reservedResourceFields may not be used as attribute names.
var reservedResourceFields = map[string]bool{"id": true, "type": true, "owner": true, "groups": true, "scope": true, "parent": true}

func (c *compiler) resources() {
	m := c.m
	// first pass: ids, so parents and inputs may refer forward
	for i := range c.f.Resources {
		rd := &c.f.Resources[i]
		c.cur = rd.Pos
		if !c.checkID("resource type", rd.ID) {
			continue
		}
		if _, dup := m.resources[rd.ID.V]; dup {
			c.at(rd.ID.Pos, "resource type %q is declared twice; keep one", rd.ID.V)
			continue
		}
		if _, clash := m.levels[rd.ID.V]; clash {
			c.at(rd.ID.Pos, "resource type %q has the id of a level; use another id", rd.ID.V)
			continue
		}
		rt := &ResourceType{ID: rd.ID.V, Name: rd.Name, Description: rd.Description, Index: len(m.Resources), Owner: rd.Owner, Groups: rd.Groups, External: rd.External, Fields: map[string]string{}}
		if rt.Name == "" {
			rt.Name = rt.ID
		}
		m.Resources = append(m.Resources, rt)
		m.resources[rt.ID] = rt
		c.resDoc[rt] = rd
	}
	for i := range c.f.Resources {
		rd := &c.f.Resources[i]
		c.cur = rd.Pos
		rt := m.resources[rd.ID.V]
		if rt == nil || c.resDoc[rt] != rd {
			continue
		}
		switch {
		case rd.Scope.V != "" && rd.Parent.V != "":
			c.at(rd.Scope.Pos, "resource type %q gives both scope and parent; a resource lives in a scope node or under a parent resource, not both", rt.ID)
		case rd.Scope.V != "":
			l, ok := m.levels[rd.Scope.V]
			if !ok {
				c.at(rd.Scope.Pos, "resource type %q: scope %q is not a level%s", rt.ID, rd.Scope.V, yamlx.Closest(rd.Scope.V, m.levels))
			}
			rt.Level = l
		case rd.Parent.V != "":
			p, ok := m.resources[rd.Parent.V]
			if !ok {
				c.at(rd.Parent.Pos, "resource type %q: parent %q is not a resource type%s", rt.ID, rd.Parent.V, yamlx.Closest(rd.Parent.V, m.resources))
			}
			rt.Parent = p
		default:
			c.at(rd.ID.Pos, "resource type %q needs `scope: <level>` or `parent: <resource type>`", rt.ID)
		}
		for _, in := range rd.Inputs {
			c.cur = in.Pos
			t, ok := m.resources[in.Type.V]
			if !ok {
				c.at(in.Type.Pos, "resource type %q: input %q has unknown type %q%s", rt.ID, in.Name.V, in.Type.V, yamlx.Closest(in.Type.V, m.resources))
				continue
			}
			if in.Min < 0 || in.Max < 0 || (in.Max > 0 && in.Min > in.Max) {
				c.at(in.Pos, "resource type %q: input %q has min %d and max %d; use 0 <= min <= max (max 0 = no limit)", rt.ID, in.Name.V, in.Min, in.Max)
			}
			if !validID(in.Name.V) || strings.ContainsAny(in.Name.V, "-.") {
				c.at(in.Name.Pos, "resource type %q: input name %q: use letters, digits and '_' (relations read it as resource.%s)", rt.ID, in.Name.V, in.Name.V)
			}
			if reservedResourceFields[in.Name.V] {
				c.at(in.Name.Pos, "resource type %q: input name %q is reserved; pick another", rt.ID, in.Name.V)
			}
			if slices.ContainsFunc(rt.Inputs, func(x *Input) bool { return x.Name == in.Name.V }) {
				c.at(in.Name.Pos, "resource type %q: input %q is declared twice; keep one", rt.ID, in.Name.V)
				continue
			}
			rt.Inputs = append(rt.Inputs, &Input{Name: in.Name.V, Type: t, Min: in.Min, Max: in.Max, CrossScope: in.CrossScope})
		}
		for _, a := range rd.Attributes {
			if reservedResourceFields[a.Name.V] {
				c.at(a.Name.Pos, "resource type %q: attribute %q is a reserved field (id, type, owner, groups, scope, parent); rename it", rt.ID, a.Name.V)
				continue
			}
			if slices.ContainsFunc(rt.Attributes, func(x Attribute) bool { return x.Name == a.Name.V }) {
				c.at(a.Name.Pos, "resource type %q: attribute %q is declared twice; keep one", rt.ID, a.Name.V)
				continue
			}
			if at, ok := c.attr(a); ok {
				rt.Attributes = append(rt.Attributes, at)
				if _, seen := c.attrAt[at.Name]; !seen {
					c.attrAt[at.Name] = a.Name.Pos
				}
			}
		}
		for _, fc := range rd.FieldClasses {
			c.cur = fc.Pos
			if !c.checkID("field class", fc.ID) {
				continue
			}
			p, ok := m.perms[fc.UnlockedBy.V]
			if !ok {
				c.at(fc.UnlockedBy.Pos, "resource type %q: field class %q is unlocked by unknown permission %q%s", rt.ID, fc.ID.V, fc.UnlockedBy.V, yamlx.Closest(fc.UnlockedBy.V, m.perms))
				continue
			}
			if rt.class(fc.ID.V) != nil {
				c.at(fc.ID.Pos, "resource type %q: field class %q is declared twice; keep one", rt.ID, fc.ID.V)
				continue
			}
			rt.Classes = append(rt.Classes, &FieldClass{ID: fc.ID.V, UnlockedBy: p})
		}
		for f, cl := range rd.Fields {
			if rt.class(cl.V) == nil {
				c.at(cl.Pos, "resource type %q: field %q has class %q, which is not among its field_classes", rt.ID, f, cl.V)
				continue
			}
			rt.Fields[f] = cl.V
		}
	}
	// resolve home levels through parents, detecting parent cycles
	for _, rt := range m.Resources {
		seen := map[*ResourceType]bool{}
		t := rt
		for t != nil && t.Level == nil && t.Parent != nil {
			if seen[t] {
				c.at(c.resDoc[rt].Parent.Pos, "resource type %q: parent chain loops back to %q; resources must end in a scope", rt.ID, t.ID)
				break
			}
			seen[t] = true
			t = t.Parent
		}
		if t != nil && t.Level != nil {
			rt.Level = t.Level
		}
	}
}

func (rt *ResourceType) class(id string) *FieldClass {
	for _, c := range rt.Classes {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// env builds the condition environment from every declared attribute.
func (c *compiler) env() {
	m := c.m
	s := condition.Schema{ResourceAttrs: map[string]condition.Type{}, SubjectAttrs: map[string]condition.Type{}}
	for _, a := range m.SubjectAttributes {
		s.SubjectAttrs[a.Name] = a.Type
	}
	owner := map[string]string{}
	add := func(where string, a Attribute) {
		if t, ok := s.ResourceAttrs[a.Name]; ok && t != a.Type {
			c.at(c.attrPosOn(where, a.Name), "attribute %q has type %s on %s but type %s on %s; one name has one type across the model, so rename one of them", a.Name, a.Type, where, t, owner[a.Name])
			return
		}
		s.ResourceAttrs[a.Name] = a.Type
		owner[a.Name] = where
	}
	for _, l := range m.Levels {
		s.Ancestors = append(s.Ancestors, l.ID)
		for _, a := range l.Attributes {
			add("level "+l.ID, a)
		}
	}
	for _, rt := range m.Resources {
		s.Ancestors = append(s.Ancestors, rt.ID)
		for _, a := range rt.Attributes {
			add("resource type "+rt.ID, a)
		}
	}
	for _, name := range s.Ancestors {
		if _, clash := s.ResourceAttrs[name]; clash {
			c.at(c.attrAt[name], "attribute %q (on %s) has the name of a level or resource type, which conditions read as resource.%s; rename it", name, owner[name], name)
			delete(s.ResourceAttrs, name)
		}
	}
	env, err := condition.NewEnv(s)
	if err != nil {
		c.at(c.f.Pos, "%v", err)
		env, _ = condition.NewEnv(condition.Schema{})
	}
	m.Env = env
}

// attrPosOn finds where an attribute is declared on a level or resource
// type ("level x", "resource type y").
func (c *compiler) attrPosOn(where, name string) Pos {
	for _, rd := range c.f.Resources {
		if "resource type "+rd.ID.V == where {
			for _, a := range rd.Attributes {
				if a.Name.V == name {
					return a.Name.Pos
				}
			}
		}
	}
	for _, ld := range c.f.Levels {
		if "level "+ld.ID.V == where {
			for _, a := range ld.Attributes {
				if a.Name.V == name {
					return a.Name.Pos
				}
			}
		}
	}
	return c.f.Pos
}

// cel compiles an expression at a position, mapping errors into the file.
func (c *compiler) cel(what string, s str) *condition.Program {
	if strings.TrimSpace(s.V) == "" {
		c.at(s.Pos, "%s: empty condition; write a CEL expression such as resource.owner == subject.id", what)
		return nil
	}
	p, err := c.m.Env.Compile(s.V)
	if err != nil {
		c.celErr(what, s, err)
		return nil
	}
	return p
}

func (c *compiler) celErr(what string, s str, err error) {
	var ce *condition.Error
	p := s.Pos
	msg := err.Error()
	if errors.As(err, &ce) {
		p = c.inValue(s, ce.Line, ce.Column)
		msg = ce.Msg
	}
	c.at(p, "%s: %s (in %q)", what, msg, s.V)
}

// inValue maps a position inside a scalar's value (1-based line and
// column, in characters) to the file, following the scalar's style: plain
// and quoted values start at the scalar (after the quote), literal blocks
// keep lines, folded blocks join lines with spaces.
func (c *compiler) inValue(s str, line, col int) Pos {
	switch {
	case s.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		var content []int // source line numbers of the block's lines
		indent := -1
		for l := s.Line + 1; l <= len(c.lines); l++ {
			text := c.lines[l-1]
			trimmed := strings.TrimLeft(text, " ")
			if trimmed == "" {
				content = append(content, l)
				continue
			}
			ind := len(text) - len(trimmed)
			if indent < 0 {
				indent = ind
			}
			if ind < indent {
				break
			}
			content = append(content, l)
		}
		if indent < 0 || len(content) == 0 {
			return s.Pos
		}
		if s.Style&yaml.LiteralStyle != 0 {
			if line-1 < len(content) {
				return Pos{Line: content[line-1], Col: indent + col}
			}
			return s.Pos
		}
		// folded: the value's first line is the block's lines joined by spaces
		for _, l := range content {
			n := len([]rune(strings.TrimSpace(c.lines[l-1])))
			if col <= n {
				return Pos{Line: l, Col: indent + col}
			}
			col -= n + 1
		}
		return s.Pos
	case s.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		if line <= 1 {
			return Pos{Line: s.Line, Col: s.Col + col}
		}
	default:
		if line <= 1 {
			return Pos{Line: s.Line, Col: s.Col + col - 1}
		}
	}
	return Pos{Line: s.Line + line - 1, Col: col}
}

func (c *compiler) qualifiers() {
	m := c.m
	for _, qd := range c.f.Qualifiers {
		c.cur = qd.Pos
		if !c.checkID("qualifier", qd.ID) {
			continue
		}
		if _, dup := m.qualifiers[qd.ID.V]; dup {
			c.at(qd.ID.Pos, "qualifier %q is declared twice; keep one", qd.ID.V)
			continue
		}
		q := &Qualifier{ID: qd.ID.V, Name: qd.Name, Description: qd.Description, When: qd.When.V}
		if q.Name == "" {
			q.Name = strings.ReplaceAll(q.ID, "_", " ")
		}
		if qd.When.V == "" {
			c.at(qd.Pos, "qualifier %q has no `when:`; give the CEL condition, e.g. resource.owner == subject.id", q.ID)
		} else {
			q.Program = c.cel("qualifier "+q.ID, qd.When)
		}
		m.Qualifiers = append(m.Qualifiers, q)
		m.qualifiers[q.ID] = q
	}
}

func (c *compiler) qualifierRefs(what string, l []str) []*Qualifier {
	var out []*Qualifier
	for _, s := range l {
		q, ok := c.m.qualifiers[s.V]
		if !ok {
			c.at(s.Pos, "%s: unknown qualifier %q%s; declare it under `qualifiers:`", what, s.V, yamlx.Closest(s.V, c.m.qualifiers))
			continue
		}
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

func (c *compiler) permQualifiers() {
	for i := range c.f.Permissions {
		pd := &c.f.Permissions[i]
		p := c.m.perms[pd.ID.V]
		if p == nil || c.permDoc[p] != pd {
			continue
		}
		p.Qualifiers = c.qualifierRefs("permission "+p.ID, pd.Qualifiers)
	}
}

func (c *compiler) permRef(what string, s str) *Permission {
	p, ok := c.m.perms[s.V]
	if !ok {
		c.at(s.Pos, "%s: unknown permission %q%s; declare it under `permissions:` or fix the name", what, s.V, yamlx.Closest(s.V, c.m.perms))
		return nil
	}
	return p
}

func (c *compiler) implicit() {
	m := c.m
	for i := range c.f.Resources {
		rd := &c.f.Resources[i]
		rt := m.resources[rd.ID.V]
		if rt == nil || c.resDoc[rt] != rd {
			continue
		}
		for _, id := range rd.Implicit {
			c.cur = id.Pos
			im := &Implicit{Relation: id.Relation.V, Grants: NewBits(len(m.Perms))}
			switch id.Relation.V {
			case RelOwner:
				if rt.Owner == "" {
					c.at(id.Relation.Pos, "resource type %q: implicit grant to the owner, but the type declares no `owner:` relation", rt.ID)
				}
			case RelGroupMember:
				if !rt.Groups {
					c.at(id.Relation.Pos, "resource type %q: implicit grant to group members, but the type is not assignable to groups; add `groups: true`", rt.ID)
				}
			default:
				c.at(id.Relation.Pos, "resource type %q: implicit relation %q; use owner or group_member", rt.ID, id.Relation.V)
				continue
			}
			for _, g := range id.Grants {
				if p := c.permRef("implicit grant of "+rt.ID, g); p != nil {
					im.Perms = append(im.Perms, p)
					im.Grants.Or(p.Closure)
				}
			}
			im.Qualifiers = c.qualifierRefs("implicit grant of "+rt.ID, id.When)
			im.Set = BuildGrantSet(m, permItems(im.Perms), im.Qualifiers)
			rt.Implicit = append(rt.Implicit, im)
		}
	}
}

// bindTarget validates one entry of a bindable_at list.
func (c *compiler) bindTarget(what string, s str) bool {
	m := c.m
	if _, ok := m.levels[s.V]; ok {
		return true
	}
	if m.Tenant != nil && m.Tenant.Wildcard != "" && s.V == m.Tenant.Wildcard {
		return true
	}
	if t, ok := strings.CutPrefix(s.V, "resource:"); ok {
		if _, ok := m.resources[t]; ok {
			return true
		}
		c.at(s.Pos, "%s: bindable_at %q names no resource type%s", what, s.V, yamlx.Closest(t, m.resources))
		return false
	}
	hint := ""
	if m.Tenant != nil && m.Tenant.Wildcard == "" && s.V == "*" {
		hint = "; to allow \"*\", set `wildcard: \"*\"` on the tenant level"
	}
	c.at(s.Pos, "%s: bindable_at %q is not a level, the wildcard or resource:<type>%s%s", what, s.V, yamlx.Closest(s.V, m.levels), hint)
	return false
}

// grantSet compiles a grants list into a closed GrantSet.
func (c *compiler) grantSet(what string, g grantsDoc, roleQuals []*Qualifier) (*GrantSet, bool) {
	m := c.m
	var items []GrantItem
	all := false
	if g.All {
		all = true
		excluded := map[string]bool{}
		for _, e := range g.AllExcept {
			if p := c.permRef(what, e); p != nil {
				excluded[p.ID] = true
			}
		}
		for _, p := range m.Perms {
			if !excluded[p.ID] && p.Grantable {
				items = append(items, GrantItem{Perm: p})
			}
		}
		if len(excluded) > 0 {
			all = false
		}
	}
	for _, gi := range g.Items {
		p := c.permRef(what, gi.Perm)
		if p == nil {
			continue
		}
		if !p.Grantable {
			c.at(gi.Perm.Pos, "%s: permission %q is not grantable by name (only implicit grants, offers and implications give it); remove it", what, p.ID)
			continue
		}
		items = append(items, GrantItem{Perm: p, Qualifiers: c.qualifierRefs(what, gi.Qualifiers)})
	}
	return BuildGrantSet(m, items, roleQuals), all
}

func permItems(ps []*Permission) []GrantItem {
	out := make([]GrantItem, len(ps))
	for i, p := range ps {
		out[i] = GrantItem{Perm: p}
	}
	return out
}

// BuildGrantSet closes grants under implication: each granted permission
// gives its closure, each member qualified by the grant's qualifiers, the
// role-wide ones and the member's intrinsic ones. An unqualified path to a
// permission wins over qualified ones.
func BuildGrantSet(m *Model, items []GrantItem, roleQuals []*Qualifier) *GrantSet {
	gs := &GrantSet{Plain: NewBits(len(m.Perms)), Items: items, Any: NewBits(len(m.Perms))}
	type qkey string
	qsets := map[qkey]*QualifiedBits{}
	var order []qkey
	for _, it := range items {
		it.Perm.Closure.Each(func(i int) {
			p := m.Perms[i]
			qs := append(append(append([]*Qualifier(nil), it.Qualifiers...), roleQuals...), p.Qualifiers...)
			qs = dedupQ(qs)
			if len(qs) == 0 {
				gs.Plain.Set(i)
				return
			}
			ids := make([]string, len(qs))
			for j, q := range qs {
				ids[j] = q.ID
			}
			k := qkey(strings.Join(ids, ","))
			qb, ok := qsets[k]
			if !ok {
				qb = &QualifiedBits{Qualifiers: qs, Bits: NewBits(len(m.Perms))}
				qsets[k] = qb
				order = append(order, k)
			}
			qb.Bits.Set(i)
		})
	}
	gs.Any.Or(gs.Plain)
	for _, k := range order {
		qb := qsets[k]
		for i := range qb.Bits {
			qb.Bits[i] &^= gs.Plain[i]
		}
		if !qb.Bits.IsEmpty() {
			gs.Qualified = append(gs.Qualified, *qb)
			gs.Any.Or(qb.Bits)
		}
	}
	return gs
}

func dedupQ(qs []*Qualifier) []*Qualifier {
	out := qs[:0]
	for _, q := range qs {
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *compiler) roles() {
	m := c.m
	for _, rd := range c.f.Roles {
		c.cur = rd.Pos
		if !c.checkID("role", rd.ID) {
			continue
		}
		if reservedRoleWords[rd.ID.V] {
			c.at(rd.ID.Pos, "role id %q is reserved; pick another", rd.ID.V)
			continue
		}
		if prev, dup := m.roles[rd.ID.V]; dup {
			c.at(rd.ID.Pos, "role %q is declared twice (first at line %d); keep one", rd.ID.V, c.roleDoc[prev].ID.Line)
			continue
		}
		r := &Role{ID: rd.ID.V, Name: rd.Name, Description: rd.Description, Settings: rd.Settings, AssignableBy: rd.AssignableBy.V}
		if r.Name == "" {
			r.Name = r.ID
		}
		switch rd.Kind.V {
		case "", "builtin":
			r.Kind = Builtin
		case "template":
			r.Kind = Template
		default:
			c.at(rd.Kind.Pos, "role %q: kind %q; use builtin (immutable) or template (copied into each organization, editable there)", r.ID, rd.Kind.V)
		}
		for _, b := range rd.BindableAt {
			if c.bindTarget("role "+r.ID, b) {
				r.BindableAt = append(r.BindableAt, b.V)
			}
		}
		if len(rd.BindableAt) == 0 {
			c.at(rd.Pos, "role %q has no bindable_at; list the levels (or \"*\", resource:<type>) where it may be bound", r.ID)
		}
		r.Qualifiers = c.qualifierRefs("role "+r.ID, rd.When)
		if !rd.Grants.Set && len(rd.GrantsAt) == 0 {
			c.at(rd.Pos, "role %q grants nothing; add `grants:`", r.ID)
		}
		r.Grants, r.All = c.grantSet("role "+r.ID, rd.Grants, r.Qualifiers)
		if len(rd.GrantsAt) > 0 {
			r.ByLevel = map[int]*GrantSet{}
			for _, lv := range slices.Sorted(maps.Keys(rd.GrantsAt)) {
				l, ok := m.levels[lv]
				if !ok {
					c.at(rd.GrantsAt[lv].Pos, "role %q: grants_at names %q, which is not a level%s", r.ID, lv, yamlx.Closest(lv, m.levels))
					continue
				}
				if !slices.Contains(r.BindableAt, lv) && !(l.Tenant && l.Wildcard != "" && slices.Contains(r.BindableAt, l.Wildcard)) {
					c.at(rd.GrantsAt[lv].Pos, "role %q: grants_at %q, but the role is not bindable there; add it to bindable_at", r.ID, lv)
				}
				r.ByLevel[l.Index], _ = c.grantSet("role "+r.ID+" at "+lv, rd.GrantsAt[lv], r.Qualifiers)
			}
		}
		switch r.AssignableBy {
		case "", "operator":
		default:
			if _, ok := m.perms[r.AssignableBy]; !ok {
				c.at(rd.AssignableBy.Pos, "role %q: assignable_by %q is neither `operator` nor a permission%s", r.ID, r.AssignableBy, yamlx.Closest(r.AssignableBy, m.perms))
			}
		}
		m.Roles = append(m.Roles, r)
		m.roles[r.ID] = r
		c.roleDoc[r] = &rd
	}
	for i := range c.f.Roles {
		rd := &c.f.Roles[i]
		c.cur = rd.Pos
		r := m.roles[rd.ID.V]
		if r == nil || c.roleDoc[r].Pos != rd.Pos {
			continue
		}
		for _, a := range rd.Aliases {
			if prev, dup := m.roles[a.V]; dup {
				c.at(a.Pos, "alias %q of role %q is already the id or alias of %q", a.V, r.ID, prev.ID)
				continue
			}
			r.Aliases = append(r.Aliases, a.V)
			m.roles[a.V] = r
		}
	}
}

func (c *compiler) levelRef(what string, s str) *Level {
	l, ok := c.m.levels[s.V]
	if !ok {
		c.at(s.Pos, "%s: %q is not a level%s", what, s.V, yamlx.Closest(s.V, c.m.levels))
		return nil
	}
	return l
}

func (c *compiler) members() {
	m := c.m
	m.Members.OnJoin = map[int]Bits{}
	m.Members.OnJoinConfigurable = map[int]bool{}
	md := c.f.Members
	if md == nil {
		return
	}
	if dr := md.DefaultRole; dr != nil {
		c.cur = dr.Pos
		m.Members.DefaultRoleAt = c.levelRef("members.default_role.at", dr.At)
		if dr.Fallback.V != "" {
			r, ok := m.roles[dr.Fallback.V]
			if !ok {
				c.at(dr.Fallback.Pos, "members.default_role.fallback: unknown role %q%s", dr.Fallback.V, yamlx.Closest(dr.Fallback.V, m.roles))
			}
			m.Members.DefaultRoleFallback = r
		}
	}
	for _, oj := range md.OnJoin {
		c.cur = oj.Pos
		l := c.levelRef("members.on_join.at", oj.At)
		if l == nil {
			continue
		}
		b := NewBits(len(m.Perms))
		if oj.Flagged.V != "" && c.flagRef(oj.Flagged) {
			for _, p := range m.Perms {
				if p.HasFlag(oj.Flagged.V) {
					b.Or(p.Closure)
				}
			}
		}
		for _, s := range oj.Permissions {
			if p := c.permRef("members.on_join", s); p != nil {
				b.Or(p.Closure)
			}
		}
		if b.IsEmpty() {
			c.at(oj.Pos, "members.on_join at %q grants nothing; give grant_flagged: <flag> or grant: [permissions]", oj.At.V)
		}
		m.Members.OnJoin[l.Index] = b
		if oj.Configurable {
			m.Members.OnJoinConfigurable[l.Index] = true
		}
	}
}

func (c *compiler) groups() {
	m := c.m
	gd := c.f.Groups
	if gd == nil {
		return
	}
	g := &m.Groups
	g.Enabled = true
	g.Name, g.Plural, g.DefaultRole = gd.Name, gd.Plural, gd.DefaultRole
	if g.Name == "" {
		g.Name = "group"
	}
	if g.Plural == "" {
		g.Plural = g.Name + "s"
	}
	for _, s := range gd.At {
		if l := c.levelRef("groups.at", s); l != nil {
			g.At = append(g.At, l)
		}
	}
	if len(g.At) == 0 && m.Tenant != nil {
		g.At = []*Level{m.Tenant}
	}
	for _, b := range gd.BindableAt {
		if c.bindTarget("groups", b) {
			g.BindableAt = append(g.BindableAt, b.V)
		}
	}
	for _, b := range gd.Builtin {
		c.cur = b.Pos
		if !c.checkID("built-in group", b.ID) {
			continue
		}
		if slices.ContainsFunc(g.Builtin, func(x BuiltinGroup) bool { return x.ID == b.ID.V }) {
			c.at(b.ID.Pos, "built-in group %q is declared twice; keep one", b.ID.V)
			continue
		}
		g.Builtin = append(g.Builtin, BuiltinGroup{ID: b.ID.V, Name: b.Name, AllMembers: b.AllMembers, Immutable: b.Immutable})
	}
	for _, k := range gd.Kinds {
		g.Kinds = append(g.Kinds, k.V)
	}
	if g.DefaultRole && m.Members.DefaultRoleAt == nil {
		c.at(gd.Pos, "groups.default_role is set but members.default_role is not; declare at which level members carry a default role")
	}
}

func (c *compiler) direct() {
	if c.f.Direct == nil {
		return
	}
	for _, s := range c.f.Direct.At {
		if l := c.levelRef("direct_grants.at", s); l != nil {
			c.m.Direct.At = append(c.m.Direct.At, l)
		}
	}
}

// checkOnJoin: on_join grants are direct grants, so the level must allow
// them.
func (c *compiler) checkOnJoin() {
	if c.f.Members == nil {
		return
	}
	for _, oj := range c.f.Members.OnJoin {
		if l, ok := c.m.levels[oj.At.V]; ok && !c.m.Direct.Allowed(l) {
			c.at(oj.At.Pos, "members.on_join grants permissions directly at %q, but direct_grants does not allow that level; add it to direct_grants.at", oj.At.V)
		}
	}
}

func (c *compiler) plans() {
	seen := map[string]bool{}
	for _, pd := range c.f.Plans {
		c.cur = pd.Pos
		if !c.checkID("plan", pd.ID) {
			continue
		}
		if seen[pd.ID.V] {
			c.at(pd.ID.Pos, "plan %q is declared twice; keep one", pd.ID.V)
			continue
		}
		seen[pd.ID.V] = true
		p := &Plan{ID: pd.ID.V, Name: pd.Name, Limits: pd.Limits}
		for _, f := range pd.Features {
			p.Features = append(p.Features, f.V)
		}
		for _, k := range slices.Sorted(maps.Keys(pd.Limits)) {
			if v := pd.Limits[k]; v < 0 {
				c.at(pd.Pos, "plan %q: limit %s is %d; limits cannot be below zero", p.ID, k, v)
			}
		}
		c.m.Plans = append(c.m.Plans, p)
	}
}

func (c *compiler) custom() {
	m := c.m
	cp := &m.CustomRoles
	cp.Max = -1
	cp.Grantable = NewBits(len(m.Perms))
	cd := c.f.CustomRoles
	if cd == nil {
		return
	}
	c.cur = cd.Pos
	defer func() {
		if cp.Allowed && cd.Grantable != nil && cp.Grantable.IsEmpty() {
			c.at(cd.Grantable.Pos, "custom_roles.grantable selects no grantable permission; custom roles could grant nothing (set allowed: false instead)")
		}
	}()
	cp.Allowed = cd.Allowed == nil || *cd.Allowed
	for _, b := range cd.BindableAt {
		if c.bindTarget("custom_roles", b) {
			cp.BindableAt = append(cp.BindableAt, b.V)
		}
	}
	if cp.Allowed && len(cd.BindableAt) == 0 {
		c.at(cd.Pos, "custom_roles has no bindable_at; list the levels where custom roles may be bound")
	}
	if cd.Max != nil {
		if *cd.Max < 0 {
			c.at(cd.Pos, "custom_roles.max is %d; a limit cannot be below zero (leave it out for no limit)", *cd.Max)
		} else {
			cp.Max = *cd.Max
		}
	}
	if cd.Per.V != "" {
		cp.Per = c.levelRef("custom_roles.per", cd.Per)
	} else {
		cp.Per = m.Tenant
	}
	if cd.Feature.V != "" {
		found := false
		for _, p := range m.Plans {
			if slices.Contains(p.Features, cd.Feature.V) {
				found = true
			}
		}
		if !found {
			c.at(cd.Feature.Pos, "custom_roles.feature %q is in no plan's features; add it to a plan or remove it", cd.Feature.V)
		}
		cp.Feature = cd.Feature.V
	}
	if cd.Grantable == nil {
		for _, p := range m.Perms {
			if p.Grantable {
				cp.Grantable.Set(p.Index)
			}
		}
		return
	}
	for _, s := range cd.Grantable.Categories {
		cat, ok := m.categories[s.V]
		if !ok {
			c.at(s.Pos, "custom_roles.grantable: unknown category %q%s", s.V, yamlx.Closest(s.V, m.categories))
			continue
		}
		for _, p := range cat.Perms {
			if p.Grantable {
				cp.Grantable.Set(p.Index)
			}
		}
	}
	for _, s := range cd.Grantable.Permissions {
		if p := c.permRef("custom_roles.grantable", s); p != nil {
			cp.Grantable.Set(p.Index)
		}
	}
}
