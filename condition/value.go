package condition

import (
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
)

// Object is the engine's view of a checked object: a resource or a scope
// node. Conditions read it as resource. Its methods are called during
// evaluation, possibly from many goroutines at once, and should be cheap.
type Object interface {
	// ID returns the object's id.
	ID() string
	// Type returns the id of the object's resource type, or of its level for
	// a scope node.
	Type() string
	// Owner returns the id of the user who owns the object, or "".
	Owner() string
	// Groups returns the ids of the groups and teams the object is assigned
	// to. Callers do not modify it.
	Groups() []string
	// Scope returns the id of the scope node the object lives in.
	Scope() string
	// Parent returns the object's parent, or nil at the top. It must return
	// an untyped nil, not a nil pointer of a concrete type.
	Parent() Object
	// Ancestor returns the nearest strict ancestor whose type or level is typ,
	// or nil (untyped) if there is none.
	Ancestor(typ string) Object
	// Attr returns the value of the named attribute and whether it is set.
	// The value's Go type follows the attribute's declared [Type]: string,
	// bool, int64 (int is accepted too), float64, []string or time.Time.
	Attr(name string) (any, bool)
}

// Subject is the engine's view of the user a check is for. Conditions read
// it as subject.
type Subject interface {
	// ID returns the user's id.
	ID() string
	// Groups returns the ids of every group and team the user belongs to,
	// directly or not. Callers do not modify it.
	Groups() []string
	// Attr returns the value of the named attribute and whether it is set,
	// with Go types as for [Object.Attr].
	Attr(name string) (any, bool)
}

// emptyObject stands in for a nil Object: every field reads as its zero value.
type emptyObject struct{}

func (emptyObject) ID() string              { return "" }
func (emptyObject) Type() string            { return "" }
func (emptyObject) Owner() string           { return "" }
func (emptyObject) Groups() []string        { return nil }
func (emptyObject) Scope() string           { return "" }
func (emptyObject) Parent() Object          { return nil }
func (emptyObject) Ancestor(string) Object  { return nil }
func (emptyObject) Attr(string) (any, bool) { return nil, false }

// emptySubject stands in for a nil Subject.
type emptySubject struct{}

func (emptySubject) ID() string              { return "" }
func (emptySubject) Groups() []string        { return nil }
func (emptySubject) Attr(string) (any, bool) { return nil, false }

func orEmpty(o Object) Object {
	if o == nil {
		return emptyObject{}
	}
	return o
}

// target returns the Object a resource field getter reads from, and the
// activation whose memory it may use, if any. t is the resource variable, a
// parent or ancestor of it, or a whole resource used as a value.
func target(t any) (Object, *activation) {
	switch o := t.(type) {
	case *objView:
		return o.obj, o.a
	case Object:
		return o, nil
	}
	return emptyObject{}, nil
}

// asObject returns the Object a resource field getter reads from.
func asObject(t any) Object {
	o, _ := target(t)
	return o
}

// subjectTarget returns the Subject a subject field getter reads from and the
// activation whose memory it may use, if any.
func subjectTarget(t any) (Subject, *activation) {
	switch s := t.(type) {
	case *subjectView:
		return s.sub, s.a
	case Subject:
		return s, nil
	}
	return emptySubject{}, nil
}

// asSubject returns the Subject a subject field getter reads from.
func asSubject(t any) Subject {
	s, _ := subjectTarget(t)
	return s
}

func subjectGroups(t any) (any, error) {
	if v, ok := t.(*subjectView); ok {
		if v.groups == nil {
			v.groups = stringList(v.sub.Groups())
		}
		return v.groups, nil
	}
	return stringList(asSubject(t).Groups()), nil
}

func objectString(f func(Object) string) accessor {
	return accessor{
		get: func(t any) (any, error) {
			o, a := target(t)
			return a.str(f(o)), nil
		},
		isSet: func(t any) bool { return f(asObject(t)) != "" },
	}
}

// Zero values of the attribute types, made once so that reading an unset
// attribute does not allocate.
var (
	emptyList = types.NewStringList(types.DefaultTypeAdapter, []string{})
	zeroVals  = [...]ref.Val{
		String:     types.String(""),
		Bool:       types.False,
		Int:        types.IntZero,
		Double:     types.Double(0),
		StringList: emptyList,
		Timestamp:  types.Timestamp{Time: time.Time{}},
	}
)

func stringList(s []string) ref.Val {
	if len(s) == 0 {
		return emptyList
	}
	return types.NewStringList(types.DefaultTypeAdapter, s)
}

// attrAccessor reads a declared attribute with attr and converts it to its
// declared type.
func attrAccessor(kind, name string, typ Type, attr func(any) (any, bool)) accessor {
	return accessor{
		get: func(t any) (any, error) {
			v, ok := attr(t)
			if !ok || v == nil {
				return zeroVals[typ], nil
			}
			if val := convert(v, typ); val != nil {
				return val, nil
			}
			return nil, fmt.Errorf("%s attribute %q holds a Go %T, but the model declares it %s; store a Go %s", kind, name, v, typ, goTypes[typ])
		},
		isSet: func(t any) bool {
			v, ok := attr(t)
			return ok && v != nil
		},
	}
}

// goTypes names the Go types Attr returns for each Type.
var goTypes = [...]string{
	String:     "string",
	Bool:       "bool",
	Int:        "int64",
	Double:     "float64",
	StringList: "[]string",
	Timestamp:  "time.Time",
}

// convert returns v as a CEL value of type t, or nil if v has the wrong Go
// type.
func convert(v any, t Type) any {
	switch t {
	case String:
		if s, ok := v.(string); ok {
			return types.String(s)
		}
	case Bool:
		if b, ok := v.(bool); ok {
			return types.Bool(b)
		}
	case Int:
		switch i := v.(type) {
		case int64:
			return types.Int(i)
		case int:
			return types.Int(i)
		case int32:
			return types.Int(i)
		}
	case Double:
		switch f := v.(type) {
		case float64:
			return types.Double(f)
		case float32:
			return types.Double(f)
		}
	case StringList:
		if l, ok := v.([]string); ok {
			return stringList(l)
		}
	case Timestamp:
		if ts, ok := v.(time.Time); ok {
			return types.Timestamp{Time: ts}
		}
	}
	return nil
}

// structVal is a resource or subject used as a whole value, for example in
// resource.parent == resource.data_row or as a comprehension element. Two
// resources are equal when their types and ids are; two subjects when their
// ids are.
type structVal struct {
	v   any // Object or Subject
	def *structDef
}

// ConvertToNative implements ref.Val.
func (s structVal) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(s.v).AssignableTo(t) {
		return s.v, nil
	}
	return nil, fmt.Errorf("cannot convert %s to Go %v", s.def.name, t)
}

// ConvertToType implements ref.Val.
func (s structVal) ConvertToType(t ref.Type) ref.Val {
	switch {
	case t == types.TypeType:
		return s.def.typ
	case t.TypeName() == s.def.name:
		return s
	}
	return types.NewErr("type conversion error from '%s' to '%s'", s.def.name, t.TypeName())
}

// Equal implements ref.Val.
func (s structVal) Equal(other ref.Val) ref.Val {
	o, ok := other.(structVal)
	if !ok || o.def != s.def {
		return types.False
	}
	if a, ok := s.v.(Object); ok {
		b := o.v.(Object)
		return types.Bool(a.Type() == b.Type() && a.ID() == b.ID())
	}
	return types.Bool(asSubject(s.v).ID() == asSubject(o.v).ID())
}

// Type implements ref.Val.
func (s structVal) Type() ref.Type { return s.def.typ }

// Value implements ref.Val; it returns the Object or Subject, which the field
// getters read from.
func (s structVal) Value() any { return s.v }

// Get implements traits.Indexer, for field reads the type checker could not
// resolve statically, as in dyn(resource).owner.
func (s structVal) Get(field ref.Val) ref.Val {
	ft, ok := s.field(field)
	if !ok {
		return types.NewErr("no such field: %v", field)
	}
	v, err := ft.GetFrom(s.v)
	if err != nil {
		return types.WrapErr(err)
	}
	switch v := v.(type) {
	case ref.Val:
		return v
	case Object: // parent or ancestor: always a resource
		return structVal{v: v, def: s.def}
	}
	return types.NewErr("unexpected value %T of field %v", v, field)
}

// IsSet implements traits.FieldTester.
func (s structVal) IsSet(field ref.Val) ref.Val {
	ft, ok := s.field(field)
	if !ok {
		return types.NewErr("no such field: %v", field)
	}
	return types.Bool(ft.IsSet(s.v))
}

func (s structVal) field(name ref.Val) (*types.FieldType, bool) {
	n, ok := name.(types.String)
	if !ok {
		return nil, false
	}
	ft, ok := s.def.fields[string(n)]
	return ft, ok
}
