package model

import (
	"reflect"
	"strings"

	"github.com/rolecall/rolecall/internal/yamlx"
	"go.yaml.in/yaml/v3"
)

// Error is one problem in a model file, positioned at file:line:column.
type Error = yamlx.Error

type decoder = yamlx.Decoder

func newDecoder(file string) *decoder { return &yamlx.Decoder{File: file, Names: docNames} }

// friendly names of the source structs, for messages.
func init() {
	for name, rt := range ruleTypes {
		docNames[rt.t] = "the parameters of admin rule " + name
	}
}

var docNames = map[reflect.Type]string{
	reflect.TypeFor[fileDoc]():        "the model",
	reflect.TypeFor[levelDoc]():       "level",
	reflect.TypeFor[operatorDoc]():    "operator",
	reflect.TypeFor[subjectsDoc]():    "subjects",
	reflect.TypeFor[flagDoc]():        "flag",
	reflect.TypeFor[categoryDoc]():    "category",
	reflect.TypeFor[permDoc]():        "permission",
	reflect.TypeFor[qualifierDoc]():   "qualifier",
	reflect.TypeFor[attrDoc]():        "attribute",
	reflect.TypeFor[inputDoc]():       "input",
	reflect.TypeFor[fieldClassDoc]():  "field class",
	reflect.TypeFor[implicitDoc]():    "implicit grant",
	reflect.TypeFor[resourceDoc]():    "resource type",
	reflect.TypeFor[roleDoc]():        "role",
	reflect.TypeFor[membersDoc]():     "members",
	reflect.TypeFor[defaultRoleDoc](): "default_role",
	reflect.TypeFor[onJoinDoc]():      "on_join entry",
	reflect.TypeFor[groupsDoc]():      "groups",
	reflect.TypeFor[builtinGrp]():     "built-in group",
	reflect.TypeFor[directDoc]():      "direct_grants",
	reflect.TypeFor[customDoc]():      "custom_roles",
	reflect.TypeFor[grantableDoc]():   "grantable",
	reflect.TypeFor[planDoc]():        "plan",
	reflect.TypeFor[actionDoc]():      "action",
	reflect.TypeFor[whenDoc]():        "precondition",
	reflect.TypeFor[offerDoc]():       "offer",
	reflect.TypeFor[transDoc]():       "transition",
	reflect.TypeFor[adminDoc]():       "admin",
	reflect.TypeFor[actDoc]():         "admin act",
}

// DecodeNode reads a grants list.
func (g *grantsDoc) DecodeNode(d *decoder, n *yaml.Node) {
	n = deref(n)
	g.Set = true
	g.Pos = yamlx.NodePos(n)
	switch {
	case yamlx.IsNull(n):
	case n.Kind == yaml.ScalarNode && n.Value == "all":
		g.All = true
	case n.Kind == yaml.ScalarNode:
		g.Items = append(g.Items, grantDoc{Perm: yamlx.Str{V: n.Value, Pos: yamlx.NodePos(n)}})
	case n.Kind == yaml.MappingNode:
		if len(n.Content) == 2 && n.Content[0].Value == "all_except" {
			g.All = true
			d.DecodeSlice(n.Content[1], reflect.ValueOf(&g.AllExcept).Elem(), "")
			return
		}
		d.Errorf(yamlx.NodePos(n), "grants: expected `all`, `{all_except: [...]}` or a list of permissions")
	case n.Kind == yaml.SequenceNode:
		for _, item := range n.Content {
			item = deref(item)
			switch item.Kind {
			case yaml.ScalarNode:
				g.Items = append(g.Items, grantDoc{Perm: yamlx.Str{V: item.Value, Pos: yamlx.NodePos(item)}})
			case yaml.MappingNode:
				for i := 0; i+1 < len(item.Content); i += 2 {
					k, val := item.Content[i], item.Content[i+1]
					gd := grantDoc{Perm: yamlx.Str{V: k.Value, Pos: yamlx.NodePos(k)}}
					d.DecodeSlice(val, reflect.ValueOf(&gd.Qualifiers).Elem(), "")
					g.Items = append(g.Items, gd)
				}
			default:
				d.Errorf(yamlx.NodePos(item), "grant: expected a permission id or {permission: qualifier}, found %s", yamlx.KindName(item))
			}
		}
	default:
		d.Errorf(yamlx.NodePos(n), "grants: expected `all`, `{all_except: [...]}` or a list of permissions, found %s", yamlx.KindName(n))
	}
}

// DecodeNode reads a requirement: a permission id (on the target), a one-key
// mapping {permission: relation}, {permission: p, on: relation}, {all_of:
// [...]}, {any_of: [...]}, or {if: expr, all_of|any_of: [...]}.
func (r *reqDoc) DecodeNode(d *decoder, n *yaml.Node) {
	n = deref(n)
	r.Pos = yamlx.NodePos(n)
	switch n.Kind {
	case yaml.ScalarNode:
		r.Perm = yamlx.Str{V: n.Value, Pos: yamlx.NodePos(n)}
		return
	case yaml.SequenceNode: // a bare list means all_of
		r.AllOf = reqList(d, n)
		return
	case yaml.MappingNode:
	default:
		d.Errorf(yamlx.NodePos(n), "requirement: expected a permission, a list or a mapping, found %s", yamlx.KindName(n))
		return
	}
	keys := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys[n.Content[i].Value] = n.Content[i+1]
		order = append(order, n.Content[i].Value)
	}
	structural := false
	for _, k := range []string{"all_of", "any_of", "if", "permission", "on"} {
		if _, ok := keys[k]; ok {
			structural = true
		}
	}
	if !structural {
		if len(order) != 1 {
			d.Errorf(yamlx.NodePos(n), "requirement: a {permission: relation} mapping has one key, found %d (%s); list them under all_of", len(order), strings.Join(order, ", "))
			return
		}
		k := n.Content[0]
		r.Perm = yamlx.Str{V: k.Value, Pos: yamlx.NodePos(k)}
		d.Decode(n.Content[1], reflect.ValueOf(&r.On).Elem())
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "all_of":
			r.AllOf = reqList(d, val)
		case "any_of":
			r.AnyOf = reqList(d, val)
		case "if":
			d.Decode(val, reflect.ValueOf(&r.If).Elem())
		case "permission":
			d.Decode(val, reflect.ValueOf(&r.Perm).Elem())
		case "on":
			d.Decode(val, reflect.ValueOf(&r.On).Elem())
		default:
			d.Errorf(yamlx.NodePos(k), "unknown field %q in requirement; valid fields: permission, on, all_of, any_of, if", k.Value)
		}
	}
	n1 := 0
	if r.Perm.V != "" {
		n1++
	}
	if r.AllOf != nil {
		n1++
	}
	if r.AnyOf != nil {
		n1++
	}
	if n1 != 1 {
		d.Errorf(yamlx.NodePos(n), "requirement: give exactly one of permission, all_of or any_of")
	}
	if r.If.V != "" && r.Perm.V != "" {
		d.Errorf(r.If.Pos, "requirement: `if` goes with all_of or any_of, not with a single permission; write {if: ..., all_of: [%s]}", r.Perm.V)
	}
}

// deref follows a YAML alias (*name) to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func reqList(d *decoder, n *yaml.Node) []*reqDoc {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		d.Errorf(yamlx.NodePos(n), "expected a list of requirements, found %s", yamlx.KindName(n))
		return []*reqDoc{}
	}
	out := make([]*reqDoc, 0, len(n.Content))
	for _, item := range n.Content {
		r := &reqDoc{}
		r.DecodeNode(d, item)
		out = append(out, r)
	}
	return out
}

// DecodeNode reads an admin rule.
func (r *ruleDoc) DecodeNode(d *decoder, n *yaml.Node) {
	n = deref(n)
	r.Pos = yamlx.NodePos(n)
	switch {
	case n.Kind == yaml.ScalarNode:
		r.Name = yamlx.Str{V: n.Value, Pos: yamlx.NodePos(n)}
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		r.Name = yamlx.Str{V: n.Content[0].Value, Pos: yamlx.NodePos(n.Content[0])}
		r.Params = n.Content[1]
	default:
		d.Errorf(yamlx.NodePos(n), "admin rule: expected a rule name or {rule_name: parameters}, found %s", yamlx.KindName(n))
	}
}
