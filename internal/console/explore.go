package console

import (
	"net/http"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

// option is one entry of a select.
type option struct {
	Value, Label, Group string
}

type explorerView struct {
	*view
	User, What, On string
	Users          []option
	Whats          []option
	Places         []option
	Asked          bool
	Decision       *rolecall.Explanation
	Granted        []string
	Missing        []needView
	Failed         []rolecall.Precondition
	Error          string
	CanBind        bool
}

// needView is an unmet requirement and its ways to be met.
type needView struct {
	Requirement rolecall.Requirement
	Failed      []string
}

// whats lists the permissions by category, then the actions.
func (c *Console) whats() []option {
	var out []option
	for _, cat := range c.m.Categories {
		for _, p := range cat.Perms {
			out = append(out, option{Value: p.ID, Label: firstNonEmpty(p.Name, p.ID), Group: firstNonEmpty(cat.Name, cat.ID)})
		}
	}
	for _, a := range c.m.Actions {
		out = append(out, option{Value: a.ID, Label: firstNonEmpty(a.Name, a.ID), Group: "Actions"})
	}
	return out
}

// explorer answers "may this member do this on that, and why": the
// decision and its path, or for a denial every missing requirement and
// the roles that would grant it, with a link to the member's profile to
// give one where the viewer may.
func (c *Console) explorer(w http.ResponseWriter, r *http.Request, v *view) {
	v.Tab = "access"
	ev := &explorerView{view: v, User: strings.TrimSpace(r.FormValue("user")), What: r.FormValue("what"), On: strings.TrimSpace(r.FormValue("on")), Whats: c.whats()}
	if ev.User == "" && !v.Who.Operator {
		ev.User = v.Who.User
	}
	for _, s := range v.Engine.Scopes(v.Org.ID) {
		ev.Places = append(ev.Places, option{Value: s.ID, Label: c.scopeLabel(s)})
	}
	if ms, _, err := c.o.Admin.Members(r.Context(), v.Actor, admin.MemberQuery{Org: v.Org.ID, Limit: 200}); err == nil {
		for _, m := range ms {
			ev.Users = append(ev.Users, option{Value: m.ID, Label: firstNonEmpty(m.Name, m.Email, m.ID)})
		}
	}
	ev.CanBind = c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "view_bindings") == nil
	if ev.What == "" || ev.On == "" || ev.User == "" {
		c.render(w, r, http.StatusOK, "explorer", ev)
		return
	}
	ev.Asked = true
	if err := c.explain(r, v, ev); err != nil {
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		ev.Error = rolecall.Message(err)
		c.render(w, r, http.StatusBadRequest, "explorer", ev)
		return
	}
	c.render(w, r, http.StatusOK, "explorer", ev)
}

// target reads the explorer's "on": a node's id, or a resource as
// "type:id"; either must be in the organization.
func (c *Console) target(v *view, on string) (rolecall.Target, error) {
	t := rolecall.ScopeTarget(on)
	if strings.Contains(on, ":") {
		ref, err := rolecall.ParseResourceRef(on)
		if err != nil {
			return t, err
		}
		t = rolecall.Target{Resource: ref}
	}
	if org, ok := v.Engine.OrgOf(t); !ok || org != v.Org.ID {
		return t, rolecall.E("console", rolecall.NotFound, on, "nothing of that name in "+firstNonEmpty(v.Org.Name, v.Org.ID)+`; give a `+strings.ToLower(v.Words.Node)+` or a resource as "type:id"`)
	}
	return t, nil
}

func (c *Console) explain(r *http.Request, v *view, ev *explorerView) error {
	if ev.User != v.Who.User {
		if err := c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "explain_other"); err != nil {
			return err
		}
	}
	if !v.Engine.MemberOf(ev.User, v.Org.ID) {
		return rolecall.E("console", rolecall.NotFound, ev.User, "no such member of "+firstNonEmpty(v.Org.Name, v.Org.ID))
	}
	t, err := c.target(v, ev.On)
	if err != nil {
		return err
	}
	d, err := v.Engine.Explain(engine.Request{Subject: ev.User, Permission: ev.What, Target: t})
	if err != nil {
		return err
	}
	ev.Decision = d.Explanation
	for _, p := range d.Explanation.Granted {
		ev.Granted = append(ev.Granted, p.String())
	}
	for _, n := range d.Explanation.Missing {
		for _, req := range n.AnyOf {
			nv := needView{Requirement: req}
			for _, f := range req.Failed {
				nv.Failed = append(nv.Failed, f.Path.String()+": "+f.Reason)
			}
			ev.Missing = append(ev.Missing, nv)
		}
	}
	ev.Failed = d.Explanation.Failed
	return nil
}

type matrixView struct {
	*view
	User  string
	Users []option
	Nodes []rolecall.Scope
	Rows  []matrixRow
	Error string
}

type matrixRow struct {
	Category string
	Perm     *model.Permission
	Cells    []bool
}

// maxMatrixNodes bounds the columns of the effective-permission matrix.
const maxMatrixNodes = 60

// matrix shows every permission a member holds on each node of the
// organization.
func (c *Console) matrix(w http.ResponseWriter, r *http.Request, v *view) {
	v.Tab = "access"
	mv := &matrixView{view: v, User: strings.TrimSpace(r.FormValue("user"))}
	if mv.User == "" && !v.Who.Operator {
		mv.User = v.Who.User
	}
	if ms, _, err := c.o.Admin.Members(r.Context(), v.Actor, admin.MemberQuery{Org: v.Org.ID, Limit: 200}); err == nil {
		for _, m := range ms {
			mv.Users = append(mv.Users, option{Value: m.ID, Label: firstNonEmpty(m.Name, m.Email, m.ID)})
		}
	}
	fail := func(err error) {
		mv.Error = rolecall.Message(err)
		c.render(w, r, http.StatusBadRequest, "matrix", mv)
	}
	if mv.User == "" {
		c.render(w, r, http.StatusOK, "matrix", mv)
		return
	}
	if mv.User != v.Who.User {
		if err := c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "explain_other"); err != nil {
			fail(err)
			return
		}
	}
	if !v.Engine.MemberOf(mv.User, v.Org.ID) {
		fail(rolecall.E("console", rolecall.NotFound, mv.User, "no such member"))
		return
	}
	mv.Nodes = v.Engine.Scopes(v.Org.ID)
	if len(mv.Nodes) > maxMatrixNodes {
		mv.Nodes = mv.Nodes[:maxMatrixNodes]
	}
	held := make([]map[string]bool, len(mv.Nodes))
	for i, s := range mv.Nodes {
		eff, err := v.Engine.Effective(mv.User, rolecall.ScopeTarget(s.ID), nil)
		if err != nil {
			fail(err)
			return
		}
		held[i] = map[string]bool{}
		for _, e := range eff {
			held[i][e.Permission] = true
		}
	}
	for _, cat := range c.m.Categories {
		for j, p := range cat.Perms {
			row := matrixRow{Perm: p}
			if j == 0 {
				row.Category = firstNonEmpty(cat.Name, cat.ID)
			}
			for i := range mv.Nodes {
				row.Cells = append(row.Cells, held[i][p.ID])
			}
			mv.Rows = append(mv.Rows, row)
		}
	}
	c.render(w, r, http.StatusOK, "matrix", mv)
}
