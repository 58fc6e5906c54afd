package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

// pageSize is how many members a page of the member list shows.
const pageSize = 50

// roleChoice is one entry of a role dropdown: the role, and whether it
// binds on the wildcard (every node of the organization).
type roleChoice struct {
	Value string // "role", or "*:role" on the wildcard
	Label string
}

// place is a node where roles are bound, with the roles one may choose
// there.
type place struct {
	Scope   rolecall.Scope
	Label   string
	Choices []roleChoice
}

// rolePlaces lists the nodes of an organization whose level some role can
// be bound at, the organization first (with the wildcard's roles).
func (c *Console) rolePlaces(v *view) []place {
	var out []place
	custom := v.Engine.CustomRoles(v.Org.ID)
	for _, s := range v.Engine.Scopes(v.Org.ID) {
		p := place{Scope: s, Label: c.scopeLabel(s), Choices: c.choices(v, s, custom)}
		if len(p.Choices) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// scopeLabel names a node as people read it: its name and its level.
func (c *Console) scopeLabel(s rolecall.Scope) string {
	l, ok := c.m.Level(s.Level)
	name := firstNonEmpty(s.Name, s.ID)
	if !ok {
		return name
	}
	return name + " (" + strings.ToLower(l.Name) + ")"
}

// choices lists the roles that can be bound at a node: the model's and the
// organization's custom roles (custom, read once per page) whose places
// include the node's level, and at the organization those bound on the
// wildcard.
func (c *Console) choices(v *view, s rolecall.Scope, custom []*model.Role) []roleChoice {
	l, ok := c.m.Level(s.Level)
	if !ok {
		return nil
	}
	var out []roleChoice
	add := func(r *model.Role) {
		name := firstNonEmpty(r.Name, r.ID)
		if slices.Contains(r.BindableAt, s.Level) {
			out = append(out, roleChoice{Value: r.ID, Label: name})
		}
		if l.Tenant && l.Wildcard != "" && slices.Contains(r.BindableAt, l.Wildcard) {
			out = append(out, roleChoice{Value: "*:" + r.ID, Label: name + " on every " + strings.ToLower(v.Words.Node)})
		}
	}
	for _, r := range c.m.Roles {
		if r.Kind != model.Custom {
			add(r)
		}
	}
	for _, r := range custom {
		add(r)
	}
	return out
}

// roleAt returns a user's role at a node as a dropdown value ("" for none)
// and how many more roles the user holds there.
func roleAt(bs []rolecall.Binding, scope string) (string, int) {
	var vals []string
	for _, b := range bs {
		if b.Resource != nil || b.Scope != scope || b.Role == "" {
			continue
		}
		if b.Wildcard {
			vals = append(vals, "*:"+b.Role)
		} else {
			vals = append(vals, b.Role)
		}
	}
	if len(vals) == 0 {
		return "", 0
	}
	slices.Sort(vals)
	return vals[0], len(vals) - 1
}

// memberRow is one member of the list with the role dropdown of the
// chosen node.
type memberRow struct {
	engine.Member
	Base  string // the organization's path
	Role  string
	More  int
	Place *place
	Error string
	Saved bool
}

type membersView struct {
	*view
	Q, After, Next string
	At             *place
	Places         []place
	Rows           []memberRow
	Invitations    []rolecall.Invitation
	CanInvite      bool
	InviteErr      string
	InviteEmail    string
	// Link is an invitation's link (LinkKind "") or a new account's
	// set-password link (LinkKind "account"), shown once after it is
	// made, for LinkFor.
	Link, LinkFor, LinkKind string
	// CanCreateUser offers the form that makes an account, at one of
	// UserPlaces ("" first for the operator: no node); CreateErr is its
	// refusal and NewUser its fields as sent.
	CanCreateUser bool
	UserPlaces    []option
	CreateErr     string
	NewUser       map[string]string
}

// membersExtras fills what the members page shows beside the list: the
// pending invitations and the forms the model offers.
func (c *Console) membersExtras(r *http.Request, v *view, mv *membersView) {
	mv.Invitations, _ = c.o.Admin.Invitations(r.Context(), v.Actor, v.Org.ID)
	_, mv.CanInvite = c.m.Act("invite")
	_, mv.CanCreateUser = c.m.Act("create_user")
	if mv.CanCreateUser {
		if v.Who.Operator {
			mv.UserPlaces = append(mv.UserPlaces, option{Value: "", Label: "No " + strings.ToLower(v.Words.Node) + " (joins by email domain, or later)"})
		}
		for _, s := range v.Engine.Scopes(v.Org.ID) {
			mv.UserPlaces = append(mv.UserPlaces, option{Value: s.ID, Label: c.scopeLabel(s)})
		}
	}
	if mv.NewUser == nil {
		mv.NewUser = map[string]string{}
	}
}

// defaultPlace is the node whose roles the member list shows first: the
// organization when roles are bound there, else its first node that takes
// roles.
func defaultPlace(places []place) *place {
	if len(places) == 0 {
		return nil
	}
	return &places[0]
}

func (c *Console) membersData(r *http.Request, v *view) (*membersView, error) {
	mv := &membersView{view: v, Q: strings.TrimSpace(r.FormValue("q")), After: r.FormValue("after")}
	v.Tab = "members"
	mv.Places = c.rolePlaces(v)
	mv.At = defaultPlace(mv.Places)
	if at := r.FormValue("at"); at != "" {
		for i := range mv.Places {
			if mv.Places[i].Scope.ID == at {
				mv.At = &mv.Places[i]
			}
		}
	}
	ms, next, err := c.o.Admin.Members(r.Context(), v.Actor, admin.MemberQuery{Org: v.Org.ID, Search: mv.Q, After: mv.After, Limit: pageSize})
	if err != nil {
		return nil, err
	}
	mv.Next = next
	for _, m := range ms {
		row := memberRow{Member: m, Base: v.Base, Place: mv.At}
		if mv.At != nil {
			row.Role, row.More = roleAt(v.Engine.Bindings(rolecall.UserSubject(m.ID), v.Org.ID), mv.At.Scope.ID)
		}
		mv.Rows = append(mv.Rows, row)
	}
	return mv, nil
}

// members is the member list: search as you type, a page at a time, each
// member's role at the chosen node as a dropdown saved on change.
func (c *Console) members(w http.ResponseWriter, r *http.Request, v *view) {
	c.membersPage(w, r, v, http.StatusOK, nil)
}

// membersPage renders the members page with what fill adds (a form's
// error, a link to show once).
func (c *Console) membersPage(w http.ResponseWriter, r *http.Request, v *view, status int, fill func(*membersView)) {
	mv, err := c.membersData(r, v)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.membersExtras(r, v, mv)
	if fill != nil {
		fill(mv)
	}
	c.render(w, r, status, "members", mv)
}

// memberRows answers the search box: the table body alone.
func (c *Console) memberRows(w http.ResponseWriter, r *http.Request, v *view) {
	mv, err := c.membersData(r, v)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.renderPart(w, http.StatusOK, "members", "rows", mv)
}

// setRole replaces a member's role at a node with the one chosen (or
// removes it, for none): the unbinding and the binding are one
// transaction, so a refusal leaves the old role in place. It answers with
// the dropdown, showing the role now held and the refusal, if any.
func (c *Console) setRole(w http.ResponseWriter, r *http.Request, v *view) {
	user, at, choice := r.PathValue("user"), r.FormValue("at"), r.FormValue("role")
	s, ok := v.Engine.Scope(at)
	if !ok || c.orgOfScope(v, at) != v.Org.ID {
		c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, at, "no such place in "+v.Org.ID))
		return
	}
	var reqs []admin.Request
	for _, b := range v.Engine.Bindings(rolecall.UserSubject(user), v.Org.ID) {
		if b.Resource != nil || b.Scope != at || b.Role == "" {
			continue
		}
		val := b.Role
		if b.Wildcard {
			val = "*:" + b.Role
		}
		if val == choice {
			choice = "" // kept
			continue
		}
		reqs = append(reqs, unbindRequest(v, user, b))
	}
	if choice != "" {
		req := admin.Request{Act: "bind_role", Org: v.Org.ID, User: user, Scope: at}
		if id, ok := strings.CutPrefix(choice, "*:"); ok {
			req.Role, req.Scope = id, "*"
		} else {
			req.Role = choice
		}
		reqs = append(reqs, req)
	}
	var actErr error
	if len(reqs) > 0 {
		_, actErr = c.o.Admin.DoAll(r.Context(), v.Actor, reqs)
	}
	e := c.o.Live.Engine()
	v.Engine = e
	pl := place{Scope: s, Label: c.scopeLabel(s), Choices: c.choices(v, s, e.CustomRoles(v.Org.ID))}
	row := memberRow{Member: engine.Member{ID: user}, Base: v.Base, Place: &pl}
	row.Role, row.More = roleAt(e.Bindings(rolecall.UserSubject(user), v.Org.ID), at)
	if actErr != nil {
		if rolecall.KindOf(actErr) == rolecall.KindOther || rolecall.KindOf(actErr) == rolecall.Internal {
			c.fail(w, r, v, actErr)
			return
		}
		row.Error = rolecall.Message(actErr)
	} else if len(reqs) > 0 {
		row.Saved = true
	}
	c.renderPart(w, http.StatusOK, "members", "role", struct {
		*view
		Row memberRow
	}{v, row})
}

// unbindRequest is the act that removes one binding of a user.
func unbindRequest(v *view, user string, b rolecall.Binding) admin.Request {
	req := admin.Request{Act: "unbind_role", Org: v.Org.ID, User: user, Role: b.Role, Scope: b.Scope, Base: v.Revision}
	if b.Wildcard {
		req.Scope = "*"
	}
	if b.Resource != nil {
		req.Scope, req.Resource = "", b.Resource
	}
	return req
}

func (c *Console) orgOfScope(v *view, id string) string {
	org, _ := v.Engine.OrgOf(rolecall.ScopeTarget(id))
	return org
}

// heldRole is one role a member holds, and where, and how.
type heldRole struct {
	Binding   rolecall.Binding
	RoleName  string
	Where     string
	Group     string // held through this group: change it on the group
	Removable bool
}

type memberView struct {
	*view
	User        rolecall.User
	Places      []memberPlace
	Groups      []engine.GroupInfo
	Held        []heldRole
	Error       string
	CanBindings bool
}

// memberPlace is a node the member belongs to, with the role dropdown.
type memberPlace struct {
	Row      memberRow
	Inherits []heldRole // roles at this node through groups
}

// member is a member's profile: every node and group, and the role in
// each, changeable unless it comes through a group.
func (c *Console) member(w http.ResponseWriter, r *http.Request, v *view) {
	v.Tab = "members"
	id := r.PathValue("user")
	u, ok := v.Engine.User(id)
	if !ok || !v.Engine.MemberOf(id, v.Org.ID) {
		c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, id, "no such member of "+v.Org.ID))
		return
	}
	if id != v.Who.User {
		if err := c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "view_bindings"); err != nil {
			c.fail(w, r, v, err)
			return
		}
	}
	mv := &memberView{view: v, User: u}
	own := v.Engine.Bindings(rolecall.UserSubject(id), v.Org.ID)
	var viaGroups []heldRole
	for _, g := range v.Engine.UserGroups(id, v.Org.ID) {
		gi, _ := v.Engine.Group(g)
		mv.Groups = append(mv.Groups, gi)
		for _, b := range v.Engine.Bindings(rolecall.GroupSubject(g), v.Org.ID) {
			viaGroups = append(viaGroups, c.held(v, b, firstNonEmpty(gi.Name, gi.ID)))
		}
	}
	custom := v.Engine.CustomRoles(v.Org.ID)
	for _, ms := range v.Engine.Memberships(id, v.Org.ID) {
		s, _ := v.Engine.Scope(ms.Scope)
		pl := place{Scope: s, Label: c.scopeLabel(s), Choices: c.choices(v, s, custom)}
		mp := memberPlace{Row: memberRow{Member: engine.Member{ID: id, Name: u.Name}, Base: v.Base, Place: &pl}}
		mp.Row.Role, mp.Row.More = roleAt(own, s.ID)
		for _, h := range viaGroups {
			if h.Binding.Scope == s.ID && h.Binding.Resource == nil {
				mp.Inherits = append(mp.Inherits, h)
			}
		}
		mv.Places = append(mv.Places, mp)
	}
	for _, b := range own {
		if b.Resource != nil || b.Role == "" {
			mv.Held = append(mv.Held, c.held(v, b, ""))
		}
	}
	// group grants not shown on a node's row: on resources, or at nodes
	// the member is not a member of
	for _, h := range viaGroups {
		if h.Binding.Resource != nil || !slices.ContainsFunc(mv.Places, func(p memberPlace) bool { return p.Row.Place.Scope.ID == h.Binding.Scope }) {
			mv.Held = append(mv.Held, h)
		}
	}
	c.render(w, r, http.StatusOK, "member", mv)
}

// held describes a binding for the profile.
func (c *Console) held(v *view, b rolecall.Binding, group string) heldRole {
	h := heldRole{Binding: b, Group: group, Removable: group == "" && b.Role != ""}
	switch {
	case b.Role != "":
		h.RoleName = b.Role
		if r, ok := v.Engine.Role(firstNonEmpty(b.Scope, v.Org.ID), b.Role); ok && r.Name != "" {
			h.RoleName = r.Name
		}
	case len(b.Permissions) > 0:
		h.RoleName = "permissions " + strings.Join(b.Permissions, ", ")
	case b.DefaultRole:
		h.RoleName = "their default role"
	}
	switch {
	case b.Resource != nil:
		h.Where = b.Resource.String()
	case b.Wildcard:
		h.Where = "every " + strings.ToLower(v.Words.Node) + " of " + firstNonEmpty(v.Org.Name, v.Org.ID)
	default:
		if s, ok := v.Engine.Scope(b.Scope); ok {
			h.Where = c.scopeLabel(s)
		}
	}
	return h
}

// removeRole removes one binding of a member (a role on a resource, say).
func (c *Console) removeRole(w http.ResponseWriter, r *http.Request, v *view) {
	user, id := r.PathValue("user"), r.FormValue("binding")
	for _, b := range v.Engine.Bindings(rolecall.UserSubject(user), v.Org.ID) {
		if b.ID == id {
			if _, err := c.o.Admin.Do(r.Context(), v.Actor, unbindRequest(v, user, b)); err != nil {
				c.fail(w, r, v, err)
				return
			}
			http.Redirect(w, r, v.Base+"/members/"+user, http.StatusSeeOther)
			return
		}
	}
	c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, id, "no such binding of "+user))
}

// removeMember removes a member from a node (and the roles held there).
func (c *Console) removeMember(w http.ResponseWriter, r *http.Request, v *view) {
	user := r.PathValue("user")
	if _, err := c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: "remove_member", User: user, Scope: r.FormValue("scope"), Base: v.Revision}); err != nil {
		c.fail(w, r, v, err)
		return
	}
	if v.Engine = c.o.Live.Engine(); v.Engine.MemberOf(user, v.Org.ID) {
		http.Redirect(w, r, v.Base+"/members/"+user, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, v.Base+"/members", http.StatusSeeOther)
}

// invite invites an email address to a node, with a role; an error is
// shown next to the form's fields, and nothing is written.
func (c *Console) invite(w http.ResponseWriter, r *http.Request, v *view) {
	email, scope, role := strings.TrimSpace(r.FormValue("email")), firstNonEmpty(r.FormValue("scope"), v.Org.ID), r.FormValue("role")
	var err error
	var res admin.Result
	if !strings.Contains(email, "@") {
		err = rolecall.E("console", rolecall.Invalid, "email", "give an email address, like ann@example.com")
	} else {
		res, err = c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: "invite", Org: v.Org.ID, Email: email, Scope: scope, Role: role})
	}
	if err == nil {
		c.showLink(w, r, v, strings.ToLower(email), res.Link)
		return
	}
	if !inline(err) {
		c.fail(w, r, v, err)
		return
	}
	c.membersPage(w, r, v, http.StatusBadRequest, func(mv *membersView) { mv.InviteErr, mv.InviteEmail = rolecall.Message(err), email })
}

// showLink answers an invitation sent or resent with the members page
// showing the invitation's link, this once: the store keeps only its hash.
func (c *Console) showLink(w http.ResponseWriter, r *http.Request, v *view, email, token string) {
	c.membersPage(w, r, v, http.StatusOK, func(mv *membersView) { mv.LinkFor, mv.Link = email, c.publicURL(r)+"/join/"+token })
}

// publicURL is the console's address as people reach it.
func (c *Console) publicURL(r *http.Request) string {
	if c.o.PublicURL != "" {
		return strings.TrimSuffix(c.o.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil || c.o.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// changeInvitation resends or revokes a pending invitation.
func (c *Console) changeInvitation(w http.ResponseWriter, r *http.Request, v *view) {
	act := r.PathValue("act")
	if act != "resend" && act != "revoke" {
		c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, act, "invitations are resent or revoked"))
		return
	}
	res, err := c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: act + "_invitation", Org: v.Org.ID, Email: r.FormValue("email"), Scope: r.FormValue("scope")})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if res.Link != "" {
		c.showLink(w, r, v, strings.ToLower(r.FormValue("email")), res.Link)
		return
	}
	http.Redirect(w, r, v.Base+"/members", http.StatusSeeOther)
}
