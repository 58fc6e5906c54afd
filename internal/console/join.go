package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
)

// joinView is the page an invitation link opens.
type joinView struct {
	Token string
	// Error says why the link does not work; the rest is then empty.
	Error                             string
	Email, Org, Into, Role, InvitedBy string
	Expires                           time.Time
	// State is what the page offers: "new" (make an account: name and
	// password), "password" (the account exists without a password: set
	// one), "signin" (the account has a password: sign in first),
	// "accept" (signed in as the invitee), "other" (signed in as someone
	// else).
	State, SignedInAs          string
	Name                       string
	NameErr, PasswordErr, Fail string
	Min                        int
	// invitee is the user with the invited address ("" when accepting
	// makes the account).
	invitee string
}

// joinState reads an invitation link and decides what its page offers.
// A link that does not work is an error whose message the page shows.
func (c *Console) joinState(r *http.Request) (*joinView, error) {
	token := r.PathValue("token")
	jv := &joinView{Token: token, Min: MinPassword}
	inv, user, err := c.o.Admin.Linked(r.Context(), token)
	if err != nil {
		return jv, err
	}
	e := c.o.Live.Engine()
	jv.Email, jv.InvitedBy, jv.Expires, jv.invitee = inv.Email, inv.InvitedBy, inv.Expires, user
	if s, ok := e.Scope(inv.Org); ok {
		jv.Org = firstNonEmpty(s.Name, s.ID)
	}
	if s, ok := e.Scope(inv.Scope); ok {
		jv.Into = c.scopeLabel(s)
	}
	jv.Role = "the default role"
	if inv.Role != "" {
		jv.Role = inv.Role
		if m, ok := c.m.Role(inv.Role); ok {
			jv.Role = firstNonEmpty(m.Name, m.ID)
		}
	}
	_, s, err := c.current(r)
	if err != nil {
		return jv, err
	}
	switch {
	case s != nil && !s.NeedsCode && !s.Operator && s.User == user:
		jv.State = "accept"
	case s != nil && !s.NeedsCode:
		jv.State, jv.SignedInAs = "other", "the operator"
		if !s.Operator {
			jv.SignedInAs = s.User
		}
	case user == "":
		jv.State = "new"
	default:
		_, found, err := c.o.Creds.Credential(r.Context(), user)
		if err != nil {
			return jv, err
		}
		jv.State = "password"
		if found {
			jv.State = "signin"
		}
	}
	return jv, nil
}

// joinPage shows what an invitation link offers.
func (c *Console) joinPage(w http.ResponseWriter, r *http.Request) {
	jv, err := c.joinState(r)
	if err != nil {
		c.joinFailed(w, r, jv, err)
		return
	}
	c.render(w, r, http.StatusOK, "join", jv)
}

func (c *Console) joinFailed(w http.ResponseWriter, r *http.Request, jv *joinView, err error) {
	status := http.StatusNotFound
	switch rolecall.KindOf(err) {
	case rolecall.NotFound:
	case rolecall.Invalid:
		status = http.StatusBadRequest
	case rolecall.FailedPrecondition:
		status = http.StatusGone
	default:
		c.fail(w, r, nil, err)
		return
	}
	c.render(w, r, status, "join", &joinView{Token: jv.Token, Error: rolecall.Message(err)})
}

// join accepts an invitation by its link: the invitee signed in accepts
// at once; someone without a password chooses one (and, for a new
// account, a name), and is signed in. Form errors are shown next to their
// fields and nothing is written.
func (c *Console) join(w http.ResponseWriter, r *http.Request) {
	jv, err := c.joinState(r)
	if err != nil {
		c.joinFailed(w, r, jv, err)
		return
	}
	req := admin.Request{Act: "accept_invitation", Token: jv.Token}
	switch jv.State {
	case "signin":
		http.Redirect(w, r, "/signin?next="+url.QueryEscape("/join/"+jv.Token), http.StatusSeeOther)
		return
	case "other":
		c.render(w, r, http.StatusConflict, "join", jv)
		return
	case "accept":
		res, err := c.o.Admin.Do(r.Context(), admin.Actor{User: jv.invitee}, req)
		if err != nil {
			jv.Fail = rolecall.Message(err)
			c.render(w, r, http.StatusBadRequest, "join", jv)
			return
		}
		http.Redirect(w, r, "/?org="+url.QueryEscape(res.Audit.Org), http.StatusSeeOther)
		return
	}
	// "new" or "password": choose a password
	jv.Name = strings.TrimSpace(r.FormValue("name"))
	pw := r.FormValue("password")
	jv.PasswordErr = newPasswordError(pw, r.FormValue("confirm"))
	if len(jv.Name) > 200 {
		jv.NameErr = "The name is too long: use at most 200 characters."
	}
	if jv.PasswordErr != "" || jv.NameErr != "" {
		c.render(w, r, http.StatusBadRequest, "join", jv)
		return
	}
	if jv.State == "new" {
		req.Name = jv.Name
	}
	hash := HashPassword(pw)
	res, err := c.o.Admin.Do(r.Context(), admin.Actor{}, req)
	if err != nil {
		jv.Fail = rolecall.Message(err)
		c.render(w, r, http.StatusBadRequest, "join", jv)
		return
	}
	if err := c.o.Creds.SetCredential(r.Context(), rolecall.Credential{User: res.User, Password: hash, Updated: c.o.Now()}); err != nil {
		c.fail(w, r, nil, fmt.Errorf("you joined %s, but your password could not be saved (%w); ask an admin of %s to invite you again", jv.Org, err, jv.Org))
		return
	}
	if err := c.newSession(w, r, session{User: res.User}); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/?org="+url.QueryEscape(res.Audit.Org), http.StatusSeeOther)
}
