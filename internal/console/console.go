// Package console is rolecall's web console for organization admins:
// server-rendered HTML (html/template, embedded assets, htmx) over the
// engine and the admin layer, in process. People sign in with a password
// (and a one-time code once enrolled); every page reads the live index and
// every change is an admin act, authorized by the engine as the signed-in
// user, so the console can do nothing the API would not let that user do.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

//go:embed web
var webFS embed.FS

// Options configure a console.
type Options struct {
	Live  *engine.Live
	Admin *admin.Service
	// Creds keeps passwords, one-time code secrets and sessions.
	Creds rolecall.Credentials
	Log   *slog.Logger
	// Now is the clock (sessions, one-time codes); nil means time.Now.
	Now func() time.Time
	// IdleTimeout ends a session unused for this long (default 30 minutes);
	// MaxAge ends any session this long after sign-in (default 12 hours).
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// Secure marks the session cookie Secure (served over HTTPS, or behind
	// a proxy that terminates TLS).
	Secure bool
	// PublicURL is where people reach the console (https://access.example.com),
	// for the invitation links it shows; "" means the address of the
	// request that made the link.
	PublicURL string
}

// Console serves the console's pages. Create it with New.
type Console struct {
	o     Options
	m     *model.Model
	words words
	pages map[string]*template.Template
	h     http.Handler
}

// New parses the templates and returns the console's handler, to be
// mounted at "/" (it serves every path the API does not).
func New(o Options) (*Console, error) {
	if o.Live == nil || o.Admin == nil || o.Creds == nil {
		return nil, errors.New("console: Options need Live, Admin and Creds")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Minute
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 12 * time.Hour
	}
	c := &Console{o: o, m: o.Admin.Model()}
	c.words = newWords(c.m)
	if err := c.parse(); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheFor(24*time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /signin", c.signinPage)
	mux.HandleFunc("POST /signin", c.signin)
	mux.HandleFunc("POST /signin/code", c.signinCode)
	mux.HandleFunc("POST /signout", c.signout)
	mux.HandleFunc("GET /join/{token}", c.joinPage)
	mux.HandleFunc("POST /join/{token}", c.join)
	mux.HandleFunc("GET /setup/{token}", c.setupPage)
	mux.HandleFunc("POST /setup/{token}", c.setup)
	mux.HandleFunc("GET /{$}", c.authed(c.home))
	mux.HandleFunc("GET /account", c.authed(c.account))
	mux.HandleFunc("POST /account/password", c.authed(c.changePassword))
	mux.HandleFunc("POST /account/totp", c.authed(c.enrolTOTP))
	org := func(pattern string, h func(w http.ResponseWriter, r *http.Request, v *view)) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.HandleFunc(method+" /o/{org}"+path, c.authed(c.inOrg(h)))
	}
	org("GET /{$}", func(w http.ResponseWriter, r *http.Request, v *view) {
		http.Redirect(w, r, v.Base+"/members", http.StatusSeeOther)
	})
	org("GET /members", c.members)
	org("GET /members/rows", c.memberRows)
	org("GET /members/{user}", c.member)
	org("POST /members/{user}/role", c.setRole)
	org("POST /members/{user}/roles/remove", c.removeRole)
	org("POST /members/{user}/remove", c.removeMember)
	org("POST /invitations", c.invite)
	org("POST /users", c.createUser)
	org("GET /domains", c.domains)
	org("POST /domains/{act}", c.changeDomain)
	org("POST /invitations/{act}", c.changeInvitation)
	org("GET /groups", c.groups)
	org("GET /groups/{group}", c.group)
	org("POST /groups/{group}/members", c.groupMember)
	org("POST /groups", c.createGroup)
	org("POST /groups/{group}/{form}", c.groupAct)
	org("GET /roles", c.roles)
	org("GET /roles/grid", c.roleGrid)
	org("GET /roles/new", c.roleEditor)
	org("GET /roles/edit/{role}", c.roleEditor)
	org("POST /roles/preview", c.rolePreview)
	org("POST /roles/save", c.saveRole)
	org("POST /roles/delete/{role}", c.deleteRole)
	org("GET /access", c.explorer)
	org("GET /access/matrix", c.matrix)
	org("GET /offers", c.offers)
	org("POST /offers/{offer}/{act}", c.offerAct)
	org("GET /audit", c.audit)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, rolecall.E("console", rolecall.NotFound, r.URL.Path, "no such page"))
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Forbidden: a change may only come from the console's own pages (cross-origin request refused)", http.StatusForbidden)
	}))
	c.h = secureHeaders(cop.Handler(mux))
	return c, nil
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.h.ServeHTTP(w, r) }

// secureHeaders sets the headers every page carries: no framing, no
// sniffing, scripts and styles from the console only.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// view is what every page of an organization renders with: who is signed
// in, the organization, the model's words for its levels, and the
// navigation.
type view struct {
	Who        *who
	Org        rolecall.Scope
	Orgs       []rolecall.Scope
	Base       string // "/o/{org}"
	Tab        string
	Words      words
	Actor      admin.Actor
	Engine     *engine.Engine
	Revision   rolecall.Revision
	HasOffers  bool
	HasDomains bool
	Flash      string
	// Served names the organizations a server pinned with serve --orgs
	// holds (nil: every one).
	Served []string
}

// words are the model's names for the console's nouns: a Labelbox model
// says workspace and project, the inbox model organisation and inbox.
type words struct {
	Org, Orgs, Node, Nodes, Group, Groups string
}

// newWords reads the words from the model (which gives every level and
// the groups a plural).
func newWords(m *model.Model) words {
	w := words{Org: m.Tenant.Name, Orgs: m.Tenant.Plural, Node: "Project", Nodes: "Projects", Group: "Group", Groups: "Groups"}
	if len(m.Levels) > 1 {
		l := m.Levels[len(m.Levels)-1]
		w.Node, w.Nodes = l.Name, l.Plural
	}
	if m.Groups.Name != "" {
		w.Group, w.Groups = upperFirst(m.Groups.Name), upperFirst(m.Groups.Plural)
	}
	return w
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// inOrg resolves the organization of the path for the signed-in person: a
// member sees only organizations it belongs to (another reads as not
// found, whatever exists), the operator sees all.
func (c *Console) inOrg(h func(http.ResponseWriter, *http.Request, *view)) func(http.ResponseWriter, *http.Request, *who) {
	return func(w http.ResponseWriter, r *http.Request, p *who) {
		e := c.o.Live.Engine()
		id := r.PathValue("org")
		org, ok := e.Scope(id)
		if !ok || org.Level != c.m.Tenant.ID || (!p.Operator && !e.MemberOf(p.User, id)) {
			c.fail(w, r, nil, rolecall.E("console", rolecall.NotFound, id, fmt.Sprintf("no such %s", strings.ToLower(c.m.Tenant.Name))))
			return
		}
		v := &view{Who: p, Org: org, Base: "/o/" + id, Words: c.words, Engine: e, Revision: e.Revision, HasOffers: len(c.m.Offers) > 0}
		_, v.HasDomains = c.m.Act("add_domain")
		v.Actor = admin.Actor{User: p.User, Operator: p.Operator}
		if !p.Operator {
			v.Actor.Org = id
		}
		v.Orgs = c.orgsOf(e, p)
		h(w, r, v)
	}
}

// orgsOf lists the organizations a person may switch to.
func (c *Console) orgsOf(e *engine.Engine, p *who) []rolecall.Scope {
	var ids []string
	if p.Operator {
		ids = e.Tenants()
	} else {
		ids = e.Orgs(p.User)
	}
	out := make([]rolecall.Scope, 0, len(ids))
	for _, id := range ids {
		if s, ok := e.Scope(id); ok {
			out = append(out, s)
		}
	}
	return out
}

// home sends a person to the organization the switch names (?org=, when
// they may see it), else to the first one they may see.
func (c *Console) home(w http.ResponseWriter, r *http.Request, p *who) {
	orgs := c.orgsOf(c.o.Live.Engine(), p)
	if len(orgs) == 0 {
		// on a replica pinned to some organizations, the person's may be
		// held elsewhere: say so rather than that they belong nowhere
		c.render(w, r, http.StatusOK, "empty", &view{Who: p, Words: c.words, Served: c.o.Live.Orgs()})
		return
	}
	to := orgs[0].ID
	for _, o := range orgs {
		if o.ID == r.FormValue("org") {
			to = o.ID
		}
	}
	page := "/members"
	if c.o.Admin.May(r.Context(), admin.Actor{User: p.User, Operator: p.Operator}, to, "view_members") != nil {
		page = "/access" // what a member may do, when the member list is not theirs to see
	}
	http.Redirect(w, r, "/o/"+to+page, http.StatusSeeOther)
}

// inline reports whether an error is a refusal to show next to the form
// that caused it (the engine's and the admin layer's kinds), rather than a
// failure of the server (Internal, or an error of no kind), which fail
// shows as such.
func inline(err error) bool {
	k := rolecall.KindOf(err)
	return k != rolecall.Internal && k != rolecall.KindOther
}

// fail renders an error: the engine's and the admin layer's messages are
// meant for people and shown as they are; an internal error is logged and
// shown as such. A request from htmx gets the message alone, to show in
// place.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong on our side; the server log has the details."
	switch rolecall.KindOf(err) {
	case rolecall.Invalid:
		status, msg = http.StatusBadRequest, rolecall.Message(err)
	case rolecall.NotFound:
		status, msg = http.StatusNotFound, rolecall.Message(err)
	case rolecall.PermissionDenied:
		status, msg = http.StatusForbidden, rolecall.Message(err)
	case rolecall.FailedPrecondition, rolecall.Conflict:
		status, msg = http.StatusConflict, rolecall.Message(err)
	case rolecall.Unavailable:
		status, msg = http.StatusServiceUnavailable, rolecall.Message(err)
	default:
		if errors.Is(err, context.Canceled) {
			return
		}
		c.o.Log.Error("console", "path", r.URL.Path, "error", err)
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<p class="error" role="alert">%s</p>`, template.HTMLEscapeString(msg))
		return
	}
	if v == nil {
		v = &view{Words: c.words}
	}
	c.render(w, r, status, "error", struct {
		*view
		Status  int
		Message string
	}{v, status, msg})
}
