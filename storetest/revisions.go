package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/rolecall/rolecall"
)

// testRevisions: each committed Update returns a revision greater than
// every earlier one, Head reports the latest, and Tx.Revision inside the
// function is the revision Update returns.
func testRevisions(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	var last rolecall.Revision
	for i := range 5 {
		var inside rolecall.Revision
		rev := update(t, s, func(tx rolecall.Tx) error {
			inside = tx.Revision()
			return tx.CreateUser(rolecall.User{ID: fmt.Sprint("u", i)})
		})
		if rev <= last {
			t.Errorf("Update %d committed at revision %d, not after %d", i, rev, last)
		}
		if inside != rev {
			t.Errorf("Update %d: Tx.Revision() = %d inside, but Update returned %d", i, inside, rev)
		}
		if h := head(t, s); h != rev {
			t.Errorf("Head = %d after Update returned %d", h, rev)
		}
		if snap := snapshot(t, s); snap.Revision != rev {
			t.Errorf("Snapshot at revision %d after Update returned %d", snap.Revision, rev)
		}
		last = rev
	}
}

// testEmptyUpdate: an Update whose function writes nothing commits nothing
// and returns the current head.
func testEmptyUpdate(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	got, err := s.Update(t.Context(), func(rolecall.Tx) error { return nil })
	if err != nil {
		t.Fatalf("empty Update: %v", err)
	}
	if got != rev {
		t.Errorf("an empty Update returned revision %d, want the head %d", got, rev)
	}
	if h := head(t, s); h != rev {
		t.Errorf("an empty Update moved Head from %d to %d", rev, h)
	}
	if cs := allChanges(t, s, rev); len(cs) != 0 {
		t.Errorf("an empty Update logged %d changes", len(cs))
	}
}

// testRollback: a function that creates three objects and then fails
// leaves none of them and no change; Update returns its error.
func testRollback(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	before := snapshotState(snapshot(t, s))
	_, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
		if err := tx.CreateScope(rolecall.Scope{ID: "w2", Parent: "acme"}); err != nil {
			return err
		}
		if err := tx.CreateUser(rolecall.User{ID: "dan"}); err != nil {
			return err
		}
		if err := tx.CreateMembership(rolecall.Membership{User: "dan", Scope: "w2"}); err != nil {
			return err
		}
		if err := tx.AppendAudit(&rolecall.AuditEvent{Org: "acme", Act: "add_member"}); err != nil {
			return err
		}
		return fmt.Errorf("the admin rule says no: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Update returned %v, want the function's error", err)
	}
	if h := head(t, s); h != rev {
		t.Errorf("a failed Update moved Head from %d to %d", rev, h)
	}
	checkState(t, "snapshot after a failed Update", snapshotState(snapshot(t, s)), before)
	if cs := allChanges(t, s, rev); len(cs) != 0 {
		t.Errorf("a failed Update logged %d changes", len(cs))
	}
	if events, _, _ := s.Audit(t.Context(), rolecall.AuditQuery{Org: "acme"}); len(events) != 0 {
		t.Errorf("a failed Update left %d audit events", len(events))
	}
	// Nothing lingers: the same objects can be created.
	update(t, s, func(tx rolecall.Tx) error {
		if err := tx.CreateScope(rolecall.Scope{ID: "w2", Parent: "acme"}); err != nil {
			return err
		}
		if err := tx.CreateUser(rolecall.User{ID: "dan"}); err != nil {
			return err
		}
		return tx.CreateMembership(rolecall.Membership{User: "dan", Scope: "w2"})
	})
}

// testFailedCallLeavesTxUsable: a Tx call that fails changes nothing, and
// the function may go on and commit the rest.
func testFailedCallLeavesTxUsable(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev0 := seed(t, open)
	m := rolecall.Membership{User: "bob", Scope: "w1", DefaultRole: "admin"}
	rev := update(t, s, func(tx rolecall.Tx) error {
		// create or replace
		if err := tx.CreateMembership(m); rolecall.KindOf(err) != rolecall.Conflict {
			return fmt.Errorf("CreateMembership of an existing key: %v, want a conflict", err)
		}
		if err := tx.ReplaceMembership(m); err != nil {
			return err
		}
		if err := tx.CreateMembership(rolecall.Membership{User: "nobody", Scope: "w1"}); rolecall.KindOf(err) != rolecall.FailedPrecondition {
			return fmt.Errorf("CreateMembership of a missing user: %v, want a failed precondition", err)
		}
		if err := tx.Delete(rolecall.ObjScope, "acme"); rolecall.KindOf(err) != rolecall.FailedPrecondition {
			return fmt.Errorf("Delete of a scope in use: %v, want a failed precondition", err)
		}
		return tx.CreateUser(rolecall.User{ID: "dan"})
	})
	cs := allChanges(t, s, rev0)
	if len(cs) != 2 || cs[0].Key != "bob@w1" || cs[1].Key != "dan" || cs[0].Revision != rev {
		t.Errorf("the transaction logged %+v, want the replaced membership bob@w1 and the new user dan", cs)
	}
	snap := snapshotState(snapshot(t, s))
	if _, ok := snap[rolecall.ObjScope]["acme"]; !ok {
		t.Errorf("a Delete that failed removed scope acme")
	}
}

// testUncommittedInvisible: readers, even called from inside the
// function, see only committed data.
func testUncommittedInvisible(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	before := snapshotState(snapshot(t, s))
	update(t, s, func(tx rolecall.Tx) error {
		if err := tx.CreateUser(rolecall.User{ID: "ghost"}); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjDomain, "acme.com"); err != nil {
			return err
		}
		if h := head(t, s); h != rev {
			t.Errorf("Head inside an Update = %d, want the last committed %d", h, rev)
		}
		checkState(t, "snapshot taken inside an Update", snapshotState(snapshot(t, s)), before)
		if cs, err := s.Changes(t.Context(), rev, 100); err != nil || len(cs) != 0 {
			t.Errorf("Changes inside an Update = %d changes, error %v; want none", len(cs), err)
		}
		return nil
	})
}

// testTxAfterUpdate: a Tx kept past its Update fails and writes nothing.
func testTxAfterUpdate(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	var kept rolecall.Tx
	rev := update(t, s, func(tx rolecall.Tx) error {
		kept = tx
		return tx.CreateUser(rolecall.User{ID: "dan"})
	})
	err := kept.CreateUser(rolecall.User{ID: "eve"})
	wantErr(t, "CreateUser on a finished Tx", err, rolecall.FailedPrecondition)
	if h := head(t, s); h != rev {
		t.Errorf("a finished Tx moved Head from %d to %d", rev, h)
	}
	if _, ok := snapshotState(snapshot(t, s))[rolecall.ObjUser]["eve"]; ok {
		t.Errorf("a finished Tx created user eve")
	}
}

// testCanceledContext: Update under a canceled context fails and writes
// nothing.
func testCanceledContext(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, rev := seed(t, open)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateUser(rolecall.User{ID: "dan"}) })
	if err == nil {
		t.Errorf("Update under a canceled context succeeded")
	}
	if h := head(t, s); h != rev {
		t.Errorf("Update under a canceled context moved Head from %d to %d", rev, h)
	}
}

// testChangeLog: the log lists every change of every revision in order,
// with its organization, kind, key, deletion flag and the value after it.
func testChangeLog(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	acme := rolecall.Scope{ID: "acme", Level: "org"}
	ann := rolecall.User{ID: "ann"}
	ann2 := rolecall.User{ID: "ann", Email: "ann@acme.com"}
	m := rolecall.Membership{User: "ann", Scope: "acme", DefaultRole: "member"}
	r1 := update(t, s, func(tx rolecall.Tx) error {
		if err := tx.CreateScope(acme); err != nil {
			return err
		}
		return tx.CreateUser(ann)
	})
	r2 := update(t, s, func(tx rolecall.Tx) error {
		if err := tx.CreateMembership(m); err != nil {
			return err
		}
		return tx.ReplaceUser(ann2)
	})
	r3 := update(t, s, func(tx rolecall.Tx) error { return tx.Delete(rolecall.ObjMembership, "ann@acme") })
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	want := []rolecall.Change{
		{Revision: r1, Seq: 0, Org: "acme", Kind: rolecall.ObjScope, Key: "acme", Value: json.RawMessage(js(acme))},
		{Revision: r1, Seq: 1, Org: "", Kind: rolecall.ObjUser, Key: "ann", Value: json.RawMessage(js(ann))},
		{Revision: r2, Seq: 0, Org: "acme", Kind: rolecall.ObjMembership, Key: "ann@acme", Value: json.RawMessage(js(m))},
		{Revision: r2, Seq: 1, Org: "", Kind: rolecall.ObjUser, Key: "ann", Value: json.RawMessage(js(ann2))},
		{Revision: r3, Seq: 0, Org: "acme", Kind: rolecall.ObjMembership, Key: "ann@acme", Deleted: true},
	}
	got := allChanges(t, s, 0)
	if len(got) != len(want) {
		t.Fatalf("the log has %d changes, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		w := want[i]
		if g.Revision != w.Revision || g.Seq != w.Seq || g.Org != w.Org || g.Kind != w.Kind || g.Key != w.Key || g.Deleted != w.Deleted {
			t.Errorf("change %d = {rev %d seq %d org %q %s %q deleted=%v}, want {rev %d seq %d org %q %s %q deleted=%v}",
				i, g.Revision, g.Seq, g.Org, g.Kind, g.Key, g.Deleted, w.Revision, w.Seq, w.Org, w.Kind, w.Key, w.Deleted)
		}
		if w.Deleted {
			if len(g.Value) != 0 {
				t.Errorf("change %d: a deletion has value %s", i, g.Value)
			}
			continue
		}
		v := newObject(g.Kind)
		if err := json.Unmarshal(g.Value, v); err != nil || js(v) != string(w.Value) {
			t.Errorf("change %d: value %s, want %s", i, g.Value, w.Value)
		}
	}
	// Reading from each revision gives the changes after it.
	for _, after := range []rolecall.Revision{r1, r2, r3} {
		cs := allChanges(t, s, after)
		for _, c := range cs {
			if c.Revision <= after {
				t.Errorf("Changes(%d) returned a change of revision %d", after, c.Revision)
			}
		}
		n := 0
		for _, w := range want {
			if w.Revision > after {
				n++
			}
		}
		if len(cs) != n {
			t.Errorf("Changes(%d) returned %d changes, want %d", after, len(cs), n)
		}
	}
}

// testChangesLimit: Changes returns whole revisions only, as many as fit
// in limit changes, but always the first whole.
func testChangesLimit(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	sizes := []int{1, 3, 1, 5, 2}
	var revs []rolecall.Revision
	n := 0
	for _, size := range sizes {
		revs = append(revs, update(t, s, func(tx rolecall.Tx) error {
			for range size {
				n++
				if err := tx.CreateUser(rolecall.User{ID: fmt.Sprint("u", n)}); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	cases := []struct {
		after rolecall.Revision
		limit int
		want  []int // indexes into revs of the revisions returned
	}{
		{0, 1, []int{0}},
		{0, 2, []int{0}},
		{0, 4, []int{0, 1}},
		{0, 5, []int{0, 1, 2}},
		{0, 9, []int{0, 1, 2}},
		{0, 10, []int{0, 1, 2, 3}},
		{0, 12, []int{0, 1, 2, 3, 4}},
		{0, 1000, []int{0, 1, 2, 3, 4}},
		{revs[0], 1, []int{1}},
		{revs[0], 3, []int{1}},
		{revs[0], 4, []int{1, 2}},
		{revs[2], 1, []int{3}},
		{revs[2], 6, []int{3}},
		{revs[2], 7, []int{3, 4}},
		{revs[3], 1, []int{4}},
		{revs[4], 1, nil},
		{revs[4] + 100, 10, nil},
	}
	for _, tc := range cases {
		cs, err := s.Changes(t.Context(), tc.after, tc.limit)
		if err != nil {
			t.Errorf("Changes(%d, %d): %v", tc.after, tc.limit, err)
			continue
		}
		checkOrder(t, cs)
		count := map[rolecall.Revision]int{}
		for _, c := range cs {
			count[c.Revision]++
		}
		got := []rolecall.Revision{}
		for i, c := range cs {
			if i == 0 || cs[i-1].Revision != c.Revision {
				got = append(got, c.Revision)
			}
		}
		wantRevs := []rolecall.Revision{}
		for _, i := range tc.want {
			wantRevs = append(wantRevs, revs[i])
			if count[revs[i]] != sizes[i] {
				t.Errorf("Changes(%d, %d) returned %d of the %d changes of revision %d", tc.after, tc.limit, count[revs[i]], sizes[i], revs[i])
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(wantRevs) {
			t.Errorf("Changes(%d, %d) returned revisions %v, want %v", tc.after, tc.limit, got, wantRevs)
		}
	}
	if _, err := s.Changes(t.Context(), 0, -1); rolecall.KindOf(err) != rolecall.Invalid {
		t.Errorf("Changes with limit -1: error %v, want kind %s", err, rolecall.Invalid)
	}
}

// testReplayMatchesSnapshot: after a history of creates, replacements and
// deletions, replaying the log from 0 gives exactly what Snapshot holds.
func testReplayMatchesSnapshot(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, f, _ := seed(t, open)
	update(t, s, func(tx rolecall.Tx) error {
		if err := tx.Delete(rolecall.ObjBinding, "b2"); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjGroupMember, "eng/bob"); err != nil {
			return err
		}
		f.users[1].Name = "Bob"
		return tx.ReplaceUser(f.users[1])
	})
	update(t, s, func(tx rolecall.Tx) error {
		if err := tx.Delete(rolecall.ObjGroupMember, "eng/ann"); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjResource, "source:s1"); rolecall.KindOf(err) != rolecall.FailedPrecondition {
			return fmt.Errorf("deleting a resource used as an input: %v, want a failed precondition", err)
		}
		if err := tx.Delete(rolecall.ObjResource, "dataset:d2"); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjResource, "source:s1"); err != nil {
			return err
		}
		if err := tx.Delete(rolecall.ObjGroup, "eng"); err != nil {
			return err
		}
		return tx.CreateGroup(rolecall.Group{ID: "eng", Scope: "w1", Name: "again"})
	})
	snap := snapshot(t, s)
	if h := head(t, s); snap.Revision != h {
		t.Errorf("Snapshot at revision %d, Head %d", snap.Revision, h)
	}
	cs := allChanges(t, s, 0)
	checkState(t, "snapshot against the replayed log", snapshotState(snap), replay(t, cs).only(snapshotKinds...))
	if last := cs[len(cs)-1].Revision; last != snap.Revision {
		t.Errorf("the log ends at revision %d, the snapshot is at %d", last, snap.Revision)
	}
}

// testSnapshotConsistent: snapshots taken while another goroutine writes
// each hold exactly the replayed log up to the revision they report.
// Every Update adds a user and its membership and renames the
// organization after the count of users, so half a transaction shows.
func testSnapshotConsistent(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	update(t, s, func(tx rolecall.Tx) error { return tx.CreateScope(rolecall.Scope{ID: "acme", Name: "0"}) })
	const writes = 40
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Go(func() {
		for i := 1; i <= writes; i++ {
			_, err := s.Update(context.Background(), func(tx rolecall.Tx) error {
				u := fmt.Sprint("u", i)
				if err := tx.CreateUser(rolecall.User{ID: u}); err != nil {
					return err
				}
				if err := tx.CreateMembership(rolecall.Membership{User: u, Scope: "acme"}); err != nil {
					return err
				}
				return tx.ReplaceScope(rolecall.Scope{ID: "acme", Name: fmt.Sprint(i)})
			})
			if err != nil {
				errc <- err
				return
			}
		}
	})
	var snaps []*rolecall.Snapshot
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
loop:
	for {
		select {
		case <-done:
			break loop
		default:
		}
		snap, err := s.Snapshot(t.Context())
		if err != nil {
			t.Errorf("Snapshot during writes: %v", err)
			<-done
			break
		}
		snaps = append(snaps, snap)
		if len(snap.Scopes) != 1 || snap.Scopes[0].Name != fmt.Sprint(len(snap.Users)) || len(snap.Memberships) != len(snap.Users) {
			t.Errorf("snapshot at revision %d is torn: %d users, %d memberships, scopes %+v",
				snap.Revision, len(snap.Users), len(snap.Memberships), snap.Scopes)
			<-done
			break
		}
	}
	select {
	case err := <-errc:
		t.Fatalf("Update: %v", err)
	default:
	}
	cs := allChanges(t, s, 0)
	for _, snap := range snaps {
		var upTo []rolecall.Change
		for _, c := range cs {
			if c.Revision <= snap.Revision {
				upTo = append(upTo, c)
			}
		}
		checkState(t, fmt.Sprintf("snapshot at revision %d against the log up to it", snap.Revision),
			snapshotState(snap), replay(t, upTo).only(snapshotKinds...))
	}
	t.Logf("%d snapshots during %d writes", len(snaps), writes)
}

// testConcurrent: 8 goroutines of 25 Updates each all commit, at distinct
// revisions, and the log holds all 200 transactions.
func testConcurrent(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	const workers, each = 8, 25
	var (
		mu   sync.Mutex
		revs = map[rolecall.Revision]string{}
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				rev, err := s.Update(context.Background(), func(tx rolecall.Tx) error {
					return tx.CreateUser(rolecall.User{ID: id})
				})
				if err != nil {
					t.Errorf("Update creating %s: %v", id, err)
					return
				}
				mu.Lock()
				if other, ok := revs[rev]; ok {
					t.Errorf("users %s and %s were both committed at revision %d", other, id, rev)
				}
				revs[rev] = id
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(revs) != workers*each {
		t.Fatalf("%d Updates committed at %d distinct revisions", workers*each, len(revs))
	}
	cs := allChanges(t, s, 0)
	if len(cs) != workers*each {
		t.Errorf("the log has %d changes, want %d", len(cs), workers*each)
	}
	for _, c := range cs {
		if revs[c.Revision] != c.Key {
			t.Errorf("the log has %s %q at revision %d, where Update committed %q", c.Kind, c.Key, c.Revision, revs[c.Revision])
		}
	}
	var latest rolecall.Revision
	for r := range revs {
		latest = max(latest, r)
	}
	if h := head(t, s); h != latest {
		t.Errorf("Head = %d, want the last revision committed, %d", h, latest)
	}
	if n := len(snapshot(t, s).Users); n != workers*each {
		t.Errorf("the snapshot has %d users, want %d", n, workers*each)
	}
}

// testConcurrentCreateConflict: of 8 goroutines creating the same key at
// once, exactly one succeeds and the others get a Conflict.
func testConcurrentCreateConflict(t *testing.T, open func(*testing.T) rolecall.Store) {
	s := open(t)
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			_, errs[w] = s.Update(context.Background(), func(tx rolecall.Tx) error {
				return tx.CreateScope(rolecall.Scope{ID: "race", Name: fmt.Sprint(w)})
			})
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for w, err := range errs {
		switch {
		case err == nil:
			ok++
		case rolecall.KindOf(err) != rolecall.Conflict:
			t.Errorf("worker %d: %v, want success or a conflict", w, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent creates of one key succeeded, want 1", ok, workers)
	}
	if cs := allChanges(t, s, 0); len(cs) != 1 {
		t.Errorf("the log has %d changes, want 1", len(cs))
	}
}
