package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
)

// TestGroupLifecycle: an admin creates a group, assigns it to a project
// with each member's default role, removes the assignment, renames and
// deletes it; a refused act is shown next to its form and writes nothing.
func TestGroupLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "labelbox", "ana")
	c := e.client(t)
	c.signIn("ana", e.pw["ana"])
	if code, body, _ := c.do("POST", "/o/acme/groups", url.Values{"name": {""}, "scope": {"W1"}}); code != http.StatusBadRequest || !strings.Contains(body, `id="create-err"`) {
		t.Fatalf("a group without a name: %d", code)
	}
	code, _, h := c.do("POST", "/o/acme/groups", url.Values{"name": {"Night shift"}, "scope": {"W1"}})
	page := h.Get("Location")
	if code != http.StatusSeeOther || !strings.HasPrefix(page, "/o/acme/groups/") {
		t.Fatalf("create: %d %s", code, page)
	}
	id := strings.TrimPrefix(page, "/o/acme/groups/")
	if g, ok := e.Live.Engine().Group(id); !ok || g.Name != "Night shift" || g.Scope != "W1" {
		t.Fatalf("the new group: %+v %v", g, ok)
	}
	if code, body, _ := c.do("GET", page, nil); code != http.StatusOK || !strings.Contains(body, `for="bind-scope"`) || !strings.Contains(body, "Each member&#39;s default role") {
		t.Fatalf("the group's page: %d", code)
	}
	if code, _, _ := c.do("POST", page+"/bind", url.Values{"scope": {"P1"}, "role": {""}}); code != http.StatusSeeOther {
		t.Fatalf("assigning to P1: %d", code)
	}
	bs := e.Live.Engine().Bindings(rolecall.GroupSubject(id), "acme")
	if len(bs) != 1 || bs[0].Scope != "P1" || !bs[0].DefaultRole {
		t.Fatalf("the group's bindings: %+v", bs)
	}
	head, _ := e.Store.Head(ctx)
	if code, body, _ := c.do("POST", page+"/bind", url.Values{"scope": {"beta"}}); code != http.StatusConflict || !strings.Contains(body, `id="bind-err"`) {
		t.Fatalf("assigning to another organization's node: %d", code)
	}
	if h2, _ := e.Store.Head(ctx); h2 != head {
		t.Fatal("a refused assignment wrote")
	}
	if code, _, _ := c.do("POST", page+"/unbind", url.Values{"scope": {"P1"}}); code != http.StatusSeeOther || len(e.Live.Engine().Bindings(rolecall.GroupSubject(id), "acme")) != 0 {
		t.Fatalf("removing the assignment: %d", code)
	}
	if code, _, _ := c.do("POST", page+"/rename", url.Values{"name": {"Day shift"}}); code != http.StatusSeeOther {
		t.Fatalf("rename: %d", code)
	}
	if g, _ := e.Live.Engine().Group(id); g.Name != "Day shift" {
		t.Fatalf("renamed to %q", g.Name)
	}
	if code, _, h := c.do("POST", page+"/delete", url.Values{}); code != http.StatusSeeOther || h.Get("Location") != "/o/acme/groups" {
		t.Fatalf("delete: %d", code)
	}
	if _, ok := e.Live.Engine().Group(id); ok {
		t.Fatal("the group is still there")
	}
}

// TestTeamResources: an InfoSum owner assigns a dataset to a team; the
// team's page lists it; a malformed reference is refused next to the
// field.
func TestTeamResources(t *testing.T) {
	e := newEnv(t, "infosum", "olivia")
	c := e.client(t)
	c.signIn("olivia", e.pw["olivia"])
	if code, body, _ := c.do("POST", "/o/acme/groups/DataEng/resources", url.Values{"resource": {"crm"}}); code != http.StatusConflict || !strings.Contains(body, `id="assign-err"`) || !strings.Contains(body, `value="crm"`) {
		t.Fatalf("a malformed reference: %d", code)
	}
	if code, _, _ := c.do("POST", "/o/acme/groups/DataEng/resources", url.Values{"resource": {"dataset:crm"}}); code != http.StatusSeeOther {
		t.Fatalf("assigning crm: %d", code)
	}
	code, body, _ := c.do("GET", "/o/acme/groups/DataEng", nil)
	if code != http.StatusOK || !strings.Contains(body, "Resources assigned (2)") || !strings.Contains(body, "<code>crm</code>") {
		t.Fatalf("DataEng's page: %d\n%s", code, body)
	}
}
