package postgres

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolecall/rolecall"
)

var _ rolecall.Loader = (*Store)(nil)

// Load creates every object of objs (its Revision is ignored) in one
// transaction at one revision, as the Update that creates them one by one
// would: the same checks, the same errors, the same rows in the tables and
// the same change log, but with one COPY per table instead of a round trip
// per check and per object.
//
// The objects are written in this order, which gives the changes their
// seq: scopes, users, memberships, groups, group members, resources,
// roles, bindings, offers. Within a kind they keep the order of objs,
// except that a scope or a resource comes after its parent, and a resource
// after its inputs (unless inputs and parents together form a cycle: then
// resources follow their parents alone). The equivalent Update
// is the one creating them in that order, and Load fails with the error
// that Update would have failed with: the first offending object's. Two
// differences, as Load takes the objects as one set: a resource's input
// may be a resource loaded after it (inputs can form a cycle, as Replace
// can make them), and parents that form a cycle among the loaded objects
// are Invalid.
//
// Bindings and offers without an ID are given one, set in objs when Load
// succeeds. On any error nothing is written. A snapshot without objects
// writes nothing and Load returns the head revision.
func (s *Store) Load(ctx context.Context, objs *rolecall.Snapshot) (rolecall.Revision, error) {
	const op = "postgres.Load"
	if objs == nil {
		return 0, rolecall.E(op, rolecall.Invalid, "snapshot", "no snapshot given")
	}
	p := newLoadPlan(objs)
	if p.count() == 0 {
		return s.Head(ctx)
	}
	var l *loading
	rev, err := s.retrying(ctx, op, func() (rolecall.Revision, error) {
		l = &loading{loadPlan: p, op: op}
		return s.load(ctx, l)
	})
	if err != nil {
		return 0, err
	}
	for i, id := range l.bindingIDs {
		objs.Bindings[i].ID = id
	}
	for i, id := range l.offerIDs {
		objs.Offers[i].ID = id
	}
	return rev, nil
}

// loadPlan is what Load works out from the objects alone, before it
// takes the head row: the order of the scopes and of the resources, and
// the keys to look up in the database.
type loadPlan struct {
	objs      *rolecall.Snapshot
	scopes    []int // indexes into objs.Scopes, parents first
	resources []int // indexes into objs.Resources, parents (and inputs) first
	// defined holds the keys of the objects loaded, by kind.
	defined map[rolecall.ObjectKind]map[string]bool
	// lookup holds, by kind, the keys to read from the database: those the
	// objects define (which must not exist) and those they refer to.
	lookup map[rolecall.ObjectKind][]string
}

func newLoadPlan(objs *rolecall.Snapshot) *loadPlan {
	p := &loadPlan{objs: objs, defined: map[rolecall.ObjectKind]map[string]bool{}}
	want := map[rolecall.ObjectKind]map[string]bool{}
	add := func(kind rolecall.ObjectKind, key string) {
		if key == "" {
			return
		}
		if want[kind] == nil {
			want[kind] = map[string]bool{}
		}
		want[kind][key] = true
	}
	define := func(kind rolecall.ObjectKind, key string) {
		if p.defined[kind] == nil {
			p.defined[kind] = map[string]bool{}
		}
		p.defined[kind][key] = true
		add(kind, key)
	}

	scopeIndex := make(map[string]int, len(objs.Scopes))
	for i, x := range objs.Scopes {
		define(rolecall.ObjScope, x.Key())
		add(rolecall.ObjScope, x.Parent)
		if _, dup := scopeIndex[x.ID]; !dup {
			scopeIndex[x.ID] = i
		}
	}
	p.scopes = dependencyOrder(len(objs.Scopes), scopeIndex,
		func(i int) string { return objs.Scopes[i].Parent }, nil)

	for _, x := range objs.Users {
		define(rolecall.ObjUser, x.Key())
	}
	for _, x := range objs.Memberships {
		define(rolecall.ObjMembership, x.Key())
		add(rolecall.ObjUser, x.User)
		add(rolecall.ObjScope, x.Scope)
	}
	for _, x := range objs.Groups {
		define(rolecall.ObjGroup, x.Key())
		add(rolecall.ObjScope, x.Scope)
	}
	for _, x := range objs.GroupMembers {
		define(rolecall.ObjGroupMember, x.Key())
		add(rolecall.ObjGroup, x.Group)
		add(rolecall.ObjUser, x.User)
	}

	resourceIndex := make(map[string]int, len(objs.Resources))
	parents := make([]string, len(objs.Resources))
	inputs := make([][]string, len(objs.Resources))
	for i := range objs.Resources {
		x := &objs.Resources[i]
		define(rolecall.ObjResource, x.Key())
		if _, dup := resourceIndex[x.Key()]; !dup {
			resourceIndex[x.Key()] = i
		}
		add(rolecall.ObjScope, x.Scope)
		if x.Parent != nil {
			parents[i] = x.Parent.String()
			add(rolecall.ObjResource, parents[i])
		}
		for _, g := range x.Groups {
			add(rolecall.ObjGroup, g)
		}
		for _, rel := range slices.Sorted(maps.Keys(x.Inputs)) {
			for _, in := range x.Inputs[rel] {
				inputs[i] = append(inputs[i], in.String())
				add(rolecall.ObjResource, in.String())
			}
		}
	}
	p.resources = dependencyOrder(len(objs.Resources), resourceIndex,
		func(i int) string { return parents[i] }, func(i int) []string { return inputs[i] })

	for _, x := range objs.Roles {
		define(rolecall.ObjRole, x.Key())
		add(rolecall.ObjScope, x.Org)
		add(rolecall.ObjScope, x.Scope)
	}
	for _, x := range objs.Bindings {
		define(rolecall.ObjBinding, x.Key()) // "" for one to be given an ID: never looked up
		switch x.Subject.Kind {
		case rolecall.SubjectUser:
			add(rolecall.ObjUser, x.Subject.ID)
		case rolecall.SubjectGroup:
			add(rolecall.ObjGroup, x.Subject.ID)
		}
		add(rolecall.ObjScope, x.Scope)
		if x.Resource != nil {
			add(rolecall.ObjResource, x.Resource.String())
		}
	}
	for _, x := range objs.Offers {
		define(rolecall.ObjOffer, x.Key())
		add(rolecall.ObjResource, x.Resource.String())
		add(rolecall.ObjUser, x.Recipient)
	}

	p.lookup = make(map[rolecall.ObjectKind][]string, len(want))
	for kind, keys := range want {
		p.lookup[kind] = slices.Collect(maps.Keys(keys))
	}
	return p
}

func (p *loadPlan) count() int {
	o := p.objs
	return len(o.Scopes) + len(o.Users) + len(o.Memberships) + len(o.Groups) + len(o.GroupMembers) +
		len(o.Resources) + len(o.Roles) + len(o.Bindings) + len(o.Offers)
}

// dependencyOrder orders n objects, whose keys index maps to their
// positions (the first, for a key given twice), so that each comes after
// its parent and, where inputs is not nil, after its inputs, and otherwise
// keeps their order. Where inputs form a cycle, the order follows parents
// alone. Where parents form a cycle (Load then fails), one object of it
// comes before its parent.
func dependencyOrder(n int, index map[string]int, parent func(int) string, inputs func(int) []string) []int {
	try := func(withInputs bool) ([]int, bool) {
		order := make([]int, 0, n)
		state := make([]uint8, n) // 0 not seen, 1 being visited, 2 placed
		ok := true
		var visit func(i int)
		visit = func(i int) {
			state[i] = 1
			if p := parent(i); p != "" {
				if j, found := index[p]; found {
					switch state[j] {
					case 0:
						visit(j)
					case 1:
						ok = false // the parent is waiting for this object: a cycle
					}
				}
			}
			if withInputs {
				for _, in := range inputs(i) {
					if j, found := index[in]; found && state[j] == 0 {
						visit(j)
					}
				}
			}
			state[i] = 2
			order = append(order, i)
		}
		for i := range n {
			if state[i] == 0 {
				visit(i)
			}
		}
		return order, ok
	}
	if inputs != nil {
		if order, ok := try(true); ok {
			return order
		}
	}
	order, _ := try(false)
	return order
}

// loading is one attempt at a Load: the resolver its checks ask, and the
// rows it writes.
type loading struct {
	*loadPlan
	op string
	// db holds the organization of every object the database has of the
	// keys looked up, by kind and key.
	db map[rolecall.ObjectKind]map[string]string
	// done holds the organization of every object checked so far.
	done map[rolecall.ObjectKind]map[string]string
	// rows holds each kind's rows for COPY, changes the change log's.
	rows    map[rolecall.ObjectKind][][]any
	cols    map[rolecall.ObjectKind][]string
	changes [][]any
	// The IDs given to bindings and offers without one, by index.
	bindingIDs, offerIDs map[int]string
}

var _ resolver = (*loading)(nil)

func (l *loading) orgOf(op string, kind rolecall.ObjectKind, key string) (string, bool, error) {
	if org, ok := l.done[kind][key]; ok {
		return org, true, nil
	}
	if l.defined[kind][key] {
		// Objects come after those they refer to: after every object of
		// an earlier kind, and a scope or a resource after its parent. So
		// a loaded object not yet checked is a parent that waits for its
		// own descendant.
		return "", false, rolecall.E(op, rolecall.Invalid, name(kind, key),
			"is its own ancestor: the parents of the loaded objects form a cycle")
	}
	org, ok := l.db[kind][key]
	return org, ok, nil
}

func (l *loading) missing(op string, kind rolecall.ObjectKind, keys []string) (string, error) {
	for _, k := range keys {
		_, inDB := l.db[kind][k]
		if !inDB && !l.defined[kind][k] {
			return k, nil
		}
	}
	return "", nil
}

// kindsInOrder is the order Load writes the kinds in: each after those
// it refers to.
var kindsInOrder = []rolecall.ObjectKind{
	rolecall.ObjScope, rolecall.ObjUser, rolecall.ObjMembership, rolecall.ObjGroup, rolecall.ObjGroupMember,
	rolecall.ObjResource, rolecall.ObjRole, rolecall.ObjBinding, rolecall.ObjOffer,
}

// load makes one attempt at a Load. Holding the head row, it reads the
// existing objects that the loaded ones refer to or would replace (one
// query per kind), checks every object in memory against them and the
// objects loaded before it, then writes each table and the change log with
// one COPY each. The checks come before the COPY, rather than as queries
// over the tables afterwards, because every row and every change carries
// its object's organization, which comes from the objects it refers to;
// and checking in the order of the change log is what finds the error the
// equivalent Update returns. The primary keys stay as a last guard: a key
// written twice fails the COPY, and the transaction with it.
func (s *Store) load(ctx context.Context, l *loading) (rolecall.Revision, error) {
	ptx, rev, done, err := s.begin(ctx, l.op)
	if err != nil {
		return 0, err
	}
	defer done()
	at := time.Now().UTC().Truncate(time.Microsecond)

	// The head row is held: no other writer can change what these reads
	// return until this transaction ends.
	if err := l.read(ctx, ptx); err != nil {
		return 0, dbErr(l.op, "", err)
	}
	if err := l.check(rev, at); err != nil {
		return 0, err
	}
	for _, kind := range kindsInOrder {
		if len(l.rows[kind]) == 0 {
			continue
		}
		if _, err := ptx.CopyFrom(ctx, pgx.Identifier{tables[kind]}, l.cols[kind], pgx.CopyFromRows(l.rows[kind])); err != nil {
			return 0, dbErr(l.op, tables[kind], err)
		}
	}
	if _, err := ptx.CopyFrom(ctx, pgx.Identifier{"changes"},
		[]string{"revision", "seq", "org", "kind", "key", "deleted", "value", "at"}, pgx.CopyFromRows(l.changes)); err != nil {
		return 0, dbErr(l.op, "changes", err)
	}
	if err := ptx.Commit(ctx); err != nil {
		return 0, dbErr(l.op, "", err)
	}
	return rev, nil
}

// read reads the organization of every existing object of the keys the
// plan looks up, one query per kind.
func (l *loading) read(ctx context.Context, q pgx.Tx) error {
	l.db = make(map[rolecall.ObjectKind]map[string]string, len(l.lookup))
	for _, kind := range kindsInOrder {
		keys := l.lookup[kind]
		if len(keys) == 0 {
			continue
		}
		rows, err := q.Query(ctx, `SELECT t.key, t.org FROM unnest($1::text[]) AS k (key) JOIN `+tables[kind]+` t ON t.key = k.key`, keys)
		if err != nil {
			return err
		}
		found := map[string]string{}
		var key, org string
		_, err = pgx.ForEachRow(rows, []any{&key, &org}, func() error {
			found[key] = org
			return nil
		})
		if err != nil {
			return err
		}
		l.db[kind] = found
	}
	return nil
}

// check runs every object through the checks of its kind, in the order of
// the change log, and makes its rows. It returns the first error.
func (l *loading) check(rev rolecall.Revision, at time.Time) error {
	op, objs := l.op, l.objs
	l.done = make(map[rolecall.ObjectKind]map[string]string, len(kindsInOrder))
	l.rows = make(map[rolecall.ObjectKind][][]any, len(kindsInOrder))
	l.cols = make(map[rolecall.ObjectKind][]string, len(kindsInOrder))
	l.changes = make([][]any, 0, l.count())
	l.bindingIDs, l.offerIDs = map[int]string{}, map[int]string{}

	// add records a checked object, as tx.create writes one.
	add := func(o *object, err error) error {
		if err != nil {
			return err
		}
		b, err := json.Marshal(o.obj)
		if err != nil {
			return rolecall.E(op, rolecall.Invalid, name(o.kind, o.key), "cannot be encoded as JSON: "+err.Error())
		}
		_, inDB := l.db[o.kind][o.key]
		_, loaded := l.done[o.kind][o.key]
		if inDB || loaded {
			return rolecall.E(op, rolecall.Conflict, name(o.kind, o.key), "already exists")
		}
		if l.done[o.kind] == nil {
			l.done[o.kind] = map[string]string{}
			l.cols[o.kind] = append([]string{"key", "org", "obj"}, o.cols...)
		}
		l.done[o.kind][o.key] = o.org
		l.rows[o.kind] = append(l.rows[o.kind], append([]any{o.key, o.org, b}, o.vals...))
		l.changes = append(l.changes, []any{int64(rev), len(l.changes), o.org, string(o.kind), o.key, false, b, at})
		return nil
	}

	for _, i := range l.scopes {
		x := objs.Scopes[i]
		if err := add(scopeObject(l, op, &x)); err != nil {
			return err
		}
	}
	for _, x := range objs.Users {
		if err := add(userObject(op, &x)); err != nil {
			return err
		}
	}
	for _, x := range objs.Memberships {
		if err := add(membershipObject(l, op, &x)); err != nil {
			return err
		}
	}
	for _, x := range objs.Groups {
		if err := add(groupObject(l, op, &x)); err != nil {
			return err
		}
	}
	for _, x := range objs.GroupMembers {
		if err := add(groupMemberObject(l, op, &x)); err != nil {
			return err
		}
	}
	for _, i := range l.resources {
		x := objs.Resources[i]
		if err := add(resourceObject(l, op, &x)); err != nil {
			return err
		}
	}
	for _, x := range objs.Roles {
		if err := add(roleObject(l, op, &x)); err != nil {
			return err
		}
	}
	for i := range objs.Bindings {
		o, err := bindingObject(l, op, &objs.Bindings[i])
		if err := add(o, err); err != nil {
			return err
		}
		if objs.Bindings[i].ID == "" {
			l.bindingIDs[i] = o.key
		}
	}
	for i, x := range objs.Offers {
		if x.ID == "" {
			x.ID = newID()
			l.offerIDs[i] = x.ID
		}
		if err := add(offerObject(l, op, &x)); err != nil {
			return err
		}
	}
	return nil
}
