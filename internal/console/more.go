package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

type groupsView struct {
	*view
	Groups []engine.GroupInfo
	Group  engine.GroupInfo
	Held   []heldRole
	// Resources assigned to the group (the first groupResources of
	// ResourceCount).
	Resources     []rolecall.ResourceRef
	ResourceCount int
	// What the model offers on groups, and where.
	Can    map[string]bool
	Homes  []option     // nodes a group can live at
	Places []option     // nodes a group can be assigned to (a group's page)
	Roles  []roleChoice // the roles it can be assigned with there
	// Errors, each shown next to its form; Field is the form's fields as
	// they were sent.
	Error, CreateErr, RenameErr, BindErr, AssignErr string
	Field                                           map[string]string
}

// groupResources is how many assigned resources a group's page lists.
const groupResources = 200

// groupActs are the acts on groups the pages offer, when the model does.
var groupActs = []string{"create_group", "rename_group", "delete_group", "add_group_member", "remove_group_member", "bind_group", "unbind_group", "assign_resource_group"}

func (c *Console) groupsData(v *view, page bool) *groupsView {
	v.Tab = "groups"
	gv := &groupsView{view: v, Can: map[string]bool{}, Field: map[string]string{}}
	for _, a := range groupActs {
		_, gv.Can[a] = c.m.Act(a)
	}
	for _, s := range v.Engine.Scopes(v.Org.ID) {
		if slices.ContainsFunc(c.m.Groups.At, func(l *model.Level) bool { return l.ID == s.Level }) {
			gv.Homes = append(gv.Homes, option{Value: s.ID, Label: c.scopeLabel(s)})
		}
		if page && slices.Contains(c.m.Groups.BindableAt, s.Level) {
			if gv.Places == nil {
				// the roles offered are those of the first place; a role
				// that does not fit another place is refused there
				if c.m.Groups.DefaultRole {
					gv.Roles = append(gv.Roles, roleChoice{Value: "", Label: "Each member's default role"})
				}
				for _, ch := range c.choices(v, s, v.Engine.CustomRoles(v.Org.ID)) {
					if !strings.HasPrefix(ch.Value, "*:") {
						gv.Roles = append(gv.Roles, ch)
					}
				}
			}
			gv.Places = append(gv.Places, option{Value: s.ID, Label: c.scopeLabel(s)})
		}
	}
	return gv
}

// groups lists the organization's groups or teams, with a form to create
// one where the model offers it.
func (c *Console) groups(w http.ResponseWriter, r *http.Request, v *view) {
	if err := c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "view_members"); err != nil {
		c.fail(w, r, v, err)
		return
	}
	gv := c.groupsData(v, false)
	gv.Groups = v.Engine.Groups(v.Org.ID)
	c.render(w, r, http.StatusOK, "groups", gv)
}

// group shows a group: its members, the nodes it is assigned to with the
// role it holds there, and the resources assigned to it; with forms for
// what the model lets one change.
func (c *Console) group(w http.ResponseWriter, r *http.Request, v *view) {
	c.groupPage(w, r, v, nil)
}

// groupPage renders a group's page; a refusal (from fill) is a 409 shown
// next to the form that caused it.
func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, v *view, fill func(*groupsView)) {
	if err := c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "view_members"); err != nil {
		c.fail(w, r, v, err)
		return
	}
	g, ok := v.Engine.Group(r.PathValue("group"))
	if !ok || c.orgOfScope(v, g.Scope) != v.Org.ID {
		c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, r.PathValue("group"), "no such "+strings.ToLower(v.Words.Group)))
		return
	}
	gv := c.groupsData(v, true)
	gv.Group = g
	for _, b := range v.Engine.Bindings(rolecall.GroupSubject(g.ID), v.Org.ID) {
		gv.Held = append(gv.Held, c.held(v, b, ""))
	}
	gv.Resources, gv.ResourceCount = v.Engine.GroupResources(g.ID, groupResources)
	status := http.StatusOK
	if fill != nil {
		fill(gv)
		status = http.StatusConflict
	}
	c.render(w, r, status, "group", gv)
}

// groupAct performs an act on a group from one of its page's forms: on
// success back to the page (or, for a new group, its page; for a deleted
// one, the list); a refusal is shown next to the form, nothing written.
func (c *Console) groupAct(w http.ResponseWriter, r *http.Request, v *view) {
	form := r.PathValue("form")
	group := r.PathValue("group")
	req := admin.Request{Org: v.Org.ID, Group: group}
	var setErr func(gv *groupsView) *string
	switch form {
	case "rename":
		req.Act, req.Name = "rename_group", strings.TrimSpace(r.FormValue("name"))
		setErr = func(gv *groupsView) *string { return &gv.RenameErr }
	case "delete":
		req.Act = "delete_group"
		setErr = func(gv *groupsView) *string { return &gv.RenameErr }
	case "bind":
		req.Act, req.Scope, req.Role = "bind_group", r.FormValue("scope"), r.FormValue("role")
		setErr = func(gv *groupsView) *string { return &gv.BindErr }
	case "unbind":
		req.Act, req.Scope = "unbind_group", r.FormValue("scope")
		setErr = func(gv *groupsView) *string { return &gv.BindErr }
	case "resources":
		req.Act = "assign_resource_group"
		setErr = func(gv *groupsView) *string { return &gv.AssignErr }
		ref, err := rolecall.ParseResourceRef(strings.TrimSpace(r.FormValue("resource")))
		if err != nil {
			c.groupPage(w, r, v, func(gv *groupsView) {
				gv.AssignErr, gv.Field["resource"] = `Give the resource as "type:id".`, r.FormValue("resource")
			})
			return
		}
		req.Resource = &ref
	default:
		c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, form, "no such form"))
		return
	}
	if _, err := c.o.Admin.Do(r.Context(), v.Actor, req); err != nil {
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		v.Engine = c.o.Live.Engine()
		c.groupPage(w, r, v, func(gv *groupsView) {
			*setErr(gv) = rolecall.Message(err)
			for _, f := range []string{"name", "scope", "role", "resource"} {
				gv.Field[f] = r.FormValue(f)
			}
		})
		return
	}
	if form == "delete" {
		http.Redirect(w, r, v.Base+"/groups", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, v.Base+"/groups/"+url.PathEscape(group), http.StatusSeeOther)
}

// createGroup creates a group at a node; its page follows.
func (c *Console) createGroup(w http.ResponseWriter, r *http.Request, v *view) {
	name, scope := strings.TrimSpace(r.FormValue("name")), r.FormValue("scope")
	var err error
	var res admin.Result
	if name == "" {
		err = rolecall.E("console", rolecall.Invalid, "name", "give the "+strings.ToLower(v.Words.Group)+" a name")
	} else {
		res, err = c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: "create_group", Org: v.Org.ID, Scope: scope, Name: name})
	}
	if err != nil {
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		gv := c.groupsData(v, false)
		gv.Groups = c.o.Live.Engine().Groups(v.Org.ID)
		gv.CreateErr, gv.Field["name"], gv.Field["scope"] = rolecall.Message(err), name, scope
		c.render(w, r, http.StatusBadRequest, "groups", gv)
		return
	}
	http.Redirect(w, r, v.Base+"/groups/"+url.PathEscape(strings.TrimPrefix(res.Audit.Target, "group ")), http.StatusSeeOther)
}

// groupMember adds a member to a group or removes one.
func (c *Console) groupMember(w http.ResponseWriter, r *http.Request, v *view) {
	act := "add_group_member"
	if r.FormValue("remove") != "" {
		act = "remove_group_member"
	}
	user := strings.TrimSpace(firstNonEmpty(r.FormValue("remove"), r.FormValue("user")))
	if id, ok := v.Engine.UserByEmail(user); ok {
		user = id
	}
	_, err := c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: act, Org: v.Org.ID, Group: r.PathValue("group"), User: user})
	if err != nil {
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		v.Engine = c.o.Live.Engine()
		c.groupPage(w, r, v, func(gv *groupsView) { gv.Error, gv.Field["user"] = rolecall.Message(err), r.FormValue("user") })
		return
	}
	http.Redirect(w, r, v.Base+"/groups/"+r.PathValue("group"), http.StatusSeeOther)
}

// offerRow is an offer with the acts its state allows.
type offerRow struct {
	Offer rolecall.Offer
	Kind  string
	Acts  []string
}

type offersView struct {
	*view
	Sent, Received []offerRow
	Error          string
}

// offers lists the offers of access the organization sent and received,
// with accept, reject, revoke and surrender where the state allows.
func (c *Console) offers(w http.ResponseWriter, r *http.Request, v *view) {
	c.offersPage(w, r, v, "")
}

func (c *Console) offersPage(w http.ResponseWriter, r *http.Request, v *view, errMsg string) {
	v.Tab = "offers"
	sent, received := v.Engine.Offers(v.Org.ID)
	ov := &offersView{view: v, Error: errMsg}
	rows := func(os []rolecall.Offer, by string) []offerRow {
		var out []offerRow
		for _, o := range os {
			row := offerRow{Offer: o, Kind: o.Kind}
			if k, ok := c.m.Offer(o.Kind); ok {
				row.Kind = firstNonEmpty(k.Name, k.ID)
				for _, t := range k.Transitions {
					if t.By == by && slices.Contains(t.From, o.State) {
						row.Acts = append(row.Acts, t.Act)
					}
				}
			}
			out = append(out, row)
		}
		return out
	}
	ov.Sent, ov.Received = rows(sent, "owner"), rows(received, "recipient")
	status := http.StatusOK
	if errMsg != "" {
		status = http.StatusConflict
	}
	c.render(w, r, status, "offers", ov)
}

// offerAct moves an offer to its next state; a refusal is shown above the
// lists and changes nothing.
func (c *Console) offerAct(w http.ResponseWriter, r *http.Request, v *view) {
	_, err := c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: r.PathValue("act"), Org: v.Org.ID, Offer: r.PathValue("offer"),
		PrivateID: strings.TrimSpace(r.FormValue("private_id")), Base: rolecall.Revision(atoi(r.FormValue("base")))})
	if err != nil {
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		v.Engine = c.o.Live.Engine()
		c.offersPage(w, r, v, rolecall.Message(err))
		return
	}
	http.Redirect(w, r, v.Base+"/offers", http.StatusSeeOther)
}

type auditView struct {
	*view
	Actor, Act, Target, Since, Until string
	Events                           []rolecall.AuditEvent
	Next                             string
	Error                            string
	Acts                             []string
}

// audit lists the organization's admin acts, newest first, filtered by
// actor, act, target and dates.
func (c *Console) audit(w http.ResponseWriter, r *http.Request, v *view) {
	v.Tab = "audit"
	av := &auditView{view: v, Actor: strings.TrimSpace(r.FormValue("actor")), Act: r.FormValue("act"), Target: strings.TrimSpace(r.FormValue("target")),
		Since: r.FormValue("since"), Until: r.FormValue("until")}
	for _, a := range c.m.Admin.Acts {
		av.Acts = append(av.Acts, a.ID)
	}
	q := rolecall.AuditQuery{Org: v.Org.ID, Actor: av.Actor, Act: av.Act, Target: av.Target, Page: rolecall.Page{After: r.FormValue("after"), Limit: 50}}
	for _, d := range []struct {
		field, val string
		to         *time.Time
	}{{"since", av.Since, &q.Since}, {"until", av.Until, &q.Until}} {
		if d.val == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.val)
		if err != nil {
			av.Error = d.field + ": give a date as 2026-01-31"
			c.render(w, r, http.StatusBadRequest, "audit", av)
			return
		}
		*d.to = t
	}
	if !q.Until.IsZero() {
		q.Until = q.Until.Add(24 * time.Hour) // through that day
	}
	evs, next, err := c.o.Admin.Audit(r.Context(), v.Actor, q)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	av.Events, av.Next = evs, next
	c.render(w, r, http.StatusOK, "audit", av)
}
