package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect/v2"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/server"
)

// get returns a GET's status and body.
func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestReplicaState: /healthz and /metrics say where the index stands
// against the store (its revision, the head, the lag), a revision applied
// is timed in the replication histogram, and a token ahead of the index is
// waited for, never answered from the older index.
func TestReplicaState(t *testing.T) {
	ts, st := start(t)
	ctx := t.Context()
	// a write the server's index has not applied yet
	rev, err := st.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "late"}) })
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, ts.Client(), ts.URL+"/healthz")
	var h struct {
		Status    string
		Revision  rolecall.Revision
		Head      rolecall.Revision
		Lag       uint64  `json:"lag_revisions"`
		Staleness float64 `json:"staleness_seconds"`
		StoreUp   bool    `json:"store_up"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 200 {
		t.Fatalf("healthz: %d %s (%v)", code, body, err)
	}
	if h.Status != "serving" || !h.StoreUp || h.Head != rev || h.Revision != rev-1 || h.Lag != 1 || h.Staleness < 0 {
		t.Fatalf("healthz with one write unapplied = %+v; want head %d, revision %d, lag 1", h, rev, rev-1)
	}
	_, metrics := get(t, ts.Client(), ts.URL+"/metrics")
	for _, want := range []string{"rolecall_index_lag_revisions 1", "rolecall_store_head_revision " + jsonNum(rev), "rolecall_store_up 1", "rolecall_index_staleness_seconds"} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	c := rolecallv1connect.NewAuthzServiceClient(conn(ts, "ann"))
	res, err := c.Check(ctx, &v1.CheckRequest{Subject: "bob", Permission: "view_sources", Target: &v1.Target{Scope: "claims"},
		Consistency: &v1.Consistency{AtLeastAsFresh: uint64(rev)}})
	if err != nil || res.Revision < uint64(rev) {
		t.Fatalf("a check at the new revision: %v, %v; want an answer at revision %d or later", res, err, rev)
	}
	_, metrics = get(t, ts.Client(), ts.URL+"/metrics")
	if !strings.Contains(metrics, "rolecall_replication_lag_seconds_count 1") || !strings.Contains(metrics, "rolecall_index_lag_revisions 0") {
		t.Fatalf("/metrics after the index applied the write:\n%s", metrics)
	}
}

func jsonNum(r rolecall.Revision) string { b, _ := json.Marshal(r); return string(b) }

// TestPinnedReplica: a server whose index holds other organizations than
// a key's refuses the key's calls as unavailable, naming what it serves,
// over RPC and over AuthZEN; the operator's key still works.
func TestPinnedReplica(t *testing.T) {
	ts, _ := start(t, func(o *server.Options) {
		live, err := engine.Open(t.Context(), o.Live.Engine().Model(), o.Store, engine.Options{Orgs: []string{"globex"}})
		if err != nil {
			t.Fatal(err)
		}
		o.Live = live
	})
	ctx := t.Context()
	check := &v1.CheckRequest{Subject: "bob", Permission: "view_sources", Target: &v1.Target{Scope: "claims"}}
	_, err := rolecallv1connect.NewAuthzServiceClient(conn(ts, "ann")).Check(ctx, check)
	if connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "acme is not served by this replica, which serves only globex") {
		t.Fatalf("acme's key on a replica of globex: %v; want unavailable naming what it serves", err)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/access/v1/evaluation", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+tokens["ann"])
	req.Header.Set("Content-Type", "application/json")
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "serve --orgs") {
		t.Fatalf("AuthZEN with acme's key on a replica of globex: %d %s; want 503 naming --orgs", res.StatusCode, b)
	}
	if _, err := rolecallv1connect.NewAuthzServiceClient(conn(ts, "operator")).Check(ctx, &v1.CheckRequest{Subject: "bob", Permission: "view_sources",
		Target: &v1.Target{Scope: "globex"}}); err != nil && connect.CodeOf(err) == connect.CodeUnavailable {
		t.Fatalf("the operator's key on a pinned replica: %v", err)
	}
	code, body := get(t, ts.Client(), ts.URL+"/healthz")
	if code != 200 || !strings.Contains(body, `"orgs":["globex"]`) {
		t.Fatalf("healthz of a pinned replica: %d %s; want the organizations it serves", code, body)
	}
}
