package condition

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// The CEL names of the two struct types conditions see.
const (
	resourceTypeName = "rolecall.Resource"
	subjectTypeName  = "rolecall.Subject"
)

// The fields every resource and every subject has, in the order error
// messages list them.
var (
	resourceBuiltins = []string{"id", "type", "owner", "groups", "scope", "parent"}
	subjectBuiltins  = []string{"id", "groups"}
)

// Schema declares what conditions may refer to. The model loader derives it
// from the model's resource types and scope levels.
type Schema struct {
	// ResourceAttrs maps each attribute name to its type, over all of the
	// model's resource types: resource.<name> is valid in every condition.
	ResourceAttrs map[string]Type
	// Ancestors lists resource type ids and scope level ids. Each becomes a
	// field of resource holding the nearest ancestor of that type or level,
	// such as resource.data_row or resource.project.
	Ancestors []string
	// SubjectAttrs maps the names of subject attributes beyond id and groups
	// to their types.
	SubjectAttrs map[string]Type
}

// Env compiles conditions and templates against one Schema. It is safe for
// concurrent use.
type Env struct {
	cel      *cel.Env
	resource *structDef
	subject  *structDef
	schema   Schema
}

// ResourceAttr returns the type of the resource attribute name, if declared.
func (e *Env) ResourceAttr(name string) (Type, bool) {
	t, ok := e.schema.ResourceAttrs[name]
	return t, ok
}

// SubjectAttr returns the type of the subject attribute name, if declared.
func (e *Env) SubjectAttr(name string) (Type, bool) {
	t, ok := e.schema.SubjectAttrs[name]
	return t, ok
}

// NewEnv returns an Env for conditions over s. It fails when a name in s
// cannot be a field: when it is empty or has characters CEL cannot express,
// when it is one of the built-in fields (id, type, owner, groups, scope and
// parent of resource; id and groups of subject), when an attribute and an
// ancestor share it, or when Ancestors lists it twice.
func NewEnv(s Schema) (*Env, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, fmt.Errorf("condition: creating the CEL type registry: %w", err)
	}
	e := &Env{
		resource: newStructDef(resourceTypeName),
		subject:  newStructDef(subjectTypeName),
		schema:   Schema{ResourceAttrs: maps.Clone(s.ResourceAttrs), SubjectAttrs: maps.Clone(s.SubjectAttrs)},
	}
	if err := e.declareResource(s); err != nil {
		return nil, err
	}
	if err := e.declareSubject(s); err != nil {
		return nil, err
	}
	p := &provider{Registry: reg, structs: map[string]*structDef{
		resourceTypeName: e.resource,
		subjectTypeName:  e.subject,
	}}
	e.cel, err = cel.NewEnv(
		cel.CustomTypeProvider(p),
		cel.CustomTypeAdapter(&adapter{base: reg, resource: e.resource, subject: e.subject}),
		cel.Variable("resource", e.resource.typ),
		cel.Variable("subject", e.subject.typ),
		cel.Variable("context", cel.MapType(cel.StringType, cel.DynType)),
		cel.EnableIdentifierEscapeSyntax(),
		cel.CrossTypeNumericComparisons(true),
	)
	if err != nil {
		return nil, fmt.Errorf("condition: creating the CEL environment: %w", err)
	}
	return e, nil
}

func (e *Env) declareResource(s Schema) error {
	r := e.resource
	r.add("id", types.StringType, objectString(Object.ID))
	r.add("type", types.StringType, objectString(Object.Type))
	r.add("owner", types.StringType, objectString(Object.Owner))
	r.add("groups", types.NewListType(types.StringType), accessor{
		get:   func(t any) (any, error) { return stringList(asObject(t).Groups()), nil },
		isSet: func(t any) bool { return len(asObject(t).Groups()) > 0 },
	})
	r.add("scope", types.StringType, objectString(Object.Scope))
	r.add("parent", r.typ, accessor{
		get: func(t any) (any, error) {
			o, a := target(t)
			return a.view(o.Parent()), nil
		},
		isSet: func(t any) bool {
			return asObject(t).Parent() != nil
		},
	})
	for _, name := range slices.Sorted(maps.Keys(s.ResourceAttrs)) {
		typ := s.ResourceAttrs[name]
		if err := checkName("resource attribute", name, resourceBuiltins); err != nil {
			return err
		}
		if !typ.valid() {
			return fmt.Errorf("condition: resource attribute %q has no type; declare one of %s", name, strings.Join(typeNames[1:], ", "))
		}
		r.add(name, celType(typ), attrAccessor("resource", name, typ, func(t any) (any, bool) {
			return asObject(t).Attr(name)
		}))
	}
	for _, name := range slices.Sorted(slices.Values(s.Ancestors)) {
		if err := checkName("resource type or scope level", name, resourceBuiltins); err != nil {
			return err
		}
		if _, ok := s.ResourceAttrs[name]; ok {
			return fmt.Errorf("condition: resource attribute %q has the name of a resource type or scope level, so resource.%s would be ambiguous; rename the attribute", name, name)
		}
		if _, dup := r.fields[name]; dup {
			return fmt.Errorf("condition: resource type or scope level %q is listed twice; resource type and scope level ids must be distinct", name)
		}
		r.add(name, r.typ, accessor{
			get: func(t any) (any, error) {
				o, a := target(t)
				return a.view(o.Ancestor(name)), nil
			},
			isSet: func(t any) bool { return asObject(t).Ancestor(name) != nil },
		})
	}
	return nil
}

func (e *Env) declareSubject(s Schema) error {
	u := e.subject
	u.add("id", types.StringType, accessor{
		get: func(t any) (any, error) {
			s, a := subjectTarget(t)
			return a.str(s.ID()), nil
		},
		isSet: func(t any) bool { return asSubject(t).ID() != "" },
	})
	u.add("groups", types.NewListType(types.StringType), accessor{
		get:   subjectGroups,
		isSet: func(t any) bool { return len(asSubject(t).Groups()) > 0 },
	})
	for _, name := range slices.Sorted(maps.Keys(s.SubjectAttrs)) {
		typ := s.SubjectAttrs[name]
		if err := checkName("subject attribute", name, subjectBuiltins); err != nil {
			return err
		}
		if !typ.valid() {
			return fmt.Errorf("condition: subject attribute %q has no type; declare one of %s", name, strings.Join(typeNames[1:], ", "))
		}
		u.add(name, celType(typ), attrAccessor("subject", name, typ, func(t any) (any, bool) {
			return asSubject(t).Attr(name)
		}))
	}
	return nil
}

// checkName reports whether name can be a field next to the built-in ones.
func checkName(what, name string, builtins []string) error {
	if name == "" {
		return fmt.Errorf("condition: a %s has an empty name; give it a name", what)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-' || c == '/'
		if !ok {
			return fmt.Errorf("condition: %s %q has the character %q, which conditions cannot spell; use only letters, digits and _ . - /", what, name, c)
		}
	}
	if slices.Contains(builtins, name) {
		return fmt.Errorf("condition: %s %q clashes with the built-in field of the same name (built-in fields: %s); rename it", what, name, strings.Join(builtins, ", "))
	}
	return nil
}

// celType returns the CEL type of attributes declared as t.
func celType(t Type) *types.Type {
	switch t {
	case String:
		return types.StringType
	case Bool:
		return types.BoolType
	case Int:
		return types.IntType
	case Double:
		return types.DoubleType
	case StringList:
		return types.NewListType(types.StringType)
	case Timestamp:
		return types.TimestampType
	}
	panic("condition: invalid Type " + t.String())
}

// structDef describes rolecall.Resource or rolecall.Subject to the CEL type
// checker and interpreter.
type structDef struct {
	name     string
	typ      *types.Type // the struct type
	typeType *types.Type // type(typ), as Provider.FindStructType returns it
	fields   map[string]*types.FieldType
	names    []string // field names in declaration order
}

func newStructDef(name string) *structDef {
	t := types.NewObjectType(name, traits.FieldTesterType, traits.IndexerType)
	return &structDef{
		name:     name,
		typ:      t,
		typeType: types.NewTypeTypeWithParam(t),
		fields:   make(map[string]*types.FieldType),
	}
}

// accessor reads one field from the value of a resource or subject variable,
// which is an Object, a Subject or a *subjectView.
type accessor struct {
	get   ref.FieldGetter
	isSet ref.FieldTester
}

func (d *structDef) add(name string, t *types.Type, a accessor) {
	d.fields[name] = &types.FieldType{Type: t, GetFrom: a.get, IsSet: a.isSet}
	d.names = append(d.names, name)
}

// provider adds rolecall.Resource and rolecall.Subject to a CEL type
// registry.
type provider struct {
	*types.Registry
	structs map[string]*structDef
}

// FindIdent implements types.Provider; it makes the struct names usable as
// type values, as in type(resource) == rolecall.Resource.
func (p *provider) FindIdent(name string) (ref.Val, bool) {
	if d, ok := p.structs[name]; ok {
		return d.typ, true
	}
	return p.Registry.FindIdent(name)
}

// FindStructType implements types.Provider.
func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if d, ok := p.structs[name]; ok {
		return d.typeType, true
	}
	return p.Registry.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if d, ok := p.structs[name]; ok {
		return slices.Clone(d.names), true
	}
	return p.Registry.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if d, ok := p.structs[name]; ok {
		ft, ok := d.fields[field]
		return ft, ok
	}
	return p.Registry.FindStructFieldType(name, field)
}

// NewValue implements types.Provider. Conditions cannot create resources or
// subjects; Compile rejects expressions that try.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.structs[name]; ok {
		return types.NewErr("conditions cannot create %s values", name)
	}
	return p.Registry.NewValue(name, fields)
}

// adapter turns the engine's objects and subjects into CEL values, for when a
// condition uses one whole rather than reading a field of it.
type adapter struct {
	base              types.Adapter
	resource, subject *structDef
}

// NativeToValue implements types.Adapter.
func (a *adapter) NativeToValue(v any) ref.Val {
	switch v := v.(type) {
	case ref.Val:
		return v
	case *objView:
		return structVal{v: v.obj, def: a.resource}
	case *subjectView:
		return structVal{v: v.sub, def: a.subject}
	case Object:
		return structVal{v: v, def: a.resource}
	case Subject:
		return structVal{v: v, def: a.subject}
	}
	return a.base.NativeToValue(v)
}
