package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
)

// testAuditQuery: Audit selects by actor, act, target and time, pages
// through a selection, and wants an organization.
func testAuditQuery(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	events := []rolecall.AuditEvent{
		{ID: "e1", Org: "acme", Actor: "ann", Act: "bind_role", Target: "binding b1", At: at(1)},
		{ID: "e2", Org: "acme", Actor: "bob", Act: "bind_role", Target: "binding b2", At: at(2)},
		{ID: "e3", Org: "acme", Actor: "ann", Act: "add_member", Target: "membership bob@w1", At: at(3)},
		{ID: "e4", Org: "globex", Actor: "ann", Act: "bind_role", Target: "binding b1", At: at(4)},
		{ID: "e5", Org: "acme", Actor: "ann", Act: "bind_role", Target: "binding b1", At: at(5)},
	}
	for i := range events {
		update(t, s, func(tx rolecall.Tx) error { return tx.AppendAudit(&events[i]) })
	}
	ids := func(q rolecall.AuditQuery) []string {
		t.Helper()
		var out []string
		for {
			evs, next, err := s.Audit(t.Context(), q)
			if err != nil {
				t.Fatalf("Audit(%+v): %v", q, err)
			}
			for _, e := range evs {
				out = append(out, e.ID)
			}
			if next == "" {
				return out
			}
			q.Page.After = next
		}
	}
	for _, tc := range []struct {
		q    rolecall.AuditQuery
		want []string
	}{
		{rolecall.AuditQuery{Org: "acme"}, []string{"e5", "e3", "e2", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Actor: "ann"}, []string{"e5", "e3", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Act: "bind_role"}, []string{"e5", "e2", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Target: "binding b1"}, []string{"e5", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Actor: "ann", Act: "bind_role", Page: rolecall.Page{Limit: 1}}, []string{"e5", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Since: at(2), Until: at(5)}, []string{"e3", "e2"}},
		{rolecall.AuditQuery{Org: "acme", Since: at(3)}, []string{"e5", "e3"}},
		{rolecall.AuditQuery{Org: "globex", Actor: "ann"}, []string{"e4"}},
		{rolecall.AuditQuery{Org: "acme", Actor: "nobody"}, nil},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("Audit(%+v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if _, _, err := s.Audit(t.Context(), rolecall.AuditQuery{Actor: "ann"}); rolecall.KindOf(err) != rolecall.Invalid {
		t.Errorf("Audit without an organization: %v, want invalid", err)
	}
	// a cursor belongs to its query
	_, next, err := s.Audit(t.Context(), rolecall.AuditQuery{Org: "acme", Page: rolecall.Page{Limit: 1}})
	if err != nil || next == "" {
		t.Fatalf("first page: %v, next %q", err, next)
	}
	if _, _, err := s.Audit(t.Context(), rolecall.AuditQuery{Org: "globex", Page: rolecall.Page{After: next}}); rolecall.KindOf(err) != rolecall.Invalid {
		t.Errorf("a cursor used with another organization: %v, want invalid", err)
	}
}

// testLastChange: the revision of an object's last change, this
// transaction's included; 0 for an object never written.
func testLastChange(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, r1 := seed(t, open)
	r2 := update(t, s, func(tx rolecall.Tx) error {
		u := f.users[1]
		u.Name = "Bob"
		return tx.ReplaceUser(u)
	})
	update(t, s, func(tx rolecall.Tx) error {
		for _, tc := range []struct {
			kind rolecall.ObjectKind
			key  string
			want rolecall.Revision
		}{
			{rolecall.ObjUser, "ann", r1},
			{rolecall.ObjUser, "bob", r2},
			{rolecall.ObjBinding, "b2", r1},
			{rolecall.ObjDomain, "ACME.com", r1},
			{rolecall.ObjUser, "nobody", 0},
		} {
			if got, err := tx.LastChange(tc.kind, tc.key); err != nil || got != tc.want {
				t.Errorf("LastChange(%s, %q) = %d, %v; want %d", tc.kind, tc.key, got, err, tc.want)
			}
		}
		if err := tx.CreateUser(rolecall.User{ID: "eve"}); err != nil {
			return err
		}
		if got, err := tx.LastChange(rolecall.ObjUser, "eve"); err != nil || got != tx.Revision() {
			t.Errorf("LastChange of a user this transaction made = %d, %v; want %d", got, err, tx.Revision())
		}
		if err := tx.Delete(rolecall.ObjBinding, "b3"); err != nil {
			return err
		}
		if got, _ := tx.LastChange(rolecall.ObjBinding, "b3"); got != tx.Revision() {
			t.Errorf("LastChange of a binding this transaction deleted = %d; want %d", got, tx.Revision())
		}
		if _, err := tx.LastChange("nope", "x"); rolecall.KindOf(err) != rolecall.Invalid {
			t.Errorf("LastChange of an unknown kind: %v, want invalid", err)
		}
		return nil
	})
}
