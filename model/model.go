package model

import (
	"github.com/rolecall/rolecall/condition"
)

// Model is a compiled model: plain data the engine reads without further
// parsing. Permissions are numbered; every set of permissions is a Bits
// closed under implication. A Model is immutable and safe for concurrent
// use.
type Model struct {
	ID          string
	Name        string
	Description string
	File        string            // where it was loaded from
	Assumptions map[string]string // documented assumptions, by id

	Levels   []*Level // top down; Levels[i].Index == i
	Tenant   *Level   // the unit of isolation (organization, company, ...)
	Operator Operator
	// SubjectAttributes are user attributes conditions read as subject.x.
	SubjectAttributes []Attribute
	Flags             []*Flag
	Categories        []*Category
	Perms             []*Permission // Perms[i].Index == i
	Qualifiers        []*Qualifier
	Resources         []*ResourceType
	Roles             []*Role // built-in and template roles
	Actions           []*Action
	Offers            []*OfferKind
	Plans             []*Plan

	Members     MembersPolicy
	Groups      GroupsPolicy
	Direct      DirectPolicy
	CustomRoles CustomRolePolicy
	Admin       AdminPolicy

	// Words is the length of every Bits of this model.
	Words int
	// Env compiles conditions against this model's attributes; custom
	// roles and scenario files use it.
	Env *condition.Env

	levels     map[string]*Level
	flags      map[string]*Flag
	categories map[string]*Category
	perms      map[string]*Permission // ids and aliases
	qualifiers map[string]*Qualifier
	resources  map[string]*ResourceType
	roles      map[string]*Role // ids and aliases
	actions    map[string]*Action
	offers     map[string]*OfferKind
}

// Level is a level of the scope tree (organization, workspace, project,
// inbox).
type Level struct {
	ID          string
	Name        string
	Plural      string
	Description string
	Parent      *Level
	Index       int
	Depth       int // 0 for the top level
	Tenant      bool
	// Wildcard is the token ("*") by which a binding at a tenant-level node
	// is written when it stands for every node of the organization.
	Wildcard   string
	Attributes []Attribute
}

// Operator describes the platform operator, who stands above every
// organization.
type Operator struct {
	Name        string
	Description string
}

// Flag is a permission flag: the five built-in ones (sensitive,
// programmatic, api_only, ui_only, default_member) and any the model adds.
type Flag struct {
	ID          string
	Name        string
	Description string
	Builtin     bool
}

// Category groups permissions for display.
type Category struct {
	ID          string
	Name        string
	Description string
	Flags       []string // default flags of its permissions
	Perms       []*Permission
}

// Permission is an entry of the catalog.
type Permission struct {
	ID          string
	Name        string
	Description string
	Category    *Category
	Index       int
	Implies     []*Permission // as written
	Closure     Bits          // itself and everything it implies, transitively
	ImpliedBy   []*Permission // every other permission whose closure holds it
	Flags       []string
	Aliases     []string
	// Qualifiers are intrinsic: every grant of this permission carries them
	// (view_own_labels is view labels, own only).
	Qualifiers []*Qualifier
	// Grantable is false for permissions given only by implicit grants and
	// offers; roles and direct grants cannot hold them.
	Grantable bool
}

// HasFlag reports whether the permission carries a flag.
func (p *Permission) HasFlag(f string) bool {
	for _, x := range p.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// Qualifier is a named condition over subject, resource and context.
type Qualifier struct {
	ID          string
	Name        string
	Description string
	When        string
	Program     *condition.Program
}

// Attribute is a typed attribute read by conditions.
type Attribute struct {
	Name        string
	Type        condition.Type
	Description string
}

// ResourceType is a kind of checked object.
type ResourceType struct {
	ID          string
	Name        string
	Description string
	Index       int
	Level       *Level        // home level (inherited from the parent type)
	Parent      *ResourceType // nil when the type lives directly in a scope node
	Owner       string        // name of the owner relation ("created_by"), "" if none
	Groups      bool          // may be assigned to groups/teams
	// External types are kept by the platform rather than stored: a check
	// through the AuthZEN API may name one the store does not hold and
	// describe it (owner, attributes), and it is checked as a proposed
	// resource.
	External   bool
	Inputs     []*Input
	Attributes []Attribute
	Classes    []*FieldClass
	Fields     map[string]string // static field -> class
	Implicit   []*Implicit
}

// Input is a relation from a resource to the resources it is built from.
type Input struct {
	Name       string
	Type       *ResourceType
	Min, Max   int // Max 0 = unbounded
	CrossScope bool
}

// FieldClass is a class of fields withheld from readers lacking UnlockedBy on
// the object.
type FieldClass struct {
	ID         string
	UnlockedBy *Permission
}

// Implicit relations.
const (
	RelOwner       = "owner"
	RelGroupMember = "group_member"
)

// Implicit is a grant without a role, by relation: the owner of the
// resource, or the members of a group the resource is assigned to.
type Implicit struct {
	Relation   string
	Perms      []*Permission
	Grants     Bits // closed
	Qualifiers []*Qualifier
	// Set is what the grant gives, closed and qualified like a role's
	// grants (its qualifiers and each permission's intrinsic ones).
	Set *GrantSet
}

// RoleKind says where a role comes from.
type RoleKind uint8

// Role kinds.
const (
	Builtin  RoleKind = iota // immutable, defined by the model
	Template                 // defined by the model, copied into each organization and editable there
	Custom                   // defined by an organization
)

// String names the kind: builtin, template or custom.
func (k RoleKind) String() string {
	switch k {
	case Template:
		return "template"
	case Custom:
		return "custom"
	}
	return "builtin"
}

// Role is a named set of grants.
type Role struct {
	ID           string
	Name         string
	Description  string
	Kind         RoleKind
	Org          string       // custom roles: the owning organization
	BindableAt   []string     // level ids, the wildcard token, or "resource:<type>"
	Qualifiers   []*Qualifier // role-wide
	Grants       *GrantSet
	ByLevel      map[int]*GrantSet // level index -> grants for bindings at that level
	AssignableBy string            // "operator", a permission id, or "" (anyone allowed by the admin rules)
	Aliases      []string
	Settings     map[string]string
	All          bool // grants every permission, including ones added later
}

// GrantsAt returns the grants of the role for a binding at a level.
func (r *Role) GrantsAt(level int) *GrantSet {
	if g, ok := r.ByLevel[level]; ok {
		return g
	}
	return r.Grants
}

// GrantSet is what a role (or a direct grant) gives, closed under
// implication: Plain holds unqualified permissions; each Qualified entry
// holds permissions given only where all its qualifiers hold. An
// unqualified grant covers a qualified one, so no permission of Plain
// appears in Qualified.
type GrantSet struct {
	Plain     Bits
	Qualified []QualifiedBits
	Items     []GrantItem // as written, for explanations
	Any       Bits        // Plain and every Qualified set together
}

// QualifiedBits is a set of permissions held under qualifiers.
type QualifiedBits struct {
	Qualifiers []*Qualifier
	Bits       Bits
}

// GrantItem is one grant as written: a permission and its qualifiers.
type GrantItem struct {
	Perm       *Permission
	Qualifiers []*Qualifier
}

// Action is a named operation that needs a tree of requirements, possibly on
// several related objects, and may have state preconditions.
type Action struct {
	ID          string
	Name        string
	Description string
	On          []string // resource type or level ids the action applies to; empty = any
	Item        *ResourceType
	NeedsItem   bool // its requirements or fields read the item, so a check must give one
	Requires    *Req
	When        []*Precondition
	Fields      string // "resource" or "item": whose fields the action reads
	Channel     string
	Actor       string // "operator" for operator-only actions
	Aliases     []string
}

// ReqKind is the kind of a requirement node.
type ReqKind uint8

// Requirement node kinds.
const (
	ReqPerm ReqKind = iota
	ReqAll
	ReqAny
)

// Req is a requirement tree node. A ReqPerm leaf needs Perm on the objects
// Rel names; ReqAll and ReqAny combine their children. If, when set, makes
// the node apply only where it holds (otherwise the node is met).
type Req struct {
	Kind   ReqKind
	Perm   *Permission
	Rel    Relation
	Kids   []*Req
	If     *condition.Program
	IfExpr string
	// Local is set on ReqAll/ReqAny nodes whose children are all
	// unconditional permission leaves on the target itself; LocalBits is
	// their permissions, so the engine answers them with one AND.
	Local     bool
	LocalBits Bits
}

// Relation names objects related to a check's target: a base ("resource" or
// "item") followed by steps, each "parent", an input relation name (every
// input), an ancestor's type or level id, or a descendant's type or level id
// (every resource or node of it below). A leaf on a relation is met when the
// permission holds on every object named, or, when Any is set (a step
// written with "[any]"), on at least one.
type Relation struct {
	Base  string
	Steps []string
	Text  string
	Any   bool
}

// IsTarget reports whether the relation is the target itself.
func (r Relation) IsTarget() bool { return r.Base == "resource" && len(r.Steps) == 0 }

// Precondition is a state condition of an action that holds whatever the
// subject's roles.
type Precondition struct {
	ID      string
	Check   string
	Program *condition.Program
	Reason  *condition.Template
}

// OfferKind declares offers of access between organizations.
type OfferKind struct {
	ID          string
	Name        string
	Description string
	Resource    *ResourceType
	Perms       []*Permission
	Grants      Bits
	Set         *GrantSet // what an accepted offer gives, closed and qualified
	UsableWhen  []*condition.Program
	UsableText  []string
	Transitions []Transition
}

// Transition is a change of an offer's state and the right it needs.
type Transition struct {
	Act      string
	From     []string
	To       string
	By       string // "owner" or "recipient"
	Requires *Permission
}

// Plan is a plan or tier and the features and limits it brings.
type Plan struct {
	ID       string
	Name     string
	Features []string
	Limits   map[string]int
}

// MembersPolicy says how memberships work.
type MembersPolicy struct {
	// DefaultRoleAt is the level at which members carry a default role.
	DefaultRoleAt *Level
	// DefaultRoleFallback is the default role of a member who has none.
	DefaultRoleFallback *Role
	// OnJoin gives direct grants to a user joining a node of a level.
	OnJoin map[int]Bits
	// OnJoinConfigurable lists the levels whose on_join set each
	// organization may change.
	OnJoinConfigurable map[int]bool
}

// GroupsPolicy says how groups or teams work.
type GroupsPolicy struct {
	Enabled     bool
	Name        string // "group", "team"
	Plural      string
	At          []*Level
	BindableAt  []string
	DefaultRole bool // group bindings may bind each member's default role
	Builtin     []BuiltinGroup
	Kinds       []string
}

// BuiltinGroup is a group every organization has.
type BuiltinGroup struct {
	ID         string
	Name       string
	AllMembers bool
	Immutable  bool
}

// DirectPolicy says where permissions may be bound directly, without a role.
type DirectPolicy struct {
	At []*Level // empty: never
}

// Allowed reports whether direct grants may be bound at a level.
func (d DirectPolicy) Allowed(level *Level) bool {
	for _, l := range d.At {
		if l == level {
			return true
		}
	}
	return false
}

// CustomRolePolicy limits the custom roles an organization may define.
type CustomRolePolicy struct {
	Allowed    bool
	BindableAt []string
	Max        int // -1: unlimited
	Per        *Level
	Feature    string
	Grantable  Bits
}

// AdminPolicy is what the admin layer enforces.
type AdminPolicy struct {
	Acts  []*Act
	Rules []*Rule
	acts  map[string]*Act
}

// Act is an admin act and the right that authorizes it.
type Act struct {
	ID           string
	Requires     string // an action or permission id
	On           string // where it is checked
	Actor        string // "operator" for operator-only acts
	Precondition *condition.Program
	Description  string
}

// Rule is an admin rule from the closed library, with its parameters.
type Rule struct {
	Name   string
	Params any // one of the *XxxRule types
}
