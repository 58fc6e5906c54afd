package console_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
)

var linkRE = regexp.MustCompile(`value="(http://[^"]+/join/([^"]+))"`)

// TestJoinByLink: an admin invites someone and is shown the link once;
// the invitee opens it, chooses a password (a bad one is refused next to
// its field with nothing written), joins with the invited role and is
// signed in; the link then no longer works, and the new account signs in.
// A resend makes a new link and the old one stops working.
func TestJoinByLink(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "labelbox", "ana")
	admin := e.client(t)
	admin.signIn("ana", e.pw["ana"])
	code, body, _ := admin.do("POST", "/o/acme/invitations", url.Values{"email": {"Kim@Example.com"}, "scope": {"W1"}, "role": {"labeler"}})
	m := linkRE.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || !strings.Contains(body, "kim@example.com") {
		t.Fatalf("invite: %d, link %v", code, m)
	}
	first := "/join/" + m[2]
	if code, body, _ := admin.do("GET", "/o/acme/members", nil); code != http.StatusOK || strings.Contains(body, m[2]) {
		t.Fatal("the members page shows the link again")
	}
	code, body, _ = admin.do("POST", "/o/acme/invitations/resend", url.Values{"email": {"kim@example.com"}, "scope": {"W1"}})
	m = linkRE.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || "/join/"+m[2] == first {
		t.Fatalf("resend: %d, link %v", code, m)
	}
	link := "/join/" + m[2]

	kim := e.client(t)
	if code, body, _ := kim.do("GET", first, nil); code != http.StatusNotFound || !strings.Contains(body, "does not work") {
		t.Fatalf("the link before the resend: %d", code)
	}
	code, body, _ = kim.do("GET", link, nil)
	if code != http.StatusOK || !strings.Contains(body, "Join Acme") || !strings.Contains(body, "kim@example.com") || !strings.Contains(body, `for="password"`) {
		t.Fatalf("the link: %d\n%s", code, body)
	}
	head, _ := e.Store.Head(ctx)
	for _, bad := range []url.Values{
		{"name": {"Kim"}, "password": {"short"}, "confirm": {"short"}},
		{"name": {"Kim"}, "password": {"long enough pass"}, "confirm": {"another long pass"}},
	} {
		code, body, _ := kim.do("POST", link, bad)
		if code != http.StatusBadRequest || !strings.Contains(body, `id="password-err"`) || !strings.Contains(body, `value="Kim"`) {
			t.Fatalf("a bad password: %d\n%s", code, body)
		}
	}
	if h, _ := e.Store.Head(ctx); h != head {
		t.Fatalf("refused forms wrote: head %d -> %d", head, h)
	}
	code, _, h := kim.do("POST", link, url.Values{"name": {"Kim Lee"}, "password": {"kims long password"}, "confirm": {"kims long password"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/?org=acme" {
		t.Fatalf("joining: %d %s", code, h.Get("Location"))
	}
	if code, _, h := kim.do("GET", "/?org=acme", nil); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/o/acme/") {
		t.Fatalf("the new member is not signed in: %d %s", code, h.Get("Location"))
	}
	en := e.Live.Engine()
	if u, ok := en.User("kim@example.com"); !ok || u.Name != "Kim Lee" {
		t.Fatalf("the new account: %+v %v", u, ok)
	}
	var roles []string
	for _, b := range en.Bindings(rolecall.UserSubject("kim@example.com"), "acme") {
		roles = append(roles, b.Role+"@"+b.Scope)
	}
	if strings.Join(roles, ",") != "labeler@W1" {
		t.Fatalf("the new member's roles: %v", roles)
	}
	if code, body, _ := e.client(t).do("GET", link, nil); code != http.StatusNotFound || !strings.Contains(html.UnescapeString(body), "no pending invitation has this link") {
		t.Fatalf("the used link: %d", code)
	}
	again := e.client(t)
	if code, _ := again.signIn("kim@example.com", "kims long password"); code != http.StatusSeeOther {
		t.Fatalf("the new account signing in: %d", code)
	}
}

// TestJoinSignedIn: someone signed in as another person is told to sign
// out; an invitee with an account and a password signs in first and then
// accepts with one button.
func TestJoinSignedIn(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "labelbox", "ana", "quinn")
	if _, err := e.Store.Update(ctx, func(tx rolecall.Tx) error {
		u := rolecall.User{ID: "quinn", Email: "quinn@example.com"}
		return tx.ReplaceUser(u)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Live.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ana := e.client(t)
	ana.signIn("ana", e.pw["ana"])
	_, body, _ := ana.do("POST", "/o/acme/invitations", url.Values{"email": {"quinn@example.com"}, "scope": {"W1"}})
	m := linkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no link shown")
	}
	link := "/join/" + m[2]
	if code, body, _ := ana.do("POST", link, url.Values{}); code != http.StatusConflict || !strings.Contains(body, "You are signed in as ana") {
		t.Fatalf("ana opening quinn's link: %d", code)
	}
	q := e.client(t)
	if code, _, h := q.do("POST", link, url.Values{"password": {"whatever long"}, "confirm": {"whatever long"}}); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/signin?next=") {
		t.Fatalf("quinn (who has a password) not signed in: %d %s", code, h.Get("Location"))
	}
	q.signIn("quinn", e.pw["quinn"])
	if code, body, _ := q.do("GET", link, nil); code != http.StatusOK || !strings.Contains(body, "Accept the invitation") {
		t.Fatalf("quinn signed in: %d", code)
	}
	if code, _, _ := q.do("POST", link, url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("quinn accepting: %d", code)
	}
	if ms := e.Live.Engine().Memberships("quinn", "acme"); len(ms) != 2 {
		t.Fatalf("quinn's memberships after accepting: %+v", ms)
	}
}
