package console

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/model"
)

// roleInfo is a role as the roles page lists it.
type roleInfo struct {
	Role  *model.Role
	Name  string
	Kind  string
	Perms []string // names of what it grants, after implication
	Where string   // where it can be bound
}

type rolesView struct {
	*view
	Builtin, Custom []roleInfo
	CanCustom       bool
	Remaining       int // custom roles the organization may still create; -1 unlimited
}

func (c *Console) roleInfo(r *model.Role) roleInfo {
	ri := roleInfo{Role: r, Name: firstNonEmpty(r.Name, r.ID), Kind: r.Kind.String()}
	if r.All {
		ri.Perms = []string{"every permission"}
	} else if r.Grants != nil {
		r.Grants.Any.Each(func(i int) { ri.Perms = append(ri.Perms, firstNonEmpty(c.m.Perms[i].Name, c.m.Perms[i].ID)) })
	}
	var where []string
	for _, b := range r.BindableAt {
		if l, ok := c.m.Level(b); ok {
			where = append(where, strings.ToLower(l.Name))
		} else if b == c.m.Tenant.Wildcard {
			where = append(where, "every node ("+b+")")
		} else {
			where = append(where, b)
		}
	}
	ri.Where = strings.Join(where, ", ")
	return ri
}

func (c *Console) rolesData(v *view) *rolesView {
	v.Tab = "roles"
	rv := &rolesView{view: v, CanCustom: c.m.CustomRoles.Allowed, Remaining: -1}
	for _, r := range c.m.Roles {
		rv.Builtin = append(rv.Builtin, c.roleInfo(r))
	}
	custom := v.Engine.CustomRoles(v.Org.ID)
	for _, r := range custom {
		rv.Custom = append(rv.Custom, c.roleInfo(r))
	}
	if limit := c.m.CustomRoles.Max; limit >= 0 && rv.CanCustom {
		rv.Remaining = max(0, limit-len(custom))
	}
	return rv
}

// roles lists the model's roles (read-only) and the organization's custom
// roles.
func (c *Console) roles(w http.ResponseWriter, r *http.Request, v *view) {
	c.render(w, r, http.StatusOK, "roles", c.rolesData(v))
}

type gridView struct {
	*rolesView
	Roles []roleInfo
	Rows  []gridRow
}

type gridRow struct {
	Category string // set on a category's first row
	Perm     *model.Permission
	Cells    []bool
}

// roleGrid shows every role as a column and every permission as a row.
func (c *Console) roleGrid(w http.ResponseWriter, r *http.Request, v *view) {
	rv := c.rolesData(v)
	gv := &gridView{rolesView: rv, Roles: append(slices.Clone(rv.Builtin), rv.Custom...)}
	for _, cat := range c.m.Categories {
		for i, p := range cat.Perms {
			row := gridRow{Perm: p}
			if i == 0 {
				row.Category = firstNonEmpty(cat.Name, cat.ID)
			}
			for _, ri := range gv.Roles {
				row.Cells = append(row.Cells, ri.Role.All || ri.Role.Grants != nil && ri.Role.Grants.Any.Has(p.Index))
			}
			gv.Rows = append(gv.Rows, row)
		}
	}
	c.render(w, r, http.StatusOK, "grid", gv)
}

// permBox is one permission of the custom role editor.
type permBox struct {
	Perm      *model.Permission
	Checked   bool
	Implied   []string // the chosen permissions that imply it (ticked and locked)
	Grantable bool
}

type catBox struct {
	Category *model.Category
	Perms    []permBox
}

type editorView struct {
	*view
	ID, Name   string
	New        bool
	Categories []catBox
	Chosen     int
	Remaining  int
	Errors     map[string]string
	Rev        rolecall.Revision // the revision the editor read the role at
}

// editor builds the catalog for a set of chosen permissions: what they
// imply is ticked and locked, with what implies it.
func (c *Console) editor(v *view, id, name string, chosen []string) *editorView {
	v.Tab = "roles"
	ev := &editorView{view: v, ID: id, Name: name, New: id == "", Errors: map[string]string{}, Remaining: -1, Rev: v.Revision}
	on := map[int]bool{}
	for _, p := range chosen {
		if q, ok := c.m.Perm(p); ok {
			on[q.Index] = true
		}
	}
	ev.Chosen = len(on)
	grantable := c.m.CustomRoles.Grantable
	for _, cat := range c.m.Categories {
		cb := catBox{Category: cat}
		for _, p := range cat.Perms {
			pb := permBox{Perm: p, Checked: on[p.Index], Grantable: p.Grantable && (grantable == nil || grantable.Has(p.Index))}
			for _, by := range p.ImpliedBy {
				if on[by.Index] {
					pb.Implied = append(pb.Implied, firstNonEmpty(by.Name, by.ID))
				}
			}
			cb.Perms = append(cb.Perms, pb)
		}
		ev.Categories = append(ev.Categories, cb)
	}
	if limit := c.m.CustomRoles.Max; limit >= 0 {
		ev.Remaining = max(0, limit-len(v.Engine.CustomRoles(v.Org.ID)))
	}
	return ev
}

// roleEditor opens the editor on a new role, or on a custom role.
func (c *Console) roleEditor(w http.ResponseWriter, r *http.Request, v *view) {
	if !c.m.CustomRoles.Allowed {
		c.fail(w, r, v, rolecall.E("console", rolecall.FailedPrecondition, "custom_roles", "model "+c.m.ID+" has no custom roles"))
		return
	}
	id := r.PathValue("role")
	if id == "" {
		c.render(w, r, http.StatusOK, "editor", c.editor(v, "", "", nil))
		return
	}
	for _, cr := range v.Engine.CustomRoles(v.Org.ID) {
		if cr.ID == id {
			var chosen []string
			for _, it := range cr.Grants.Items {
				chosen = append(chosen, it.Perm.ID)
			}
			c.render(w, r, http.StatusOK, "editor", c.editor(v, id, cr.Name, chosen))
			return
		}
	}
	c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, id, "no such custom role in "+v.Org.ID))
}

// rolePreview answers a tick in the editor: the catalog again, with what
// the chosen permissions imply ticked and locked.
func (c *Console) rolePreview(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	c.renderPart(w, http.StatusOK, "editor", "catalog", c.editor(v, r.FormValue("id"), r.FormValue("name"), r.Form["perm"]))
}

// saveRole creates or updates a custom role. A refusal is shown next to
// the field it concerns, and nothing is saved.
func (c *Console) saveRole(w http.ResponseWriter, r *http.Request, v *view) {
	r.ParseForm()
	id, name, perms := r.FormValue("id"), strings.TrimSpace(r.FormValue("name")), r.Form["perm"]
	ev := c.editor(v, id, name, perms)
	switch {
	case name == "" && id == "":
		ev.Errors["name"] = "Give the role a name."
	case len(perms) == 0:
		ev.Errors["perm"] = "Choose at least one permission."
	}
	if len(ev.Errors) == 0 {
		req := admin.Request{Act: "create_custom_role", Org: v.Org.ID, Scope: v.Org.ID, Name: name, Permissions: perms}
		if id != "" {
			req = admin.Request{Act: "update_custom_role", Org: v.Org.ID, Scope: v.Org.ID, Role: id, Name: name, Permissions: perms, Base: rolecall.Revision(atoi(r.FormValue("base")))}
		}
		_, err := c.o.Admin.Do(r.Context(), v.Actor, req)
		if err == nil {
			http.Redirect(w, r, v.Base+"/roles", http.StatusSeeOther)
			return
		}
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		field := "form"
		var re *rolecall.Error
		if errors.As(err, &re) {
			switch {
			case re.Name == "name" || strings.HasPrefix(re.Name, "role "):
				field = "name"
			case c.isPerm(re.Name):
				field = "perm"
			}
		}
		ev.Errors[field] = rolecall.Message(err)
	}
	c.render(w, r, http.StatusBadRequest, "editor", ev)
}

func (c *Console) isPerm(id string) bool {
	_, ok := c.m.Perm(id)
	return ok
}

// deleteRole deletes a custom role (refused while it is bound, as the admin
// rules say).
func (c *Console) deleteRole(w http.ResponseWriter, r *http.Request, v *view) {
	if _, err := c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: "delete_custom_role", Org: v.Org.ID, Scope: v.Org.ID, Role: r.PathValue("role")}); err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, v.Base+"/roles", http.StatusSeeOther)
}
