package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/internal/console"
)

var setupRE = regexp.MustCompile(`value="http://[^"]+(/setup/[^"]+)"`)

// TestOperatorMakesAccounts: in InfoSum only the operator makes accounts
// and registers domains. The operator adds a domain, makes an account at
// it (which joins the company by its domain) and is shown a set-password
// link once; the person sets a password through it (a bad one refused next
// to its field) and is signed in; the link then no longer works. The
// company's owner is refused next to the form, and nothing is written.
func TestOperatorMakesAccounts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "infosum", "olivia")
	op := e.client(t)
	op.signIn(console.OperatorLogin, e.pw[console.OperatorLogin])
	if code, body, _ := op.do("POST", "/o/acme/domains/add", url.Values{"domain": {"not a domain"}}); code != http.StatusBadRequest || !strings.Contains(body, `id="domain-err"`) {
		t.Fatalf("a bad domain: %d", code)
	}
	if code, _, _ := op.do("POST", "/o/acme/domains/add", url.Values{"domain": {"Acme-Labs.io"}}); code != http.StatusSeeOther {
		t.Fatalf("adding a domain: %d", code)
	}
	if code, body, _ := op.do("GET", "/o/acme/domains", nil); code != http.StatusOK || !strings.Contains(body, "<td>acme-labs.io</td>") {
		t.Fatalf("the domains page: %d", code)
	}
	code, body, _ := op.do("POST", "/o/acme/users", url.Values{"user": {"nora"}, "name": {"Nora"}, "email": {"nora@acme-labs.io"}, "scope": {""}})
	m := setupRE.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("making an account: %d, link %v", code, m)
	}
	if !e.Live.Engine().MemberOf("nora", "acme") {
		t.Fatal("nora did not join acme by her domain")
	}
	link := m[1]

	nora := e.client(t)
	if code, _, h := nora.do("GET", "/o/acme/access", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/signin") {
		t.Fatalf("the link's holder is signed in before choosing a password: %d", code)
	}
	if code, body, _ := nora.do("GET", link, nil); code != http.StatusOK || !strings.Contains(body, "Welcome, Nora") {
		t.Fatalf("the set-password page: %d", code)
	}
	if code, body, _ := nora.do("POST", link, url.Values{"password": {"short"}, "confirm": {"short"}}); code != http.StatusBadRequest || !strings.Contains(body, `id="password-err"`) {
		t.Fatalf("a short password: %d", code)
	}
	if code, _, h := nora.do("POST", link, url.Values{"password": {"noras own password"}, "confirm": {"noras own password"}}); code != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("setting the password: %d %s", code, h.Get("Location"))
	}
	if code, _, h := nora.do("GET", "/", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/o/acme/") {
		t.Fatalf("nora is not signed in: %d %s", code, h.Get("Location"))
	}
	if code, _, _ := e.client(t).do("GET", link, nil); code != http.StatusNotFound {
		t.Fatalf("the used link: %d", code)
	}
	if code, _ := e.client(t).signIn("nora@acme-labs.io", "noras own password"); code != http.StatusSeeOther {
		t.Fatalf("nora signing in: %d", code)
	}

	owner := e.client(t)
	owner.signIn("olivia", e.pw["olivia"])
	head, _ := e.Store.Head(ctx)
	code, body, _ = owner.do("POST", "/o/acme/users", url.Values{"user": {"otto"}, "email": {"otto@acme.com"}, "scope": {"acme"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `id="newuser-err"`) || !strings.Contains(body, "operator") || !strings.Contains(body, `value="otto"`) {
		t.Fatalf("the owner making an account: %d", code)
	}
	if code, _, _ := owner.do("POST", "/o/acme/domains/add", url.Values{"domain": {"otto.io"}}); code != http.StatusBadRequest {
		t.Fatalf("the owner adding a domain: %d", code)
	}
	if h, _ := e.Store.Head(ctx); h != head {
		t.Fatal("refused acts wrote")
	}
}
