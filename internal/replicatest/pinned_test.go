package replicatest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
)

// TestPinnedReplicas: two replicas each hold one organization (--orgs).
// Each answers its own organization's key, refuses the other's as
// unavailable naming what it serves, and reaches the token of a write to
// the other organization (revisions are global), answering from its own
// data at it.
func TestPinnedReplicas(t *testing.T) {
	c := newCluster(t)
	loader := c.start("loader")
	ctx := t.Context()
	rev := loader.load(ctx, &rolecall.Snapshot{
		Scopes: []rolecall.Scope{{ID: "acme", Level: "organization"}, {ID: "pa", Level: "project", Parent: "acme"},
			{ID: "globex", Level: "organization"}, {ID: "pg", Level: "project", Parent: "globex"}},
		Users:       []rolecall.User{{ID: "ann"}, {ID: "gus"}},
		Memberships: []rolecall.Membership{{User: "ann", Scope: "acme"}, {User: "gus", Scope: "globex"}},
		Resources:   []rolecall.Resource{{Type: "dataset", ID: "da", Scope: "pa"}, {Type: "dataset", ID: "dg", Scope: "pg"}},
		Bindings: []rolecall.Binding{{Subject: rolecall.UserSubject("ann"), Role: "viewer", Scope: "pa"},
			{Subject: rolecall.UserSubject("gus"), Role: "viewer", Scope: "pg"}},
	})
	loader.kill()
	ra, rg := c.start("acme", "--orgs", "acme"), c.start("globex", "--orgs", "globex")
	key := func(org, user string) string {
		out, err := exec.Command(bin, "key", "create", "--store", c.dsn, "--org", org, "--user", user).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	ka, kg := key("acme", "ann"), key("globex", "gus")
	as := func(r *replica, token string) *client.Client {
		return client.New(r.addr, token, client.WithHTTPClient(r.http), client.WithGRPC())
	}
	q := func(user, ds string, rev rolecall.Revision) client.Question {
		return client.Question{Subject: user, Permission: "labels_view", Target: rolecall.ResourceTarget("dataset", ds),
			Consistency: client.Consistency{AtLeastAsFresh: rev}}
	}
	if d, _, err := as(ra, ka).Check(ctx, q("ann", "da", rev)); err != nil || !d.Allowed {
		t.Fatalf("acme's key on the acme replica: %v, %v; want allowed", d.Allowed, err)
	}
	_, _, err := as(rg, ka).Check(ctx, q("ann", "da", rev))
	if rolecall.KindOf(err) != rolecall.Unavailable || !strings.Contains(err.Error(), "serves only globex") {
		t.Fatalf("acme's key on the globex replica: %v; want unavailable naming globex", err)
	}
	// a write to globex, through the globex replica; its token on the acme
	// replica is reached and answered from acme's data
	done, err := as(rg, c.key).Do(ctx, client.Act{Act: "unbind_role", User: "gus", Role: "viewer", Scope: "pg"})
	if err != nil {
		t.Fatal(err)
	}
	if d, at, err := as(ra, ka).Check(ctx, q("ann", "da", done.Revision)); err != nil || !d.Allowed || at < done.Revision {
		t.Fatalf("acme replica at globex's token %d: allowed %v at %d, %v", done.Revision, d.Allowed, at, err)
	}
	if d, _, err := as(rg, kg).Check(ctx, q("gus", "dg", done.Revision)); err != nil || d.Allowed {
		t.Fatalf("globex replica after gus lost his role: allowed %v, %v; want denied", d.Allowed, err)
	}
	if n, ok := ra.metric("rolecall_index_lag_revisions"); !ok || n != 0 {
		t.Fatalf("the acme replica lags by %v revisions after a write to globex", n)
	}
}
