package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/rolecall/rolecall"
)

// Run checks that the stores open returns implement rolecall.Store, and
// rolecall.Credentials, as this package's overview states. Each subtest
// calls open for a fresh, empty store; open registers the store's cleanup
// (closing it, removing its files) with t.Cleanup. A back end calls Run
// from one of its tests.
func Run(t *testing.T, open func(t *testing.T) rolecall.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, func(*testing.T) rolecall.Store)
	}{
		{"Empty", testEmpty},
		{"CreateAndReadBack", testCreateAndReadBack},
		{"Replace", testReplace},
		{"Delete", testDelete},
		{"CreateExisting", testCreateExisting},
		{"RefusedCreateGoesOn", testRefusedCreateGoesOn},
		{"ReplaceMissing", testReplaceMissing},
		{"DeleteMissing", testDeleteMissing},
		{"GivesIDs", testGivesIDs},
		{"DomainCase", testDomainCase},
		{"MissingReference", testMissingReference},
		{"StillReferenced", testStillReferenced},
		{"Moves", testMoves},
		{"MoveAcross", testMoveAcross},
		{"DeleteWhere", testDeleteWhere},
		{"ReadInTx", testReadInTx},
		{"AuditQuery", testAuditQuery},
		{"LastChange", testLastChange},
		{"APIKeys", testAPIKeys},
		{"Credentials", testCredentials},
		{"TOTPSteps", testTOTPSteps},
		{"Sessions", testSessions},
		{"DeleteSessions", testDeleteSessions},
		{"CredentialsOfDeletedUser", testCredentialsOfDeletedUser},
		{"CredentialsRacingDeletion", testCredentialsRacingDeletion},
		{"CredentialsOutsideLog", testCredentialsOutsideLog},
		{"BadInput", testBadInput},
		{"Revisions", testRevisions},
		{"EmptyUpdate", testEmptyUpdate},
		{"Rollback", testRollback},
		{"FailedCallLeavesTxUsable", testFailedCallLeavesTxUsable},
		{"UncommittedInvisible", testUncommittedInvisible},
		{"TxAfterUpdate", testTxAfterUpdate},
		{"CanceledContext", testCanceledContext},
		{"ChangeLog", testChangeLog},
		{"ChangesLimit", testChangesLimit},
		{"ReplayMatchesSnapshot", testReplayMatchesSnapshot},
		{"SnapshotConsistent", testSnapshotConsistent},
		{"Audit", testAudit},
		{"AuditPaging", testAuditPaging},
		{"Concurrent", testConcurrent},
		{"ConcurrentCreateConflict", testConcurrentCreateConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// update runs fn in one Update and fails the test if it does not commit.
func update(t *testing.T, s rolecall.Store, fn func(rolecall.Tx) error) rolecall.Revision {
	t.Helper()
	rev, err := s.Update(t.Context(), fn)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	return rev
}

// seed opens a store holding the fixture and returns both.
func seed(t *testing.T, open func(*testing.T) rolecall.Store) (rolecall.Store, *fixture, rolecall.Revision) {
	t.Helper()
	s := open(t)
	f := newFixture()
	rev := update(t, s, f.write)
	return s, f, rev
}

// wantErr fails the test unless err has the kind and its message mentions
// each of the given strings.
func wantErr(t *testing.T, what string, err error, kind rolecall.Kind, mentions ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, kind)
		return
	}
	if got := rolecall.KindOf(err); got != kind {
		t.Errorf("%s: error kind %s, want %s (error: %v)", what, got, kind, err)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%s: error %q does not mention %q", what, err, m)
		}
	}
}

// head returns the store's head revision.
func head(t *testing.T, s rolecall.Store) rolecall.Revision {
	t.Helper()
	rev, err := s.Head(t.Context())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return rev
}

// snapshot returns the store's snapshot.
func snapshot(t *testing.T, s rolecall.Store) *rolecall.Snapshot {
	t.Helper()
	snap, err := s.Snapshot(t.Context())
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return snap
}

// allChanges reads the change log after a revision to its end, a few
// changes at a time, and checks its order.
func allChanges(t *testing.T, s rolecall.Store, after rolecall.Revision) []rolecall.Change {
	t.Helper()
	var all []rolecall.Change
	for {
		cs, err := s.Changes(t.Context(), after, 7)
		if err != nil {
			t.Fatalf("Changes(%d, 7): %v", after, err)
		}
		if len(cs) == 0 {
			break
		}
		all = append(all, cs...)
		after = cs[len(cs)-1].Revision
	}
	checkOrder(t, all)
	return all
}

// checkOrder checks that changes come in (revision, seq) order, numbered
// from 0 within each revision, with one At per revision.
func checkOrder(t *testing.T, cs []rolecall.Change) {
	t.Helper()
	for i, c := range cs {
		if c.At.IsZero() {
			t.Errorf("change %d (revision %d seq %d) has no At", i, c.Revision, c.Seq)
		}
		if i == 0 || cs[i-1].Revision != c.Revision {
			if c.Seq != 0 {
				t.Errorf("revision %d starts at seq %d, want 0", c.Revision, c.Seq)
			}
			if i > 0 && cs[i-1].Revision > c.Revision {
				t.Errorf("revision %d comes after revision %d", c.Revision, cs[i-1].Revision)
			}
			continue
		}
		if p := cs[i-1]; c.Seq != p.Seq+1 {
			t.Errorf("revision %d: seq %d follows seq %d, want %d", c.Revision, c.Seq, p.Seq, p.Seq+1)
		} else if !c.At.Equal(p.At) {
			t.Errorf("revision %d: seq %d has At %v, seq %d has %v; one revision commits at one time", c.Revision, c.Seq, c.At, p.Seq, p.At)
		}
	}
}

// replay applies a change log to an empty state. It checks that each
// value decodes and has the key its change names.
func replay(t *testing.T, cs []rolecall.Change) state {
	t.Helper()
	st := state{}
	for _, c := range cs {
		if c.Kind == rolecall.ObjAudit {
			continue
		}
		if c.Deleted {
			if len(c.Value) != 0 {
				t.Errorf("deletion of %s %q at revision %d has value %s, want none", c.Kind, c.Key, c.Revision, c.Value)
			}
			delete(st[c.Kind], c.Key)
			continue
		}
		v := newObject(c.Kind)
		if v == nil {
			t.Errorf("change at revision %d seq %d has unknown kind %q", c.Revision, c.Seq, c.Kind)
			continue
		}
		if err := json.Unmarshal(c.Value, v); err != nil {
			t.Errorf("%s %q at revision %d: value %s does not decode: %v", c.Kind, c.Key, c.Revision, c.Value, err)
			continue
		}
		if k := keyOf(v); k != c.Key {
			t.Errorf("%s change at revision %d names key %q, but its value has key %q", c.Kind, c.Revision, c.Key, k)
		}
		st.put(c.Kind, c.Key, v)
	}
	for k, m := range st {
		if len(m) == 0 {
			delete(st, k)
		}
	}
	return st
}

// diff describes how got differs from want, or returns "".
func diff(got, want state) string {
	var b strings.Builder
	kinds := slices.Sorted(maps.Keys(got))
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[k]; !ok {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		keys := slices.Sorted(maps.Keys(got[k]))
		for _, key := range slices.Sorted(maps.Keys(want[k])) {
			if _, ok := got[k][key]; !ok {
				keys = append(keys, key)
			}
		}
		for _, key := range keys {
			g, gok := got[k][key]
			w, wok := want[k][key]
			switch {
			case !gok:
				fmt.Fprintf(&b, "\n  missing %s %q: %s", k, key, w)
			case !wok:
				fmt.Fprintf(&b, "\n  unexpected %s %q: %s", k, key, g)
			case g != w:
				fmt.Fprintf(&b, "\n  %s %q:\n    got  %s\n    want %s", k, key, g, w)
			}
		}
	}
	return b.String()
}

// checkState fails the test if got differs from want.
func checkState(t *testing.T, what string, got, want state) {
	t.Helper()
	if d := diff(got, want); d != "" {
		t.Errorf("%s differs:%s", what, d)
	}
}

// errBoom is the error test functions return to abort an Update.
var errBoom = errors.New("boom")
