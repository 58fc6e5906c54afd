package sqlite

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rolecall/rolecall"
)

// A tree names a subtree for the bulk writes: a WITH clause defining
// sub(key), the keys of its scopes, and res(key), the keys of its
// resources (those living in a scope of sub, or below one that does, or
// below the tree's root resource), with the clause's arguments. inTree
// tells which objects of each kind it holds.
type tree struct {
	with string
	args []any
}

// treeWith returns the WITH clause of a tree whose scopes start from the
// rows subBase selects and whose resources start from those resBase does.
func treeWith(subBase, resBase string) string {
	return "WITH RECURSIVE " +
		"sub(key) AS (" + subBase + " UNION SELECT s.key FROM scopes s JOIN sub ON s.parent = sub.key), " +
		"res(key) AS (" + resBase + " UNION SELECT r.key FROM resources r JOIN res ON r.parent = res.key) "
}

// scopeTree is the subtree of scope: the scope, the scopes below it, and
// everything placed in them.
func scopeTree(scope string) tree {
	return tree{
		with: treeWith("SELECT key FROM scopes WHERE key = ?", "SELECT key FROM resources WHERE scope IN (SELECT key FROM sub)"),
		args: []any{scope},
	}
}

// resourceTree is the subtree of a resource: the resource, the resources
// below it, and the bindings and offers on them.
func resourceTree(key string) tree {
	return tree{
		with: treeWith("SELECT key FROM scopes WHERE 1 = 0", "SELECT key FROM resources WHERE key = ?"),
		args: []any{key},
	}
}

// inTree returns the SQL condition that the row of kind named by alias a
// is in the tree of the WITH clause: scopes of sub; memberships, groups,
// invitations and custom roles owned at a scope of sub; members of such
// groups; resources of res; bindings at a scope of sub or on a resource of
// res; offers of a resource of res. Users and domains are never in a tree.
func inTree(kind rolecall.ObjectKind, a string) string {
	switch kind {
	case rolecall.ObjScope:
		return a + ".key IN (SELECT key FROM sub)"
	case rolecall.ObjMembership, rolecall.ObjGroup, rolecall.ObjInvitation:
		return a + ".scope IN (SELECT key FROM sub)"
	case rolecall.ObjGroupMember:
		return a + ".group_id IN (SELECT g.key FROM groups g WHERE g.scope IN (SELECT key FROM sub))"
	case rolecall.ObjRole: // owned by a node of sub, or by its organization when that is in sub
		return "(" + a + ".scope IN (SELECT key FROM sub) OR (" + a + ".scope IS NULL AND " + a + ".org IN (SELECT key FROM sub)))"
	case rolecall.ObjResource:
		return a + ".key IN (SELECT key FROM res)"
	case rolecall.ObjBinding:
		return "(" + a + ".scope IN (SELECT key FROM sub) OR " + a + ".resource IN (SELECT key FROM res))"
	case rolecall.ObjOffer:
		return a + ".resource IN (SELECT key FROM res)"
	}
	return "1 = 0"
}

// selection is the SQL selecting the objects a filter names: a WITH
// clause (empty without Scope) and its arguments, and a subquery of their
// keys (table aliased o) with its own arguments.
type selection struct {
	kind     rolecall.ObjectKind
	with     string
	withArgs []any
	where    string
	args     []any
}

// subquery returns the selection as "SELECT o.key FROM table o WHERE ...".
func (s *selection) subquery() string {
	return "SELECT o.key FROM " + tables[s.kind] + " o WHERE " + s.where
}

// selectFilter checks a filter and returns its selection.
func selectFilter(op string, f rolecall.Filter) (*selection, error) {
	if err := f.Check(op); err != nil {
		return nil, err
	}
	s := &selection{kind: f.Kind}
	var conds []string
	if f.Org != "" {
		conds = append(conds, "o.org = ?")
		s.args = append(s.args, f.Org)
	}
	if f.Scope != "" {
		tr := scopeTree(f.Scope)
		s.with, s.withArgs = tr.with, tr.args
		conds = append(conds, inTree(f.Kind, "o"))
	}
	if f.Type != "" {
		// A resource's key is "type:id", and a type has no colon.
		col := "o.resource"
		if f.Kind == rolecall.ObjResource {
			col = "o.key"
		}
		prefix := f.Type + ":"
		conds = append(conds, "substr("+col+", 1, ?) = ?")
		s.args = append(s.args, utf8.RuneCountInString(prefix), prefix)
	}
	if f.User != "" {
		col := "o.user_id"
		if f.Kind == rolecall.ObjOffer {
			col = "o.recipient"
		}
		conds = append(conds, col+" = ?")
		s.args = append(s.args, f.User)
	}
	if f.Group != "" {
		conds = append(conds, "o.group_id = ?")
		s.args = append(s.args, f.Group)
	}
	s.where = strings.Join(conds, " AND ")
	return s, nil
}

// DeleteWhere deletes every object the filter selects, those referring to
// others of the selection first, each as Delete would, and returns how
// many it deleted. While an object not selected refers to a selected one
// it deletes nothing and fails with FailedPrecondition.
func (t *tx) DeleteWhere(f rolecall.Filter) (int, error) {
	const op = "sqlite.DeleteWhere"
	n := 0
	err := t.run(op, func() error {
		t.forget() // rows go or move: what was read of them may no longer hold
		var err error
		n, err = t.deleteWhere(op, f)
		return err
	})
	return n, err
}

// deleteWhere does the work of DeleteWhere: it checks everything before
// it writes anything.
func (t *tx) deleteWhere(op string, f rolecall.Filter) (int, error) {
	sel, err := selectFilter(op, f)
	if err != nil {
		return 0, err
	}
	kind, table := sel.kind, tables[sel.kind]
	args := func(subqueries int) []any {
		a := append([]any(nil), sel.withArgs...)
		for range subqueries {
			a = append(a, sel.args...)
		}
		return a
	}

	rows, err := t.query(sel.with+"SELECT o.key, o.org FROM "+table+" o WHERE "+sel.where+" ORDER BY o.key", args(1)...)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	keys := make([]string, len(rows))
	orgs := make(map[string]string, len(rows))
	for i, r := range rows {
		keys[i], orgs[r[0]] = r[0], r[1]
	}

	// Nothing outside the selection may refer to it; references within it
	// order the deletions.
	var edges []edge
	for _, rf := range referrers[kind] {
		q := sel.with + "SELECT a." + rf.col + ", a." + rf.keyCol + " FROM " + rf.table + " a WHERE a." + rf.col + " IN (" + sel.subquery() + ")"
		if rf.kind != kind {
			row, err := t.query(q+" LIMIT 1", args(1)...)
			if err != nil {
				return 0, err
			}
			if len(row) > 0 {
				return 0, stillUsed(op, kind, row[0][0], rf, row[0][1])
			}
			continue
		}
		row, err := t.query(q+" AND a."+rf.keyCol+" NOT IN ("+sel.subquery()+") LIMIT 1", args(2)...)
		if err != nil {
			return 0, err
		}
		if len(row) > 0 {
			return 0, stillUsed(op, kind, row[0][0], rf, row[0][1])
		}
		within, err := t.query(q+" AND a."+rf.keyCol+" IN ("+sel.subquery()+")", args(2)...)
		if err != nil {
			return 0, err
		}
		for _, r := range within {
			edges = append(edges, edge{from: r[1], to: r[0], parent: rf.col == "parent"})
		}
	}

	// Links first, so that references between links (inputs, which may go
	// round in a circle) hold no deletion up; then the rows, in order.
	for _, l := range links[kind] {
		for _, k := range keys {
			if err := t.exec("DELETE FROM "+l+" WHERE resource = ?", k); err != nil {
				return 0, err
			}
		}
	}
	for _, k := range deletionOrder(keys, edges) {
		if err := t.remove(kind, k, orgs[k]); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// stillUsed reports a selected object that an object outside the
// selection, by of kind rf.kind, still refers to.
func stillUsed(op string, kind rolecall.ObjectKind, key string, rf referrer, by string) error {
	return rolecall.E(op, rolecall.FailedPrecondition, fmt.Sprintf("%s %q", kind, key),
		fmt.Sprintf("is still used by %s %q, which the filter does not select (and perhaps others); delete or move those first, or select them too", rf.kind, by))
}

// edge is a reference between two selected objects: from refers to to,
// as its parent or otherwise.
type edge struct {
	from, to string
	parent   bool
}

// deletionOrder orders keys (sorted) so that each object comes before
// those it refers to. Parents cannot go round in a circle, but inputs can:
// such a circle is broken at an object with no child left.
func deletionOrder(keys []string, edges []edge) []string {
	users := map[string]int{}    // referrers left, by object
	children := map[string]int{} // children left, by object
	out := map[string][]edge{}
	for _, e := range edges {
		users[e.to]++
		if e.parent {
			children[e.to]++
		}
		out[e.from] = append(out[e.from], e)
	}
	done := make(map[string]bool, len(keys))
	order := make([]string, 0, len(keys))
	take := func(k string) {
		done[k] = true
		order = append(order, k)
		for _, e := range out[k] {
			users[e.to]--
			if e.parent {
				children[e.to]--
			}
		}
	}
	for len(order) < len(keys) {
		progressed := false
		for _, k := range keys {
			if !done[k] && users[k] == 0 {
				take(k)
				progressed = true
			}
		}
		if progressed {
			continue
		}
		for _, k := range keys {
			if !done[k] && children[k] == 0 {
				take(k)
				break
			}
		}
	}
	return order
}
