package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/pgtest"
)

// createAll creates the objects of snap in one Update, kind by kind in the
// order Load writes them, each kind in the order given: the Update a Load
// of snap is equivalent to when snap lists parents first. Bindings and
// offers given IDs get them in snap.
func createAll(ctx context.Context, s rolecall.Writer, snap *rolecall.Snapshot) (rolecall.Revision, error) {
	return s.Update(ctx, func(tx rolecall.Tx) error {
		var steps []func() error
		for _, x := range snap.Scopes {
			steps = append(steps, func() error { return tx.CreateScope(x) })
		}
		for _, x := range snap.Users {
			steps = append(steps, func() error { return tx.CreateUser(x) })
		}
		for _, x := range snap.Memberships {
			steps = append(steps, func() error { return tx.CreateMembership(x) })
		}
		for _, x := range snap.Groups {
			steps = append(steps, func() error { return tx.CreateGroup(x) })
		}
		for _, x := range snap.GroupMembers {
			steps = append(steps, func() error { return tx.CreateGroupMember(x) })
		}
		for _, x := range snap.Resources {
			steps = append(steps, func() error { return tx.CreateResource(x) })
		}
		for _, x := range snap.Roles {
			steps = append(steps, func() error { return tx.CreateRole(x) })
		}
		for i := range snap.Bindings {
			steps = append(steps, func() error { return tx.CreateBinding(&snap.Bindings[i]) })
		}
		for i := range snap.Offers {
			steps = append(steps, func() error { return tx.CreateOffer(&snap.Offers[i]) })
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

var (
	loadT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	loadT1 = time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
)

// loadBase is what the store holds before the loads of TestLoadLikeUpdate
// that build on existing objects.
func loadBase() *rolecall.Snapshot {
	return &rolecall.Snapshot{
		Scopes:    []rolecall.Scope{{ID: "acme", Level: "org", Name: "Acme", Attrs: map[string]any{"plan": "enterprise", "seats": 12.0}}},
		Users:     []rolecall.User{{ID: "ann", Name: "Ann", Email: "ann@acme.com"}},
		Resources: []rolecall.Resource{{Type: "dataset", ID: "d0", Scope: "acme"}},
	}
}

// loadRest is loaded on top of loadBase, referring to its objects. With
// scrambled, scopes and resources come children first and resources
// before their inputs; Load must write them in the order of the
// unscrambled version.
func loadRest(scrambled bool) *rolecall.Snapshot {
	w1 := rolecall.Scope{ID: "w1", Level: "workspace", Parent: "acme"}
	p1 := rolecall.Scope{ID: "p1", Level: "project", Parent: "w1", Name: "Claims"}
	globex := rolecall.Scope{ID: "globex", Level: "org"}
	d1 := rolecall.Resource{Type: "dataset", ID: "d1", Scope: "p1", Owner: "ann", Fields: map[string]string{"email": "sensitive"}}
	l1 := rolecall.Resource{Type: "label", ID: "l1", Parent: &rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Attrs: map[string]any{"step": "review"}}
	s1 := rolecall.Resource{Type: "source", ID: "s1", Scope: "w1", Groups: []string{"eng", "eng"}}
	d2 := rolecall.Resource{Type: "dataset", ID: "d2", Scope: "p1", Inputs: map[string][]rolecall.ResourceRef{
		"sources": {{Type: "source", ID: "s1"}}, "extra": {{Type: "dataset", ID: "d0"}}}}
	l0 := rolecall.Resource{Type: "label", ID: "l0", Parent: &rolecall.ResourceRef{Type: "dataset", ID: "d0"}}
	snap := &rolecall.Snapshot{
		Scopes: []rolecall.Scope{w1, p1, globex},
		Users: []rolecall.User{
			{ID: "bob", Email: "bob@acme.com", Attrs: map[string]any{"staff": true}},
			{ID: "cat@globex.com"},
		},
		Memberships: []rolecall.Membership{
			{User: "ann", Scope: "acme", DefaultRole: "member"},
			{User: "bob", Scope: "w1"},
			{User: "cat@globex.com", Scope: "globex"},
		},
		Groups: []rolecall.Group{
			{ID: "eng", Scope: "acme", Name: "Engineering"},
			{ID: "everyone", Scope: "w1", AllMembers: true},
		},
		GroupMembers: []rolecall.GroupMember{{Group: "eng", User: "ann"}, {Group: "eng", User: "bob"}},
		Resources:    []rolecall.Resource{s1, d2, d1, l1, l0},
		Roles: []rolecall.Role{
			{ID: "editor", Org: "acme", Name: "Editor", Grants: []rolecall.Grant{{Permission: "edit"}, {Permission: "view", Qualifiers: []string{"own"}}}},
			{ID: "labeler", Org: "acme", Scope: "w1", Grants: []rolecall.Grant{{Permission: "label"}}},
		},
		Bindings: []rolecall.Binding{
			{ID: "b1", Subject: rolecall.UserSubject("ann"), Role: "admin", Scope: "acme", Wildcard: true},
			{Subject: rolecall.GroupSubject("eng"), Role: "viewer", Resource: &rolecall.ResourceRef{Type: "dataset", ID: "d1"}},
			{ID: "b3", Subject: rolecall.UserSubject("bob"), Permissions: []string{"view", "edit"}, Scope: "p1", NotBefore: loadT0, NotAfter: loadT1},
			{ID: "b4", Subject: rolecall.UserSubject("cat@globex.com"), Role: "owner", Scope: "globex"},
			{ID: "b5", Subject: rolecall.UserSubject("ann"), Role: "owner", Resource: &rolecall.ResourceRef{Type: "dataset", ID: "d0"}},
		},
		Offers: []rolecall.Offer{
			{ID: "o1", Kind: "share", Resource: rolecall.ResourceRef{Type: "dataset", ID: "d1"}, Recipient: "cat@globex.com", State: rolecall.OfferPending, NotAfter: loadT1},
			{Kind: "share", Resource: rolecall.ResourceRef{Type: "dataset", ID: "d0"}, Recipient: "ann", State: rolecall.OfferAccepted},
		},
	}
	if scrambled {
		snap.Scopes = []rolecall.Scope{p1, w1, globex}
		snap.Resources = []rolecall.Resource{d2, l1, d1, s1, l0}
	}
	return snap
}

// merge returns a snapshot holding the objects of a, then those of b.
func merge(a, b *rolecall.Snapshot) *rolecall.Snapshot {
	return &rolecall.Snapshot{
		Scopes:       slices.Concat(a.Scopes, b.Scopes),
		Users:        slices.Concat(a.Users, b.Users),
		Memberships:  slices.Concat(a.Memberships, b.Memberships),
		Groups:       slices.Concat(a.Groups, b.Groups),
		GroupMembers: slices.Concat(a.GroupMembers, b.GroupMembers),
		Resources:    slices.Concat(a.Resources, b.Resources),
		Roles:        slices.Concat(a.Roles, b.Roles),
		Bindings:     slices.Concat(a.Bindings, b.Bindings),
		Offers:       slices.Concat(a.Offers, b.Offers),
	}
}

// storeState is everything a store reports: its head, its snapshot and its
// change log.
type storeState struct {
	head    rolecall.Revision
	snap    *rolecall.Snapshot
	changes []rolecall.Change
}

func stateOf(t *testing.T, s rolecall.Reader) storeState {
	t.Helper()
	var st storeState
	var err error
	if st.head, err = s.Head(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st.snap, err = s.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st.changes, err = s.Changes(t.Context(), 0, 1<<20); err != nil {
		t.Fatal(err)
	}
	return st
}

// comparable returns the state as JSON without revisions and times (which
// it checks are one per revision), with the given IDs replaced.
func (st storeState) comparable(t *testing.T, ids map[string]string) string {
	t.Helper()
	snap := *st.snap
	snap.Revision = 0
	at := map[rolecall.Revision]time.Time{}
	cs := slices.Clone(st.changes)
	for i := range cs {
		c := &cs[i]
		if t0, ok := at[c.Revision]; ok && !t0.Equal(c.At) {
			t.Errorf("change %d.%d is at %v, others of its revision at %v", c.Revision, c.Seq, c.At, t0)
		}
		at[c.Revision] = c.At
		c.Revision, c.At = 0, time.Time{}
	}
	b, err := json.MarshalIndent(struct {
		Snapshot rolecall.Snapshot
		Changes  []rolecall.Change
	}{snap, cs}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for from, to := range ids {
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

// TestLoadLikeUpdate: a Load writes what the equivalent Update writes, into
// a fresh database and onto objects that Updates created before, whatever
// the order of the objects given: the same objects, the same change log
// (kinds, keys, organizations, values byte for byte, in the same order),
// at one revision and one time.
func TestLoadLikeUpdate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		base       *rolecall.Snapshot // created by Update first
		load, want *rolecall.Snapshot // loaded; created in this order by Update
	}{
		{"fresh", nil, merge(loadBase(), loadRest(true)), merge(loadBase(), loadRest(false))},
		{"on existing objects", loadBase(), loadRest(true), loadRest(false)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			loaded, updated := open(t, pgtest.DSN(t)), open(t, pgtest.DSN(t))
			if tc.base != nil {
				for _, s := range []rolecall.Writer{loaded, updated} {
					if _, err := createAll(ctx, s, loadBase()); err != nil {
						t.Fatal(err)
					}
				}
			}
			rev, err := loaded.Load(ctx, tc.load)
			if err != nil {
				t.Fatal(err)
			}
			urev, err := createAll(ctx, updated, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			if rev != urev {
				t.Errorf("Load committed at revision %d, the Update at %d", rev, urev)
			}
			lst, ust := stateOf(t, loaded), stateOf(t, updated)
			if lst.head != rev || ust.head != urev {
				t.Errorf("heads %d and %d, want %d and %d", lst.head, ust.head, rev, urev)
			}
			// The IDs given to a binding and an offer are set in the
			// snapshot, and differ between the stores.
			ids := map[string]string{}
			find := func(get func(*rolecall.Snapshot) string) {
				l, u := get(tc.load), get(tc.want)
				if l == "" || u == "" {
					t.Fatalf("no ID given: %q by Load, %q by Update", l, u)
				}
				ids[l] = u
			}
			find(func(s *rolecall.Snapshot) string { return s.Bindings[len(s.Bindings)-4].ID })
			find(func(s *rolecall.Snapshot) string { return s.Offers[len(s.Offers)-1].ID })

			if got, want := lst.comparable(t, ids), ust.comparable(t, nil); got != want {
				t.Errorf("after Load:\n%s\nafter the equivalent Update:\n%s", got, want)
			}
			var n int
			for _, c := range lst.changes {
				if c.Revision == rev {
					n++
				}
			}
			if n != count(tc.load) {
				t.Errorf("the Load's revision has %d changes, want %d", n, count(tc.load))
			}
		})
	}
}

func count(s *rolecall.Snapshot) int {
	return len(s.Scopes) + len(s.Users) + len(s.Memberships) + len(s.Groups) + len(s.GroupMembers) +
		len(s.Resources) + len(s.Roles) + len(s.Bindings) + len(s.Offers)
}

// TestLoadErrors: a Load that breaks a rule fails with the error of the
// equivalent Update (the first offending object's, in the order Load
// writes), and writes nothing.
func TestLoadErrors(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.DSN(t))
	base := &rolecall.Snapshot{
		Scopes:    []rolecall.Scope{{ID: "acme", Level: "org"}, {ID: "w1", Level: "workspace", Parent: "acme"}},
		Users:     []rolecall.User{{ID: "ann"}},
		Groups:    []rolecall.Group{{ID: "eng", Scope: "acme"}},
		Resources: []rolecall.Resource{{Type: "dataset", ID: "d0", Scope: "acme"}},
	}
	if _, err := createAll(ctx, s, base); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, s)

	for _, tc := range []struct {
		name string
		snap *rolecall.Snapshot
		kind rolecall.Kind
		msg  string // the error's text starts with it
		// cycle: Update cannot make the objects in any order, so its
		// error differs; genID: the error names an ID the store gave.
		cycle, genID bool
	}{
		{"duplicate key", &rolecall.Snapshot{
			Users: []rolecall.User{{ID: "x"}, {ID: "y"}, {ID: "x", Name: "again"}},
		}, rolecall.Conflict, `user "x": already exists`, false, false},
		{"existing key", &rolecall.Snapshot{
			Users:  []rolecall.User{{ID: "x"}},
			Scopes: []rolecall.Scope{{ID: "p1", Parent: "w1"}, {ID: "w1", Parent: "acme"}},
		}, rolecall.Conflict, `scope "w1": already exists`, false, false},
		{"existing key given to a binding", &rolecall.Snapshot{
			Bindings: []rolecall.Binding{{ID: "b1", Subject: rolecall.UserSubject("ann"), Scope: "acme"},
				{ID: "b1", Subject: rolecall.UserSubject("ann"), Scope: "w1"}},
		}, rolecall.Conflict, `binding "b1": already exists`, false, false},
		{"missing reference", &rolecall.Snapshot{
			Users:       []rolecall.User{{ID: "bob"}},
			Memberships: []rolecall.Membership{{User: "bob", Scope: "acme"}, {User: "nobody", Scope: "acme"}},
		}, rolecall.FailedPrecondition, `membership "nobody@acme": refers to user "nobody"`, false, false},
		{"missing group of a resource", &rolecall.Snapshot{
			Resources: []rolecall.Resource{{Type: "dataset", ID: "d1", Scope: "acme", Groups: []string{"eng", "zzz", "nope"}}},
		}, rolecall.FailedPrecondition, `resource "dataset:d1": refers to group "nope"`, false, false},
		{"missing input", &rolecall.Snapshot{
			Resources: []rolecall.Resource{{Type: "dataset", ID: "d1", Scope: "acme",
				Inputs: map[string][]rolecall.ResourceRef{"sources": {{Type: "dataset", ID: "d0"}, {Type: "source", ID: "none"}}}}},
		}, rolecall.FailedPrecondition, `resource "dataset:d1": refers to resource "source:none"`, false, false},
		{"missing subject of a binding", &rolecall.Snapshot{
			Bindings: []rolecall.Binding{{Subject: rolecall.GroupSubject("ops"), Scope: "acme"}},
		}, rolecall.FailedPrecondition, `binding "`, false, true},
		{"empty id", &rolecall.Snapshot{
			Scopes: []rolecall.Scope{{ID: "w2", Parent: "acme"}},
			Users:  []rolecall.User{{ID: "bob"}, {ID: ""}},
		}, rolecall.Invalid, `user: has no id`, false, false},
		{"binding without a subject", &rolecall.Snapshot{
			Bindings: []rolecall.Binding{{Role: "admin", Scope: "acme"}},
		}, rolecall.Invalid, `binding: has no subject`, false, false},
		{"role of a scope that is not an organization", &rolecall.Snapshot{
			Roles: []rolecall.Role{{ID: "r", Org: "w1"}},
		}, rolecall.Invalid, `role "w1/r": names scope "w1" as its organization`, false, false},
		{"resource across organizations", &rolecall.Snapshot{
			Scopes:    []rolecall.Scope{{ID: "globex"}},
			Resources: []rolecall.Resource{{Type: "label", ID: "l", Scope: "globex", Parent: &rolecall.ResourceRef{Type: "dataset", ID: "d0"}}},
		}, rolecall.Invalid, `resource "label:l": has scope "globex" in organization "globex" but parent`, false, false},
		{"the first error in load order", &rolecall.Snapshot{
			Groups:      []rolecall.Group{{ID: "", Scope: "acme"}},              // Invalid, but written after
			Memberships: []rolecall.Membership{{User: "nobody", Scope: "acme"}}, // this
			Offers:      []rolecall.Offer{{Resource: rolecall.ResourceRef{}}},   // and before this
		}, rolecall.FailedPrecondition, `membership "nobody@acme": refers to user "nobody"`, false, false},
		{"scopes that are each other's parent", &rolecall.Snapshot{
			Scopes: []rolecall.Scope{{ID: "a", Parent: "b"}, {ID: "b", Parent: "a"}},
		}, rolecall.Invalid, `scope "`, true, false},
		{"resources in a cycle of parents", &rolecall.Snapshot{
			Resources: []rolecall.Resource{
				{Type: "t", ID: "top", Scope: "acme"},
				{Type: "t", ID: "a", Parent: &rolecall.ResourceRef{Type: "t", ID: "c"}},
				{Type: "t", ID: "b", Parent: &rolecall.ResourceRef{Type: "t", ID: "a"}},
				{Type: "t", ID: "c", Parent: &rolecall.ResourceRef{Type: "t", ID: "b"}},
			},
		}, rolecall.Invalid, `resource "t:`, true, false},
		{"many good objects and one bad one", func() *rolecall.Snapshot {
			snap := &rolecall.Snapshot{}
			for i := range 3000 {
				id := "u" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
				snap.Users = append(snap.Users, rolecall.User{ID: id})
				snap.Memberships = append(snap.Memberships, rolecall.Membership{User: id, Scope: "w1"})
				snap.Bindings = append(snap.Bindings, rolecall.Binding{Subject: rolecall.UserSubject(id), Role: "viewer", Scope: "acme"})
			}
			snap.Offers = []rolecall.Offer{{ID: "o", Resource: rolecall.ResourceRef{Type: "dataset", ID: "gone"}, Recipient: "ann"}}
			return snap
		}(), rolecall.FailedPrecondition, `offer "o": refers to resource "dataset:gone"`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var given []int // the bindings with an ID
			for i, b := range tc.snap.Bindings {
				if b.ID != "" {
					given = append(given, i)
				}
			}
			rev, err := s.Load(ctx, tc.snap)
			if rolecall.KindOf(err) != tc.kind || !strings.HasPrefix(errText(err), tc.msg) {
				t.Errorf("Load = %d, %v; want a %v error starting %q", rev, err, tc.kind, tc.msg)
			}
			for i, b := range tc.snap.Bindings {
				if b.ID != "" && !slices.Contains(given, i) {
					t.Errorf("a failed Load set binding %d's ID to %q", i, b.ID)
					break
				}
			}
			if after := stateOf(t, s); after.comparable(t, nil) != before.comparable(t, nil) || after.head != before.head {
				t.Errorf("a failed Load wrote something: head %d, was %d", after.head, before.head)
			}
			if tc.cycle {
				return
			}
			_, uerr := createAll(ctx, s, tc.snap)
			if rolecall.KindOf(uerr) != rolecall.KindOf(err) || !tc.genID && errText(uerr) != errText(err) {
				t.Errorf("Load failed with %v (%v), the equivalent Update with %v (%v)",
					err, rolecall.KindOf(err), uerr, rolecall.KindOf(uerr))
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestLoadCycles: the inputs of loaded resources may form a cycle, alone or
// with parents (a state that Replace can make), and the resources are then
// written parents first.
func TestLoadCycles(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.DSN(t))
	if _, err := createAll(ctx, s, &rolecall.Snapshot{Scopes: []rolecall.Scope{{ID: "acme", Level: "org"}}}); err != nil {
		t.Fatal(err)
	}
	ref := func(id string) *rolecall.ResourceRef { return &rolecall.ResourceRef{Type: "t", ID: id} }
	inputs := func(ids ...string) map[string][]rolecall.ResourceRef {
		var refs []rolecall.ResourceRef
		for _, id := range ids {
			refs = append(refs, *ref(id))
		}
		return map[string][]rolecall.ResourceRef{"in": refs}
	}
	snap := &rolecall.Snapshot{Resources: []rolecall.Resource{
		{Type: "t", ID: "a", Scope: "acme", Inputs: inputs("b")},
		{Type: "t", ID: "b", Scope: "acme", Inputs: inputs("a")},
		{Type: "t", ID: "self", Scope: "acme", Inputs: inputs("self")},
		// child's parent is p, whose input is child.
		{Type: "t", ID: "p", Scope: "acme", Inputs: inputs("child")},
		{Type: "t", ID: "child", Parent: ref("p")},
	}}
	rev, err := s.Load(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := s.Changes(ctx, rev-1, 100)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range cs {
		keys = append(keys, c.Key)
	}
	// With inputs and parents in one cycle, the order follows parents
	// alone, keeping the given order otherwise.
	if want := []string{"t:a", "t:b", "t:self", "t:p", "t:child"}; !slices.Equal(keys, want) {
		t.Errorf("Load wrote %v, want %v", keys, want)
	}
}

// TestLoadEmpty: a Load of nothing writes nothing and returns the head; a
// nil snapshot is Invalid.
func TestLoadEmpty(t *testing.T) {
	ctx := t.Context()
	s := open(t, pgtest.DSN(t))
	if _, err := createAll(ctx, s, &rolecall.Snapshot{Users: []rolecall.User{{ID: "ann"}}}); err != nil {
		t.Fatal(err)
	}
	if rev, err := s.Load(ctx, &rolecall.Snapshot{Revision: 7}); rev != 1 || err != nil {
		t.Errorf("Load(empty) = %d, %v; want 1, nil", rev, err)
	}
	if _, err := s.Load(ctx, nil); rolecall.KindOf(err) != rolecall.Invalid {
		t.Errorf("Load(nil) = %v, want Invalid", err)
	}
	if h, _ := s.Head(ctx); h != 1 {
		t.Errorf("Head = %d, want 1", h)
	}
}
