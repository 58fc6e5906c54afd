package rolecall

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Revision numbers committed writes. Every write transaction commits at
// one revision, strictly greater than every revision committed before it;
// reads report the revision they saw, so a caller can ask for an answer at
// least as fresh as its own write.
type Revision uint64

// ObjectKind names the kind of a stored object.
type ObjectKind string

// The kinds of stored object.
const (
	ObjScope       ObjectKind = "scope"
	ObjUser        ObjectKind = "user"
	ObjMembership  ObjectKind = "membership"
	ObjGroup       ObjectKind = "group"
	ObjGroupMember ObjectKind = "group_member"
	ObjResource    ObjectKind = "resource"
	ObjRole        ObjectKind = "role"
	ObjBinding     ObjectKind = "binding"
	ObjOffer       ObjectKind = "offer"
	ObjInvitation  ObjectKind = "invitation"
	ObjDomain      ObjectKind = "domain"
	ObjAudit       ObjectKind = "audit"
)

// Change is one object created, replaced or deleted by a committed
// transaction. The change log lists changes in revision order, and within
// a revision in the order they were written. Value is the object after the
// change as JSON (the type of its Kind), empty for a deletion.
type Change struct {
	Revision Revision        `json:"revision"`
	Seq      int             `json:"seq"` // order within the revision, from 0
	Org      string          `json:"org,omitempty"`
	Kind     ObjectKind      `json:"kind"`
	Key      string          `json:"key"`
	Deleted  bool            `json:"deleted,omitempty"`
	Value    json.RawMessage `json:"value,omitempty"`
	At       time.Time       `json:"at"`
}

// Key functions give each object its key within its kind; the change log
// and Delete use them.

// Key returns a scope's key: its id.
func (s *Scope) Key() string { return s.ID }

// Key returns a user's key: its id.
func (u *User) Key() string { return u.ID }

// Key returns a membership's key: "user@scope".
func (m *Membership) Key() string { return m.User + "@" + m.Scope }

// Key returns a group's key: its id.
func (g *Group) Key() string { return g.ID }

// Key returns a group membership's key: "group/user".
func (g *GroupMember) Key() string { return g.Group + "/" + g.User }

// Key returns a resource's key: "type:id".
func (r *Resource) Key() string { return r.Type + ":" + r.ID }

// Key returns a custom role's key: "org/id", or "org/scope/id" for a role
// owned by a node below its organization.
func (r *Role) Key() string {
	if r.Scope != "" && r.Scope != r.Org {
		return r.Org + "/" + r.Scope + "/" + r.ID
	}
	return r.Org + "/" + r.ID
}

// Key returns a binding's key: its id.
func (b *Binding) Key() string { return b.ID }

// Key returns an offer's key: its id.
func (o *Offer) Key() string { return o.ID }

// Invitation is a pending invitation of an email address into a scope node,
// with the role or default role it will give once accepted.
type Invitation struct {
	ID          string    `json:"id"`
	Org         string    `json:"org"`
	Scope       string    `json:"scope"`
	Email       string    `json:"email"`
	Role        string    `json:"role,omitempty"`
	DefaultRole string    `json:"default_role,omitempty"`
	State       string    `json:"state"` // pending, accepted, revoked, expired
	InvitedBy   string    `json:"invited_by"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires,omitzero"`
	// LinkHash is the SHA-256 (hex) of the secret of the invitation's
	// link; the secret itself is returned once, by the act that made the
	// link (invite, resend_invitation), and never stored.
	LinkHash string `json:"link_hash,omitempty"`
}

// Key returns an invitation's key: its id.
func (i *Invitation) Key() string { return i.ID }

// Domain is an email domain an organization registered: users with an
// address there join it automatically.
type Domain struct {
	Org    string `json:"org"`
	Domain string `json:"domain"`
}

// Key returns a domain's key: the domain, lower case.
func (d *Domain) Key() string { return strings.ToLower(d.Domain) }

// AuditEvent records one admin act: who did what to what, the state before
// and after, the revision it committed at, and the decision path that
// allowed it.
type AuditEvent struct {
	ID       string          `json:"id"`
	Org      string          `json:"org"`
	Actor    string          `json:"actor"`
	Act      string          `json:"act"`
	Target   string          `json:"target"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
	Revision Revision        `json:"revision"`
	Decision string          `json:"decision,omitempty"`
	At       time.Time       `json:"at"`
}

// Key returns an audit event's key: its id.
func (a *AuditEvent) Key() string { return a.ID }

// APIKey is a credential for the API. An organization's key acts as one
// user of that organization and reaches nothing of another; the operator's
// key (Org empty) acts as the platform operator. The store keeps only a
// hash of the secret. API keys are credentials, not authorization data:
// they are neither in the change log nor in snapshots.
type APIKey struct {
	ID      string    `json:"id"`
	Org     string    `json:"org,omitempty"`
	User    string    `json:"user,omitempty"`
	Name    string    `json:"name,omitempty"`
	Hash    []byte    `json:"hash"` // SHA-256 of the secret
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitzero"`
}

// Snapshot is everything the store holds for building an engine, as of one
// revision.
type Snapshot struct {
	Revision     Revision
	Scopes       []Scope
	Users        []User
	Memberships  []Membership
	Groups       []Group
	GroupMembers []GroupMember
	Resources    []Resource
	Roles        []Role
	Bindings     []Binding
	Offers       []Offer
}

// Tx is one write transaction. Each method records a change; none is
// visible to readers until the transaction commits, and if the function
// running the transaction returns an error, nothing of it is.
//
// Create fails with Conflict when the object exists; Replace with NotFound
// when it does not; Delete with NotFound when it does not. A binding, an
// offer or an invitation created with an empty ID is given one (set on the
// pointer). Objects are checked for the store's own integrity: ids present
// (Invalid otherwise), references to existing objects, and deleting
// something others still refer to, are FailedPrecondition naming the other
// object. An object's organization is fixed at creation. A failed call
// changes nothing and leaves the transaction usable. The model's rules are
// the engine's and the admin layer's business. storetest states every rule
// precisely; all back ends pass it.
type Tx interface {
	// Revision is the revision this transaction will commit at.
	Revision() Revision

	CreateScope(Scope) error
	ReplaceScope(Scope) error
	CreateUser(User) error
	ReplaceUser(User) error
	CreateMembership(Membership) error
	ReplaceMembership(Membership) error
	CreateGroup(Group) error
	ReplaceGroup(Group) error
	CreateGroupMember(GroupMember) error
	CreateResource(Resource) error
	ReplaceResource(Resource) error
	CreateRole(Role) error
	ReplaceRole(Role) error
	CreateBinding(*Binding) error
	CreateOffer(*Offer) error
	ReplaceOffer(Offer) error
	CreateInvitation(*Invitation) error
	ReplaceInvitation(Invitation) error
	CreateDomain(Domain) error
	AppendAudit(*AuditEvent) error

	// CreateAPIKey stores a key (given an ID when it has none): Conflict
	// if the ID is taken; its Org must be an organization and its User a
	// user (FailedPrecondition otherwise); an organization's key needs a
	// user, the operator's has none (Invalid otherwise).
	CreateAPIKey(*APIKey) error
	// RevokeAPIKey marks a key revoked at the given time (NotFound if
	// there is no such key; revoking twice keeps the first time).
	RevokeAPIKey(id string, at time.Time) error

	// Get reads the object of a kind with a key, as this transaction sees
	// it (its own writes included), into v, a pointer to the kind's type
	// (*Scope for ObjScope, *Binding for ObjBinding, ...). It reports
	// whether the object exists. Reads inside a transaction see a state no
	// concurrent transaction changes before this one commits, so a check
	// made on what Get and Find return still holds at commit.
	Get(kind ObjectKind, key string, v any) (found bool, err error)

	// LastChange returns the revision of the last change to an object (this
	// transaction's, if it changed it), or 0 when the change log has none.
	// A caller that read an object at some revision uses it to refuse an
	// edit based on an older state (optimistic concurrency).
	LastChange(kind ObjectKind, key string) (Revision, error)

	// Find returns the keys of the objects the filter selects (as for
	// DeleteWhere, whose filter rules apply), in key order, as this
	// transaction sees them.
	Find(Filter) ([]string, error)

	// Delete removes one object by kind and key (see the Key methods).
	Delete(kind ObjectKind, key string) error

	// DeleteWhere deletes every object the filter selects, each logged as
	// by Delete, and returns how many it deleted. Objects selected together
	// may refer to one another (a scope and the scopes below it, a resource
	// and those below it); they go together. While an object not selected
	// still refers to a selected one, it fails with FailedPrecondition
	// naming both, and deletes nothing.
	DeleteWhere(Filter) (int, error)

	// MoveScope puts scope id under a new parent, which may be in another
	// organization. Everything placed in the scope or below it moves along:
	// the scopes below it, memberships, groups and their members, custom
	// roles owned there, resources living there and those below them,
	// bindings at those scopes or on those resources, offers of those
	// resources, invitations. Each object whose organization changes is
	// logged as a replacement reporting the new one. While something that
	// moves refers to something that stays in the old organization, or the
	// other way round (a binding held by a group that stays, a resource
	// built from one that stays or assigned to a group that stays), it
	// fails with FailedPrecondition naming both, and moves nothing. An
	// organization cannot move (Invalid), nor a scope below itself.
	MoveScope(id, parent string) error

	// MoveResource puts a resource in scope, or under parent (give one of
	// them), which may be in another organization; the resources below it,
	// and the bindings and offers on them, move along as MoveScope says.
	MoveResource(ref ResourceRef, scope string, parent *ResourceRef) error
}

// Filter selects objects of one kind for DeleteWhere. Every field given
// must match; Kind and at least one other field are required, so a filter
// never selects everything by accident. A field the kind does not have is
// Invalid.
//
//   - Org: objects of that organization (every kind but users and audit
//     events).
//   - Scope: objects in that scope node or below it: scopes (the node
//     itself and those below), memberships, groups, custom roles (owned
//     there), resources (living there, or below a resource that does),
//     bindings (at such a node or on such a resource), offers (of such a
//     resource), invitations.
//   - Type: resources of that type; bindings on and offers of resources of
//     that type.
//   - User: memberships, group members, bindings held by, and offers to,
//     that user.
//   - Group: group members of, and bindings held by, that group.
type Filter struct {
	Kind  ObjectKind `json:"kind"`
	Org   string     `json:"org,omitempty"`
	Scope string     `json:"scope,omitempty"`
	Type  string     `json:"type,omitempty"`
	User  string     `json:"user,omitempty"`
	Group string     `json:"group,omitempty"`
}

// AuditQuery selects audit events: those of Org (required) and, for each
// field given, with that Actor, Act and Target, committed at or after Since
// and before Until.
type AuditQuery struct {
	Org    string    `json:"org"`
	Actor  string    `json:"actor,omitempty"`
	Act    string    `json:"act,omitempty"`
	Target string    `json:"target,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
	Page   Page      `json:"page,omitzero"`
}

// Page asks for one page of a listing: at most Limit items after the
// opaque cursor After (empty for the first page).
type Page struct {
	After string
	Limit int
}

// Writer runs write transactions.
type Writer interface {
	// Update runs fn in one transaction and commits it, returning the
	// revision it committed at. If fn returns an error, or the commit fails,
	// nothing is written and the error is returned. An fn that writes
	// nothing commits nothing and Update returns the current head. Update
	// may run fn again after a serialization conflict or a busy database,
	// so fn must not have effects outside the transaction.
	Update(ctx context.Context, fn func(Tx) error) (Revision, error)
}

// Reader reads committed state.
type Reader interface {
	// Snapshot returns everything needed to build an engine, consistent as
	// of the revision it reports.
	Snapshot(ctx context.Context) (*Snapshot, error)
	// Changes returns committed changes with revisions greater than after,
	// in order, in whole revisions only (a caller never sees half a
	// transaction): as many revisions as fit in limit changes, but always
	// the first one whole however large. limit must be at least 1.
	Changes(ctx context.Context, after Revision, limit int) ([]Change, error)
	// Head returns the latest committed revision.
	Head(ctx context.Context) (Revision, error)
	// APIKey reads a key by ID; found is false when there is none.
	APIKey(ctx context.Context, id string) (key APIKey, found bool, err error)
	// APIKeys lists the keys of an organization ("" for the operator's),
	// revoked ones included, by ID.
	APIKeys(ctx context.Context, org string) ([]APIKey, error)
	// Audit lists an organization's audit events that the query selects,
	// newest first, one page at a time; a Page.Limit of 0 asks for the
	// store's default page size.
	Audit(ctx context.Context, q AuditQuery) (events []AuditEvent, next string, err error)
}

// Store is rolecall's storage: the embedded SQLite file by default,
// PostgreSQL when several replicas share one. It is safe for concurrent
// use.
type Store interface {
	Reader
	Writer
	Close() error
}

// Loader is implemented by stores that can write many objects at once
// faster than through Update: an import, the first load of an
// organization. Load creates every object of the snapshot (its Revision is
// ignored) in one transaction at one revision, with the same integrity
// checks, change log and errors as the equivalent Update; on any error
// nothing is written.
type Loader interface {
	Load(ctx context.Context, objects *Snapshot) (Revision, error)
}

// filterFields says which Filter fields select objects of each kind.
var filterFields = map[ObjectKind][]string{
	ObjScope:       {"org", "scope"},
	ObjUser:        nil,
	ObjMembership:  {"org", "scope", "user"},
	ObjGroup:       {"org", "scope"},
	ObjGroupMember: {"org", "user", "group"},
	ObjResource:    {"org", "scope", "type"},
	ObjRole:        {"org", "scope"},
	ObjBinding:     {"org", "scope", "type", "user", "group"},
	ObjOffer:       {"org", "scope", "type", "user"},
	ObjInvitation:  {"org", "scope"},
	ObjDomain:      {"org"},
}

// Check reports what is wrong with a filter for DeleteWhere, as an Invalid
// error from op, or nil: a missing or unknown kind, audit events, a field
// the kind does not have, or no field besides the kind.
func (f Filter) Check(op string) error {
	name := string(f.Kind) + " filter"
	allowed, ok := filterFields[f.Kind]
	switch {
	case f.Kind == "":
		return E(op, Invalid, "filter", "has no kind; give the kind of objects to select")
	case f.Kind == ObjAudit:
		return E(op, Invalid, name, "selects audit events, which are listed with Audit and never deleted")
	case !ok:
		return E(op, Invalid, name, fmt.Sprintf("%q is not a kind of stored object", f.Kind))
	}
	var given, extra []string
	for _, fv := range [][2]string{{"org", f.Org}, {"scope", f.Scope}, {"type", f.Type}, {"user", f.User}, {"group", f.Group}} {
		if fv[1] == "" {
			continue
		}
		given = append(given, fv[0])
		if !slices.Contains(allowed, fv[0]) {
			extra = append(extra, fv[0])
		}
	}
	can := "nothing: delete them one by one"
	if len(allowed) > 0 {
		can = strings.Join(allowed, ", ")
	}
	switch {
	case len(extra) > 0:
		return E(op, Invalid, name, fmt.Sprintf("gives %s, which objects of kind %s lack; they can be selected by %s", strings.Join(extra, ", "), f.Kind, can))
	case len(given) == 0:
		return E(op, Invalid, name, fmt.Sprintf("gives only a kind, which would select every %s; give also one of %s", f.Kind, can))
	}
	return nil
}

// objectTypes holds the Go type of each kind's objects.
var objectTypes = map[ObjectKind]reflect.Type{
	ObjScope:       reflect.TypeFor[Scope](),
	ObjUser:        reflect.TypeFor[User](),
	ObjMembership:  reflect.TypeFor[Membership](),
	ObjGroup:       reflect.TypeFor[Group](),
	ObjGroupMember: reflect.TypeFor[GroupMember](),
	ObjResource:    reflect.TypeFor[Resource](),
	ObjRole:        reflect.TypeFor[Role](),
	ObjBinding:     reflect.TypeFor[Binding](),
	ObjOffer:       reflect.TypeFor[Offer](),
	ObjInvitation:  reflect.TypeFor[Invitation](),
	ObjDomain:      reflect.TypeFor[Domain](),
	ObjAudit:       reflect.TypeFor[AuditEvent](),
}

// GoType returns the Go type of the kind's objects (Scope for ObjScope,
// ...), or nil for an unknown kind.
func (k ObjectKind) GoType() reflect.Type { return objectTypes[k] }
