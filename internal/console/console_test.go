package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/rolecall/rolecall/internal/console"
)

// client is a person's browser without the browser: a cookie jar that
// does not follow redirects, so tests see them.
type client struct {
	t *testing.T
	e *env
	h *http.Client
}

func (e *env) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t, e, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values, header ...string) (int, string, http.Header) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.e.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.h.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func (c *client) signIn(login, password string) (int, string) {
	c.t.Helper()
	code, body, _ := c.do("POST", "/signin", url.Values{"login": {login}, "password": {password}})
	return code, body
}

// TestSignIn: a wrong password and an unknown name get the same answer;
// pages need a session; signing out ends it.
func TestSignIn(t *testing.T) {
	e := newEnv(t, "labelbox", "ana")
	c := e.client(t)
	if code, _, h := c.do("GET", "/o/acme/members", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/signin") {
		t.Fatalf("a page without a session: %d %s", code, h.Get("Location"))
	}
	_, wrong := c.signIn("ana", "not the password")
	_, nobody := c.signIn("nobody", "not the password")
	if !strings.Contains(wrong, "The sign-in name or the password is wrong.") || !strings.Contains(nobody, "The sign-in name or the password is wrong.") {
		t.Fatalf("failed sign-ins answer differently:\n%s\n%s", wrong, nobody)
	}
	if code, _ := c.signIn("ana", e.pw["ana"]); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	if code, body, _ := c.do("GET", "/o/acme/members", nil); code != http.StatusOK || !strings.Contains(body, "Members of Acme") {
		t.Fatalf("members after sign-in: %d", code)
	}
	c.do("POST", "/signout", url.Values{})
	if code, _, _ := c.do("GET", "/o/acme/members", nil); code != http.StatusSeeOther {
		t.Fatalf("members after sign-out: %d", code)
	}
}

// TestIsolation: a member of one organization sees nothing of another,
// whatever the path says, and the operator sees both.
func TestIsolation(t *testing.T) {
	e := newEnv(t, "labelbox", "zed")
	c := e.client(t)
	c.signIn("zed", e.pw["zed"])
	for _, p := range []string{"/o/acme/members", "/o/acme/members/ana", "/o/acme/roles", "/o/acme/access?user=ana&what=project_view_projects_and_labels&on=P1", "/o/acme/audit", "/o/acme/groups/G1"} {
		code, body, _ := c.do("GET", p, nil)
		if code != http.StatusNotFound || strings.Contains(body, "ana") {
			t.Errorf("zed of beta opens %s: %d", p, code)
		}
	}
	if code, body, _ := c.do("GET", "/o/beta/members", nil); code != http.StatusOK || strings.Contains(body, ">ana<") || !strings.Contains(body, "zed") {
		t.Errorf("beta's members: %d", code)
	}
	if code, body, _ := c.do("GET", "/o/beta/access?user=ana&what=project_view_projects_and_labels&on=P1", nil); code == http.StatusOK || !strings.Contains(body, "no such member") && !strings.Contains(body, "nothing of that name") {
		t.Errorf("explaining another organization's member from beta: %d", code)
	}
	// the organization switch (without script: GET /?org=) goes only where
	// the person may go
	if _, _, h := c.do("GET", "/?org=acme", nil); h.Get("Location") != "/o/beta/members" {
		t.Errorf("zed switching to acme is sent to %q", h.Get("Location"))
	}
	op := e.client(t)
	op.signIn(console.OperatorLogin, e.pw[console.OperatorLogin])
	if _, _, h := op.do("GET", "/?org=beta", nil); h.Get("Location") != "/o/beta/members" {
		t.Errorf("the operator switching to beta is sent to %q", h.Get("Location"))
	}
	for _, org := range []string{"acme", "beta"} {
		if code, _, _ := op.do("GET", "/o/"+org+"/members", nil); code != http.StatusOK {
			t.Errorf("the operator opens %s: %d", org, code)
		}
	}
}

// TestForgedPost: a change posted from another site is refused and
// changes nothing; the same change from the console's own page is made.
func TestForgedPost(t *testing.T) {
	e := newEnv(t, "labelbox", "ana")
	c := e.client(t)
	c.signIn("ana", e.pw["ana"])
	form := url.Values{"at": {"W1"}, "role": {"labeler"}}
	head := e.Live.Revision()
	if code, _, _ := c.do("POST", "/o/acme/members/ben/role", form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Fatalf("a cross-site post: %d", code)
	}
	if code, _, _ := c.do("POST", "/o/acme/members/ben/role", form, "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Fatalf("a post from another origin: %d", code)
	}
	if e.Live.Revision() != head {
		t.Fatal("a refused post wrote something")
	}
	code, body, _ := c.do("POST", "/o/acme/members/ben/role", form, "Sec-Fetch-Site", "same-origin", "HX-Request", "true")
	if code != http.StatusOK || !strings.Contains(body, "Saved") || !has(t, e, "ben", "labeler", "W1") {
		t.Fatalf("the same post from the console: %d\n%s", code, body)
	}
}

// TestFormErrors: an error is shown next to its field and nothing is
// saved.
func TestFormErrors(t *testing.T) {
	e := newEnv(t, "inbox", "ann")
	c := e.client(t)
	c.signIn("ann", e.pw["ann"])
	head := e.Live.Revision()
	code, body, _ := c.do("POST", "/o/acme/roles/save", url.Values{"name": {""}, "perm": {"review"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `id="name-err"`) || !strings.Contains(body, "Give the role a name.") {
		t.Fatalf("a role without a name: %d", code)
	}
	code, body, _ = c.do("POST", "/o/acme/roles/save", url.Values{"name": {"Nothing"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `id="perm-err"`) {
		t.Fatalf("a role without permissions: %d", code)
	}
	if e.Live.Revision() != head {
		t.Fatal("a refused form wrote something")
	}
	e = newEnv(t, "labelbox", "ana")
	c = e.client(t)
	c.signIn("ana", e.pw["ana"])
	head = e.Live.Revision()
	code, body, _ = c.do("POST", "/o/acme/invitations", url.Values{"email": {"not an address"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `id="invite-err"`) || !strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("an invitation without an address: %d", code)
	}
	if e.Live.Revision() != head {
		t.Fatal("a refused form wrote something")
	}
}

// TestSessionTimeout: a session unused for the idle timeout ends.
func TestSessionTimeout(t *testing.T) {
	e := newEnv(t, "labelbox", "ana")
	now := time.Now()
	e.Clock = func() time.Time { return now }
	c := e.client(t)
	c.signIn("ana", e.pw["ana"])
	if code, _, _ := c.do("GET", "/o/acme/members", nil); code != http.StatusOK {
		t.Fatalf("right after sign-in: %d", code)
	}
	now = now.Add(29 * time.Minute)
	if code, _, _ := c.do("GET", "/o/acme/members", nil); code != http.StatusOK {
		t.Fatalf("29 minutes later: %d", code)
	}
	now = now.Add(31 * time.Minute)
	if code, _, h := c.do("GET", "/o/acme/members", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/signin") {
		t.Fatalf("31 idle minutes later: %d", code)
	}
}

// TestOneTimeCodes: enrolment needs a valid code; sign-in then asks for
// one, refuses a wrong one and a used one.
func TestOneTimeCodes(t *testing.T) {
	e := newEnv(t, "labelbox", "ana")
	now := time.Now()
	e.Clock = func() time.Time { return now }
	c := e.client(t)
	c.signIn("ana", e.pw["ana"])
	_, page, _ := c.do("GET", "/account", nil)
	i := strings.Index(page, `id="totp-secret">`)
	if i < 0 {
		t.Fatal("the account page offers no secret")
	}
	secret := page[i+len(`id="totp-secret">`):]
	secret = secret[:strings.Index(secret, "<")]
	if code, _, _ := c.do("POST", "/account/totp", url.Values{"secret": {secret}, "code": {"000000"}}); code != http.StatusBadRequest {
		t.Fatalf("enrolling with a wrong code: %d", code)
	}
	code1, _ := totp.GenerateCode(secret, now)
	if code, body, _ := c.do("POST", "/account/totp", url.Values{"secret": {secret}, "code": {code1}}); code != http.StatusOK || !strings.Contains(body, "One-time codes are on") {
		t.Fatalf("enrolling: %d", code)
	}
	c.do("POST", "/signout", url.Values{})
	now = now.Add(30 * time.Second)
	if code, body := c.signIn("ana", e.pw["ana"]); code != http.StatusOK || !strings.Contains(body, `id="code"`) {
		t.Fatalf("sign-in after enrolling asks for no code: %d", code)
	}
	if code, _, _ := c.do("GET", "/o/acme/members", nil); code != http.StatusSeeOther {
		t.Fatalf("pages before the code: %d", code)
	}
	if code, _, _ := c.do("POST", "/signin/code", url.Values{"code": {"123456"}}); code != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d", code)
	}
	code2, _ := totp.GenerateCode(secret, now)
	if code, _, _ := c.do("POST", "/signin/code", url.Values{"code": {code2}}); code != http.StatusSeeOther {
		t.Fatalf("the right code: %d", code)
	}
	if code, _, _ := c.do("GET", "/o/acme/members", nil); code != http.StatusOK {
		t.Fatalf("pages after the code: %d", code)
	}
	// the same code again, in another sign-in: refused
	c2 := e.client(t)
	c2.signIn("ana", e.pw["ana"])
	if code, _, _ := c2.do("POST", "/signin/code", url.Values{"code": {code2}}); code != http.StatusUnauthorized {
		t.Fatalf("a used code: %d", code)
	}
}

// TestEveryPage renders every page of every preset for the operator.
func TestEveryPage(t *testing.T) {
	for _, preset := range []string{"reinfer", "labelbox", "infosum", "inbox"} {
		t.Run(preset, func(t *testing.T) {
			e := newEnv(t, preset)
			c := e.client(t)
			c.signIn(console.OperatorLogin, e.pw[console.OperatorLogin])
			eng := e.Live.Engine()
			for _, org := range eng.Tenants() {
				base := "/o/" + org
				pages := []string{"/members", "/members/rows?q=a", "/groups", "/roles", "/roles/grid", "/access", "/access/matrix", "/audit", "/offers"}
				if e.Model.CustomRoles.Allowed {
					pages = append(pages, "/roles/new")
				}
				for _, m := range eng.Members(org) {
					pages = append(pages, "/members/"+m.ID, "/access/matrix?user="+m.ID)
					break
				}
				for _, g := range eng.Groups(org) {
					pages = append(pages, "/groups/"+g.ID)
				}
				for _, r := range eng.CustomRoles(org) {
					pages = append(pages, "/roles/edit/"+r.ID)
				}
				for _, p := range pages {
					if code, body, _ := c.do("GET", base+p, nil); code != http.StatusOK {
						t.Errorf("%s%s: %d\n%s", base, p, code, body)
					}
				}
			}
			if code, _, _ := c.do("GET", "/account", nil); code != http.StatusOK {
				t.Errorf("/account: %d", code)
			}
			if code, _, _ := c.do("GET", "/no/such/page", nil); code != http.StatusNotFound {
				t.Errorf("an unknown page: %d", code)
			}
		})
	}
}
