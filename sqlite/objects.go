package sqlite

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
)

// tables names the table of each kind of object.
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
}

// links names the tables holding an object's many-valued references, by
// kind; their rows name the object in column "resource".
var links = map[rolecall.ObjectKind][]string{
	rolecall.ObjResource: {"resource_groups", "resource_inputs"},
}

// A referrer is a column through which objects of one kind refer to
// objects of another: deleting an object fails while a row holds its key
// there. keyCol is the column naming the referring object.
type referrer struct {
	kind       rolecall.ObjectKind
	table, col string
	keyCol     string
}

// referrers lists, for each kind, where other objects refer to it. It must
// agree with the refs the constructors below give, and with the schema's
// foreign keys, which stand behind it.
var referrers = map[rolecall.ObjectKind][]referrer{
	rolecall.ObjScope: {
		{rolecall.ObjScope, "scopes", "parent", "key"},
		{rolecall.ObjMembership, "memberships", "scope", "key"},
		{rolecall.ObjGroup, "groups", "scope", "key"},
		{rolecall.ObjResource, "resources", "scope", "key"},
		{rolecall.ObjRole, "roles", "org", "key"},
		{rolecall.ObjRole, "roles", "scope", "key"},
		{rolecall.ObjBinding, "bindings", "scope", "key"},
		{rolecall.ObjInvitation, "invitations", "scope", "key"},
		{rolecall.ObjDomain, "domains", "org", "key"},
	},
	rolecall.ObjUser: {
		{rolecall.ObjMembership, "memberships", "user_id", "key"},
		{rolecall.ObjGroupMember, "group_members", "user_id", "key"},
		{rolecall.ObjBinding, "bindings", "user_id", "key"},
		{rolecall.ObjOffer, "offers", "recipient", "key"},
	},
	rolecall.ObjGroup: {
		{rolecall.ObjGroupMember, "group_members", "group_id", "key"},
		{rolecall.ObjBinding, "bindings", "group_id", "key"},
		{rolecall.ObjResource, "resource_groups", "group_id", "resource"},
	},
	rolecall.ObjResource: {
		{rolecall.ObjResource, "resources", "parent", "key"},
		{rolecall.ObjResource, "resource_inputs", "input", "resource"},
		{rolecall.ObjBinding, "bindings", "resource", "key"},
		{rolecall.ObjOffer, "offers", "resource", "key"},
	},
}

// object is one object about to be written: its kind and key, the
// organization it belongs to when no reference decides it, its references
// and its value.
type object struct {
	kind  rolecall.ObjectKind
	key   string
	name  string // how messages name it, when not by kind and key
	org   string
	refs  []ref
	value any // marshaled once fill has run
	// fill, when set, completes the value once the organization is known,
	// or refuses it.
	fill func(org string) error
}

// ref is one reference from an object to another. A reference with an
// empty key is absent: its column is NULL and nothing is checked.
type ref struct {
	col  string // column of the object's table holding the key; "" for none
	link string // or: link table holding it, in column col
	kind rolecall.ObjectKind
	key  string
	role string // what the object calls the referred one, for messages
	rule rule
}

// rule says how a reference bears on the object's organization.
type rule uint8

const (
	anyOrg  rule = iota // the referred object may be anywhere
	orgOf               // the object belongs to the referred object's organization
	sameOrg             // the referred object must be in the object's organization
	isOrg               // the referred object is an organization, the object's
)

type write uint8

const (
	create write = iota
	replace
)

// put checks and writes an object: its existence for a create or a
// replace, its references, its organization; then its row, its links and
// its change.
func (t *tx) put(op string, w write, o *object) error {
	table := tables[o.kind]
	name := o.name
	if name == "" {
		name = fmt.Sprintf("%s %q", o.kind, o.key)
	}
	conflict := func() error {
		return rolecall.E(op, rolecall.Conflict, name, "already exists; replace it instead, or choose another key")
	}
	var oldOrg string
	if w == create {
		// a key taken before this transaction is found by the INSERT
		if _, seen := t.orgs[rowKey{table, o.key}]; seen {
			return conflict()
		}
	} else {
		org, exists, err := t.orgOf(table, o.key)
		switch {
		case err != nil:
			return err
		case !exists:
			return rolecall.E(op, rolecall.NotFound, name, "does not exist; create it first")
		}
		oldOrg = org
	}

	// References must exist; the one marked orgOf or isOrg gives the
	// organization, and those marked sameOrg must share it.
	org := o.org
	orgs := make([]string, len(o.refs))
	for i, r := range o.refs {
		if r.key == "" {
			continue
		}
		rorg, ok, err := t.orgOf(tables[r.kind], r.key)
		if err != nil {
			return err
		}
		if !ok {
			return rolecall.E(op, rolecall.FailedPrecondition, name, fmt.Sprintf("its %s %q does not exist; create it first", r.role, r.key))
		}
		orgs[i] = rorg
		switch r.rule {
		case isOrg:
			if rorg != r.key {
				return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("its %s %q is not an organization but a scope inside %q; give the organization", r.role, r.key, rorg))
			}
			org = rorg
		case orgOf:
			org = rorg
		}
	}
	for i, r := range o.refs {
		if r.key != "" && r.rule == sameOrg && orgs[i] != org {
			return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("its %s %q is in organization %q, but the %s belongs to %q; an object and what it sits in share one organization", r.role, r.key, orgs[i], o.kind, org))
		}
	}
	if w == replace {
		if org != oldOrg {
			return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("belongs to organization %q and cannot move to %q; delete it and create it there instead", oldOrg, org))
		}
		if err := t.checkCycle(op, name, table, o); err != nil {
			return err
		}
	}
	if o.fill != nil {
		if err := o.fill(org); err != nil {
			return err
		}
	}
	value, err := json.Marshal(o.value)
	if err != nil {
		return &rolecall.Error{Op: op, Kind: rolecall.Invalid, Name: name, Msg: "cannot be encoded as JSON; keep attributes to JSON values", Err: err}
	}

	// Write the row, its links and its change.
	cols := []string{"org", "value"}
	args := []any{org, string(value)}
	for _, r := range o.refs {
		if r.col != "" && r.link == "" {
			cols = append(cols, r.col)
			args = append(args, nullable(r.key))
		}
	}
	if w == create {
		cols = append(cols, "key")
		args = append(args, o.key)
		marks := strings.Repeat(", ?", len(cols))[2:]
		taken, ierr := t.insert("INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ("+marks+")", args...)
		if taken {
			return conflict()
		}
		err = ierr
	} else {
		args = append(args, o.key)
		err = t.exec("UPDATE "+table+" SET "+strings.Join(cols, " = ?, ")+" = ? WHERE key = ?", args...)
		for _, l := range links[o.kind] {
			if err == nil {
				err = t.exec("DELETE FROM "+l+" WHERE resource = ?", o.key)
			}
		}
	}
	for _, r := range o.refs {
		if err == nil && r.link != "" {
			err = t.exec("INSERT INTO "+r.link+" (resource, "+r.col+") VALUES (?, ?)", o.key, r.key)
		}
	}
	if err != nil {
		return err
	}
	t.remember(table, o.key, org)
	return t.log(o.kind, o.key, org, value)
}

// checkCycle refuses to make a scope or resource its own ancestor.
func (t *tx) checkCycle(op, name, table string, o *object) error {
	for _, r := range o.refs {
		if r.kind != o.kind || r.col != "parent" {
			continue
		}
		for at := r.key; at != ""; {
			if at == o.key {
				return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("its %s %q is the %s itself or lies below it; choose a parent outside it", r.role, r.key, o.kind))
			}
			parent, _, err := t.lookup("SELECT parent FROM "+table+" WHERE key = ?", at)
			if err != nil {
				return err
			}
			at = parent
		}
	}
	return nil
}

// nullable turns an absent key into NULL.
func nullable(key string) any {
	if key == "" {
		return nil
	}
	return key
}

// Delete removes one object by kind and key, once nothing refers to it.
func (t *tx) Delete(kind rolecall.ObjectKind, key string) error {
	const op = "sqlite.Delete"
	return t.run(op, func() error {
		t.forget() // rows go or move: what was read of them may no longer hold
		table, ok := tables[kind]
		switch {
		case kind == rolecall.ObjAudit:
			return rolecall.E(op, rolecall.Invalid, fmt.Sprintf("audit event %q", key), "audit events are never deleted")
		case !ok:
			return rolecall.E(op, rolecall.Invalid, fmt.Sprintf("object kind %q", kind), "is not a kind the store holds; use one of rolecall's Obj constants")
		case key == "":
			return rolecall.E(op, rolecall.Invalid, string(kind), "give the key of the object to delete")
		}
		if kind == rolecall.ObjDomain {
			key = strings.ToLower(key)
		}
		name := fmt.Sprintf("%s %q", kind, key)
		org, ok, err := t.lookup("SELECT org FROM "+table+" WHERE key = ?", key)
		if err != nil {
			return err
		}
		if !ok {
			return rolecall.E(op, rolecall.NotFound, name, "does not exist")
		}
		for _, rf := range referrers[kind] {
			by, ok, err := t.lookup("SELECT "+rf.keyCol+" FROM "+rf.table+" WHERE "+rf.col+" = ? LIMIT 1", key)
			if err != nil {
				return err
			}
			if ok {
				return rolecall.E(op, rolecall.FailedPrecondition, name,
					fmt.Sprintf("is still used by %s %q (and perhaps others); delete or move those first", rf.kind, by))
			}
		}
		return t.remove(kind, key, org)
	})
}

// remove deletes one object, whose organization is org, once its
// referrers are checked: its links, its row and its change, and a user's
// credential and sessions, which go with the user.
func (t *tx) remove(kind rolecall.ObjectKind, key, org string) error {
	for _, l := range links[kind] {
		if err := t.exec("DELETE FROM "+l+" WHERE resource = ?", key); err != nil {
			return err
		}
	}
	if err := t.exec("DELETE FROM "+tables[kind]+" WHERE key = ?", key); err != nil {
		return err
	}
	if kind == rolecall.ObjUser {
		if err := t.forgetUser(key); err != nil {
			return err
		}
	}
	return t.log(kind, key, org, nil)
}

// AppendAudit adds an event to the audit log at this transaction's
// revision, setting its Revision, and its ID and At when empty.
func (t *tx) AppendAudit(e *rolecall.AuditEvent) error {
	const op = "sqlite.AppendAudit"
	return t.run(op, func() error {
		if e == nil {
			return rolecall.E(op, rolecall.Invalid, "audit event", "is nil")
		}
		ev := *e
		if ev.ID == "" {
			ev.ID = newID()
		}
		if ev.At.IsZero() {
			ev.At = t.at
		}
		ev.Revision = t.rev
		name := fmt.Sprintf("audit event %q", ev.ID)
		_, exists, err := t.lookup("SELECT org FROM audit WHERE key = ?", ev.ID)
		if err != nil {
			return err
		}
		if exists {
			return rolecall.E(op, rolecall.Conflict, name, "already exists; leave the ID empty to have one made")
		}
		value, err := json.Marshal(&ev)
		if err != nil {
			return &rolecall.Error{Op: op, Kind: rolecall.Invalid, Name: name, Msg: "cannot be encoded as JSON; Before and After must be JSON", Err: err}
		}
		if err := t.exec("INSERT INTO audit (key, org, revision, seq, actor, act, target, at, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			ev.ID, ev.Org, t.rev, t.seq, ev.Actor, ev.Act, ev.Target, unixNano(ev.At), string(value)); err != nil {
			return err
		}
		if err := t.log(rolecall.ObjAudit, ev.ID, ev.Org, value); err != nil {
			return err
		}
		*e = ev
		return nil
	})
}

// newID returns a fresh random id: 26 base32 characters, 130 bits.
func newID() string { return rand.Text() }

// missing reports an object lacking a field it needs.
func missing(op, what, field string) error {
	return rolecall.E(op, rolecall.Invalid, what, "has no "+field+"; give one")
}

// The Tx methods: each builds an object from its argument, checking what
// the store needs of it, and puts it.

func (t *tx) CreateScope(s rolecall.Scope) error { return t.putScope("sqlite.CreateScope", create, s) }
func (t *tx) ReplaceScope(s rolecall.Scope) error {
	return t.putScope("sqlite.ReplaceScope", replace, s)
}

func (t *tx) putScope(op string, w write, s rolecall.Scope) error {
	return t.run(op, func() error {
		if s.ID == "" {
			return missing(op, "scope", "id")
		}
		o := &object{kind: rolecall.ObjScope, key: s.Key(), org: s.ID, value: &s, refs: []ref{
			{col: "parent", kind: rolecall.ObjScope, key: s.Parent, role: "parent scope", rule: orgOf},
		}}
		return t.put(op, w, o)
	})
}

func (t *tx) CreateUser(u rolecall.User) error  { return t.putUser("sqlite.CreateUser", create, u) }
func (t *tx) ReplaceUser(u rolecall.User) error { return t.putUser("sqlite.ReplaceUser", replace, u) }

func (t *tx) putUser(op string, w write, u rolecall.User) error {
	return t.run(op, func() error {
		if u.ID == "" {
			return missing(op, "user", "id")
		}
		return t.put(op, w, &object{kind: rolecall.ObjUser, key: u.Key(), value: &u})
	})
}

func (t *tx) CreateMembership(m rolecall.Membership) error {
	return t.putMembership("sqlite.CreateMembership", create, m)
}

func (t *tx) ReplaceMembership(m rolecall.Membership) error {
	return t.putMembership("sqlite.ReplaceMembership", replace, m)
}

func (t *tx) putMembership(op string, w write, m rolecall.Membership) error {
	return t.run(op, func() error {
		switch {
		case m.User == "":
			return missing(op, "membership in "+strconv.Quote(m.Scope), "user")
		case m.Scope == "":
			return missing(op, "membership of "+strconv.Quote(m.User), "scope")
		}
		return t.put(op, w, &object{kind: rolecall.ObjMembership, key: m.Key(), value: &m, refs: []ref{
			{col: "user_id", kind: rolecall.ObjUser, key: m.User, role: "user"},
			{col: "scope", kind: rolecall.ObjScope, key: m.Scope, role: "scope", rule: orgOf},
		}})
	})
}

func (t *tx) CreateGroup(g rolecall.Group) error { return t.putGroup("sqlite.CreateGroup", create, g) }
func (t *tx) ReplaceGroup(g rolecall.Group) error {
	return t.putGroup("sqlite.ReplaceGroup", replace, g)
}

func (t *tx) putGroup(op string, w write, g rolecall.Group) error {
	return t.run(op, func() error {
		switch {
		case g.ID == "":
			return missing(op, "group", "id")
		case g.Scope == "":
			return missing(op, "group "+strconv.Quote(g.ID), "scope")
		}
		return t.put(op, w, &object{kind: rolecall.ObjGroup, key: g.Key(), value: &g, refs: []ref{
			{col: "scope", kind: rolecall.ObjScope, key: g.Scope, role: "scope", rule: orgOf},
		}})
	})
}

func (t *tx) CreateGroupMember(m rolecall.GroupMember) error {
	const op = "sqlite.CreateGroupMember"
	return t.run(op, func() error {
		switch {
		case m.Group == "":
			return missing(op, "group member "+strconv.Quote(m.User), "group")
		case m.User == "":
			return missing(op, "member of group "+strconv.Quote(m.Group), "user")
		}
		return t.put(op, create, &object{kind: rolecall.ObjGroupMember, key: m.Key(), value: &m, refs: []ref{
			{col: "group_id", kind: rolecall.ObjGroup, key: m.Group, role: "group", rule: orgOf},
			{col: "user_id", kind: rolecall.ObjUser, key: m.User, role: "user"},
		}})
	})
}

func (t *tx) CreateResource(r rolecall.Resource) error {
	return t.putResource("sqlite.CreateResource", create, r)
}

func (t *tx) ReplaceResource(r rolecall.Resource) error {
	return t.putResource("sqlite.ReplaceResource", replace, r)
}

func (t *tx) putResource(op string, w write, r rolecall.Resource) error {
	return t.run(op, func() error {
		name := "resource " + strconv.Quote(r.Key())
		switch {
		case r.Type == "":
			return missing(op, name, "type")
		case r.ID == "":
			return missing(op, name, "id")
		case strings.Contains(r.Type, ":"):
			return rolecall.E(op, rolecall.Invalid, name, `has a ":" in its type; a resource is named "type:id"`)
		case r.Scope == "" && r.Parent == nil:
			return missing(op, name, "scope or parent resource")
		case r.Parent != nil && (r.Parent.Type == "" || r.Parent.ID == ""):
			return rolecall.E(op, rolecall.Invalid, name, "has a parent without a type or id")
		}
		o := &object{kind: rolecall.ObjResource, key: r.Key(), value: &r}
		parent, scopeRule := "", orgOf
		if r.Parent != nil {
			parent, scopeRule = r.Parent.String(), sameOrg
		}
		o.refs = append(o.refs,
			ref{col: "parent", kind: rolecall.ObjResource, key: parent, role: "parent resource", rule: orgOf},
			ref{col: "scope", kind: rolecall.ObjScope, key: r.Scope, role: "scope", rule: scopeRule})
		seen := map[string]bool{}
		for _, g := range r.Groups {
			if g == "" {
				return rolecall.E(op, rolecall.Invalid, name, "lists a group without an id")
			}
			if !seen["g"+g] {
				seen["g"+g] = true
				o.refs = append(o.refs, ref{link: "resource_groups", col: "group_id", kind: rolecall.ObjGroup, key: g, role: "group"})
			}
		}
		for _, rel := range slices.Sorted(maps.Keys(r.Inputs)) {
			for _, in := range r.Inputs[rel] {
				if in.Type == "" || in.ID == "" {
					return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("input %s lists a resource without a type or id", rel))
				}
				if k := in.String(); !seen["r"+k] {
					seen["r"+k] = true
					o.refs = append(o.refs, ref{link: "resource_inputs", col: "input", kind: rolecall.ObjResource, key: k, role: rel + " input"})
				}
			}
		}
		return t.put(op, w, o)
	})
}

func (t *tx) CreateRole(r rolecall.Role) error  { return t.putRole("sqlite.CreateRole", create, r) }
func (t *tx) ReplaceRole(r rolecall.Role) error { return t.putRole("sqlite.ReplaceRole", replace, r) }

func (t *tx) putRole(op string, w write, r rolecall.Role) error {
	return t.run(op, func() error {
		switch {
		case r.ID == "":
			return missing(op, "role of "+strconv.Quote(r.Org), "id")
		case r.Org == "":
			return missing(op, "role "+strconv.Quote(r.ID), "organization")
		}
		return t.put(op, w, &object{kind: rolecall.ObjRole, key: r.Key(), value: &r, refs: []ref{
			{kind: rolecall.ObjScope, key: r.Org, role: "organization", rule: isOrg}, // the org column
			{col: "scope", kind: rolecall.ObjScope, key: r.Scope, role: "scope", rule: sameOrg},
		}})
	})
}

func (t *tx) CreateBinding(b *rolecall.Binding) error {
	const op = "sqlite.CreateBinding"
	return t.run(op, func() error {
		if b == nil {
			return rolecall.E(op, rolecall.Invalid, "binding", "is nil")
		}
		c := *b
		name := "binding " + strconv.Quote(c.ID)
		if c.ID == "" {
			c.ID = newID()
			name = "new binding of " + c.Subject.String()
		}
		var user, group string
		switch {
		case c.Subject.ID == "":
			return missing(op, name, "subject")
		case c.Subject.Kind == rolecall.SubjectUser:
			user = c.Subject.ID
		case c.Subject.Kind == rolecall.SubjectGroup:
			group = c.Subject.ID
		default:
			return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("has subject kind %d; a subject is a user or a group", c.Subject.Kind))
		}
		resource, scopeRule := "", orgOf
		switch {
		case c.Resource != nil && (c.Resource.Type == "" || c.Resource.ID == ""):
			return rolecall.E(op, rolecall.Invalid, name, "is on a resource without a type or id")
		case c.Resource != nil:
			resource, scopeRule = c.Resource.String(), sameOrg
		case c.Scope == "":
			return missing(op, name, "scope or resource")
		}
		err := t.put(op, create, &object{kind: rolecall.ObjBinding, key: c.Key(), name: name, value: &c, refs: []ref{
			{col: "user_id", kind: rolecall.ObjUser, key: user, role: "user"},
			{col: "group_id", kind: rolecall.ObjGroup, key: group, role: "group"},
			{col: "resource", kind: rolecall.ObjResource, key: resource, role: "resource", rule: orgOf},
			{col: "scope", kind: rolecall.ObjScope, key: c.Scope, role: "scope", rule: scopeRule},
		}})
		if err == nil {
			b.ID = c.ID
		}
		return err
	})
}

func (t *tx) CreateOffer(o *rolecall.Offer) error {
	const op = "sqlite.CreateOffer"
	return t.run(op, func() error {
		if o == nil {
			return rolecall.E(op, rolecall.Invalid, "offer", "is nil")
		}
		c := *o
		name := ""
		if c.ID == "" {
			c.ID = newID()
			name = fmt.Sprintf("new offer of %s to %q", c.Resource, c.Recipient)
		}
		err := t.putOffer(op, create, &c, name)
		if err == nil {
			o.ID = c.ID
		}
		return err
	})
}

func (t *tx) ReplaceOffer(o rolecall.Offer) error {
	const op = "sqlite.ReplaceOffer"
	return t.run(op, func() error {
		if o.ID == "" {
			return missing(op, "offer", "id")
		}
		return t.putOffer(op, replace, &o, "")
	})
}

// putOffer puts an offer; name, when set, is how messages name it.
func (t *tx) putOffer(op string, w write, o *rolecall.Offer, name string) error {
	if name == "" {
		name = "offer " + strconv.Quote(o.ID)
	}
	switch {
	case o.Resource.Type == "" || o.Resource.ID == "":
		return missing(op, name, "resource")
	case o.Recipient == "":
		return missing(op, name, "recipient")
	}
	return t.put(op, w, &object{kind: rolecall.ObjOffer, key: o.Key(), name: name, value: o, refs: []ref{
		{col: "resource", kind: rolecall.ObjResource, key: o.Resource.String(), role: "resource", rule: orgOf},
		{col: "recipient", kind: rolecall.ObjUser, key: o.Recipient, role: "recipient"},
	}})
}

func (t *tx) CreateInvitation(i *rolecall.Invitation) error {
	const op = "sqlite.CreateInvitation"
	return t.run(op, func() error {
		if i == nil {
			return rolecall.E(op, rolecall.Invalid, "invitation", "is nil")
		}
		c := *i
		name := ""
		if c.ID == "" {
			c.ID = newID()
			name = fmt.Sprintf("new invitation of %q to %q", c.Email, c.Scope)
		}
		err := t.putInvitation(op, create, &c, name)
		if err == nil {
			i.ID, i.Org = c.ID, c.Org
		}
		return err
	})
}

func (t *tx) ReplaceInvitation(i rolecall.Invitation) error {
	const op = "sqlite.ReplaceInvitation"
	return t.run(op, func() error {
		if i.ID == "" {
			return missing(op, "invitation", "id")
		}
		return t.putInvitation(op, replace, &i, "")
	})
}

// putInvitation puts an invitation; name, when set, is how messages name it.
func (t *tx) putInvitation(op string, w write, i *rolecall.Invitation, name string) error {
	if name == "" {
		name = "invitation " + strconv.Quote(i.ID)
	}
	switch {
	case i.Scope == "":
		return missing(op, name, "scope")
	case i.Email == "":
		return missing(op, name, "email address")
	}
	return t.put(op, w, &object{kind: rolecall.ObjInvitation, key: i.Key(), name: name, value: i,
		refs: []ref{{col: "scope", kind: rolecall.ObjScope, key: i.Scope, role: "scope", rule: orgOf}},
		fill: func(org string) error {
			if i.Org != "" && i.Org != org {
				return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("has Org %q, but its scope %q is in %q; leave Org empty or make it %q", i.Org, i.Scope, org, org))
			}
			i.Org = org
			return nil
		}})
}

func (t *tx) CreateDomain(d rolecall.Domain) error {
	const op = "sqlite.CreateDomain"
	return t.run(op, func() error {
		switch {
		case d.Domain == "":
			return missing(op, "domain of "+strconv.Quote(d.Org), "domain name")
		case d.Org == "":
			return missing(op, "domain "+strconv.Quote(d.Domain), "organization")
		}
		d.Domain = strings.ToLower(d.Domain)
		return t.put(op, create, &object{kind: rolecall.ObjDomain, key: d.Key(), value: &d, refs: []ref{
			{kind: rolecall.ObjScope, key: d.Org, role: "organization", rule: isOrg}, // the org column
		}})
	})
}

// CreateAPIKey stores an API key, giving it an ID when it has none. Keys
// log no change: an Update that writes only keys commits them without
// advancing the revision.
func (t *tx) CreateAPIKey(k *rolecall.APIKey) error {
	const op = "sqlite.CreateAPIKey"
	return t.run(op, func() error {
		if k == nil {
			return rolecall.E(op, rolecall.Invalid, "API key", "is nil")
		}
		c := *k
		name := "API key " + strconv.Quote(c.ID)
		if c.ID == "" {
			c.ID = newID()
			name = "new API key"
			if c.Org != "" {
				name = fmt.Sprintf("new API key of %q in %q", c.User, c.Org)
			}
		}
		switch {
		case c.Org != "" && c.User == "":
			return rolecall.E(op, rolecall.Invalid, name, "is an organization's key without a user; give the user it acts as")
		case c.Org == "" && c.User != "":
			return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("is the operator's key (no organization) but has user %q; give the user's organization, or no user", c.User))
		case len(c.Hash) == 0:
			return missing(op, name, "hash")
		}
		_, exists, err := t.lookup("SELECT id FROM api_keys WHERE id = ?", c.ID)
		switch {
		case err != nil:
			return err
		case exists:
			return rolecall.E(op, rolecall.Conflict, name, "already exists; leave the ID empty to have one made")
		}
		if c.Org != "" {
			org, ok, err := t.lookup("SELECT org FROM scopes WHERE key = ?", c.Org)
			switch {
			case err != nil:
				return err
			case !ok:
				return rolecall.E(op, rolecall.FailedPrecondition, name, fmt.Sprintf("its organization %q does not exist; create it first", c.Org))
			case org != c.Org:
				return rolecall.E(op, rolecall.Invalid, name, fmt.Sprintf("its organization %q is not an organization but a scope inside %q; give the organization", c.Org, org))
			}
			_, ok, err = t.lookup("SELECT key FROM users WHERE key = ?", c.User)
			switch {
			case err != nil:
				return err
			case !ok:
				return rolecall.E(op, rolecall.FailedPrecondition, name, fmt.Sprintf("its user %q does not exist; create it first", c.User))
			}
		}
		if err := t.exec("INSERT INTO api_keys (id, org, user_id, name, hash, created, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.Org, nullable(c.User), c.Name, c.Hash, nullTime(c.Created), nullTime(c.Revoked)); err != nil {
			return err
		}
		t.unlogged = true
		k.ID = c.ID
		return nil
	})
}

// RevokeAPIKey marks a key revoked at a time (the transaction's when at is
// zero); a key revoked already keeps its first time. Like CreateAPIKey, it
// logs no change.
func (t *tx) RevokeAPIKey(id string, at time.Time) error {
	const op = "sqlite.RevokeAPIKey"
	return t.run(op, func() error {
		name := "API key " + strconv.Quote(id)
		if id == "" {
			return rolecall.E(op, rolecall.Invalid, "API key", "give the ID of the key to revoke")
		}
		if at.IsZero() {
			at = t.at
		}
		revoked, ok, err := t.lookup("SELECT revoked FROM api_keys WHERE id = ?", id)
		switch {
		case err != nil:
			return err
		case !ok:
			return rolecall.E(op, rolecall.NotFound, name, "does not exist")
		case revoked != "": // revoked already: the first time stands
			return nil
		}
		if err := t.exec("UPDATE api_keys SET revoked = ? WHERE id = ?", unixNano(at), id); err != nil {
			return err
		}
		t.unlogged = true
		return nil
	})
}

// nullTime turns a time into Unix nanoseconds, as the api_keys table holds
// times, and the zero time into NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return unixNano(t)
}
