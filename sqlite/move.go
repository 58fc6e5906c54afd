package sqlite

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rolecall/rolecall"
)

// MoveScope puts scope id under parent, with everything placed in it or
// below it; see rolecall.Tx. Within one organization it is ReplaceScope
// with the new parent.
func (t *tx) MoveScope(id, parent string) error {
	const op = "sqlite.MoveScope"
	return t.run(op, func() error {
		t.forget() // rows go or move: what was read of them may no longer hold
		if id == "" {
			return missing(op, "scope to move", "id")
		}
		name := fmt.Sprintf("scope %q", id)
		row, err := t.query("SELECT org, parent, value FROM scopes WHERE key = ?", id)
		switch {
		case err != nil:
			return err
		case len(row) == 0:
			return rolecall.E(op, rolecall.NotFound, name, "does not exist")
		}
		oldOrg, oldParent, value := row[0][0], row[0][1], row[0][2]
		switch {
		case oldParent == "":
			return rolecall.E(op, rolecall.Invalid, name, "is an organization, which cannot move; only the scopes below one can")
		case parent == "":
			return rolecall.E(op, rolecall.Invalid, name, "give the parent scope to move it under; a scope cannot become an organization")
		}
		newOrg, ok, err := t.lookup("SELECT org FROM scopes WHERE key = ?", parent)
		switch {
		case err != nil:
			return err
		case !ok:
			return rolecall.E(op, rolecall.FailedPrecondition, name, fmt.Sprintf("its new parent scope %q does not exist; create it first", parent))
		}
		for at := parent; at != ""; {
			if at == id {
				return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("its new parent scope %q is the scope itself or lies below it; choose a parent outside it", parent))
			}
			if at, _, err = t.lookup("SELECT parent FROM scopes WHERE key = ?", at); err != nil {
				return err
			}
		}

		var s rolecall.Scope
		if err := json.Unmarshal([]byte(value), &s); err != nil {
			return undecodable(op, name, err)
		}
		s.Parent = parent
		v, err := json.Marshal(&s)
		if err != nil {
			return undecodable(op, name, err)
		}
		tr := scopeTree(id)
		if newOrg != oldOrg {
			if err := t.checkBorder(op, name, tr, rolecall.ObjScope, id, oldOrg, newOrg); err != nil {
				return err
			}
		}
		if err := t.exec("UPDATE scopes SET org = ?, parent = ?, value = ? WHERE key = ?", newOrg, parent, string(v), id); err != nil {
			return err
		}
		if err := t.log(rolecall.ObjScope, id, newOrg, v); err != nil {
			return err
		}
		if newOrg == oldOrg {
			return nil
		}
		return t.reorg(op, tr, rolecall.ObjScope, id, oldOrg, newOrg)
	})
}

// MoveResource puts a resource in scope, or under parent, with the
// resources below it and the bindings and offers on them; see
// rolecall.Tx. Within one organization it is ReplaceResource with the new
// place.
func (t *tx) MoveResource(ref rolecall.ResourceRef, scope string, parent *rolecall.ResourceRef) error {
	const op = "sqlite.MoveResource"
	return t.run(op, func() error {
		t.forget() // rows go or move: what was read of them may no longer hold
		key := ref.String()
		name := "resource " + strconv.Quote(key)
		switch {
		case ref.Type == "" || ref.ID == "":
			return rolecall.E(op, rolecall.Invalid, name, "give the type and id of the resource to move")
		case scope != "" && parent != nil:
			return rolecall.E(op, rolecall.Invalid, name, "give either the scope or the parent resource to move it to, not both")
		case scope == "" && parent == nil:
			return rolecall.E(op, rolecall.Invalid, name, "give the scope or the parent resource to move it to")
		case parent != nil && (parent.Type == "" || parent.ID == ""):
			return rolecall.E(op, rolecall.Invalid, name, "has a new parent without a type or id")
		}
		row, err := t.query("SELECT org, value FROM resources WHERE key = ?", key)
		switch {
		case err != nil:
			return err
		case len(row) == 0:
			return rolecall.E(op, rolecall.NotFound, name, "does not exist")
		}
		oldOrg, value := row[0][0], row[0][1]

		var newOrg, parentKey string
		if parent != nil {
			parentKey = parent.String()
			org, ok, err := t.lookup("SELECT org FROM resources WHERE key = ?", parentKey)
			switch {
			case err != nil:
				return err
			case !ok:
				return rolecall.E(op, rolecall.FailedPrecondition, name, fmt.Sprintf("its new parent resource %q does not exist; create it first", parentKey))
			}
			for at := parentKey; at != ""; {
				if at == key {
					return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("its new parent resource %q is the resource itself or lies below it; choose a parent outside it", parentKey))
				}
				if at, _, err = t.lookup("SELECT parent FROM resources WHERE key = ?", at); err != nil {
					return err
				}
			}
			newOrg = org
		} else {
			org, ok, err := t.lookup("SELECT org FROM scopes WHERE key = ?", scope)
			switch {
			case err != nil:
				return err
			case !ok:
				return rolecall.E(op, rolecall.FailedPrecondition, name, fmt.Sprintf("its new scope %q does not exist; create it first", scope))
			}
			newOrg = org
		}

		var r rolecall.Resource
		if err := json.Unmarshal([]byte(value), &r); err != nil {
			return undecodable(op, name, err)
		}
		r.Scope, r.Parent = scope, nil
		if parent != nil {
			p := *parent
			r.Parent = &p
		}
		v, err := json.Marshal(&r)
		if err != nil {
			return undecodable(op, name, err)
		}
		tr := resourceTree(key)
		if newOrg != oldOrg {
			if err := t.checkBorder(op, name, tr, rolecall.ObjResource, key, oldOrg, newOrg); err != nil {
				return err
			}
		}
		if err := t.exec("UPDATE resources SET org = ?, scope = ?, parent = ?, value = ? WHERE key = ?",
			newOrg, nullable(scope), nullable(parentKey), string(v), key); err != nil {
			return err
		}
		if err := t.log(rolecall.ObjResource, key, newOrg, v); err != nil {
			return err
		}
		if newOrg == oldOrg {
			return nil
		}
		return t.reorg(op, tr, rolecall.ObjResource, key, oldOrg, newOrg)
	})
}

// undecodable reports a stored value that does not decode, or its change
// that does not encode.
func undecodable(op, name string, err error) error {
	return &rolecall.Error{Op: op, Kind: rolecall.Internal, Name: name, Msg: "stored value does not decode", Err: err}
}

// borderKinds are the kinds that belong to an organization and that other
// objects refer to. Users are global: references to them never cross a
// border.
var borderKinds = []rolecall.ObjectKind{rolecall.ObjScope, rolecall.ObjGroup, rolecall.ObjResource}

// checkBorder refuses to move tree, whose root is the scope or resource
// rootKey, from organization oldOrg to newOrg while an object that moves
// refers to one that stays, or one that stays to one that moves. The
// root's own place (its parent or scope) is what the move changes, so it
// is left out. It reports every kind of crossing reference it finds.
func (t *tx) checkBorder(op, name string, tr tree, rootKind rolecall.ObjectKind, rootKey, oldOrg, newOrg string) error {
	var crossings []string
	for _, kind := range borderKinds {
		to := "a.%s IN (SELECT o.key FROM " + tables[kind] + " o WHERE " + inTree(kind, "o") + ")"
		for _, rf := range referrers[kind] {
			if rf.col == "org" {
				continue // an organization never moves; what moves takes the new one
			}
			from := inTree(rf.kind, "a")
			if rf.table != tables[rf.kind] { // a link table: the referring resource is in column resource
				from = "a." + rf.keyCol + " IN (SELECT key FROM res)"
			}
			q := tr.with + "SELECT a." + rf.keyCol + ", a." + rf.col + ", CASE WHEN " + from + " THEN 1 ELSE 0 END FROM " + rf.table + " a" +
				" WHERE a." + rf.col + " IS NOT NULL" +
				" AND (CASE WHEN " + fmt.Sprintf(to, rf.col) + " THEN 1 ELSE 0 END) <> (CASE WHEN " + from + " THEN 1 ELSE 0 END)"
			args := tr.args
			if rf.table == tables[rootKind] && (rf.col == "parent" || rf.col == "scope") {
				q += " AND a.key <> ?"
				args = append(slices.Clone(tr.args), rootKey)
			}
			rows, err := t.query(q+" LIMIT 1", args...)
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				continue
			}
			by, target := rows[0][0], rows[0][1]
			if rows[0][2] == "1" {
				crossings = append(crossings, fmt.Sprintf("%s %q moves, but the %s %q it refers to stays in %q", rf.kind, by, kind, target, oldOrg))
			} else {
				crossings = append(crossings, fmt.Sprintf("%s %q stays in %q, but the %s %q it refers to moves", rf.kind, by, oldOrg, kind, target))
			}
		}
	}
	if len(crossings) == 0 {
		return nil
	}
	return rolecall.E(op, rolecall.FailedPrecondition, name, fmt.Sprintf(
		"cannot move to organization %q while references would cross the border with %q: %s (one of each kind of reference shown); remove those references first",
		newOrg, oldOrg, strings.Join(crossings, "; ")))
}

// moveKinds are the kinds a subtree holds, in the order a move logs them.
var moveKinds = []rolecall.ObjectKind{
	rolecall.ObjScope, rolecall.ObjMembership, rolecall.ObjGroup, rolecall.ObjGroupMember, rolecall.ObjResource,
	rolecall.ObjRole, rolecall.ObjBinding, rolecall.ObjOffer, rolecall.ObjInvitation,
}

// reorg gives every object of tree but its root, already written, the
// organization newOrg, logging each as a replacement. An invitation's Org
// changes with it; a custom role's key holds its organization, so a role
// is logged as deleted under its old key and written under its new one.
func (t *tx) reorg(op string, tr tree, rootKind rolecall.ObjectKind, rootKey, oldOrg, newOrg string) error {
	for _, kind := range moveKinds {
		table := tables[kind]
		rows, err := t.query(tr.with+"SELECT o.key, o.value FROM "+table+" o WHERE "+inTree(kind, "o")+" ORDER BY o.key", tr.args...)
		if err != nil {
			return err
		}
		for _, row := range rows {
			key, value := row[0], []byte(row[1])
			name := fmt.Sprintf("%s %q", kind, key)
			switch {
			case kind == rootKind && key == rootKey:
				continue
			case kind == rolecall.ObjRole:
				if err := t.reorgRole(op, key, value, oldOrg, newOrg); err != nil {
					return err
				}
				continue
			case kind == rolecall.ObjInvitation:
				var i rolecall.Invitation
				if err := json.Unmarshal(value, &i); err != nil {
					return undecodable(op, name, err)
				}
				i.Org = newOrg
				if value, err = json.Marshal(&i); err != nil {
					return undecodable(op, name, err)
				}
			}
			if err := t.exec("UPDATE "+table+" SET org = ?, value = ? WHERE key = ?", newOrg, string(value), key); err != nil {
				return err
			}
			if err := t.log(kind, key, newOrg, value); err != nil {
				return err
			}
		}
	}
	return nil
}

// reorgRole moves custom role key, with value, to organization newOrg:
// as its key names its organization, its row is written anew under its
// new key, and the change log deletes the old key.
func (t *tx) reorgRole(op, key string, value []byte, oldOrg, newOrg string) error {
	name := fmt.Sprintf("role %q", key)
	var r rolecall.Role
	if err := json.Unmarshal(value, &r); err != nil {
		return undecodable(op, name, err)
	}
	r.Org = newOrg
	v, err := json.Marshal(&r)
	if err != nil {
		return undecodable(op, name, err)
	}
	if err := t.exec("DELETE FROM roles WHERE key = ?", key); err != nil {
		return err
	}
	if err := t.log(rolecall.ObjRole, key, oldOrg, nil); err != nil {
		return err
	}
	if err := t.exec("INSERT INTO roles (key, org, scope, value) VALUES (?, ?, ?, ?)", r.Key(), newOrg, nullable(r.Scope), string(v)); err != nil {
		return err
	}
	return t.log(rolecall.ObjRole, r.Key(), newOrg, v)
}
