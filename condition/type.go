package condition

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"
	"time"
)

// Type is the CEL type of a declared attribute.
type Type int

// The attribute types a model may declare. The comment after each gives the
// Go type an [Object] or [Subject] returns for it from Attr and the value an
// unset attribute reads as.
const (
	String     Type = iota + 1 // string; ""
	Bool                       // bool; false
	Int                        // int64 or int; 0
	Double                     // float64; 0.0
	StringList                 // []string; []
	Timestamp                  // time.Time; the zero time.Time
)

// typeNames maps each Type to the name ParseType accepts and String returns.
var typeNames = [...]string{
	String:     "string",
	Bool:       "bool",
	Int:        "int",
	Double:     "double",
	StringList: "list<string>",
	Timestamp:  "timestamp",
}

// ParseType returns the Type a model spells as s: "string", "bool", "int",
// "double", "list<string>" (or "[]string") or "timestamp".
func ParseType(s string) (Type, error) {
	name := strings.TrimSpace(s)
	if name == "[]string" {
		return StringList, nil
	}
	for t, n := range typeNames {
		if n != "" && n == name {
			return Type(t), nil
		}
	}
	return 0, fmt.Errorf("unknown attribute type %q; use one of %s", s, strings.Join(typeNames[1:], ", "))
}

// String returns the name of t as a model writes it, such as "list<string>".
func (t Type) String() string {
	if t.valid() {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

func (t Type) valid() bool { return t >= String && t <= Timestamp }

// Coerce returns v as the Go type Attr returns for t (see the constants),
// converting the forms JSON and YAML decoding give: a whole number of any
// numeric type (a float64, a json.Number) for int, any number for double, a
// list whose elements are all strings for list<string>, an RFC 3339 string
// for timestamp. It reports false when v cannot be a value of t; nil is
// kept as nil (unset).
func (t Type) Coerce(v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		}
	}
	switch t {
	case String, Bool:
		return v, convert(v, t) != nil
	case Int:
		switch x := v.(type) {
		case int64:
			return x, true
		case int:
			return int64(x), true
		case int32:
			return int64(x), true
		case uint32:
			return int64(x), true
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int64(x), true
			}
		case float32:
			if f := float64(x); f == math.Trunc(f) && math.Abs(f) < 1<<24 {
				return int64(f), true
			}
		}
	case Double:
		switch x := v.(type) {
		case float64:
			return x, true
		case float32:
			return float64(x), true
		case int64:
			return float64(x), true
		case int:
			return float64(x), true
		case int32:
			return float64(x), true
		}
	case StringList:
		switch x := v.(type) {
		case []string:
			return x, true
		case []any:
			l := make([]string, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok {
					return v, false
				}
				l[i] = s
			}
			return l, true
		}
	case Timestamp:
		switch x := v.(type) {
		case time.Time:
			return x, true
		case string:
			if ts, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return ts, true
			}
		}
	}
	return v, false
}

// native reports whether v already has a Go type Attr may return for t.
func (t Type) native(v any) bool {
	switch v.(type) {
	case nil:
		return true
	case string:
		return t == String
	case bool:
		return t == Bool
	case int64, int, int32:
		return t == Int
	case float64, float32:
		return t == Double
	case []string:
		return t == StringList
	case time.Time:
		return t == Timestamp
	}
	return false
}

// CoerceAttrs returns attrs with each attribute that typeOf declares in a
// Go type Attr may return for it, converted by [Type.Coerce]; attrs itself
// (never changed) when none needs converting. bad names a declared
// attribute whose value cannot be converted (the first by name), which is
// kept as it was; conditions reading it fail.
func CoerceAttrs(attrs map[string]any, typeOf func(string) (Type, bool)) (out map[string]any, bad string) {
	out = attrs
	copied := false
	for k, v := range attrs {
		t, ok := typeOf(k)
		if !ok || t.native(v) {
			continue
		}
		c, ok := t.Coerce(v)
		if !ok {
			if bad == "" || k < bad {
				bad = k
			}
			continue
		}
		if !copied {
			out, copied = maps.Clone(attrs), true
		}
		out[k] = c
	}
	return out, bad
}
