package rolecall

import (
	"fmt"
	"strings"
	"time"
)

// Scope is a node of the tenancy tree: an organization (the tenant level of
// the model) or any node below it, such as a workspace, project or inbox.
// Levels are named by the model. IDs are unique across all nodes.
type Scope struct {
	ID     string `json:"id"`
	Level  string `json:"level"`
	Parent string `json:"parent,omitempty"` // empty for a tenant-level node
	Name   string `json:"name,omitempty"`
	// Attrs are platform-written attributes (a workspace's plan, say).
	Attrs map[string]any `json:"attrs,omitempty"`
}

// User is one global identity. A user takes part in an organization through
// Memberships; rights come only from bindings, implicit grants and offers.
type User struct {
	ID    string         `json:"id"`
	Name  string         `json:"name,omitempty"`
	Email string         `json:"email,omitempty"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Membership says a user belongs to a scope node (an organization, a
// workspace, a project). It grants nothing by itself. DefaultRole is the
// member's default role at that node, used where the model resolves the
// symbolic default role (a group's projects, a manual assignment without a
// role).
type Membership struct {
	User        string `json:"user"`
	Scope       string `json:"scope"`
	DefaultRole string `json:"default_role,omitempty"`
}

// Group is a set of users that holds bindings and implicit grants together:
// a group, a team, a workforce team. It lives in one scope node (its
// organization or workspace). AllMembers groups (InfoSum's All Users) contain
// every member of that node, computed rather than copied.
type Group struct {
	ID         string         `json:"id"`
	Scope      string         `json:"scope"`
	Name       string         `json:"name,omitempty"`
	AllMembers bool           `json:"all_members,omitempty"`
	Attrs      map[string]any `json:"attrs,omitempty"`
}

// GroupMember puts a user in a group.
type GroupMember struct {
	Group string `json:"group"`
	User  string `json:"user"`
}

// ResourceRef names a resource by type and id.
type ResourceRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// String formats the reference as "type:id".
func (r ResourceRef) String() string { return r.Type + ":" + r.ID }

// IsZero reports whether the reference is empty.
func (r ResourceRef) IsZero() bool { return r.Type == "" && r.ID == "" }

// ParseResourceRef parses "type:id".
func ParseResourceRef(s string) (ResourceRef, error) {
	t, id, ok := strings.Cut(s, ":")
	if !ok || t == "" || id == "" {
		return ResourceRef{}, E("rolecall.ParseResourceRef", Invalid, s, `a resource is written "type:id", e.g. "dataset:claims"`)
	}
	return ResourceRef{Type: t, ID: id}, nil
}

// Resource is something checked: a dataset, a source, a label, a document.
// It lives either directly in a scope node (Scope) or under a parent
// resource (Parent), whose scope it inherits. Inputs name the resources it is
// built from, by relation ("sources"), possibly in other scope nodes. Groups
// are the groups or teams it is assigned to. Fields maps the resource's
// fields to their class ("sensitive"), for fields the model withholds from
// readers lacking the class's permission. Attrs are platform-written state
// read by conditions (a workflow step, a lock holder, published).
type Resource struct {
	Type   string                   `json:"type"`
	ID     string                   `json:"id"`
	Scope  string                   `json:"scope,omitempty"`
	Parent *ResourceRef             `json:"parent,omitempty"`
	Owner  string                   `json:"owner,omitempty"`
	Groups []string                 `json:"groups,omitempty"`
	Inputs map[string][]ResourceRef `json:"inputs,omitempty"`
	Fields map[string]string        `json:"fields,omitempty"`
	Attrs  map[string]any           `json:"attrs,omitempty"`
}

// Ref returns the resource's reference.
func (r *Resource) Ref() ResourceRef { return ResourceRef{Type: r.Type, ID: r.ID} }

// SubjectKind says whether a subject is a user or a group.
type SubjectKind uint8

// Subject kinds.
const (
	SubjectUser SubjectKind = iota
	SubjectGroup
)

// String returns "user" or "group".
func (k SubjectKind) String() string {
	if k == SubjectGroup {
		return "group"
	}
	if k == SubjectUser {
		return "user"
	}
	return fmt.Sprintf("SubjectKind(%d)", uint8(k))
}

// MarshalText writes the kind as "user" or "group".
func (k SubjectKind) MarshalText() ([]byte, error) {
	if k > SubjectGroup {
		return nil, E("rolecall.SubjectKind", Invalid, k.String(), `a subject is a "user" or a "group"`)
	}
	return []byte(k.String()), nil
}

// UnmarshalJSON reads "user" or "group" (or 0 and 1, their numbers).
func (k *SubjectKind) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"user"`, `0`:
		*k = SubjectUser
	case `"group"`, `1`:
		*k = SubjectGroup
	default:
		return E("rolecall.SubjectKind", Invalid, string(b), `a subject is a "user" or a "group"`)
	}
	return nil
}

// SubjectRef names the holder of a binding: a user or a group.
type SubjectRef struct {
	Kind SubjectKind `json:"kind"`
	ID   string      `json:"id"`
}

// UserSubject returns a SubjectRef for a user.
func UserSubject(id string) SubjectRef { return SubjectRef{Kind: SubjectUser, ID: id} }

// GroupSubject returns a SubjectRef for a group.
func GroupSubject(id string) SubjectRef { return SubjectRef{Kind: SubjectGroup, ID: id} }

// String formats the subject as "user:id" or "group:id".
func (s SubjectRef) String() string {
	if s.Kind == SubjectGroup {
		return "group:" + s.ID
	}
	return "user:" + s.ID
}

// Binding gives a subject a role, or a direct set of permissions where the
// model allows it, at a scope node or on one resource. A binding at a node
// reaches the node and everything below it. Wildcard marks a binding at an
// organization written as "*" (every node of the organization, including
// nodes created later); it is evaluated like any binding at that node and
// kept for display and for the model's admin rules. DefaultRole binds the
// member's default role, resolved per member (a group's projects). NotBefore
// and NotAfter, when set, bound the binding in time.
type Binding struct {
	ID          string       `json:"id,omitempty"`
	Subject     SubjectRef   `json:"subject"`
	Role        string       `json:"role,omitempty"`
	DefaultRole bool         `json:"default_role,omitempty"`
	Permissions []string     `json:"permissions,omitempty"`
	Scope       string       `json:"scope,omitempty"`
	Wildcard    bool         `json:"wildcard,omitempty"`
	Resource    *ResourceRef `json:"resource,omitempty"`
	NotBefore   time.Time    `json:"not_before,omitzero"`
	NotAfter    time.Time    `json:"not_after,omitzero"`
}

// Grant is one permission of a custom role, optionally qualified by the
// model's named qualifiers (all must hold).
type Grant struct {
	Permission string   `json:"permission"`
	Qualifiers []string `json:"qualifiers,omitempty"`
}

// Role is a custom role defined by one organization (Org is the tenant-level
// scope node that owns it), within the limits of the model. Scope, when set,
// is a node below the organization that owns the role instead (a workspace,
// where the model counts custom roles per workspace); the role can be bound
// only at or below its owner. A role may shadow a template role of the model
// by using the same id.
type Role struct {
	ID          string  `json:"id"`
	Org         string  `json:"org"`
	Scope       string  `json:"scope,omitempty"`
	Name        string  `json:"name,omitempty"`
	Description string  `json:"description,omitempty"`
	Grants      []Grant `json:"grants"`
}

// Offer states.
const (
	OfferPending     = "pending"
	OfferAccepted    = "accepted"
	OfferRejected    = "rejected"
	OfferRevoked     = "revoked"
	OfferSurrendered = "surrendered"
)

// Offer is an offer of access to one resource of one organization, made to
// one user (usually of another organization). It grants what the model's
// offer kind grants, only while accepted and within its time bounds.
type Offer struct {
	ID        string      `json:"id"`
	Kind      string      `json:"kind"`
	Resource  ResourceRef `json:"resource"`
	Recipient string      `json:"recipient"`
	State     string      `json:"state"`
	NotBefore time.Time   `json:"not_before,omitzero"`
	NotAfter  time.Time   `json:"not_after,omitzero"`
}

// Target is what a check is about: a scope node, an existing resource, or a
// resource not yet created (Proposed, for checks before creating one). Item
// is the optional second argument of an action (the verbatim viewed through
// a dataset).
type Target struct {
	Scope    string       `json:"scope,omitempty"`
	Resource ResourceRef  `json:"resource,omitzero"`
	Proposed *Resource    `json:"proposed,omitempty"`
	Item     *ResourceRef `json:"item,omitempty"`
}

// ScopeTarget returns a Target for a scope node.
func ScopeTarget(id string) Target { return Target{Scope: id} }

// ResourceTarget returns a Target for an existing resource.
func ResourceTarget(typ, id string) Target { return Target{Resource: ResourceRef{Type: typ, ID: id}} }

// String formats the target for messages.
func (t Target) String() string {
	var s string
	switch {
	case t.Proposed != nil:
		s = "new " + t.Proposed.Type
		if t.Proposed.ID != "" {
			s += " " + t.Proposed.ID
		}
	case !t.Resource.IsZero():
		s = t.Resource.String()
	default:
		s = t.Scope
	}
	if t.Item != nil {
		s += fmt.Sprintf(" (item %s)", t.Item)
	}
	return s
}
