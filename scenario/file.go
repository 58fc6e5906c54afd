package scenario

import (
	"github.com/rolecall/rolecall/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

type str = yamlx.Str

type fileDoc struct {
	Preset      str        `yaml:"preset"`
	Model       str        `yaml:"model"`
	Description string     `yaml:"description"`
	Fixture     fixtureDoc `yaml:"fixture"`
	Cases       []caseDoc  `yaml:"cases"`
	yamlx.Pos
}

type fixtureDoc struct {
	Scopes    []scopeDoc    `yaml:"scopes"`
	Users     []userDoc     `yaml:"users"`
	Members   []memberDoc   `yaml:"members"`
	Groups    []groupDoc    `yaml:"groups"`
	Resources []resourceDoc `yaml:"resources"`
	Roles     []roleDoc     `yaml:"roles"`
	Bindings  []bindingDoc  `yaml:"bindings"`
	Offers    []offerDoc    `yaml:"offers"`
	yamlx.Pos
}

type scopeDoc struct {
	ID     str            `yaml:"id"`
	Level  str            `yaml:"level"`
	Parent str            `yaml:"parent"`
	Name   string         `yaml:"name"`
	Attrs  map[string]any `yaml:"attrs"`
	yamlx.Pos
}

type userDoc struct {
	ID    str            `yaml:"id"`
	Name  string         `yaml:"name"`
	Email string         `yaml:"email"`
	Attrs map[string]any `yaml:"attrs"`
	yamlx.Pos
}

// DecodeShort lets a user be written as its id.
func (u *userDoc) DecodeShort(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	u.ID = str{V: n.Value, Pos: yamlx.NodePos(n)}
	u.Pos = yamlx.NodePos(n)
	return true
}

type memberDoc struct {
	User        str  `yaml:"user"`
	Scope       str  `yaml:"scope"`
	DefaultRole str  `yaml:"default_role"`
	Join        bool `yaml:"join"`
	yamlx.Pos
}

type groupDoc struct {
	ID         str            `yaml:"id"`
	Scope      str            `yaml:"scope"`
	Name       string         `yaml:"name"`
	AllMembers bool           `yaml:"all_members"`
	Members    []str          `yaml:"members"`
	Attrs      map[string]any `yaml:"attrs"`
	yamlx.Pos
}

type resourceDoc struct {
	New    str               `yaml:"new"` // proposed resources only
	Type   str               `yaml:"type"`
	ID     str               `yaml:"id"`
	Scope  str               `yaml:"scope"`
	Parent str               `yaml:"parent"`
	Owner  str               `yaml:"owner"`
	Groups []str             `yaml:"groups"`
	Inputs map[string][]str  `yaml:"inputs"`
	Fields map[string]string `yaml:"fields"`
	Attrs  map[string]any    `yaml:"attrs"`
	yamlx.Pos
}

type roleDoc struct {
	ID          str       `yaml:"id"`
	Org         str       `yaml:"org"`
	Scope       str       `yaml:"scope"`
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Grants      grantList `yaml:"grants"`
	yamlx.Pos
}

// grantList is a list of permission ids or {permission: qualifier(s)}.
type grantList struct {
	Items []grantItem
}

type grantItem struct {
	Perm  str
	Quals []str
}

func (g *grantList) DecodeNode(d *yamlx.Decoder, n *yaml.Node) {
	if yamlx.IsNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.Errorf(yamlx.NodePos(n), "grants: expected a list of permissions, found %s", yamlx.KindName(n))
		return
	}
	for _, item := range n.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			g.Items = append(g.Items, grantItem{Perm: str{V: item.Value, Pos: yamlx.NodePos(item)}})
		case yaml.MappingNode:
			for i := 0; i+1 < len(item.Content); i += 2 {
				gi := grantItem{Perm: str{V: item.Content[i].Value, Pos: yamlx.NodePos(item.Content[i])}}
				var l yamlx.List
				l.DecodeNode(d, item.Content[i+1])
				gi.Quals = l
				g.Items = append(g.Items, gi)
			}
		default:
			d.Errorf(yamlx.NodePos(item), "grant: expected a permission or {permission: qualifier}")
		}
	}
}

type bindingDoc struct {
	ID          str   `yaml:"id"`
	User        str   `yaml:"user"`
	Group       str   `yaml:"group"`
	Role        str   `yaml:"role"`
	Permissions []str `yaml:"permissions"`
	DefaultRole bool  `yaml:"default_role"`
	Scope       str   `yaml:"scope"`
	Resource    str   `yaml:"resource"`
	Wildcard    bool  `yaml:"wildcard"`
	NotBefore   str   `yaml:"not_before"`
	NotAfter    str   `yaml:"not_after"`
	yamlx.Pos
}

type offerDoc struct {
	ID        str `yaml:"id"`
	Kind      str `yaml:"kind"`
	Resource  str `yaml:"resource"`
	Recipient str `yaml:"recipient"`
	State     str `yaml:"state"`
	NotBefore str `yaml:"not_before"`
	NotAfter  str `yaml:"not_after"`
	yamlx.Pos
}

type caseDoc struct {
	ID    str         `yaml:"id"`
	Title string      `yaml:"title"`
	Note  string      `yaml:"note"`
	Given *fixtureDoc `yaml:"given"`
	Steps []stepDoc   `yaml:"steps"`
	yamlx.Pos
}

type stepDoc struct {
	Check     *checkDoc  `yaml:"check"`
	Effective *checkDoc  `yaml:"effective"`
	Lookup    *lookupDoc `yaml:"lookup"`
	Set       *setDoc    `yaml:"set"`
	Flags     *flagsDoc  `yaml:"flags"`
	Act       *actDoc    `yaml:"act"`

	Expect     *yaml.Node `yaml:"expect"`
	Explain    []str      `yaml:"explain"`
	NotExplain []str      `yaml:"not_explain"`
	Missing    *[]str     `yaml:"missing"`
	Withheld   *[]str     `yaml:"withheld"`
	Includes   []str      `yaml:"includes"`
	Excludes   []str      `yaml:"excludes"`
	Refusal    []str      `yaml:"refusal"`
	Warning    []str      `yaml:"warning"`
	Note       string     `yaml:"note"`
	yamlx.Pos
}

type checkDoc struct {
	Subject    str            `yaml:"subject"`
	Action     str            `yaml:"action"`
	Permission str            `yaml:"permission"`
	On         targetDoc      `yaml:"on"`
	Item       str            `yaml:"item"`
	Context    map[string]any `yaml:"context"`
	yamlx.Pos
}

// targetDoc is a scope id, "type:id", or a proposed resource mapping.
type targetDoc struct {
	Ref      str
	Proposed *resourceDoc
	yamlx.Pos
}

func (t *targetDoc) DecodeNode(d *yamlx.Decoder, n *yaml.Node) {
	t.Pos = yamlx.NodePos(n)
	switch n.Kind {
	case yaml.ScalarNode:
		t.Ref = str{V: n.Value, Pos: yamlx.NodePos(n)}
	case yaml.MappingNode:
		t.Proposed = &resourceDoc{}
		d.Into(n, t.Proposed)
		if t.Proposed.New.V == "" {
			d.Errorf(t.Pos, "a resource not yet created is written {new: <type>, scope: ... | parent: ...}")
		}
	default:
		d.Errorf(t.Pos, "on: expected a scope id, \"type:id\" or {new: type, ...}, found %s", yamlx.KindName(n))
	}
}

type lookupDoc struct {
	Subject    str            `yaml:"subject"`
	Action     str            `yaml:"action"`
	Permission str            `yaml:"permission"`
	Type       str            `yaml:"type"`
	In         str            `yaml:"in"`
	Context    map[string]any `yaml:"context"`
	yamlx.Pos
}

type flagsDoc struct {
	Permission str `yaml:"permission"`
	yamlx.Pos
}

// setDoc changes state: fixture entries to add or replace, or one
// resource's attributes to patch.
type setDoc struct {
	Fixture  fixtureDoc     `yaml:",inline"`
	Resource str            `yaml:"resource"`
	Attrs    map[string]any `yaml:"attrs"`
	yamlx.Pos
}
