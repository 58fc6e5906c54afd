package postgres

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rolecall/rolecall"
)

// This file holds the reads inside a transaction: Get, Find and
// LastChange. They run on the transaction's connection, so they see its
// own writes; and as every writer takes the head row before anything else
// (see begin), no other writer commits between these reads and this
// transaction's commit.

// goTypes holds the Go type of each kind's objects, which Get decodes

// Get reads one object, as this transaction sees it, into v, a pointer to
// its kind's type. v changes only when the object is found: it is then
// the object as stored, with no field left over from what v held.
func (t *tx) Get(kind rolecall.ObjectKind, key string, v any) (bool, error) {
	const op = "postgres.Get"
	if err := t.usable(op); err != nil {
		return false, err
	}
	typ := kind.GoType()
	ok := typ != nil
	if !ok {
		return false, rolecall.E(op, rolecall.Invalid, string(kind), "not a kind of stored object")
	}
	if kind == rolecall.ObjDomain {
		key = strings.ToLower(key)
	}
	want := reflect.PointerTo(typ)
	if reflect.TypeOf(v) != want || reflect.ValueOf(v).IsNil() {
		return false, rolecall.E(op, rolecall.Invalid, name(kind, key),
			fmt.Sprintf("cannot be read into a value of type %T; give a non-nil %s", v, want))
	}
	var org string
	obj := reflect.New(typ)
	found, err := t.load(op, kind, key, &org, obj.Interface())
	if err != nil || !found {
		return false, err
	}
	reflect.ValueOf(v).Elem().Set(obj.Elem())
	return true, nil
}

// Find returns the keys of the objects a filter selects, as this
// transaction sees them, in byte order whatever the database's collation.
func (t *tx) Find(f rolecall.Filter) ([]string, error) {
	const op = "postgres.Find"
	if err := t.usable(op); err != nil {
		return nil, err
	}
	if err := f.Check(op); err != nil {
		return nil, err
	}
	with, where, a := selection(f)
	rows, err := t.tx.Query(t.ctx, with+`SELECT key FROM `+tables[f.Kind]+
		` WHERE `+where+` ORDER BY key COLLATE "C"`, a...)
	if err != nil {
		return nil, t.fail(op, filterName(f), err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, t.fail(op, filterName(f), err)
	}
	return keys, nil
}

// LastChange returns the revision of the last change to one object in the
// change log, this transaction's own included, or 0 when it has none. The
// index on changes (kind, key, revision) makes it one index lookup.
func (t *tx) LastChange(kind rolecall.ObjectKind, key string) (rolecall.Revision, error) {
	const op = "postgres.LastChange"
	if err := t.usable(op); err != nil {
		return 0, err
	}
	if _, ok := tables[kind]; !ok {
		return 0, rolecall.E(op, rolecall.Invalid, string(kind), "not a kind of stored object")
	}
	if kind == rolecall.ObjDomain {
		key = strings.ToLower(key)
	}
	if key == "" {
		return 0, rolecall.E(op, rolecall.Invalid, string(kind), "no key given")
	}
	var rev int64
	err := t.tx.QueryRow(t.ctx, `SELECT COALESCE(max(revision), 0) FROM changes WHERE kind = $1 AND key = $2`,
		string(kind), key).Scan(&rev)
	if err != nil {
		return 0, t.fail(op, name(kind, key), err)
	}
	return rolecall.Revision(rev), nil
}
