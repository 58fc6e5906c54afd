package console

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
)

// setupTTL is how long a set-password link works.
const setupTTL = 7 * 24 * time.Hour

// createUser makes an account (the model's create_user act: the
// operator's, or an admin's at a node they run) and shows a link, once,
// with which its person chooses a password.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, v *view) {
	id, name, email, scope := strings.TrimSpace(r.FormValue("user")), strings.TrimSpace(r.FormValue("name")), strings.TrimSpace(r.FormValue("email")), r.FormValue("scope")
	var err error
	switch {
	case id == "":
		err = rolecall.E("console", rolecall.Invalid, "user", "give the new account an id")
	case email != "" && !strings.Contains(email, "@"):
		err = rolecall.E("console", rolecall.Invalid, "email", "give an email address, like ann@example.com, or none")
	default:
		_, err = c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: "create_user", Org: v.Org.ID, User: id, Name: name, Email: email, Scope: scope})
	}
	if err != nil {
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		c.membersPage(w, r, v, http.StatusBadRequest, func(mv *membersView) {
			mv.CreateErr = rolecall.Message(err)
			mv.NewUser = map[string]string{"user": id, "name": name, "email": email, "scope": scope}
		})
		return
	}
	token, err := c.setupLink(r, id)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.membersPage(w, r, v, http.StatusOK, func(mv *membersView) {
		mv.LinkFor, mv.Link, mv.LinkKind = id, c.publicURL(r)+"/setup/"+token, "account"
	})
}

// setupLink makes a set-password link for a user: a session that signs
// nobody in, only lets its holder choose the password, for setupTTL.
func (c *Console) setupLink(r *http.Request, user string) (string, error) {
	token := newToken()
	now := c.o.Now()
	data, _ := json.Marshal(session{User: user, Setup: true, Created: now, Seen: now})
	if err := c.o.Creds.CommitSession(r.Context(), tokenKey(token), user, data, now.Add(setupTTL)); err != nil {
		return "", err
	}
	return token, nil
}

type setupView struct {
	Token, User, Name, Error, PasswordErr string
	Min                                   int
}

// setupUser reads a set-password link: the user it is for.
func (c *Console) setupUser(r *http.Request) (*setupView, error) {
	sv := &setupView{Token: r.PathValue("token"), Min: MinPassword}
	data, found, err := c.o.Creds.FindSession(r.Context(), tokenKey(sv.Token))
	if err != nil {
		return sv, err
	}
	var s session
	if !found || json.Unmarshal(data, &s) != nil || !s.Setup {
		sv.Error = "This link does not work: it was used, or it expired, or it was never made. Ask for a new one."
		return sv, nil
	}
	u, ok := c.o.Live.Engine().User(s.User)
	if !ok {
		sv.Error = "The account of this link no longer exists."
		return sv, nil
	}
	sv.User, sv.Name = u.ID, firstNonEmpty(u.Name, u.Email, u.ID)
	return sv, nil
}

// setupPage shows the set-password form of a link.
func (c *Console) setupPage(w http.ResponseWriter, r *http.Request) {
	sv, err := c.setupUser(r)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	status := http.StatusOK
	if sv.Error != "" {
		status = http.StatusNotFound
	}
	c.render(w, r, status, "setup", sv)
}

// setup sets the password of a link's user, ends the link (and any other
// session of the user) and signs the person in.
func (c *Console) setup(w http.ResponseWriter, r *http.Request) {
	sv, err := c.setupUser(r)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if sv.Error != "" {
		c.render(w, r, http.StatusNotFound, "setup", sv)
		return
	}
	pw := r.FormValue("password")
	if sv.PasswordErr = newPasswordError(pw, r.FormValue("confirm")); sv.PasswordErr != "" {
		c.render(w, r, http.StatusBadRequest, "setup", sv)
		return
	}
	if err := c.o.Creds.SetCredential(r.Context(), rolecall.Credential{User: sv.User, Password: HashPassword(pw), Updated: c.o.Now()}); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if _, err := c.o.Creds.DeleteSessions(r.Context(), sv.User); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if err := c.newSession(w, r, session{User: sv.User}); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type domainsView struct {
	*view
	Domains        []rolecall.Domain
	CanAdd, CanDel bool
	Error, Domain  string
}

// domains lists the email domains of the organization: people with an
// address there join it when their account is made.
func (c *Console) domains(w http.ResponseWriter, r *http.Request, v *view) {
	c.domainsPage(w, r, v, http.StatusOK, "", "")
}

func (c *Console) domainsPage(w http.ResponseWriter, r *http.Request, v *view, status int, errMsg, domain string) {
	v.Tab = "domains"
	ds, err := c.o.Admin.Domains(r.Context(), v.Actor, v.Org.ID)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	dv := &domainsView{view: v, Domains: ds, Error: errMsg, Domain: domain}
	_, dv.CanAdd = c.m.Act("add_domain")
	_, dv.CanDel = c.m.Act("remove_domain")
	c.render(w, r, status, "domains", dv)
}

// changeDomain adds or removes a domain.
func (c *Console) changeDomain(w http.ResponseWriter, r *http.Request, v *view) {
	act := "add_domain"
	if r.PathValue("act") == "remove" {
		act = "remove_domain"
	}
	domain := strings.ToLower(strings.TrimSpace(r.FormValue("domain")))
	var err error
	if domain == "" || strings.ContainsAny(domain, "@ /") || !strings.Contains(domain, ".") {
		err = rolecall.E("console", rolecall.Invalid, "domain", "give a domain name, like example.com")
	} else {
		_, err = c.o.Admin.Do(r.Context(), v.Actor, admin.Request{Act: act, Org: v.Org.ID, Scope: v.Org.ID, Domain: domain})
	}
	if err != nil {
		if !inline(err) {
			c.fail(w, r, v, err)
			return
		}
		c.domainsPage(w, r, v, http.StatusBadRequest, rolecall.Message(err), r.FormValue("domain"))
		return
	}
	http.Redirect(w, r, v.Base+"/domains", http.StatusSeeOther)
}
