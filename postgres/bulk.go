package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rolecall/rolecall"
)

// This file holds the writes that touch many objects at once: DeleteWhere,
// MoveScope and MoveResource. Each finds the objects concerned with SQL,
// checks everything before it writes anything (so a refused call changes
// nothing and leaves the transaction usable), and then writes each kind's
// rows and their changes in one statement.

// args collects the arguments of a statement being built, handing out
// their placeholders, so that a statement has exactly the parameters it
// uses.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// scopeTree returns a WITH RECURSIVE clause defining sub, the scope whose
// key is the parameter p and the scopes below it, and res, the resources
// living in those scopes and the resources below them. Like noCycle, it
// stops at a depth no real tree reaches.
func scopeTree(p string) string {
	return `WITH RECURSIVE sub (key, depth) AS (
			SELECT key, 1 FROM scopes WHERE key = ` + p + `
			UNION ALL
			SELECT s.key, sub.depth + 1 FROM scopes s JOIN sub ON s.parent = sub.key WHERE sub.depth < 10000
		), res (key, depth) AS (
			SELECT key, 1 FROM resources WHERE scope IN (SELECT key FROM sub)
			UNION ALL
			SELECT r.key, res.depth + 1 FROM resources r JOIN res ON r.parent = res.key WHERE res.depth < 10000
		)
		`
}

// resourceTree returns a WITH RECURSIVE clause defining res, the resource
// whose key is the parameter p and the resources below it.
func resourceTree(p string) string {
	return `WITH RECURSIVE res (key, depth) AS (
			SELECT key, 1 FROM resources WHERE key = ` + p + `
			UNION ALL
			SELECT r.key, res.depth + 1 FROM resources r JOIN res ON r.parent = res.key WHERE res.depth < 10000
		)
		`
}

// inScope holds, for each kind a Filter's Scope selects, the condition on
// its table's rows that puts an object in the scopes of sub or on the
// resources of res (see scopeTree). A role without a scope is owned by its
// organization.
var inScope = map[rolecall.ObjectKind]string{
	rolecall.ObjScope:      `key IN (SELECT key FROM sub)`,
	rolecall.ObjMembership: `scope IN (SELECT key FROM sub)`,
	rolecall.ObjGroup:      `scope IN (SELECT key FROM sub)`,
	rolecall.ObjRole:       `COALESCE(scope, org) IN (SELECT key FROM sub)`,
	rolecall.ObjResource:   `key IN (SELECT key FROM res)`,
	rolecall.ObjBinding:    `(scope IN (SELECT key FROM sub) OR resource IN (SELECT key FROM res))`,
	rolecall.ObjOffer:      `resource IN (SELECT key FROM res)`,
	rolecall.ObjInvitation: `scope IN (SELECT key FROM sub)`,
}

// filterColumns holds, for each kind DeleteWhere deletes, the column that
// each Filter field but Scope matches; a field missing here is one the
// kind lacks. Type matches the type part of a resource key ("type:id";
// types have no colon). The kinds a Scope selects are those of inScope.
var filterColumns = map[rolecall.ObjectKind]map[string]string{
	rolecall.ObjScope:       {"org": "org"},
	rolecall.ObjUser:        {},
	rolecall.ObjMembership:  {"org": "org", "user": "user_id"},
	rolecall.ObjGroup:       {"org": "org"},
	rolecall.ObjGroupMember: {"org": "org", "user": "user_id", "group": "group_id"},
	rolecall.ObjResource:    {"org": "org", "type": "key"},
	rolecall.ObjRole:        {"org": "org"},
	rolecall.ObjBinding:     {"org": "org", "type": "resource", "user": "subject_user", "group": "subject_group"},
	rolecall.ObjOffer:       {"org": "org", "type": "resource", "user": "recipient"},
	rolecall.ObjInvitation:  {"org": "org"},
	rolecall.ObjDomain:      {"org": "org"},
}

// filterName formats a filter for messages: filter "binding org=acme user=bob".
func filterName(f rolecall.Filter) string {
	parts := []string{string(f.Kind)}
	for _, fv := range filterValues(f) {
		if fv[1] != "" {
			parts = append(parts, fv[0]+"="+fv[1])
		}
	}
	return "filter " + strconv.Quote(strings.Join(parts, " "))
}

// filterValues returns the fields of a filter beyond its kind, as name and
// value, in a fixed order.
func filterValues(f rolecall.Filter) [][2]string {
	return [][2]string{{"org", f.Org}, {"scope", f.Scope}, {"type", f.Type}, {"user", f.User}, {"group", f.Group}}
}

// DeleteWhere deletes every object the filter selects, unless an object
// it does not select refers to one it does. Objects that refer to others
// of the selection go first, each logged as by Delete.
func (t *tx) DeleteWhere(f rolecall.Filter) (int, error) {
	const op = "postgres.DeleteWhere"
	if err := t.usable(op); err != nil {
		return 0, err
	}
	if err := f.Check(op); err != nil {
		return 0, err
	}
	keys, err := t.selectWhere(op, f)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	if err := t.unreferenced(op, f.Kind, keys); err != nil {
		return 0, err
	}
	slices.Reverse(keys) // referrers first
	return t.deleteKeys(op, f.Kind, keys)
}

// selection returns the parts of a query over a checked filter's kind's
// table that select the objects the filter selects: a WITH clause the
// conditions need (or ""), the conditions, joined for a WHERE clause, and
// their arguments.
func selection(f rolecall.Filter) (with, where string, a args) {
	var conds []string
	cols := filterColumns[f.Kind]
	if f.Org != "" {
		conds = append(conds, cols["org"]+` = `+a.add(f.Org))
	}
	if f.Scope != "" {
		with = scopeTree(a.add(f.Scope))
		conds = append(conds, inScope[f.Kind])
	}
	if f.Type != "" {
		conds = append(conds, `split_part(`+cols["type"]+`, ':', 1) = `+a.add(f.Type))
	}
	if f.User != "" {
		conds = append(conds, cols["user"]+` = `+a.add(f.User))
	}
	if f.Group != "" {
		conds = append(conds, cols["group"]+` = `+a.add(f.Group))
	}
	return with, strings.Join(conds, ` AND `), a
}

// selectWhere returns the keys of the objects a checked filter selects,
// in the order of their creation: a scope or a resource after its parent,
// a resource after its inputs (unless inputs form a cycle).
func (t *tx) selectWhere(op string, f rolecall.Filter) ([]string, error) {
	with, where, a := selection(f)
	// The references among objects of the kind, which order the deletion.
	refs := `NULL::text, NULL::text[]`
	switch f.Kind {
	case rolecall.ObjScope:
		refs = `parent, NULL::text[]`
	case rolecall.ObjResource:
		refs = `parent, inputs`
	}
	rows, err := t.tx.Query(t.ctx, with+`SELECT key, `+refs+` FROM `+tables[f.Kind]+
		` WHERE `+where+` ORDER BY key`, a...)
	if err != nil {
		return nil, t.fail(op, filterName(f), err)
	}
	type selected struct {
		key    string
		parent *string
		inputs []string
	}
	sel, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (selected, error) {
		var s selected
		err := row.Scan(&s.key, &s.parent, &s.inputs)
		return s, err
	})
	if err != nil {
		return nil, t.fail(op, filterName(f), err)
	}
	index := make(map[string]int, len(sel))
	for i, s := range sel {
		index[s.key] = i
	}
	parent := func(i int) string {
		if p := sel[i].parent; p != nil {
			return *p
		}
		return ""
	}
	var inputs func(int) []string
	if f.Kind == rolecall.ObjResource {
		inputs = func(i int) []string { return sel[i].inputs }
	}
	keys := make([]string, 0, len(sel))
	for _, i := range dependencyOrder(len(sel), index, parent, inputs) {
		keys = append(keys, sel[i].key)
	}
	return keys, nil
}

// outsideReferrers holds, for each kind that others refer to, the query
// that finds one object referring to one of the objects whose keys are in
// the array $1 without being one of them itself: the key it refers to,
// its kind and its key. It prefers the object referred to that comes
// first in $1, so that a selection in creation order reports the one
// nearest the top of its tree.
var outsideReferrers = map[rolecall.ObjectKind]string{}

func init() {
	parts := map[rolecall.ObjectKind][]string{}
	for _, r := range references {
		tbl := tables[r.from]
		var q string
		if r.array {
			q = `SELECT x.target, '` + string(r.from) + `'::text AS kind, f.key FROM ` + tbl + ` f, unnest(f.` + r.column +
				`) AS x (target) WHERE f.` + r.column + ` && $1::text[]` // && is answered by the GIN index
		} else {
			q = `SELECT f.` + r.column + ` AS target, '` + string(r.from) + `'::text AS kind, f.key FROM ` + tbl +
				` f WHERE f.` + r.column + ` IN (SELECT key FROM sel)`
		}
		if r.from == r.to {
			q += ` AND f.key NOT IN (SELECT key FROM sel)`
		}
		parts[r.to] = append(parts[r.to], q)
	}
	for kind, p := range parts {
		outsideReferrers[kind] = `WITH sel (key, n) AS (SELECT key, n FROM unnest($1::text[]) WITH ORDINALITY AS u (key, n))
			SELECT sel.key, r.kind, r.key FROM (` + strings.Join(p, "\nUNION ALL ") + `) AS r
			JOIN sel ON sel.key = r.target
			ORDER BY sel.n, r.kind, r.key LIMIT 1`
	}
}

// unreferenced fails with FailedPrecondition, naming both, when an object
// outside keys refers to one of keys.
func (t *tx) unreferenced(op string, kind rolecall.ObjectKind, keys []string) error {
	q, ok := outsideReferrers[kind]
	if !ok {
		return nil
	}
	var key, byKind, byKey string
	err := t.tx.QueryRow(t.ctx, q, keys).Scan(&key, &byKind, &byKey)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return t.fail(op, name(kind, keys[0]), err)
	}
	return rolecall.E(op, rolecall.FailedPrecondition, name(kind, key),
		fmt.Sprintf("is still used by %s, which the filter does not select; delete that first, or select it too",
			name(rolecall.ObjectKind(byKind), byKey)))
}

// deleteKeys deletes the objects of one kind with the given keys in one
// statement, logging one deletion each, in the order of keys; and the
// credentials and sessions of users it deletes.
func (t *tx) deleteKeys(op string, kind rolecall.ObjectKind, keys []string) (int, error) {
	sql := `WITH sel (key, n) AS (SELECT key, n FROM unnest($1::text[]) WITH ORDINALITY AS u (key, n)),
		d AS (DELETE FROM ` + tables[kind] + ` WHERE key IN (SELECT key FROM sel) RETURNING key, org)
		INSERT INTO changes (revision, seq, org, kind, key, deleted, value, at)
		SELECT $2::bigint, ($3::bigint + sel.n - 1)::integer, d.org, $4::text, d.key, true, NULL::text, $5::timestamptz
		FROM d JOIN sel ON sel.key = d.key`
	tag, err := t.tx.Exec(t.ctx, sql, keys, int64(t.rev), t.seq, string(kind), t.at)
	if err != nil {
		return 0, t.fail(op, name(kind, keys[0]), err)
	}
	if n := tag.RowsAffected(); n != int64(len(keys)) {
		// Writers hold the head row, so nothing can have deleted them
		// meanwhile; were it so, the log would have a gap in seq.
		return 0, t.fail(op, name(kind, keys[0]), fmt.Errorf("deleted %d of the %d objects selected", n, len(keys)))
	}
	t.seq += len(keys)
	if kind == rolecall.ObjUser {
		if err := t.forgetUsers(op, keys); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// movable lists the kinds of object that MoveScope and MoveResource carry
// to another organization, in the order their changes are logged.
var movable = []rolecall.ObjectKind{
	rolecall.ObjScope, rolecall.ObjMembership, rolecall.ObjGroup, rolecall.ObjGroupMember,
	rolecall.ObjResource, rolecall.ObjRole, rolecall.ObjBinding, rolecall.ObjOffer, rolecall.ObjInvitation,
}

// MoveScope puts a scope under a new parent. Within its organization that
// is ReplaceScope with the new parent; to another one, the scope's subtree
// moves along, unless a reference would cross the new border.
func (t *tx) MoveScope(id, parent string) error {
	const op = "postgres.MoveScope"
	if err := t.usable(op); err != nil {
		return err
	}
	if err := required(op, rolecall.ObjScope, id, "id", id); err != nil {
		return err
	}
	var (
		s   rolecall.Scope
		old string
	)
	found, err := t.load(op, rolecall.ObjScope, id, &old, &s)
	if err != nil {
		return err
	}
	if !found {
		return notFound(op, rolecall.ObjScope, id)
	}
	if s.Parent == "" {
		return rolecall.E(op, rolecall.Invalid, name(rolecall.ObjScope, id), "is an organization; an organization cannot move")
	}
	if parent == "" {
		return rolecall.E(op, rolecall.Invalid, name(rolecall.ObjScope, id),
			"cannot move to no parent: that would make it an organization; give a parent")
	}
	s.Parent = parent
	o, err := scopeObject(t, op, &s)
	if err != nil {
		return err
	}
	if err := t.noCycle(op, o, parent); err != nil {
		return err
	}
	if o.org == old {
		return t.replace(op, o)
	}
	var a args
	with := scopeTree(a.add(id))
	conds := map[rolecall.ObjectKind]string{
		rolecall.ObjGroupMember: `group_id IN (SELECT key FROM groups WHERE scope IN (SELECT key FROM sub))`,
	}
	maps.Copy(conds, inScope)
	return t.moveAcross(op, o, old, []string{"parent"}, with, conds, a)
}

// MoveResource puts a resource in a scope or under a parent resource.
// Within its organization that is ReplaceResource with the new place; to
// another one, the resources below it and the bindings and offers on them
// move along, unless a reference would cross the new border.
func (t *tx) MoveResource(ref rolecall.ResourceRef, scope string, parent *rolecall.ResourceRef) error {
	const op = "postgres.MoveResource"
	if err := t.usable(op); err != nil {
		return err
	}
	key := ref.String()
	if err := required(op, rolecall.ObjResource, key, "type", ref.Type, "id", ref.ID); err != nil {
		return err
	}
	if (scope == "") == (parent == nil) {
		return rolecall.E(op, rolecall.Invalid, name(rolecall.ObjResource, key),
			"needs either a scope or a parent resource to move to, not both and not neither")
	}
	var (
		r   rolecall.Resource
		old string
	)
	found, err := t.load(op, rolecall.ObjResource, key, &old, &r)
	if err != nil {
		return err
	}
	if !found {
		return notFound(op, rolecall.ObjResource, key)
	}
	r.Scope, r.Parent = scope, parent
	o, err := resourceObject(t, op, &r)
	if err != nil {
		return err
	}
	if parent != nil {
		if err := t.noCycle(op, o, parent.String()); err != nil {
			return err
		}
	}
	if o.org == old {
		return t.replace(op, o)
	}
	var a args
	with := resourceTree(a.add(key))
	conds := map[rolecall.ObjectKind]string{
		rolecall.ObjResource: `key IN (SELECT key FROM res)`,
		rolecall.ObjBinding:  `resource IN (SELECT key FROM res)`,
		rolecall.ObjOffer:    `resource IN (SELECT key FROM res)`,
	}
	return t.moveAcross(op, o, old, []string{"scope", "parent"}, with, conds, a)
}

// load reads an existing object's organization and value, and reports
// whether it exists.
func (t *tx) load(op string, kind rolecall.ObjectKind, key string, org *string, v any) (bool, error) {
	var b []byte
	err := t.tx.QueryRow(t.ctx, `SELECT org, obj FROM `+tables[kind]+` WHERE key = $1`, key).Scan(org, &b)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, t.fail(op, name(kind, key), err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, t.fail(op, name(kind, key), err)
	}
	return true, nil
}

// moveAcross moves root, checked and placed (root.org is its new
// organization), out of organization old, and with it the objects that
// conds select: for each kind, a condition on its table's rows, over the
// tables that the WITH clause with defines, whose parameters are in a.
// placement names root's columns that place it, which change with the
// move. It fails, writing nothing, while a reference crosses the new
// border; otherwise every object moved whose organization changes is
// logged as a replacement in the new one, root first.
func (t *tx) moveAcross(op string, root *object, old string, placement []string, with string, conds map[rolecall.ObjectKind]string, a args) error {
	var parts []string
	for _, kind := range movable {
		if c, ok := conds[kind]; ok {
			parts = append(parts, `SELECT '`+string(kind)+`'::text, key FROM `+tables[kind]+` WHERE `+c)
		}
	}
	rows, err := t.tx.Query(t.ctx, with+strings.Join(parts, "\nUNION ALL "), a...)
	if err != nil {
		return t.fail(op, name(root.kind, root.key), err)
	}
	moving := map[rolecall.ObjectKind][]string{}
	var kind, key string
	_, err = pgx.ForEachRow(rows, []any{&kind, &key}, func() error {
		k := rolecall.ObjectKind(kind)
		moving[k] = append(moving[k], key)
		return nil
	})
	if err != nil {
		return t.fail(op, name(root.kind, root.key), err)
	}
	if err := t.border(op, root, old, placement, moving); err != nil {
		return err
	}

	// Everything is checked: write.
	if err := t.replace(op, root); err != nil {
		return err
	}
	for _, kind := range movable {
		keys := moving[kind]
		if len(keys) == 0 {
			continue
		}
		if kind == rolecall.ObjRole {
			if err := t.moveRoles(op, keys, old, root.org); err != nil {
				return err
			}
			continue
		}
		set := `org = $1::text`
		if kind == rolecall.ObjInvitation {
			set += `, obj = jsonb_set(obj, '{org}', to_jsonb($1::text))` // an invitation carries its Org
		}
		// org <> $1 passes over root, written and logged already.
		sql := `WITH m AS (UPDATE ` + tables[kind] + ` SET ` + set + ` WHERE key = ANY($2::text[]) AND org <> $1::text RETURNING key, obj)
			INSERT INTO changes (revision, seq, org, kind, key, deleted, value, at)
			SELECT $3::bigint, ($4::bigint + row_number() OVER (ORDER BY key) - 1)::integer, $1::text, $5::text, key, false, obj::text, $6::timestamptz
			FROM m`
		tag, err := t.tx.Exec(t.ctx, sql, root.org, keys, int64(t.rev), t.seq, string(kind), t.at)
		if err != nil {
			return t.fail(op, name(kind, keys[0]), err)
		}
		t.seq += int(tag.RowsAffected())
	}
	return nil
}

// moveRoles moves custom roles to organization org. A role's key holds
// its organization, so each is logged as the deletion of its old key, in
// the old organization, and the creation of its new one.
func (t *tx) moveRoles(op string, keys []string, old, org string) error {
	rows, err := t.tx.Query(t.ctx, `SELECT key, obj FROM roles WHERE key = ANY($1::text[]) ORDER BY key`, keys)
	if err != nil {
		return t.fail(op, name(rolecall.ObjRole, keys[0]), err)
	}
	type stored struct {
		key string
		obj []byte
	}
	roles, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (stored, error) {
		var s stored
		err := row.Scan(&s.key, &s.obj)
		return s, err
	})
	if err != nil {
		return t.fail(op, name(rolecall.ObjRole, keys[0]), err)
	}
	for _, s := range roles {
		var r rolecall.Role
		if err := json.Unmarshal(s.obj, &r); err != nil {
			return t.fail(op, name(rolecall.ObjRole, s.key), err)
		}
		if _, err := t.logged(op, rolecall.ObjRole, s.key, old, nil, `DELETE FROM roles WHERE key = $1`, []any{s.key}); err != nil {
			return err
		}
		r.Org = org
		o := &object{kind: rolecall.ObjRole, key: r.Key(), org: org, cols: []string{"scope"}, vals: []any{nullable(r.Scope)}, obj: &r}
		if err := t.create(op, o); err != nil {
			// Only a role of the new key would make it fail, which the
			// scope in the key rules out. The deletion above is written,
			// though, so the transaction cannot go on.
			if t.err == nil {
				t.err = err
			}
			return err
		}
	}
	return nil
}

// border fails with FailedPrecondition while a reference would cross the
// border between organization old and root's new one: an object moving
// referring to one of old that stays, or one of old that stays referring
// to one moving. References to users, which belong to no organization,
// and a role's to its organization, which moves with it, never do; nor do
// root's placement columns, which the move sets.
func (t *tx) border(op string, root *object, old string, placement []string, moving map[rolecall.ObjectKind][]string) error {
	var a args
	params := map[string]string{} // placeholders, added as the statement uses them
	param := func(id string, v any, typ string) string {
		if p, ok := params[id]; ok {
			return p
		}
		params[id] = a.add(v) + "::" + typ
		return params[id]
	}
	array := func(kind rolecall.ObjectKind) string {
		keys := moving[kind]
		if keys == nil {
			keys = []string{} // an empty array, not NULL: NOT (x = ANY(NULL)) is never true
		}
		return param(string(kind), keys, "text[]")
	}
	var parts []string
	for i, r := range references {
		if r.to == rolecall.ObjUser || !slices.Contains(movable, r.from) || !slices.Contains(movable, r.to) ||
			r.from == rolecall.ObjRole && r.column == "org" {
			continue
		}
		match := `t.key = f.` + r.column
		if r.array {
			match = `t.key = ANY(f.` + r.column + `)`
		}
		// sel starts the query for one direction of reference r; the
		// position of r orders the answers, so the error is always the same.
		sel := func(n int, from bool) string {
			return `(SELECT ` + strconv.Itoa(n) + ` AS i, '` + string(r.from) + `'::text AS from_kind, f.key AS from_key, '` +
				string(r.to) + `'::text AS to_kind, t.key AS to_key, ` + strconv.FormatBool(from) + ` AS moving FROM ` +
				tables[r.from] + ` f JOIN ` + tables[r.to] + ` t ON ` + match + ` WHERE `
		}
		if len(moving[r.from]) > 0 {
			// Moving, referring to one that stays in old.
			q := sel(2*i, true) + `f.key = ANY(` + array(r.from) + `) AND NOT (t.key = ANY(` + array(r.to) + `)) AND t.org = ` +
				param("old", old, "text")
			if r.from == root.kind && slices.Contains(placement, r.column) {
				q += ` AND f.key <> ` + param("root", root.key, "text")
			}
			parts = append(parts, q+` LIMIT 1)`)
		}
		if len(moving[r.to]) > 0 {
			// Staying in old, referring to one that moves.
			parts = append(parts, sel(2*i+1, false)+`t.key = ANY(`+array(r.to)+`) AND NOT (f.key = ANY(`+array(r.from)+
				`)) AND f.org = `+param("old", old, "text")+` LIMIT 1)`)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	var (
		i                                int
		fromKind, fromKey, toKind, toKey string
		movingRef                        bool
	)
	err := t.tx.QueryRow(t.ctx, `SELECT i, from_kind, from_key, to_kind, to_key, moving FROM (`+
		strings.Join(parts, "\nUNION ALL ")+`) AS c ORDER BY i, from_key, to_key LIMIT 1`, a...).
		Scan(&i, &fromKind, &fromKey, &toKind, &toKey, &movingRef)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return t.fail(op, name(root.kind, root.key), err)
	}
	from, to := name(rolecall.ObjectKind(fromKind), fromKey), name(rolecall.ObjectKind(toKind), toKey)
	msg := fmt.Sprintf("cannot move to organization %q while %s, which moves, refers to %s, which stays in organization %q",
		root.org, from, to, old)
	if !movingRef {
		msg = fmt.Sprintf("cannot move to organization %q while %s, which stays in organization %q, refers to %s, which moves",
			root.org, from, old, to)
	}
	return rolecall.E(op, rolecall.FailedPrecondition, name(root.kind, root.key), msg+"; remove that reference first")
}
