package console_test

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/chromedp"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/internal/console"
)

// Screenshots go to the directory -screenshots names (docs/console to
// refresh the README's), else to a temporary one.
var shots = flag.String("screenshots", "", "write the browser tests' screenshots to this directory")

// browser starts a headless Chromium for one test. Without a Chromium the
// test is skipped, or fails under CI (scripts/test installs it there).
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			bin = p
		} else if os.Getenv("CI") != "" {
			t.Fatal("no Chromium: install Debian's chromium package (scripts/test does when it may)")
		} else {
			t.Skip("no Chromium installed")
		}
	}
	udd, err := os.MkdirTemp("", "chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(udd), chromedp.WindowSize(1280, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelT()
		chromedp.Cancel(ctx)
		cancelB()
		cancelA()
		time.Sleep(200 * time.Millisecond) // chromium's helpers may still write there
		os.RemoveAll(udd)
	})
	return ctx
}

// shot saves a full-page screenshot as NAME.png.
func shot(t *testing.T, name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var buf []byte
		if err := chromedp.FullScreenshot(&buf, 100).Do(ctx); err != nil {
			return err
		}
		dir := *shots
		if dir == "" {
			dir = t.TempDir()
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// signIn signs a person in through the form.
func (e *env) signIn(login string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(e.URL + "/signin"),
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.SendKeys("#login", login, chromedp.ByID),
		chromedp.SendKeys("#password", e.pw[login], chromedp.ByID),
		chromedp.Click("#signin", chromedp.ByID),
		chromedp.WaitVisible("nav.tabs", chromedp.ByQuery),
	}
}

// textOf waits for an element and reads its text.
func textOf(sel string, out *string) chromedp.Tasks {
	return chromedp.Tasks{chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, out, chromedp.ByQuery)}
}

// TestBrowserMembers: a workspace admin signs in, finds a member by
// searching as they type, changes the member's workspace role (saved at
// once), and sees a refusal inline when trying a role they may not give.
func TestBrowserMembers(t *testing.T) {
	e := newEnv(t, "labelbox", "ana")
	ctx := browser(t)
	var bad, saved, rows string
	err := chromedp.Run(ctx,
		chromedp.Navigate(e.URL+"/o/acme/members"), // not signed in: sent to sign in
		chromedp.WaitVisible("#login", chromedp.ByID),
		shot(t, "signin"),
		e.signIn("ana"),
		chromedp.Navigate(e.URL+"/o/acme/members?at=W1"),
		chromedp.WaitVisible("#q", chromedp.ByID),
		chromedp.SendKeys("#q", "ben", chromedp.ByID),
		chromedp.Sleep(600*time.Millisecond), // the search waits for a pause in typing
		textOf("#member-rows tbody", &rows),
		shot(t, "members"),
		chromedp.SetValue("#role-ben-W1-sel", "labeler", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("role-ben-W1-sel").dispatchEvent(new Event("change", {bubbles: true}))`, nil),
		textOf("#role-ben-W1-msg .ok", &saved),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rows, "ben") || strings.Contains(rows, "cleo") {
		t.Errorf("searching ben shows %q", rows)
	}
	if saved != "Saved" || !has(t, e, "ben", "labeler", "W1") || has(t, e, "ben", "reviewer", "W1") {
		t.Fatalf("after choosing labeler for ben: status %q, bindings %v", saved, e.Live.Engine().Bindings(rolecall.UserSubject("ben"), "acme"))
	}
	// ana is no tenant admin: giving ben that role at the organization is
	// refused, shown next to the dropdown, and nothing changes
	err = chromedp.Run(ctx,
		chromedp.Navigate(e.URL+"/o/acme/members?at=acme&q=ben"),
		chromedp.WaitVisible("#role-ben-acme-sel", chromedp.ByID),
		chromedp.SetValue("#role-ben-acme-sel", "tenant_admin", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("role-ben-acme-sel").dispatchEvent(new Event("change", {bubbles: true}))`, nil),
		textOf("#role-ben-acme-msg .error", &bad),
		shot(t, "members-refused"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if bad == "" || has(t, e, "ben", "tenant_admin", "acme") || !has(t, e, "ben", "labeler", "W1") {
		t.Fatalf("refusal shown: %q", bad)
	}
	checkAccessible(t, ctx, "combobox", "Role of ben in Acme (organization)")
}

// has reports whether a user holds a role bound at a node.
func has(t *testing.T, e *env, user, role, scope string) bool {
	for _, b := range e.Live.Engine().Bindings(rolecall.UserSubject(user), "") {
		if b.Role == role && b.Scope == scope && b.Resource == nil {
			return true
		}
	}
	return false
}

// checkAccessible finds a control by role and accessible name in the
// browser's accessibility tree: labels reach assistive technology.
func checkAccessible(t *testing.T, ctx context.Context, role, name string) {
	t.Helper()
	var nodes []*accessibility.Node
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		nodes, err = accessibility.GetFullAXTree().Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, n := range nodes {
		if n.Role == nil || n.Name == nil {
			continue
		}
		r, nm := strings.Trim(string(n.Role.Value), `"`), strings.Trim(string(n.Name.Value), `"`)
		if r == role && nm == name {
			return
		}
		if r == role {
			seen = append(seen, nm)
		}
	}
	t.Errorf("no %s named %q in the accessibility tree; %ss there: %q", role, name, role, seen)
}

// TestBrowserCustomRoleAndExplorer: an organization's admin creates a
// custom role (what the ticked permission implies is ticked and locked),
// then explores a denial and sees what would grant it.
func TestBrowserCustomRoleAndExplorer(t *testing.T) {
	e := newEnv(t, "inbox", "ann")
	ctx := browser(t)
	var implied bool
	var verdict, grant string
	err := chromedp.Run(ctx,
		e.signIn("ann"),
		chromedp.Navigate(e.URL+"/o/acme/roles"),
		chromedp.WaitVisible("#new-role", chromedp.ByID),
		shot(t, "roles"),
		chromedp.Click("#new-role", chromedp.ByID),
		chromedp.WaitVisible("#role-name", chromedp.ByID),
		chromedp.SendKeys("#role-name", "Feedback writer", chromedp.ByID),
		chromedp.Click("#perm-write_feedback", chromedp.ByID),
		chromedp.WaitVisible("#perm-read_feedback:disabled", chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById("perm-read_feedback").disabled && document.getElementById("perm-read_feedback").checked`, &implied),
		shot(t, "role-editor"),
		chromedp.Click("#save-role", chromedp.ByID),
		chromedp.WaitVisible("#custom-h", chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	var made bool
	for _, r := range e.Live.Engine().CustomRoles("acme") {
		made = made || r.Name == "Feedback writer" && r.Grants.Any.Has(mustPerm(t, e, "read_feedback")) && len(r.Grants.Items) == 1
	}
	if !made {
		t.Fatalf("no custom role Feedback writer granting write_feedback alone (and read_feedback through it): %v", e.Live.Engine().CustomRoles("acme"))
	}
	if !implied {
		t.Error("ticking write_feedback did not tick and lock what it implies (read_feedback)")
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(e.URL+"/o/acme/access?user=olga&what=review&on=invoices"),
		textOf("#verdict", &verdict),
		textOf("section.card ul li", &grant),
		shot(t, "explorer-denied"),
		chromedp.Navigate(e.URL+"/o/acme/roles/grid"),
		chromedp.WaitVisible("table.grid", chromedp.ByQuery),
		shot(t, "role-grid"),
		chromedp.Navigate(e.URL+"/o/acme/access/matrix?user=ann"),
		chromedp.WaitVisible("table.grid", chromedp.ByQuery),
		shot(t, "matrix"),
		chromedp.Navigate(e.URL+"/o/acme/audit"),
		chromedp.WaitVisible("table", chromedp.ByQuery),
		shot(t, "audit"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(verdict, "Denied") || !strings.Contains(grant, "Role") {
		t.Fatalf("explaining olga's denial: %q / %q", verdict, grant)
	}
}

// TestBrowserOffer: a company sends an offer of a dataset; the recipient
// signs in, sees it under Received, and accepts it.
func TestBrowserOffer(t *testing.T) {
	e := newEnv(t, "infosum", "zoe")
	if _, err := e.Admin.Do(context.Background(), admin.Actor{User: "olivia"}, admin.Request{Act: "send", Offer: "crm_to_zoe", Kind: "dataset_permission",
		Resource: &rolecall.ResourceRef{Type: "dataset", ID: "crm"}, Recipient: "zoe"}); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	err := chromedp.Run(ctx,
		e.signIn("zoe"),
		chromedp.Navigate(e.URL+"/o/zeta/offers"),
		chromedp.WaitVisible("#accept-crm_to_zoe", chromedp.ByID),
		shot(t, "offers"),
		chromedp.SendKeys("#pid-crm_to_zoe", "acme_crm", chromedp.ByID),
		chromedp.Click("#accept-crm_to_zoe", chromedp.ByID),
		chromedp.WaitNotPresent("#accept-crm_to_zoe", chromedp.ByID),
		chromedp.WaitVisible("#recv-h", chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	_, received := e.Live.Engine().Offers("zeta")
	if len(received) != 1 || received[0].State != rolecall.OfferAccepted {
		t.Fatalf("after accepting: %+v", received)
	}
}

func mustPerm(t *testing.T, e *env, id string) int {
	p, ok := e.Model.Perm(id)
	if !ok {
		t.Fatalf("no permission %s", id)
	}
	return p.Index
}

// activeID reads the id of the focused element.
func activeID(out *string) chromedp.Action {
	return chromedp.Evaluate(`document.activeElement ? document.activeElement.id : ""`, out)
}

// TestBrowserKeyboardInvitation: with the keyboard alone an admin signs
// in (Tab between the fields, Enter submits), moves from the search box to
// the role place picker, and sends an invitation; the invitee, signed out,
// opens the link, chooses a name and password with the keyboard, and lands
// in the organization signed in. The profile and group pages are shot on
// the way.
func TestBrowserKeyboardInvitation(t *testing.T) {
	e := newEnv(t, "labelbox", "ana")
	ctx := browser(t)
	var afterLogin, afterSearch, link, landed string
	err := chromedp.Run(ctx,
		chromedp.Navigate(e.URL+"/signin"),
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.Focus("#login", chromedp.ByID),
		chromedp.KeyEvent("ana"),
		chromedp.KeyEvent("\t"),
		activeID(&afterLogin),
		chromedp.KeyEvent(e.pw["ana"]),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible("nav.tabs", chromedp.ByQuery),
		chromedp.Navigate(e.URL+"/o/acme/members"),
		chromedp.WaitVisible("#q", chromedp.ByID),
		chromedp.Focus("#q", chromedp.ByID),
		chromedp.KeyEvent("\t"),
		activeID(&afterSearch),
		chromedp.Navigate(e.URL+"/o/acme/members/cleo"),
		chromedp.WaitVisible("main h1", chromedp.ByQuery),
		shot(t, "profile"),
		chromedp.Navigate(e.URL+"/o/acme/groups/G1"),
		chromedp.WaitVisible("#gm-h", chromedp.ByID),
		shot(t, "group"),
		chromedp.Navigate(e.URL+"/o/acme/members"),
		chromedp.WaitVisible("#invite-email", chromedp.ByID),
		chromedp.SetValue("#invite-scope", "W1", chromedp.ByID),
		chromedp.Focus("#invite-email", chromedp.ByID),
		chromedp.KeyEvent("kim@example.com"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible("#invite-link-url", chromedp.ByID),
		chromedp.Value("#invite-link-url", &link, chromedp.ByID),
		shot(t, "invitation-link"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if afterLogin != "password" {
		t.Errorf("Tab from the sign-in name went to %q, want the password", afterLogin)
	}
	if afterSearch != "at" {
		t.Errorf("Tab from the search box went to %q, want the role place picker", afterSearch)
	}
	if !strings.Contains(link, "/join/") {
		t.Fatalf("the invitation link: %q", link)
	}
	err = chromedp.Run(ctx,
		chromedp.Evaluate(`document.querySelector("form[action='/signout'] button").click()`, nil),
		chromedp.WaitVisible("#login", chromedp.ByID),
		chromedp.Navigate(link),
		chromedp.WaitVisible("#name", chromedp.ByID),
		shot(t, "join"),
	)
	if err != nil {
		t.Fatal(err)
	}
	checkAccessible(t, ctx, "textbox", "Your name")
	err = chromedp.Run(ctx,
		chromedp.Focus("#name", chromedp.ByID),
		chromedp.KeyEvent("Kim"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("kims long password"),
		chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("kims long password"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible("nav.tabs", chromedp.ByQuery),
		chromedp.Location(&landed),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(landed, "/o/acme/") {
		t.Errorf("after joining the invitee is at %s", landed)
	}
	if u, ok := e.Live.Engine().User("kim@example.com"); !ok || u.Name != "Kim" {
		t.Errorf("the new account: %+v %v", u, ok)
	}
}

// TestBrowserOperatorAccounts: the InfoSum operator registers an email
// domain and makes an account at it; its person sets a password through
// the link. The domains, teams, account and set-password pages are shot.
func TestBrowserOperatorAccounts(t *testing.T) {
	e := newEnv(t, "infosum", "olivia")
	ctx := browser(t)
	var link, landed string
	err := chromedp.Run(ctx,
		e.signIn(console.OperatorLogin),
		chromedp.Navigate(e.URL+"/o/acme/domains"),
		chromedp.WaitVisible("#domain", chromedp.ByID),
		chromedp.SendKeys("#domain", "acme-labs.io\r", chromedp.ByID),
		chromedp.WaitVisible(`//td[text()="acme-labs.io"]`, chromedp.BySearch),
		shot(t, "domains"),
		chromedp.Navigate(e.URL+"/o/acme/groups"),
		chromedp.WaitVisible("#group-name", chromedp.ByID),
		shot(t, "groups"),
		chromedp.Navigate(e.URL+"/o/acme/members"),
		chromedp.WaitVisible("#new-user", chromedp.ByID),
		chromedp.SendKeys("#new-user", "nora", chromedp.ByID),
		chromedp.SendKeys("#new-name", "Nora", chromedp.ByID),
		chromedp.SendKeys("#new-email", "nora@acme-labs.io\r", chromedp.ByID),
		chromedp.WaitVisible("#invite-link-url", chromedp.ByID),
		chromedp.Value("#invite-link-url", &link, chromedp.ByID),
		chromedp.Evaluate(`document.querySelector("form[action='/signout'] button").click()`, nil),
		chromedp.WaitVisible("#login", chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(link, "/setup/") {
		t.Fatalf("the set-password link: %q", link)
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible("#password", chromedp.ByID),
		shot(t, "setup"),
		chromedp.SendKeys("#password", "noras own password", chromedp.ByID),
		chromedp.SendKeys("#confirm", "noras own password\r", chromedp.ByID),
		chromedp.WaitVisible("nav.tabs", chromedp.ByQuery),
		chromedp.Location(&landed),
		chromedp.Navigate(e.URL+"/account"),
		chromedp.WaitVisible("main h1", chromedp.ByQuery),
		shot(t, "account"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(landed, "/o/acme/") {
		t.Errorf("after setting the password nora is at %s", landed)
	}
}
