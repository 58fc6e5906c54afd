package model

import (
	"github.com/rolecall/rolecall/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// This file declares the shape of a model file. Each struct is decoded
// strictly from YAML: unknown keys are errors that name the valid ones. A
// list of entries with an `id` may also be written as a mapping from id to
// entry. docs/model.md is the reference with an example of every field.

// Pos is a position in the model file.
type Pos = yamlx.Pos

// str is a scalar with its position.
type str = yamlx.Str

type fileDoc struct {
	Model       string            `yaml:"model"`
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Meta        map[string]any    `yaml:"meta"`
	Assumptions map[string]string `yaml:"assumptions"`

	Levels      []levelDoc     `yaml:"levels" keyed:"id"`
	Operator    *operatorDoc   `yaml:"operator"`
	Subjects    *subjectsDoc   `yaml:"subjects"`
	Flags       []flagDoc      `yaml:"flags" keyed:"id"`
	Categories  []categoryDoc  `yaml:"categories" keyed:"id"`
	Permissions []permDoc      `yaml:"permissions" keyed:"id"`
	Qualifiers  []qualifierDoc `yaml:"qualifiers" keyed:"id"`
	Resources   []resourceDoc  `yaml:"resources" keyed:"id"`
	Roles       []roleDoc      `yaml:"roles" keyed:"id"`
	Members     *membersDoc    `yaml:"members"`
	Groups      *groupsDoc     `yaml:"groups"`
	Direct      *directDoc     `yaml:"direct_grants"`
	CustomRoles *customDoc     `yaml:"custom_roles"`
	Plans       []planDoc      `yaml:"plans" keyed:"id"`
	Actions     []actionDoc    `yaml:"actions" keyed:"id"`
	Offers      []offerDoc     `yaml:"offers" keyed:"id"`
	Admin       *adminDoc      `yaml:"admin"`
	Pos
}

type levelDoc struct {
	ID          str            `yaml:"id"`
	Name        string         `yaml:"name"`
	Plural      string         `yaml:"plural"`
	Description string         `yaml:"description"`
	Parent      str            `yaml:"parent"`
	Tenant      bool           `yaml:"tenant"`
	Wildcard    string         `yaml:"wildcard"` // token for a binding covering the whole organization, e.g. "*"
	Attributes  []attrDoc      `yaml:"attributes" keyed:"name"`
	Meta        map[string]any `yaml:"meta"`
	Pos
}

type operatorDoc struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Meta        map[string]any `yaml:"meta"`
	Pos
}

// subjectsDoc declares attributes of users that conditions read as
// subject.<name> (written by the platform, like resource attributes).
type subjectsDoc struct {
	Attributes []attrDoc `yaml:"attributes" keyed:"name"`
	Pos
}

type flagDoc struct {
	ID          str            `yaml:"id"`
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Meta        map[string]any `yaml:"meta"`
	Pos
}

type categoryDoc struct {
	ID          str            `yaml:"id"`
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Flags       []str          `yaml:"flags"`
	Meta        map[string]any `yaml:"meta"`
	Pos
}

type permDoc struct {
	ID          str            `yaml:"id"`
	Name        string         `yaml:"name"`
	Category    str            `yaml:"category"`
	Description string         `yaml:"description"`
	Implies     []str          `yaml:"implies"`
	Flags       []str          `yaml:"flags"`
	ExceptFlags []str          `yaml:"except_flags"`
	Aliases     []str          `yaml:"aliases"`
	Qualifiers  strList        `yaml:"qualifiers"` // intrinsic: every grant of it carries these
	Grantable   *bool          `yaml:"grantable"`  // false: only implicit grants and offers give it
	Meta        map[string]any `yaml:"meta"`
	Pos
}

type qualifierDoc struct {
	ID          str            `yaml:"id"`
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	When        str            `yaml:"when"`
	Meta        map[string]any `yaml:"meta"`
	Pos
}

type attrDoc struct {
	Name        str    `yaml:"name"`
	Type        str    `yaml:"type"`
	Description string `yaml:"description"`
	Pos
}

// DecodeShort lets an attribute be written `step: string`.
func (a *attrDoc) DecodeShort(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	a.Type = str{V: n.Value, Pos: yamlx.NodePos(n)}
	a.Pos = yamlx.NodePos(n)
	return true
}

type inputDoc struct {
	Name       str    `yaml:"name"`
	Type       str    `yaml:"type"`
	Min        int    `yaml:"min"`
	Max        int    `yaml:"max"`
	CrossScope bool   `yaml:"cross_scope"`
	Desc       string `yaml:"description"`
	Pos
}

type fieldClassDoc struct {
	ID         str    `yaml:"id"`
	UnlockedBy str    `yaml:"unlocked_by"`
	Desc       string `yaml:"description"`
	Pos
}

type implicitDoc struct {
	Relation str     `yaml:"relation"` // owner | group_member
	Grants   []str   `yaml:"grants"`
	When     strList `yaml:"when"`
	Pos
}

type resourceDoc struct {
	ID           str             `yaml:"id"`
	Name         string          `yaml:"name"`
	Description  string          `yaml:"description"`
	Scope        str             `yaml:"scope"`    // home level
	Parent       str             `yaml:"parent"`   // or parent resource type
	Owner        string          `yaml:"owner"`    // name of the owner relation, e.g. created_by
	Groups       bool            `yaml:"groups"`   // may be assigned to groups/teams
	External     bool            `yaml:"external"` // kept by the platform; checks describe them
	Inputs       []inputDoc      `yaml:"inputs" keyed:"name"`
	Attributes   []attrDoc       `yaml:"attributes" keyed:"name"`
	FieldClasses []fieldClassDoc `yaml:"field_classes" keyed:"id"`
	Fields       map[string]str  `yaml:"fields"` // static field -> class
	Implicit     []implicitDoc   `yaml:"implicit"`
	Meta         map[string]any  `yaml:"meta"`
	Pos
}

type roleDoc struct {
	ID           str                  `yaml:"id"`
	Name         string               `yaml:"name"`
	Description  string               `yaml:"description"`
	Kind         str                  `yaml:"kind"` // builtin (default) | template
	BindableAt   []str                `yaml:"bindable_at"`
	When         strList              `yaml:"when"` // role-wide qualifiers
	Grants       grantsDoc            `yaml:"grants"`
	GrantsAt     map[string]grantsDoc `yaml:"grants_at"` // level -> grants replacing `grants` for bindings at that level
	AssignableBy str                  `yaml:"assignable_by"`
	Aliases      []str                `yaml:"aliases"`
	Settings     map[string]string    `yaml:"settings"`
	Meta         map[string]any       `yaml:"meta"`
	Pos
}

// grantsDoc is a role's grant list: `all`, `{all_except: [...]}`, or a list
// whose items are a permission id or a one-key mapping from a permission id
// to its qualifier(s).
type grantsDoc struct {
	Set       bool
	All       bool
	AllExcept []str
	Items     []grantDoc
	Pos
}

type grantDoc struct {
	Perm       str
	Qualifiers []str
}

type membersDoc struct {
	DefaultRole *defaultRoleDoc `yaml:"default_role"`
	OnJoin      []onJoinDoc     `yaml:"on_join"`
	Pos
}

type defaultRoleDoc struct {
	At       str `yaml:"at"`
	Fallback str `yaml:"fallback"`
	Pos
}

type onJoinDoc struct {
	At           str   `yaml:"at"`
	Flagged      str   `yaml:"grant_flagged"` // grant directly the permissions carrying this flag
	Permissions  []str `yaml:"grant"`
	Configurable bool  `yaml:"configurable"` // each organization may change the set (admin act set_default_permissions)
	Pos
}

type groupsDoc struct {
	Name        string       `yaml:"name"`
	Plural      string       `yaml:"plural"`
	At          []str        `yaml:"at"` // levels whose nodes own groups
	BindableAt  []str        `yaml:"bindable_at"`
	DefaultRole bool         `yaml:"default_role"` // group bindings may bind the member's default role
	Builtin     []builtinGrp `yaml:"builtin" keyed:"id"`
	Description string       `yaml:"description"`
	Kinds       []str        `yaml:"kinds"`
	Pos
}

type builtinGrp struct {
	ID         str    `yaml:"id"`
	Name       string `yaml:"name"`
	AllMembers bool   `yaml:"all_members"`
	Immutable  bool   `yaml:"immutable"`
	Pos
}

type directDoc struct {
	At []str `yaml:"at"`
	Pos
}

type customDoc struct {
	Allowed    *bool         `yaml:"allowed"`
	BindableAt []str         `yaml:"bindable_at"`
	Max        *int          `yaml:"max"`
	Per        str           `yaml:"per"`
	Feature    str           `yaml:"feature"`
	Grantable  *grantableDoc `yaml:"grantable"`
	Pos
}

type grantableDoc struct {
	Categories  []str `yaml:"categories"`
	Permissions []str `yaml:"permissions"`
	Pos
}

type planDoc struct {
	ID       str            `yaml:"id"`
	Name     string         `yaml:"name"`
	Features []str          `yaml:"features"`
	Limits   map[string]int `yaml:"limits"`
	Pos
}

type actionDoc struct {
	ID          str            `yaml:"id"`
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	On          []str          `yaml:"on"`
	Item        str            `yaml:"item"`
	Requires    *reqDoc        `yaml:"requires"`
	When        []whenDoc      `yaml:"when"`
	Fields      str            `yaml:"fields"` // resource | item: whose fields the action reads
	Channel     str            `yaml:"channel"`
	Actor       str            `yaml:"actor"` // operator: only the platform operator may do it
	Aliases     []str          `yaml:"aliases"`
	Meta        map[string]any `yaml:"meta"`
	Pos
}

type whenDoc struct {
	ID     str `yaml:"id"`
	Check  str `yaml:"check"`
	Reason str `yaml:"reason"`
	Pos
}

// reqDoc is a requirement tree node: exactly one of a leaf (permission on a
// relation), all_of, any_of, or a conditional `if` with all_of/any_of.
type reqDoc struct {
	Perm  str
	On    str
	AllOf []*reqDoc
	AnyOf []*reqDoc
	If    str
	Pos
}

type offerDoc struct {
	ID          str            `yaml:"id"`
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Resource    str            `yaml:"resource"`
	Grants      []str          `yaml:"grants"`
	UsableWhen  strList        `yaml:"usable_when"`
	Transitions []transDoc     `yaml:"transitions"`
	Meta        map[string]any `yaml:"meta"`
	Pos
}

type transDoc struct {
	Act      str   `yaml:"act"`
	From     []str `yaml:"from"`
	To       str   `yaml:"to"`
	By       str   `yaml:"by"` // owner | recipient
	Requires str   `yaml:"requires"`
	Pos
}

type adminDoc struct {
	Acts  []actDoc  `yaml:"acts" keyed:"id"`
	Rules []ruleDoc `yaml:"rules"`
	Pos
}

type actDoc struct {
	ID        str    `yaml:"id"`
	Requires  str    `yaml:"requires"` // an action or permission id
	On        str    `yaml:"on"`       // target | organization | <level> | every_membership_of_target
	Actor     str    `yaml:"actor"`    // operator
	Condition str    `yaml:"precondition"`
	Desc      string `yaml:"description"`
	Pos
}

// ruleDoc is one admin rule: a one-key mapping from the rule name to its
// parameters.
type ruleDoc struct {
	Name   str
	Params *yaml.Node
	Pos
}

// strList is one string or a list of strings.
type strList = yamlx.List
