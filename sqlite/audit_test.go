package sqlite

import (
	"database/sql"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/rolecall/rolecall"
)

// TestAuditBackfill: migrating a file written before audit events had
// columns of their own fills those columns in from the stored events, so
// that queries select old events as they select new ones.
func TestAuditBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolecall.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := fs.Sub(migrations, "migrations")
	p, err := goose.NewProvider(goose.DialectSQLite3, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	east := time.FixedZone("east", 5*3600+30*60)
	west := time.FixedZone("west", -7*3600)
	events := []rolecall.AuditEvent{
		{ID: "e1", Org: "acme", Actor: "ann", Act: "bind_role", Target: "binding b1", At: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{ID: "e2", Org: "acme", Actor: "bob", Act: "add_member", Target: "membership bob@w1", At: time.Date(2024, 3, 1, 15, 30, 0, 120_000_000, east)},
		{ID: "e3", Org: "acme", Actor: "ann", Act: "add_member", At: time.Date(2024, 3, 1, 3, 0, 0, 987_654_321, west)},
		{ID: "e4", Org: "acme", Act: "bind_role", Target: "binding b1", At: time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC)},
	}
	for i, e := range events {
		e.Revision = rolecall.Revision(i + 1)
		value, _ := json.Marshal(&e)
		if _, err := db.Exec("INSERT INTO audit (key, org, revision, seq, value) VALUES (?, ?, ?, 0, ?)", e.ID, e.Org, i+1, string(value)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := open(t, path)
	for _, e := range events {
		var actor, act, target string
		var at int64
		if err := s.r.QueryRow("SELECT actor, act, target, at FROM audit WHERE key = ?", e.ID).Scan(&actor, &act, &target, &at); err != nil {
			t.Fatal(err)
		}
		if actor != e.Actor || act != e.Act || target != e.Target || at != e.At.UnixNano() {
			t.Errorf("event %s backfilled as %q %q %q at %d, want %q %q %q at %d", e.ID, actor, act, target, at, e.Actor, e.Act, e.Target, e.At.UnixNano())
		}
	}
	ids := func(q rolecall.AuditQuery) []string {
		t.Helper()
		evs, _, err := s.Audit(t.Context(), q)
		if err != nil {
			t.Fatalf("Audit(%+v): %v", q, err)
		}
		var out []string
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tc := range []struct {
		q    rolecall.AuditQuery
		want []string
	}{
		{rolecall.AuditQuery{Org: "acme", Actor: "ann"}, []string{"e3", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Act: "bind_role"}, []string{"e4", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Target: "binding b1"}, []string{"e4", "e1"}},
		// e2 is at 10:00:00.12 UTC, e3 at 10:00:00.987654321 UTC.
		{rolecall.AuditQuery{Org: "acme", Since: time.Date(2024, 3, 1, 10, 0, 0, 120_000_000, time.UTC)}, []string{"e3", "e2"}},
		{rolecall.AuditQuery{Org: "acme", Until: time.Date(2024, 3, 1, 10, 0, 0, 987_654_321, time.UTC)}, []string{"e4", "e2", "e1"}},
		{rolecall.AuditQuery{Org: "acme", Until: time.Unix(0, 0)}, []string{"e4"}},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("Audit(%+v) = %v, want %v", tc.q, got, tc.want)
		}
	}
}

// TestQueryPlans: the common audit queries and LastChange walk an index
// in the order they return rows, with no sort of their own.
func TestQueryPlans(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "rolecall.db"))
	const list = "SELECT revision, seq, value FROM audit WHERE "
	const order = " ORDER BY revision DESC, seq DESC LIMIT ?"
	for _, tc := range []struct{ query, index string }{
		{list + "org = ?" + order, "audit_org"},
		{list + "org = ? AND at >= ? AND at < ? AND (revision, seq) < (?, ?)" + order, "audit_org"},
		{list + "org = ? AND actor = ?" + order, "audit_actor"},
		{list + "org = ? AND actor = ? AND (revision, seq) < (?, ?)" + order, "audit_actor"},
		{list + "org = ? AND act = ? AND at >= ?" + order, "audit_act"},
		{list + "org = ? AND target = ?" + order, "audit_target"},
		{"SELECT revision FROM changes WHERE kind = ? AND key = ? ORDER BY revision DESC LIMIT 1", "changes_object"},
	} {
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+tc.query, make([]any, strings.Count(tc.query, "?"))...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if !strings.Contains(p, "INDEX "+tc.index+" ") || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("%s\n  plan %q, want a walk of index %s and no sort", tc.query, p, tc.index)
		}
	}
}

// TestAuditCursor: a cursor serves only its own query: not one with other
// filters or times, and not an edited one; the page size may change.
func TestAuditCursor(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "rolecall.db"))
	for range 3 {
		if _, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
			return tx.AppendAudit(&rolecall.AuditEvent{Org: "acme", Actor: "ann", Act: "bind_role"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	q := rolecall.AuditQuery{Org: "acme", Actor: "ann", Since: time.Unix(0, 0), Page: rolecall.Page{Limit: 1}}
	_, next, err := s.Audit(t.Context(), q)
	if err != nil || next == "" {
		t.Fatalf("first page: %v, next %q", err, next)
	}
	q.Page = rolecall.Page{After: next, Limit: 5}
	if evs, _, err := s.Audit(t.Context(), q); err != nil || len(evs) != 2 {
		t.Errorf("second page with a larger limit: %d events, %v; want 2", len(evs), err)
	}
	// The same instant in another zone is the same query.
	q.Since = q.Since.In(time.FixedZone("east", 3600))
	if _, _, err := s.Audit(t.Context(), q); err != nil {
		t.Errorf("cursor with Since in another zone: %v", err)
	}
	for name, other := range map[string]func(*rolecall.AuditQuery){
		"actor":  func(q *rolecall.AuditQuery) { q.Actor = "bob" },
		"no act": func(q *rolecall.AuditQuery) { q.Act = "bind_role" },
		"target": func(q *rolecall.AuditQuery) { q.Target = "x" },
		"since":  func(q *rolecall.AuditQuery) { q.Since = q.Since.Add(1) },
		"until":  func(q *rolecall.AuditQuery) { q.Until = time.Now() },
		"edited": func(q *rolecall.AuditQuery) { q.Page.After = next[:len(next)-2] + "AA" },
	} {
		q2 := q
		other(&q2)
		if _, _, err := s.Audit(t.Context(), q2); rolecall.KindOf(err) != rolecall.Invalid {
			t.Errorf("cursor used with another query (%s): %v, want invalid", name, err)
		}
	}
}
