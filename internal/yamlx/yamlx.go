// Package yamlx decodes YAML strictly into Go structs, keeping positions:
// unknown keys are errors that name the valid ones (with a suggestion for a
// near miss), wrong shapes and bad scalars are errors at file:line:column,
// and decoding goes on after an error so one pass reports every problem.
// Struct fields are matched by their `yaml` tag; a slice field tagged
// `keyed:"id"` also accepts a mapping whose keys fill that field; a struct
// embedding Pos records where it was written; Str is a string with its
// position.
package yamlx

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Pos is a position in a YAML file (1-based).
type Pos struct{ Line, Col int }

// Str is a scalar with its position and the style it was written in
// (plain, quoted, literal or folded block), so positions inside the value
// can be mapped back to the file.
type Str struct {
	V string
	Pos
	Style yaml.Style
}

// List is one string or a list of strings.
type List []Str

// Decoder decodes a YAML node tree into the structs of source.go strictly:
// unknown keys, wrong shapes and bad scalars are errors that carry the
// file, line and column. It keeps going after an error so one run reports
// every problem.
type Decoder struct {
	File string
	Errs []*Error
	// Names gives struct types friendly names for messages ("role").
	Names map[reflect.Type]string
}

// Error is one problem in a model file, positioned at file:line:column.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

// Error formats the problem as "file:line:col: msg".
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errorf records an error at p.
func (d *Decoder) Errorf(p Pos, format string, args ...any) {
	d.Errs = append(d.Errs, &Error{File: d.File, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

// setPos records n's position in a struct that embeds Pos.
func setPos(v reflect.Value, n *yaml.Node) {
	if v.Kind() != reflect.Struct {
		return
	}
	if f, ok := v.Type().FieldByName("Pos"); ok && f.Type == posType {
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(NodePos(n)))
	}
}

// NodePos returns the position of a node.
func NodePos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// NodeDecoder is implemented by types with a shape of their own.
type NodeDecoder interface {
	DecodeNode(d *Decoder, n *yaml.Node)
}

// ShortDecoder is implemented by structs that also accept a scalar form.
type ShortDecoder interface {
	DecodeShort(n *yaml.Node) bool
}

func (d *Decoder) docName(t reflect.Type) string {
	if n, ok := d.Names[t]; ok {
		return n
	}
	return strings.TrimSuffix(t.Name(), "Doc")
}

var (
	strType     = reflect.TypeFor[Str]()
	posType     = reflect.TypeFor[Pos]()
	nodePtrType = reflect.TypeFor[*yaml.Node]()
)

// Decode decodes n into v (addressable).
func (d *Decoder) Decode(n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.Type() == nodePtrType {
		v.Set(reflect.ValueOf(n))
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(NodeDecoder); ok {
			nd.DecodeNode(d, n)
			return
		}
	}
	if IsNull(n) {
		return
	}
	switch v.Type() {
	case strType:
		if n.Kind != yaml.ScalarNode {
			d.Errorf(NodePos(n), "expected a single value, found %s", KindName(n))
			return
		}
		v.Set(reflect.ValueOf(Str{V: n.Value, Pos: NodePos(n), Style: n.Style}))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.Decode(n, v.Elem())
	case reflect.Struct:
		d.decodeStruct(n, v)
	case reflect.Slice:
		d.DecodeSlice(n, v, "")
	case reflect.Map:
		d.decodeMap(n, v)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.Errorf(NodePos(n), "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default: // scalars: string, bool, int
		if n.Kind != yaml.ScalarNode {
			d.Errorf(NodePos(n), "expected a %s, found %s", v.Kind(), KindName(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.Errorf(NodePos(n), "expected a %s, found %q", v.Kind(), n.Value)
		}
	}
}

// IsNull reports whether n is a YAML null.
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// KindName describes a node for messages.
func KindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// fieldsOf returns the yaml keys of a struct type and the index paths of
// their fields; a field tagged `yaml:",inline"` contributes its own fields.
func fieldsOf(t reflect.Type) (map[string][]int, []string) {
	idx := map[string][]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		if tag == ",inline" && f.Type.Kind() == reflect.Struct {
			sub, subNames := fieldsOf(f.Type)
			for _, n := range subNames {
				idx[n] = append([]int{i}, sub[n]...)
				names = append(names, n)
			}
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		idx[tag] = []int{i}
		names = append(names, tag)
	}
	return idx, names
}

func (d *Decoder) decodeStruct(n *yaml.Node, v reflect.Value) {
	t := v.Type()
	if f, ok := t.FieldByName("Pos"); ok && f.Type == posType {
		v.FieldByIndex(f.Index).Set(reflect.ValueOf(NodePos(n)))
	}
	if n.Kind != yaml.MappingNode {
		if sd, ok := v.Addr().Interface().(ShortDecoder); ok && sd.DecodeShort(n) {
			return
		}
		d.Errorf(NodePos(n), "%s: expected a mapping of fields, found %s", d.docName(t), KindName(n))
		return
	}
	idx, names := fieldsOf(t)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		fi, ok := idx[k.Value]
		if !ok {
			d.Errorf(NodePos(k), "unknown field %q in %s%s (valid fields: %s)", k.Value, d.docName(t), Suggest(k.Value, names), strings.Join(names, ", "))
			continue
		}
		if seen[k.Value] {
			d.Errorf(NodePos(k), "field %q given twice in %s; keep one", k.Value, d.docName(t))
			continue
		}
		seen[k.Value] = true
		f := t.FieldByIndex(fi)
		fv := v.FieldByIndex(fi)
		if f.Type.Kind() == reflect.Slice && f.Tag.Get("keyed") != "" {
			d.DecodeSlice(val, fv, f.Tag.Get("keyed"))
			continue
		}
		d.Decode(val, fv)
	}
}

// decodeSlice decodes a list. With keyed set, a mapping is accepted too:
// each key becomes the keyed field of its entry.
// DecodeSlice decodes a list into v; with keyed set, a mapping is accepted too
// and each key fills that field of its entry.
func (d *Decoder) DecodeSlice(n *yaml.Node, v reflect.Value, keyed string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if IsNull(n) {
		return
	}
	et := v.Type().Elem()
	switch {
	case n.Kind == yaml.SequenceNode:
		for _, item := range n.Content {
			e := reflect.New(et).Elem()
			d.Decode(item, e)
			if IsNull(item) {
				setPos(e, item) // an empty entry is still somewhere
			}
			v.Set(reflect.Append(v, e))
		}
	case n.Kind == yaml.MappingNode && keyed != "":
		idx, _ := fieldsOf(et)
		fi, ok := idx[keyed]
		if !ok {
			panic("model: keyed field " + keyed + " missing in " + et.Name())
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			e := reflect.New(et).Elem()
			if !IsNull(val) {
				d.Decode(val, e)
			} else {
				setPos(e, k)
			}
			kf := e.FieldByIndex(fi)
			if cur := kf.Interface().(Str); cur.V != "" && cur.V != k.Value {
				d.Errorf(cur.Pos, "%s %q is listed under the key %q; use one name", d.docName(et), cur.V, k.Value)
			}
			kf.Set(reflect.ValueOf(Str{V: k.Value, Pos: NodePos(k)}))
			v.Set(reflect.Append(v, e))
		}
	case n.Kind == yaml.ScalarNode && et == strType:
		v.Set(reflect.Append(v, reflect.ValueOf(Str{V: n.Value, Pos: NodePos(n), Style: n.Style})))
	default:
		d.Errorf(NodePos(n), "expected a list, found %s", KindName(n))
	}
}

func (d *Decoder) decodeMap(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.Errorf(NodePos(n), "expected a mapping, found %s", KindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if v.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.Errorf(NodePos(k), "key %q given twice; keep one", k.Value)
			continue
		}
		e := reflect.New(v.Type().Elem()).Elem()
		d.Decode(val, e)
		v.SetMapIndex(reflect.ValueOf(k.Value), e)
	}
}

// Suggest returns `; did you mean "x"?` for the closest name within two edits.
func Suggest(got string, names []string) string {
	if got == "" {
		return ""
	}
	best, bestD := "", 3
	for _, n := range names {
		if dd := editDistance(got, n); dd < bestD {
			best, bestD = n, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Closest returns `; did you mean "x"?` against the keys of a set.
func Closest[V any](got string, set map[string]V) string {
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	return Suggest(got, names)
}

// DecodeNode lets a List be one string or a list of strings.
func (l *List) DecodeNode(d *Decoder, n *yaml.Node) {
	if IsNull(n) {
		return
	}
	d.DecodeSlice(n, reflect.ValueOf(l).Elem(), "")
}

// Into decodes n into the value p points to.
func (d *Decoder) Into(n *yaml.Node, p any) { d.Decode(n, reflect.ValueOf(p).Elem()) }
