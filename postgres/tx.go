package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rolecall/rolecall"
)

// tx is one attempt at an Update's transaction.
type tx struct {
	ctx context.Context
	tx  pgx.Tx
	rev rolecall.Revision
	at  time.Time // of every change in the transaction
	seq int       // of the next change
	// err is the first failure inside the database. It aborts the
	// transaction, so every later call returns it, and so does Update
	// (which retries when it is a serialization failure).
	err  error
	done bool // Update has returned: the transaction is over
	// keys says that the transaction wrote API keys, which log no change:
	// it commits even when seq is 0, but at the head it started from.
	keys bool
}

var _ rolecall.Tx = (*tx)(nil)

func (t *tx) Revision() rolecall.Revision { return t.rev }

// tables names each kind's table.
var tables = map[rolecall.ObjectKind]string{
	rolecall.ObjScope:       "scopes",
	rolecall.ObjUser:        "users",
	rolecall.ObjMembership:  "memberships",
	rolecall.ObjGroup:       "groups",
	rolecall.ObjGroupMember: "group_members",
	rolecall.ObjResource:    "resources",
	rolecall.ObjRole:        "roles",
	rolecall.ObjBinding:     "bindings",
	rolecall.ObjOffer:       "offers",
	rolecall.ObjInvitation:  "invitations",
	rolecall.ObjDomain:      "domains",
	rolecall.ObjAudit:       "audit",
}

// A reference is a column of one kind's table holding the key of an object
// of another kind, or an array of keys. References are checked on create
// and replace, and an object that is referred to cannot be deleted.
type reference struct {
	from   rolecall.ObjectKind
	column string
	to     rolecall.ObjectKind
	array  bool
}

var references = []reference{
	{rolecall.ObjScope, "parent", rolecall.ObjScope, false},
	{rolecall.ObjMembership, "scope", rolecall.ObjScope, false},
	{rolecall.ObjGroup, "scope", rolecall.ObjScope, false},
	{rolecall.ObjResource, "scope", rolecall.ObjScope, false},
	{rolecall.ObjRole, "org", rolecall.ObjScope, false},
	{rolecall.ObjRole, "scope", rolecall.ObjScope, false},
	{rolecall.ObjBinding, "scope", rolecall.ObjScope, false},
	{rolecall.ObjInvitation, "scope", rolecall.ObjScope, false},
	{rolecall.ObjDomain, "org", rolecall.ObjScope, false},

	{rolecall.ObjMembership, "user_id", rolecall.ObjUser, false},
	{rolecall.ObjGroupMember, "user_id", rolecall.ObjUser, false},
	{rolecall.ObjBinding, "subject_user", rolecall.ObjUser, false},
	{rolecall.ObjOffer, "recipient", rolecall.ObjUser, false},

	{rolecall.ObjGroupMember, "group_id", rolecall.ObjGroup, false},
	{rolecall.ObjBinding, "subject_group", rolecall.ObjGroup, false},
	{rolecall.ObjResource, "groups", rolecall.ObjGroup, true},

	{rolecall.ObjResource, "parent", rolecall.ObjResource, false},
	{rolecall.ObjBinding, "resource", rolecall.ObjResource, false},
	{rolecall.ObjOffer, "resource", rolecall.ObjResource, false},
	{rolecall.ObjResource, "inputs", rolecall.ObjResource, true},
}

// referrers holds, for each kind that others refer to, the query that
// finds one object referring to the object with key $1: its kind and key.
var referrers = map[rolecall.ObjectKind]string{}

func init() {
	parts := map[rolecall.ObjectKind][]string{}
	for _, r := range references {
		cond := r.column + ` = $1`
		if r.array {
			cond = r.column + ` @> ARRAY[$1::text]` // the GIN index answers @>, not = ANY
		}
		// key <> $1: an object referring to itself does not hold itself up.
		parts[r.to] = append(parts[r.to], `(SELECT '`+string(r.from)+`' AS kind, key FROM `+tables[r.from]+
			` WHERE `+cond+` AND key <> $1 LIMIT 1)`)
	}
	for kind, p := range parts {
		referrers[kind] = `SELECT kind, key FROM (` + strings.Join(p, "\nUNION ALL ") + `) AS r LIMIT 1`
	}
}

// name formats an object for messages: scope "acme".
func name(kind rolecall.ObjectKind, key string) string {
	return string(kind) + " " + strconv.Quote(key)
}

// object is one object about to be written: its kind, key, organization,
// the values of its table's own columns, and the object itself.
type object struct {
	kind rolecall.ObjectKind
	key  string
	org  string
	cols []string // column names beyond key, org and obj
	vals []any    // their values; nil for NULL
	obj  any
}

// usable returns the error a call must return before doing anything: the
// transaction's failure, or that it is over.
func (t *tx) usable(op string) error {
	if t.done {
		return rolecall.E(op, rolecall.FailedPrecondition, "transaction at revision "+strconv.FormatUint(uint64(t.rev), 10),
			"is over: its Update has returned; use a Tx only inside the function given to Update")
	}
	return t.err
}

// fail records a database failure and returns it as a rolecall.Error.
func (t *tx) fail(op, name string, err error) error {
	if t.err == nil {
		t.err = dbErr(op, name, err)
	}
	return t.err
}

// orgOf returns the organization of an existing object, and whether it
// exists.
func (t *tx) orgOf(op string, kind rolecall.ObjectKind, key string) (string, bool, error) {
	if err := t.usable(op); err != nil {
		return "", false, err
	}
	var org string
	err := t.tx.QueryRow(t.ctx, `SELECT org FROM `+tables[kind]+` WHERE key = $1`, key).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, t.fail(op, name(kind, key), err)
	}
	return org, true, nil
}

// A resolver says whether the objects that an object refers to exist, and
// in which organization. A transaction asks the database; Load asks the
// objects it loads and the rows it read from the database up front. The
// checks of each kind of object (scopeObject and the others) are written
// once against it, so that Update and Load agree on every rule and every
// error.
type resolver interface {
	// orgOf returns the organization of an existing object, and whether it
	// exists.
	orgOf(op string, kind rolecall.ObjectKind, key string) (string, bool, error)
	// missing returns the first of keys that does not exist, or "".
	missing(op string, kind rolecall.ObjectKind, keys []string) (string, error)
}

// need returns the organization of an object that o refers to, or a
// FailedPrecondition error naming both when it does not exist.
func need(rv resolver, op string, o *object, kind rolecall.ObjectKind, key string) (string, error) {
	org, ok, err := rv.orgOf(op, kind, key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", missingRef(op, o, kind, key)
	}
	return org, nil
}

func missingRef(op string, o *object, kind rolecall.ObjectKind, key string) error {
	return rolecall.E(op, rolecall.FailedPrecondition, name(o.kind, o.key),
		fmt.Sprintf("refers to %s, which does not exist; create it first", name(kind, key)))
}

// needOrg is need for an organization: a scope without a parent.
func needOrg(rv resolver, op string, o *object, id string) error {
	org, err := need(rv, op, o, rolecall.ObjScope, id)
	if err != nil {
		return err
	}
	if org != id {
		return rolecall.E(op, rolecall.Invalid, name(o.kind, o.key),
			fmt.Sprintf("names scope %q as its organization, but that scope lies within organization %q", id, org))
	}
	return nil
}

// needAll is need for a list of keys, in one query.
func needAll(rv resolver, op string, o *object, kind rolecall.ObjectKind, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	k, err := rv.missing(op, kind, keys)
	if err != nil {
		return err
	}
	if k != "" {
		return missingRef(op, o, kind, k)
	}
	return nil
}

// missing returns the first of keys that no object of kind has.
func (t *tx) missing(op string, kind rolecall.ObjectKind, keys []string) (string, error) {
	if err := t.usable(op); err != nil {
		return "", err
	}
	rows, err := t.tx.Query(t.ctx, `SELECT key FROM `+tables[kind]+` WHERE key = ANY($1)`, keys)
	if err != nil {
		return "", t.fail(op, name(kind, keys[0]), err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", t.fail(op, name(kind, keys[0]), err)
	}
	for _, k := range keys {
		if !slices.Contains(found, k) {
			return k, nil
		}
	}
	return "", nil
}

// create inserts o, failing with Conflict when an object of its kind has
// its key, and records the change.
func (t *tx) create(op string, o *object) error {
	if err := t.usable(op); err != nil {
		return err
	}
	b, err := json.Marshal(o.obj)
	if err != nil {
		return rolecall.E(op, rolecall.Invalid, name(o.kind, o.key), "cannot be encoded as JSON: "+err.Error())
	}
	cols := append([]string{"key", "org", "obj"}, o.cols...)
	args := append([]any{o.key, o.org, string(b)}, o.vals...)
	marks := make([]string, len(cols))
	for i := range marks {
		marks[i] = "$" + strconv.Itoa(i+1)
	}
	// ON CONFLICT DO NOTHING rather than a failing insert: a failed
	// statement would abort the whole transaction, and fn may well carry
	// on after a Conflict.
	sql := `INSERT INTO ` + tables[o.kind] + ` (` + strings.Join(cols, ", ") + `) VALUES (` +
		strings.Join(marks, ", ") + `) ON CONFLICT (key) DO NOTHING`
	wrote, err := t.logged(op, o.kind, o.key, o.org, b, sql, args)
	if err == nil && !wrote {
		err = rolecall.E(op, rolecall.Conflict, name(o.kind, o.key), "already exists")
	}
	return err
}

// replace overwrites o, failing with NotFound when it does not exist, and
// records the change. The caller has checked that it exists and that its
// organization stays the same.
func (t *tx) replace(op string, o *object) error {
	if err := t.usable(op); err != nil {
		return err
	}
	b, err := json.Marshal(o.obj)
	if err != nil {
		return rolecall.E(op, rolecall.Invalid, name(o.kind, o.key), "cannot be encoded as JSON: "+err.Error())
	}
	sets := []string{"org = $2", "obj = $3"}
	args := append([]any{o.key, o.org, string(b)}, o.vals...)
	for i, c := range o.cols {
		sets = append(sets, c+" = $"+strconv.Itoa(i+4))
	}
	sql := `UPDATE ` + tables[o.kind] + ` SET ` + strings.Join(sets, ", ") + ` WHERE key = $1`
	wrote, err := t.logged(op, o.kind, o.key, o.org, b, sql, args)
	if err == nil && !wrote {
		err = notFound(op, o.kind, o.key)
	}
	return err
}

// existing checks that the object o replaces exists (else NotFound) and
// that o keeps it in its organization (else Invalid): the organization is
// fixed at creation, and everything below the object carries it too.
func (t *tx) existing(op string, o *object) error {
	org, ok, err := t.orgOf(op, o.kind, o.key)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(op, o.kind, o.key)
	}
	if org != o.org {
		return rolecall.E(op, rolecall.Invalid, name(o.kind, o.key),
			fmt.Sprintf("belongs to organization %q and cannot move to %q; delete it and create it there", org, o.org))
	}
	return nil
}

func notFound(op string, kind rolecall.ObjectKind, key string) error {
	return rolecall.E(op, rolecall.NotFound, name(kind, key), "does not exist")
}

// logged runs stmt, which writes one row of a kind's table, and appends
// the change to the log in the same statement, saving a round trip. It
// reports whether stmt wrote the row; if not, nothing is logged. value is
// the object as JSON, nil for a deletion.
func (t *tx) logged(op string, kind rolecall.ObjectKind, key, org string, value []byte, stmt string, args []any) (bool, error) {
	var v any // NULL unless there is a value
	if value != nil {
		v = string(value)
	}
	n := len(args)
	p := func(i int, typ string) string { return "$" + strconv.Itoa(n+i) + "::" + typ }
	sql := `WITH w AS (` + stmt + ` RETURNING 1)
		INSERT INTO changes (revision, seq, org, kind, key, deleted, value, at)
		SELECT ` + strings.Join([]string{p(1, "bigint"), p(2, "integer"), p(3, "text"), p(4, "text"), p(5, "text"),
		p(6, "boolean"), p(7, "text"), p(8, "timestamptz")}, ", ") + ` FROM w`
	args = append(args, int64(t.rev), t.seq, org, string(kind), key, value == nil, v, t.at)
	tag, err := t.tx.Exec(t.ctx, sql, args...)
	if err != nil {
		return false, t.fail(op, name(kind, key), err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	t.seq++
	return true, nil
}

// Delete removes one object, unless another refers to it. A user's
// credential and sessions go with it.
func (t *tx) Delete(kind rolecall.ObjectKind, key string) error {
	const op = "postgres.Delete"
	if err := t.usable(op); err != nil {
		return err
	}
	tbl, ok := tables[kind]
	if !ok {
		return rolecall.E(op, rolecall.Invalid, string(kind), "not a kind of stored object")
	}
	if kind == rolecall.ObjAudit {
		return rolecall.E(op, rolecall.Invalid, name(kind, key), "the audit log is append-only; its events cannot be deleted")
	}
	if kind == rolecall.ObjDomain {
		key = strings.ToLower(key)
	}
	if key == "" {
		return rolecall.E(op, rolecall.Invalid, string(kind), "no key given")
	}
	org, ok, err := t.orgOf(op, kind, key)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(op, kind, key)
	}
	if q, ok := referrers[kind]; ok {
		var byKind, byKey string
		err := t.tx.QueryRow(t.ctx, q, key).Scan(&byKind, &byKey)
		switch {
		case err == nil:
			return rolecall.E(op, rolecall.FailedPrecondition, name(kind, key),
				fmt.Sprintf("%s refers to it; delete that first", name(rolecall.ObjectKind(byKind), byKey)))
		case !errors.Is(err, pgx.ErrNoRows):
			return t.fail(op, name(kind, key), err)
		}
	}
	_, err = t.logged(op, kind, key, org, nil, `DELETE FROM `+tbl+` WHERE key = $1`, []any{key})
	if err == nil && kind == rolecall.ObjUser {
		err = t.forgetUsers(op, []string{key})
	}
	return err
}

// required fails with Invalid when a field the store needs is empty.
func required(op string, kind rolecall.ObjectKind, key string, fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1] == "" {
			n := string(kind)
			if key != "" {
				n = name(kind, key)
			}
			return rolecall.E(op, rolecall.Invalid, n, "has no "+fields[i])
		}
	}
	return nil
}

// nullable turns an empty string into NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// newID returns an id for an object created without one: a UUIDv7, which
// sorts by time and so keeps the tables' key indexes compact.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// scope

func scopeObject(rv resolver, op string, s *rolecall.Scope) (*object, error) {
	if err := required(op, rolecall.ObjScope, s.ID, "id", s.ID); err != nil {
		return nil, err
	}
	o := &object{kind: rolecall.ObjScope, key: s.Key(), org: s.ID,
		cols: []string{"parent"}, vals: []any{nullable(s.Parent)}, obj: s}
	if s.Parent == s.ID {
		return nil, rolecall.E(op, rolecall.Invalid, name(o.kind, o.key), "cannot be its own parent")
	}
	if s.Parent != "" {
		org, err := need(rv, op, o, rolecall.ObjScope, s.Parent)
		if err != nil {
			return nil, err
		}
		o.org = org
	}
	return o, nil
}

func (t *tx) CreateScope(s rolecall.Scope) error {
	const op = "postgres.CreateScope"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := scopeObject(t, op, &s)
	if err != nil {
		return err
	}
	return t.create(op, o)
}

func (t *tx) ReplaceScope(s rolecall.Scope) error {
	const op = "postgres.ReplaceScope"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := scopeObject(t, op, &s)
	if err != nil {
		return err
	}
	if err := t.existing(op, o); err != nil {
		return err
	}
	if s.Parent != "" {
		if err := t.noCycle(op, o, s.Parent); err != nil {
			return err
		}
	}
	return t.replace(op, o)
}

// noCycle fails when parent is o itself or lies below it, which would
// make o its own ancestor. Scopes and resources both keep their parent's
// key in a parent column.
func (t *tx) noCycle(op string, o *object, parent string) error {
	if err := t.usable(op); err != nil {
		return err
	}
	tbl := tables[o.kind]
	var cycle bool
	err := t.tx.QueryRow(t.ctx, `WITH RECURSIVE up (key, parent, depth) AS (
			SELECT key, parent, 1 FROM `+tbl+` WHERE key = $1
			UNION ALL
			SELECT t.key, t.parent, up.depth + 1 FROM `+tbl+` t JOIN up ON t.key = up.parent WHERE up.depth < 10000
		)
		SELECT EXISTS (SELECT 1 FROM up WHERE key = $2)`, parent, o.key).Scan(&cycle)
	if err != nil {
		return t.fail(op, name(o.kind, o.key), err)
	}
	if cycle {
		return rolecall.E(op, rolecall.Invalid, name(o.kind, o.key),
			fmt.Sprintf("cannot have %s as its parent: that lies below it", name(o.kind, parent)))
	}
	return nil
}

// user

func userObject(op string, u *rolecall.User) (*object, error) {
	if err := required(op, rolecall.ObjUser, u.ID, "id", u.ID); err != nil {
		return nil, err
	}
	return &object{kind: rolecall.ObjUser, key: u.Key(), obj: u}, nil
}

func (t *tx) CreateUser(u rolecall.User) error {
	const op = "postgres.CreateUser"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := userObject(op, &u)
	if err != nil {
		return err
	}
	return t.create(op, o)
}

func (t *tx) ReplaceUser(u rolecall.User) error {
	const op = "postgres.ReplaceUser"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := userObject(op, &u)
	if err != nil {
		return err
	}
	return t.replace(op, o)
}

// membership

func membershipObject(rv resolver, op string, m *rolecall.Membership) (*object, error) {
	if err := required(op, rolecall.ObjMembership, m.Key(), "user", m.User, "scope", m.Scope); err != nil {
		return nil, err
	}
	o := &object{kind: rolecall.ObjMembership, key: m.Key(),
		cols: []string{"user_id", "scope"}, vals: []any{m.User, m.Scope}, obj: m}
	if _, err := need(rv, op, o, rolecall.ObjUser, m.User); err != nil {
		return nil, err
	}
	org, err := need(rv, op, o, rolecall.ObjScope, m.Scope)
	o.org = org
	return o, err
}

func (t *tx) CreateMembership(m rolecall.Membership) error {
	const op = "postgres.CreateMembership"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := membershipObject(t, op, &m)
	if err != nil {
		return err
	}
	return t.create(op, o)
}

func (t *tx) ReplaceMembership(m rolecall.Membership) error {
	const op = "postgres.ReplaceMembership"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := membershipObject(t, op, &m)
	if err != nil {
		return err
	}
	return t.replace(op, o)
}

// group

func groupObject(rv resolver, op string, g *rolecall.Group) (*object, error) {
	if err := required(op, rolecall.ObjGroup, g.ID, "id", g.ID, "scope", g.Scope); err != nil {
		return nil, err
	}
	o := &object{kind: rolecall.ObjGroup, key: g.Key(), cols: []string{"scope"}, vals: []any{g.Scope}, obj: g}
	org, err := need(rv, op, o, rolecall.ObjScope, g.Scope)
	o.org = org
	return o, err
}

func (t *tx) CreateGroup(g rolecall.Group) error {
	const op = "postgres.CreateGroup"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := groupObject(t, op, &g)
	if err != nil {
		return err
	}
	return t.create(op, o)
}

func (t *tx) ReplaceGroup(g rolecall.Group) error {
	const op = "postgres.ReplaceGroup"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := groupObject(t, op, &g)
	if err != nil {
		return err
	}
	if err := t.existing(op, o); err != nil {
		return err
	}
	return t.replace(op, o)
}

func (t *tx) CreateGroupMember(m rolecall.GroupMember) error {
	const op = "postgres.CreateGroupMember"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := groupMemberObject(t, op, &m)
	if err != nil {
		return err
	}
	return t.create(op, o)
}

func groupMemberObject(rv resolver, op string, m *rolecall.GroupMember) (*object, error) {
	if err := required(op, rolecall.ObjGroupMember, m.Key(), "group", m.Group, "user", m.User); err != nil {
		return nil, err
	}
	o := &object{kind: rolecall.ObjGroupMember, key: m.Key(),
		cols: []string{"group_id", "user_id"}, vals: []any{m.Group, m.User}, obj: m}
	org, err := need(rv, op, o, rolecall.ObjGroup, m.Group)
	if err != nil {
		return nil, err
	}
	if _, err := need(rv, op, o, rolecall.ObjUser, m.User); err != nil {
		return nil, err
	}
	o.org = org
	return o, nil
}

// resource

func resourceObject(rv resolver, op string, r *rolecall.Resource) (*object, error) {
	if err := required(op, rolecall.ObjResource, r.Key(), "type", r.Type, "id", r.ID); err != nil {
		return nil, err
	}
	invalid := func(msg string) (*object, error) {
		return nil, rolecall.E(op, rolecall.Invalid, name(rolecall.ObjResource, r.Key()), msg)
	}
	if strings.Contains(r.Type, ":") {
		return invalid(`has a type with a colon; a resource's key is "type:id", so types cannot contain one`)
	}
	var parent string
	if r.Parent != nil {
		if r.Parent.Type == "" || r.Parent.ID == "" {
			return invalid("has a parent without a type or an id")
		}
		parent = r.Parent.String()
	}
	switch {
	case r.Scope == "" && parent == "":
		return invalid("has neither a scope nor a parent resource; give it one")
	case parent == r.Key():
		return invalid("cannot be its own parent")
	case slices.Contains(r.Groups, ""):
		return invalid("has an empty group id")
	}
	groups := slices.Compact(slices.Sorted(slices.Values(r.Groups)))
	if groups == nil {
		groups = []string{}
	}
	inputs := []string{}
	for _, rel := range slices.Sorted(maps.Keys(r.Inputs)) { // sorted: the same error every time
		for _, in := range r.Inputs[rel] {
			if in.Type == "" || in.ID == "" {
				return invalid(fmt.Sprintf("has an input (%s) without a type or an id", rel))
			}
			inputs = append(inputs, in.String())
		}
	}
	slices.Sort(inputs)
	inputs = slices.Compact(inputs)
	o := &object{kind: rolecall.ObjResource, key: r.Key(),
		cols: []string{"scope", "parent", "groups", "inputs"},
		vals: []any{nullable(r.Scope), nullable(parent), groups, inputs}, obj: r}
	if r.Scope != "" {
		org, err := need(rv, op, o, rolecall.ObjScope, r.Scope)
		if err != nil {
			return nil, err
		}
		o.org = org
	}
	if parent != "" {
		org, err := need(rv, op, o, rolecall.ObjResource, parent)
		if err != nil {
			return nil, err
		}
		if o.org != "" && org != o.org {
			return invalid(fmt.Sprintf("has scope %q in organization %q but parent %s in organization %q; both must be in one",
				r.Scope, o.org, parent, org))
		}
		o.org = org
	}
	if err := needAll(rv, op, o, rolecall.ObjGroup, groups); err != nil {
		return nil, err
	}
	if err := needAll(rv, op, o, rolecall.ObjResource, inputs); err != nil {
		return nil, err
	}
	return o, nil
}

func (t *tx) CreateResource(r rolecall.Resource) error {
	const op = "postgres.CreateResource"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := resourceObject(t, op, &r)
	if err != nil {
		return err
	}
	return t.create(op, o)
}

func (t *tx) ReplaceResource(r rolecall.Resource) error {
	const op = "postgres.ReplaceResource"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := resourceObject(t, op, &r)
	if err != nil {
		return err
	}
	if err := t.existing(op, o); err != nil {
		return err
	}
	if r.Parent != nil {
		if err := t.noCycle(op, o, r.Parent.String()); err != nil {
			return err
		}
	}
	return t.replace(op, o)
}

// role

func roleObject(rv resolver, op string, r *rolecall.Role) (*object, error) {
	if err := required(op, rolecall.ObjRole, r.Key(), "id", r.ID, "org", r.Org); err != nil {
		return nil, err
	}
	o := &object{kind: rolecall.ObjRole, key: r.Key(), org: r.Org,
		cols: []string{"scope"}, vals: []any{nullable(r.Scope)}, obj: r}
	if err := needOrg(rv, op, o, r.Org); err != nil {
		return nil, err
	}
	if r.Scope != "" && r.Scope != r.Org {
		org, err := need(rv, op, o, rolecall.ObjScope, r.Scope)
		if err != nil {
			return nil, err
		}
		if org != r.Org {
			return nil, rolecall.E(op, rolecall.Invalid, name(o.kind, o.key),
				fmt.Sprintf("is owned by scope %q of organization %q, not of its organization %q", r.Scope, org, r.Org))
		}
	}
	return o, nil
}

func (t *tx) CreateRole(r rolecall.Role) error {
	const op = "postgres.CreateRole"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := roleObject(t, op, &r)
	if err != nil {
		return err
	}
	return t.create(op, o)
}

func (t *tx) ReplaceRole(r rolecall.Role) error {
	const op = "postgres.ReplaceRole"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := roleObject(t, op, &r)
	if err != nil {
		return err
	}
	return t.replace(op, o)
}

// binding

func (t *tx) CreateBinding(b *rolecall.Binding) error {
	const op = "postgres.CreateBinding"
	if err := t.usable(op); err != nil {
		return err
	}
	if b == nil {
		return rolecall.E(op, rolecall.Invalid, string(rolecall.ObjBinding), "no binding given")
	}
	o, err := bindingObject(t, op, b)
	if err != nil {
		return err
	}
	if err := t.create(op, o); err != nil {
		return err
	}
	b.ID = o.key
	return nil
}

// bindingObject checks b and returns the object to write: a copy of b,
// with an ID when b has none.
func bindingObject(rv resolver, op string, b *rolecall.Binding) (*object, error) {
	if err := required(op, rolecall.ObjBinding, b.ID, "subject", b.Subject.ID); err != nil {
		return nil, err
	}
	var resource string
	if b.Resource != nil {
		if b.Resource.Type == "" || b.Resource.ID == "" {
			return nil, required(op, rolecall.ObjBinding, b.ID, "resource type and id", "")
		}
		resource = b.Resource.String()
	}
	if b.Scope == "" && resource == "" {
		return nil, required(op, rolecall.ObjBinding, b.ID, "scope or resource", "")
	}
	nb := *b
	if nb.ID == "" {
		nb.ID = newID()
	}
	var subUser, subGroup string
	switch b.Subject.Kind {
	case rolecall.SubjectUser:
		subUser = b.Subject.ID
	case rolecall.SubjectGroup:
		subGroup = b.Subject.ID
	default:
		return nil, rolecall.E(op, rolecall.Invalid, name(rolecall.ObjBinding, nb.ID), "has a subject that is neither a user nor a group")
	}
	o := &object{kind: rolecall.ObjBinding, key: nb.Key(),
		cols: []string{"subject_user", "subject_group", "scope", "resource"},
		vals: []any{nullable(subUser), nullable(subGroup), nullable(b.Scope), nullable(resource)}, obj: &nb}
	if subUser != "" {
		if _, err := need(rv, op, o, rolecall.ObjUser, subUser); err != nil {
			return nil, err
		}
	} else if _, err := need(rv, op, o, rolecall.ObjGroup, subGroup); err != nil {
		return nil, err
	}
	if b.Scope != "" {
		org, err := need(rv, op, o, rolecall.ObjScope, b.Scope)
		if err != nil {
			return nil, err
		}
		o.org = org
	}
	if resource != "" {
		org, err := need(rv, op, o, rolecall.ObjResource, resource)
		if err != nil {
			return nil, err
		}
		if o.org != "" && org != o.org {
			return nil, rolecall.E(op, rolecall.Invalid, name(o.kind, o.key), fmt.Sprintf(
				"is at scope %q in organization %q but on %s in organization %q; both must be in one", b.Scope, o.org, resource, org))
		}
		o.org = org
	}
	return o, nil
}

// offer

func offerObject(rv resolver, op string, of *rolecall.Offer) (*object, error) {
	if err := required(op, rolecall.ObjOffer, of.ID, "resource type", of.Resource.Type,
		"resource id", of.Resource.ID, "recipient", of.Recipient); err != nil {
		return nil, err
	}
	res := of.Resource.String()
	o := &object{kind: rolecall.ObjOffer, key: of.Key(),
		cols: []string{"resource", "recipient"}, vals: []any{res, of.Recipient}, obj: of}
	org, err := need(rv, op, o, rolecall.ObjResource, res)
	if err != nil {
		return nil, err
	}
	if _, err := need(rv, op, o, rolecall.ObjUser, of.Recipient); err != nil {
		return nil, err
	}
	o.org = org
	return o, nil
}

func (t *tx) CreateOffer(of *rolecall.Offer) error {
	const op = "postgres.CreateOffer"
	if err := t.usable(op); err != nil {
		return err
	}
	if of == nil {
		return rolecall.E(op, rolecall.Invalid, string(rolecall.ObjOffer), "no offer given")
	}
	n := *of
	if n.ID == "" {
		n.ID = newID()
	}
	o, err := offerObject(t, op, &n)
	if err != nil {
		return err
	}
	if err := t.create(op, o); err != nil {
		return err
	}
	of.ID = n.ID
	return nil
}

func (t *tx) ReplaceOffer(of rolecall.Offer) error {
	const op = "postgres.ReplaceOffer"
	if err := t.usable(op); err != nil {
		return err
	}
	if err := required(op, rolecall.ObjOffer, "", "id", of.ID); err != nil {
		return err
	}
	o, err := offerObject(t, op, &of)
	if err != nil {
		return err
	}
	if err := t.existing(op, o); err != nil {
		return err
	}
	return t.replace(op, o)
}

// invitation

// invitation checks an invitation and fills in its Org from its scope when
// empty.
func (t *tx) invitation(op string, inv *rolecall.Invitation) (*object, error) {
	if err := required(op, rolecall.ObjInvitation, inv.ID, "id", inv.ID, "scope", inv.Scope, "email", inv.Email); err != nil {
		return nil, err
	}
	o := &object{kind: rolecall.ObjInvitation, key: inv.Key(),
		cols: []string{"scope"}, vals: []any{inv.Scope}, obj: inv}
	org, err := need(t, op, o, rolecall.ObjScope, inv.Scope)
	if err != nil {
		return nil, err
	}
	if inv.Org == "" {
		inv.Org = org
	}
	if inv.Org != org {
		return nil, rolecall.E(op, rolecall.Invalid, name(o.kind, o.key),
			fmt.Sprintf("invites into scope %q of organization %q, not of its organization %q", inv.Scope, org, inv.Org))
	}
	o.org = org
	return o, nil
}

func (t *tx) CreateInvitation(inv *rolecall.Invitation) error {
	const op = "postgres.CreateInvitation"
	if err := t.usable(op); err != nil {
		return err
	}
	if inv == nil {
		return rolecall.E(op, rolecall.Invalid, string(rolecall.ObjInvitation), "no invitation given")
	}
	n := *inv
	if n.ID == "" {
		n.ID = newID()
	}
	o, err := t.invitation(op, &n)
	if err != nil {
		return err
	}
	if err := t.create(op, o); err != nil {
		return err
	}
	*inv = n
	return nil
}

func (t *tx) ReplaceInvitation(inv rolecall.Invitation) error {
	const op = "postgres.ReplaceInvitation"
	if err := t.usable(op); err != nil {
		return err
	}
	o, err := t.invitation(op, &inv)
	if err != nil {
		return err
	}
	if err := t.existing(op, o); err != nil {
		return err
	}
	return t.replace(op, o)
}

// domain

func (t *tx) CreateDomain(d rolecall.Domain) error {
	const op = "postgres.CreateDomain"
	if err := t.usable(op); err != nil {
		return err
	}
	d.Domain = strings.ToLower(d.Domain)
	if err := required(op, rolecall.ObjDomain, d.Domain, "domain", d.Domain, "org", d.Org); err != nil {
		return err
	}
	o := &object{kind: rolecall.ObjDomain, key: d.Key(), org: d.Org, obj: &d}
	if err := needOrg(t, op, o, d.Org); err != nil {
		return err
	}
	return t.create(op, o)
}

// audit

func (t *tx) AppendAudit(e *rolecall.AuditEvent) error {
	const op = "postgres.AppendAudit"
	if err := t.usable(op); err != nil {
		return err
	}
	if e == nil {
		return rolecall.E(op, rolecall.Invalid, string(rolecall.ObjAudit), "no audit event given")
	}
	n := *e
	if n.ID == "" {
		n.ID = newID()
	}
	n.Revision = t.rev
	if n.At.IsZero() {
		n.At = t.at
	}
	if err := required(op, rolecall.ObjAudit, n.ID, "org", n.Org); err != nil {
		return err
	}
	// The columns Audit selects by copy the event's fields. at holds its
	// time rounded to the microsecond, as PostgreSQL rounds the times it
	// reads from the JSON (pgx would truncate).
	o := &object{kind: rolecall.ObjAudit, key: n.Key(), org: n.Org,
		cols: []string{"revision", "seq", "actor", "act", "target", "at"},
		vals: []any{int64(t.rev), t.seq, n.Actor, n.Act, n.Target, n.At.Round(time.Microsecond)}, obj: &n}
	if err := t.create(op, o); err != nil {
		return err
	}
	*e = n
	return nil
}
