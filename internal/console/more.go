package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
)

type groupsView struct {
	*view
	Groups []engine.GroupInfo
	Group  engine.GroupInfo
	Held   []heldRole
	Error  string
}

// groups lists the organization's groups or teams.
func (c *Console) groups(w http.ResponseWriter, r *http.Request, v *view) {
	v.Tab = "groups"
	if err := c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "view_members"); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "groups", &groupsView{view: v, Groups: v.Engine.Groups(v.Org.ID)})
}

// group shows a group: its members, and the roles it holds where
// (projects it is assigned, resources assigned to it).
func (c *Console) group(w http.ResponseWriter, r *http.Request, v *view) {
	c.groupPage(w, r, v, "")
}

func (c *Console) groupPage(w http.ResponseWriter, r *http.Request, v *view, errMsg string) {
	v.Tab = "groups"
	if err := c.o.Admin.May(r.Context(), v.Actor, v.Org.ID, "view_members"); err != nil {
		c.fail(w, r, v, err)
		return
	}
	g, ok := v.Engine.Group(r.PathValue("group"))
	if !ok || c.orgOfScope(v, g.Scope) != v.Org.ID {
		c.fail(w, r, v, rolecall.E("console", rolecall.NotFound, r.PathValue("group"), "no such "+strings.ToLower(v.Words.Group)))
		return
	}
	gv := &groupsView{view: v, Group: g, Error: errMsg}
	for _, b := range v.Engine.Bindings(rolecall.GroupSubject(g.ID), v.Org.ID) {
		gv.Held = append(gv.Held, c.held(v, b, ""))
	}
	status := http.StatusOK
	if errMsg != "" {
		status = http.StatusConflict
	}
	c.render(w, r, status, "group", gv)
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
		if k := rolecall.KindOf(err); k == rolecall.Internal || k == rolecall.KindOther {
			c.fail(w, r, v, err)
			return
		}
		v.Engine = c.o.Live.Engine()
		c.groupPage(w, r, v, rolecall.Message(err))
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
		if k := rolecall.KindOf(err); k == rolecall.Internal || k == rolecall.KindOther {
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
