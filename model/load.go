package model

import (
	"bytes"
	"embed"
	"errors"
	"github.com/rolecall/rolecall/internal/yamlx"
	"io"
	"reflect"
	"sort"
	"strings"

	"github.com/rolecall/rolecall"
	"go.yaml.in/yaml/v3"
)

//go:embed presets/*.yaml
var presetFS embed.FS

// Presets returns the names of the embedded preset models.
func Presets() []string {
	ents, _ := presetFS.ReadDir("presets")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// Preset compiles an embedded preset by name (reinfer, labelbox, infosum,
// inbox).
func Preset(name string) (*Model, error) {
	data, err := presetFS.ReadFile("presets/" + name + ".yaml")
	if err != nil {
		return nil, rolecall.E("model.Preset", rolecall.NotFound, name,
			"no such preset; presets are "+strings.Join(Presets(), ", ")+" (or give a model file path)")
	}
	return Parse(name+".yaml", data)
}

// PresetSource returns the YAML text of an embedded preset.
func PresetSource(name string) ([]byte, error) {
	data, err := presetFS.ReadFile("presets/" + name + ".yaml")
	if err != nil {
		return nil, rolecall.E("model.PresetSource", rolecall.NotFound, name, "no such preset; presets are "+strings.Join(Presets(), ", "))
	}
	return data, nil
}

// Parse compiles a model from YAML text; name is used in error positions.
// On failure the error is a rolecall.Errors of *Error, every problem of the
// file, each at file:line:column; the returned model is nil.
func Parse(name string, data []byte) (m *Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			m = nil
			err = rolecall.Errors{&Error{File: name, Msg: "internal error while compiling the model; please report it: " + toString(r)}}
		}
	}()
	d := newDecoder(name)
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, rolecall.Errors{&Error{File: name, Line: 1, Col: 1, Msg: "the model file is empty; start with `model: <id>` and `levels:`"}}
		}
		return nil, rolecall.Errors{yamlError(name, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, rolecall.Errors{&Error{File: name, Line: extra.Line, Col: extra.Column, Msg: "the file holds several YAML documents (---); a model file holds one"}}
	}
	var f fileDoc
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind != yaml.MappingNode {
		if yamlx.IsNull(doc) || doc.Kind == yaml.DocumentNode {
			return nil, rolecall.Errors{&Error{File: name, Line: 1, Col: 1, Msg: "the model file is empty; start with `model: <id>` and `levels:`"}}
		}
		return nil, rolecall.Errors{&Error{File: name, Line: doc.Line, Col: doc.Column, Msg: "a model file is a mapping of keys (model:, levels:, permissions:, ...), not " + yamlx.KindName(doc)}}
	}
	d.Decode(doc, reflect.ValueOf(&f).Elem())
	if len(d.Errs) > 0 {
		return nil, toErrors(d.Errs)
	}
	m = compile(d, &f, strings.Split(string(data), "\n"))
	if len(d.Errs) > 0 {
		return nil, toErrors(d.Errs)
	}
	return m, nil
}

func toString(r any) string {
	if e, ok := r.(error); ok {
		return e.Error()
	}
	if s, ok := r.(string); ok {
		return s
	}
	return "unknown panic"
}

func toErrors(es []*Error) rolecall.Errors {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Line != es[j].Line {
			return es[i].Line < es[j].Line
		}
		return es[i].Col < es[j].Col
	})
	out := make(rolecall.Errors, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// yamlError turns a YAML syntax error ("yaml: line 3: ...") into an *Error.
func yamlError(file string, err error) *Error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		n := 0
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			n = n*10 + int(rest[i]-'0')
			i++
		}
		if i > 0 {
			line = n
			msg = strings.TrimPrefix(rest[i:], ": ")
		}
	}
	if line == 0 {
		line = 1
	}
	return &Error{File: file, Line: line, Col: 1, Msg: "YAML syntax: " + msg}
}

// Perm returns a permission by id or alias.
func (m *Model) Perm(id string) (*Permission, bool) { p, ok := m.perms[id]; return p, ok }

// Role returns a built-in or template role by id or alias.
func (m *Model) Role(id string) (*Role, bool) { r, ok := m.roles[id]; return r, ok }

// Action returns an action by id or alias.
func (m *Model) Action(id string) (*Action, bool) { a, ok := m.actions[id]; return a, ok }

// Level returns a level by id.
func (m *Model) Level(id string) (*Level, bool) { l, ok := m.levels[id]; return l, ok }

// Resource returns a resource type by id.
func (m *Model) Resource(id string) (*ResourceType, bool) { r, ok := m.resources[id]; return r, ok }

// Qualifier returns a qualifier by id.
func (m *Model) Qualifier(id string) (*Qualifier, bool) { q, ok := m.qualifiers[id]; return q, ok }

// Offer returns an offer kind by id.
func (m *Model) Offer(id string) (*OfferKind, bool) { o, ok := m.offers[id]; return o, ok }

// Flag returns a flag by id.
func (m *Model) Flag(id string) (*Flag, bool) { f, ok := m.flags[id]; return f, ok }

// Act returns an admin act's configuration.
func (m *Model) Act(id string) (*Act, bool) { a, ok := m.Admin.acts[id]; return a, ok }

// RulesNamed returns the admin rules of one name.
func (m *Model) RulesNamed(name string) []*Rule {
	var out []*Rule
	for _, r := range m.Admin.Rules {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// NewBits returns an empty permission set sized for the model.
func (m *Model) NewBits() Bits { return NewBits(len(m.Perms)) }

// PermNames lists the ids of the permissions in b, in catalog order.
func (m *Model) PermNames(b Bits) []string {
	var out []string
	b.Each(func(i int) { out = append(out, m.Perms[i].ID) })
	return out
}

// ImplicationChain returns the shortest chain of implications from one
// permission to another (from first, to last), or nil if from does not imply
// to.
func (m *Model) ImplicationChain(from, to *Permission) []string {
	if from == to {
		return []string{from.ID}
	}
	if !from.Closure.Has(to.Index) {
		return nil
	}
	prev := map[*Permission]*Permission{from: nil}
	queue := []*Permission{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range p.Implies {
			if _, seen := prev[q]; seen {
				continue
			}
			prev[q] = p
			if q == to {
				var chain []string
				for x := q; x != nil; x = prev[x] {
					chain = append(chain, x.ID)
				}
				for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
					chain[i], chain[j] = chain[j], chain[i]
				}
				return chain
			}
			queue = append(queue, q)
		}
	}
	return nil
}

// Below reports whether objects of type or level t live under objects of
// type or level anc: a level below another, a resource type whose home level
// or parent types include anc. A relation step naming such a t from anc
// reaches every object of t below.
func (m *Model) Below(t, anc string) bool {
	if l, ok := m.levels[t]; ok {
		for p := l.Parent; p != nil; p = p.Parent {
			if p.ID == anc {
				return true
			}
		}
		return false
	}
	rt, ok := m.resources[t]
	if !ok {
		return false
	}
	for p := rt.Parent; p != nil; p = p.Parent {
		if p.ID == anc {
			return true
		}
	}
	for l := rt.Level; l != nil; l = l.Parent {
		if l.ID == anc {
			return true
		}
	}
	return false
}
