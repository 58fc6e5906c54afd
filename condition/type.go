package condition

import (
	"fmt"
	"strings"
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
