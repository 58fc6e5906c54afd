package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/rolecall/rolecall"
)

// testAudit: AppendAudit sets the event's revision, and an ID and time
// when empty; Audit lists one organization's events, newest first; the
// events are in the change log.
func testAudit(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev0 := seed(t, open)
	a1 := rolecall.AuditEvent{Org: "acme", Actor: "ann", Act: "add_member", Target: "bob@w1", Revision: 999,
		After: json.RawMessage(`{"user":"bob","scope":"w1"}`)}
	a2 := rolecall.AuditEvent{ID: "mine", Org: "acme", Actor: "ann", Act: "bind", Target: "b1", Decision: "owner at acme", At: t0}
	g1 := rolecall.AuditEvent{Org: "globex", Actor: "cat@globex.com", Act: "create_group", Target: "g"}
	r1 := update(t, s, func(tx rolecall.Tx) error {
		if err := tx.CreateUser(rolecall.User{ID: "dan"}); err != nil {
			return err
		}
		if err := tx.AppendAudit(&a1); err != nil {
			return err
		}
		return tx.AppendAudit(&a2)
	})
	a3 := rolecall.AuditEvent{Org: "acme", Actor: "bob", Act: "remove_member", Target: "dan@acme",
		Before: json.RawMessage(`{"user":"dan"}`)}
	r2 := update(t, s, func(tx rolecall.Tx) error {
		if err := tx.AppendAudit(&g1); err != nil {
			return err
		}
		return tx.AppendAudit(&a3)
	})
	for _, e := range []*rolecall.AuditEvent{&a1, &a2, &a3, &g1} {
		if e.ID == "" {
			t.Errorf("AppendAudit gave event %s no ID", e.Act)
		}
		if e.At.IsZero() {
			t.Errorf("AppendAudit gave event %s no time", e.Act)
		}
	}
	if a2.ID != "mine" || !a2.At.Equal(t0) {
		t.Errorf("AppendAudit changed a given ID or time: %q %v", a2.ID, a2.At)
	}
	if a1.Revision != r1 || a2.Revision != r1 || a3.Revision != r2 || g1.Revision != r2 {
		t.Errorf("events got revisions %d %d %d %d, want %d %d %d %d", a1.Revision, a2.Revision, a3.Revision, g1.Revision, r1, r1, r2, r2)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	list := func(org string) []string {
		events, next, err := s.Audit(t.Context(), rolecall.AuditQuery{Org: org})
		if err != nil {
			t.Fatalf("Audit(%q): %v", org, err)
		}
		if next != "" {
			t.Errorf("Audit(%q) of %d events returned a next cursor %q", org, len(events), next)
		}
		var out []string
		for _, e := range events {
			out = append(out, js(e))
		}
		return out
	}
	if got, want := list("acme"), []string{js(a3), js(a2), js(a1)}; !slices.Equal(got, want) {
		t.Errorf("Audit(acme) =\n  %v\nwant, newest first,\n  %v", got, want)
	}
	if got, want := list("globex"), []string{js(g1)}; !slices.Equal(got, want) {
		t.Errorf("Audit(globex) = %v, want %v", got, want)
	}
	if got := list("initech"); len(got) != 0 {
		t.Errorf("Audit(initech) = %v, want none", got)
	}
	// The events are in the change log, under their organization.
	var logged []string
	for _, c := range allChanges(t, s, rev0) {
		if c.Kind != rolecall.ObjAudit {
			continue
		}
		var e rolecall.AuditEvent
		if err := json.Unmarshal(c.Value, &e); err != nil || e.ID != c.Key || e.Org != c.Org {
			t.Errorf("audit change %q in %q: value %s (%v)", c.Key, c.Org, c.Value, err)
		}
		logged = append(logged, js(e))
	}
	if want := []string{js(a1), js(a2), js(g1), js(a3)}; !slices.Equal(logged, want) {
		t.Errorf("audit events in the log =\n  %v\nwant\n  %v", logged, want)
	}
}

// testAuditPaging: Audit pages through an organization's events with an
// opaque cursor, newest first, never showing another organization's.
func testAuditPaging(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	var want []string
	for i := range 7 {
		update(t, s, func(tx rolecall.Tx) error {
			for j := range i % 3 { // several events in some revisions, none in others
				id := fmt.Sprintf("e%d.%d", i, j)
				if err := tx.AppendAudit(&rolecall.AuditEvent{ID: id, Org: "acme", Act: "a"}); err != nil {
					return err
				}
				want = append(want, id)
				if err := tx.AppendAudit(&rolecall.AuditEvent{Org: "globex", Act: "a"}); err != nil {
					return err
				}
			}
			return tx.CreateUser(rolecall.User{ID: fmt.Sprint("u", i)})
		})
	}
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, len(want), len(want) + 1} {
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			events, next, err := s.Audit(t.Context(), rolecall.AuditQuery{Org: "acme", Page: rolecall.Page{After: after, Limit: limit}})
			if err != nil {
				t.Fatalf("Audit(acme, after %q, limit %d): %v", after, limit, err)
			}
			if len(events) > limit {
				t.Errorf("limit %d: a page of %d events", limit, len(events))
			}
			for _, e := range events {
				got = append(got, e.ID)
			}
			if next == "" {
				break
			}
			if len(events) == 0 {
				t.Fatalf("limit %d: an empty page with next cursor %q", limit, next)
			}
			after = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: paged through %v, want %v", limit, got, want)
		}
	}
}
