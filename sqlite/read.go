package sqlite

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/rolecall/rolecall"
)

// valueTypes names the Go type of each kind's stored values, which Get

// Get reads the object of a kind with a key, as this transaction sees it,
// into v, a pointer to the kind's type, and reports whether it exists. A
// missing object leaves v as it was.
func (t *tx) Get(kind rolecall.ObjectKind, key string, v any) (bool, error) {
	const op = "sqlite.Get"
	found := false
	err := t.run(op, func() error {
		typ := kind.GoType()
		ok := typ != nil
		if !ok {
			return rolecall.E(op, rolecall.Invalid, fmt.Sprintf("object kind %q", kind), "is not a kind the store holds; use one of rolecall's Obj constants")
		}
		table := "audit"
		if kind != rolecall.ObjAudit {
			table = tables[kind]
		}
		if kind == rolecall.ObjDomain {
			key = strings.ToLower(key)
		}
		name := fmt.Sprintf("%s %q", kind, key)
		dst := reflect.ValueOf(v)
		if v == nil || dst.Type() != reflect.PointerTo(typ) || dst.IsNil() {
			return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("cannot be read into a %T; give a non-nil *%s", v, typ))
		}
		value, ok, err := t.lookup("SELECT value FROM "+table+" WHERE key = ?", key)
		if err != nil || !ok {
			return err
		}
		// Decode into a fresh value, so that nothing of what v held
		// before survives in fields the stored value omits.
		fresh := reflect.New(typ)
		if err := json.Unmarshal([]byte(value), fresh.Interface()); err != nil {
			return undecodable(op, name, err)
		}
		dst.Elem().Set(fresh.Elem())
		found = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return found, nil
}

// Find returns the keys of the objects the filter selects, as DeleteWhere
// selects them, in byte order, as this transaction sees them.
func (t *tx) Find(f rolecall.Filter) ([]string, error) {
	const op = "sqlite.Find"
	var keys []string
	err := t.run(op, func() error {
		sel, err := selectFilter(op, f)
		if err != nil {
			return err
		}
		// Keys are TEXT of the default BINARY collation, which compares
		// bytes; the COLLATE says so.
		args := append(slices.Clone(sel.withArgs), sel.args...)
		rows, err := t.query(sel.with+sel.subquery()+" ORDER BY o.key COLLATE BINARY", args...)
		if err != nil {
			return err
		}
		for _, r := range rows {
			keys = append(keys, r[0])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// LastChange returns the revision of the last change the change log holds
// for the object of a kind with a key, this transaction's own included, or
// 0 when it holds none. Domains are keyed in lower case; the key may be in
// any.
func (t *tx) LastChange(kind rolecall.ObjectKind, key string) (rolecall.Revision, error) {
	const op = "sqlite.LastChange"
	var rev rolecall.Revision
	err := t.run(op, func() error {
		if kind.GoType() == nil {
			return rolecall.E(op, rolecall.Invalid, fmt.Sprintf("object kind %q", kind), "is not a kind the store holds; use one of rolecall's Obj constants")
		}
		if key == "" {
			return rolecall.E(op, rolecall.Invalid, string(kind), "give the key of the object")
		}
		if kind == rolecall.ObjDomain {
			key = strings.ToLower(key)
		}
		// The index changes_object (kind, key, revision) finds it at once.
		v, ok, err := t.lookup("SELECT revision FROM changes WHERE kind = ? AND key = ? ORDER BY revision DESC LIMIT 1", string(kind), key)
		if err != nil || !ok {
			return err
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return &rolecall.Error{Op: op, Kind: rolecall.Internal, Name: fmt.Sprintf("%s %q", kind, key), Msg: "the change log holds a revision that is not a number", Err: err}
		}
		rev = rolecall.Revision(n)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return rev, nil
}
