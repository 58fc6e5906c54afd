package client_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// TestWatch: the changes after a revision arrive in order, then the ones
// committed while watching; when the server cuts the stream, the client
// resumes with nothing lost or repeated; a revoked key ends the watch with
// its error.
func TestWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := testenv.OpenAcme(t)
	st := w.Store
	key, token := w.Key(t, "acme", "ann")
	h := server.Handler(w.Options())
	// the first watch is cut after 400 ms, as a restart or a proxy would
	var watches atomic.Int32
	ts := testenv.Serve(t, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Watch") && watches.Add(1) == 1 {
			c, stop := context.WithTimeout(r.Context(), 400*time.Millisecond)
			defer stop()
			r = r.WithContext(c)
		}
		h.ServeHTTP(rw, r)
	}), false)
	c := client.New(ts.URL, token)
	bind := func(id string) {
		t.Helper()
		if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
			return tx.CreateBinding(&rolecall.Binding{ID: id, Subject: rolecall.UserSubject("bob"), Permissions: []string{"view_labels"}, Scope: "claims"})
		}); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	var revs []rolecall.Revision
	for ch, err := range c.Watch(ctx, 0, rolecall.ObjBinding) {
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		if ch.Kind != rolecall.ObjBinding || ch.Org != "acme" {
			t.Fatalf("a change of %s in %q", ch.Kind, ch.Org)
		}
		got, revs = append(got, ch.Key), append(revs, ch.Revision)
		switch len(got) {
		case 3: // the bindings of the import
			bind("live-1")
		case 4:
			time.Sleep(600 * time.Millisecond) // the stream is cut meanwhile
			bind("live-2")
		}
		if ch.Key == "live-2" {
			break
		}
	}
	if want := []string{"ann-claims", "bob-claims", "bob-billing", "live-1", "live-2"}; !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	if !slices.IsSorted(revs) {
		t.Fatalf("revisions out of order: %v", revs)
	}
	if watches.Load() < 2 {
		t.Fatalf("%d watch calls: the cut stream was not resumed", watches.Load())
	}

	// a revoked key ends the watch with PermissionDenied
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error { return tx.RevokeAPIKey(key.ID, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // a verified key is cached for 2 s
	var last error
	for _, err := range c.Watch(ctx, revs[len(revs)-1]) {
		last = err
		if err != nil {
			break
		}
	}
	if rolecall.KindOf(last) != rolecall.PermissionDenied {
		t.Fatalf("a revoked key: %v, want a permission error", last)
	}
}
