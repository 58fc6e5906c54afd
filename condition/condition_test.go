package condition

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeObject is an Object backed by plain fields.
type fakeObject struct {
	id, typ, owner, scope string
	groups                []string
	parent                *fakeObject
	attrs                 map[string]any
}

func (o *fakeObject) ID() string       { return o.id }
func (o *fakeObject) Type() string     { return o.typ }
func (o *fakeObject) Owner() string    { return o.owner }
func (o *fakeObject) Groups() []string { return o.groups }
func (o *fakeObject) Scope() string    { return o.scope }

func (o *fakeObject) Parent() Object {
	if o.parent == nil {
		return nil
	}
	return o.parent
}

func (o *fakeObject) Ancestor(typ string) Object {
	for p := o.parent; p != nil; p = p.parent {
		if p.typ == typ {
			return p
		}
	}
	return nil
}

func (o *fakeObject) Attr(name string) (any, bool) {
	v, ok := o.attrs[name]
	return v, ok
}

// fakeSubject is a Subject backed by plain fields.
type fakeSubject struct {
	id     string
	groups []string
	attrs  map[string]any
}

func (s *fakeSubject) ID() string       { return s.id }
func (s *fakeSubject) Groups() []string { return s.groups }

func (s *fakeSubject) Attr(name string) (any, bool) {
	v, ok := s.attrs[name]
	return v, ok
}

var testSchema = Schema{
	ResourceAttrs: map[string]Type{
		"step":      String,
		"locked_by": String,
		"escalated": Bool,
		"published": Bool,
		"priority":  Int,
		"score":     Double,
		"labels":    StringList,
		"due":       Timestamp,
	},
	Ancestors:    []string{"data_row", "dataset", "project", "org-unit"},
	SubjectAttrs: map[string]Type{"department": String, "level": Int},
}

func testEnv(t testing.TB) *Env {
	t.Helper()
	env, err := NewEnv(testSchema)
	if err != nil {
		t.Fatalf("NewEnv: %v", err)
	}
	return env
}

func TestParseType(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Type
	}{
		{"string", String},
		{"bool", Bool},
		{"int", Int},
		{"double", Double},
		{"list<string>", StringList},
		{"[]string", StringList},
		{" timestamp ", Timestamp},
	} {
		got, err := ParseType(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseType(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if tt.in != "[]string" && strings.TrimSpace(tt.in) != got.String() {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), strings.TrimSpace(tt.in))
		}
	}
	_, err := ParseType("strng")
	if err == nil || !strings.Contains(err.Error(), "string, bool, int, double, list<string>, timestamp") {
		t.Errorf("ParseType(strng) error = %v, want one listing the valid types", err)
	}
}

func TestNewEnvErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		schema Schema
		want   string
	}{
		{"attr named like a built-in", Schema{ResourceAttrs: map[string]Type{"owner": String}},
			`resource attribute "owner" clashes with the built-in field`},
		{"ancestor named like a built-in", Schema{Ancestors: []string{"parent"}},
			`resource type or scope level "parent" clashes with the built-in field`},
		{"attr named like an ancestor", Schema{ResourceAttrs: map[string]Type{"project": String}, Ancestors: []string{"project"}},
			`resource attribute "project" has the name of a resource type or scope level`},
		{"ancestor listed twice", Schema{Ancestors: []string{"project", "task", "project"}},
			`"project" is listed twice`},
		{"subject attr named like a built-in", Schema{SubjectAttrs: map[string]Type{"groups": StringList}},
			`subject attribute "groups" clashes`},
		{"empty name", Schema{ResourceAttrs: map[string]Type{"": String}},
			"empty name"},
		{"unspellable name", Schema{Ancestors: []string{"data row!"}},
			`has the character ' '`},
		{"no type", Schema{SubjectAttrs: map[string]Type{"level": 0}},
			`subject attribute "level" has no type`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewEnv(tt.schema)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewEnv error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	const resourceFields = "fields: id, type, owner, groups, scope, parent, due, escalated, labels, locked_by, priority, published, score, step, data_row, dataset, org-unit, project"
	env := testEnv(t)
	for _, tt := range []struct {
		expr      string
		line, col int
		msg       string // the whole of Error.Msg, or a prefix ending in "..."
	}{
		{"resource.owner ==", 1, 18, "syntax error: the expression ends too early; something is missing at its end"},
		{"resource.owner = subject.id", 1, 16, "syntax error: ..."},
		{"resource.ownr == subject.id", 1, 9, `resource has no field "ownr"; ` + resourceFields},
		{"subject.dept == 'x'", 1, 8, `subject has no field "dept"; fields: id, groups, department, level`},
		{"resource.data_row.stepp == 'rework'", 1, 18, `resource.data_row has no field "stepp"; ` + resourceFields},
		{"resource.task.step == 'rework'", 1, 9, `resource has no field "task"; ` + resourceFields},
		{"[resource.parent].exists(r, r.ownr == '')", 1, 30, `rolecall.Resource has no field "ownr"; ` + resourceFields},
		{"resource.owner == subject.id ||\n  resource.stp == ''", 2, 11, `resource has no field "stp"; ...`},
		{"'é' == resource.ownr", 1, 16, `resource has no field "ownr"; ...`},
		{"resource.owner", 1, 1, "condition must be boolean, got string; compare the value..."},
		{"1+2", 1, 1, "condition must be boolean, got int; compare the value..."},
		{"resource.groups", 1, 1, "condition must be boolean, got list(string); compare the value..."},
		{"resourc.owner == ''", 1, 1, `unknown name "resourc" (did you mean "resource"?); conditions can refer to resource, subject and context`},
		{"lookup(resource.id)", 1, 7, `unknown function "lookup"; ...`},
		{"resource.priority == 'high'", 1, 19, "found no matching overload for '_==_' applied to '(int, string)'"},
		{"rolecall.Resource{id: 'x'} == resource", 1, 18, "conditions cannot create rolecall.Resource values; read the resource and subject variables instead"},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := env.Compile(tt.expr)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Compile = %v, %v; want an *Error", p, err)
			}
			if cerr.Expr != tt.expr || cerr.Line != tt.line || cerr.Column != tt.col || !matchMsg(cerr.Msg, tt.msg) {
				t.Errorf("Compile error = %+v\nwant line %d, column %d, message %q", *cerr, tt.line, tt.col, tt.msg)
			}
			if !strings.Contains(err.Error(), cerr.Msg) || !strings.Contains(err.Error(), strconv.Quote(tt.expr)) {
				t.Errorf("Error() = %q, want the expression and the message", err.Error())
			}
		})
	}
}

// matchMsg reports whether got is want, or starts with want's prefix if want
// ends in "...".
func matchMsg(got, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "..."); ok {
		return strings.HasPrefix(got, prefix)
	}
	return got == want
}

func TestEval(t *testing.T) {
	env := testEnv(t)
	project := &fakeObject{id: "p1", typ: "project", owner: "olga", groups: []string{"team-a"}}
	row := &fakeObject{id: "r1", typ: "data_row", parent: project, attrs: map[string]any{"step": "rework"}}
	task := &fakeObject{id: "t1", typ: "task", owner: "ann", parent: row, groups: []string{"g2", "g3"},
		attrs: map[string]any{
			"locked_by": "bob",
			"escalated": true,
			"priority":  int64(3),
			"score":     0.5,
			"labels":    []string{"urgent"},
			"due":       time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC),
		}}
	orphan := &fakeObject{id: "t2", typ: "task", owner: "bob", attrs: map[string]any{"priority": 7}}
	ann := &fakeSubject{id: "ann", groups: []string{"g1"}}
	bob := &fakeSubject{id: "bob", groups: []string{"g1", "g3"}, attrs: map[string]any{"level": int64(2)}}

	const (
		ownOnly  = "resource.owner == subject.id"
		rework   = `resource.owner == subject.id || resource.data_row.step in ["rework", "custom_rework"]`
		inGroups = "resource.groups.exists(g, g in subject.groups)"
		unlocked = `resource.locked_by == "" || resource.locked_by == subject.id`
		api      = `resource.published && context.channel == "api"`
	)
	for _, tt := range []struct {
		name string
		expr string
		sub  Subject
		obj  Object
		ctx  map[string]any
		want bool
		err  string // substring of the error, if one is expected
	}{
		{"owner", ownOnly, ann, task, nil, true, ""},
		{"not owner", ownOnly, bob, task, nil, false, ""},
		{"no owner vs no subject", ownOnly, nil, &fakeObject{}, nil, true, ""},
		{"nil object", ownOnly, ann, nil, nil, false, ""},
		{"rework by owner", rework, ann, task, nil, true, ""},
		{"rework step", rework, bob, task, nil, true, ""},
		{"no data row", rework, ann, orphan, nil, false, ""},
		{"data row of other step", rework, ann, &fakeObject{parent: &fakeObject{typ: "data_row", attrs: map[string]any{"step": "label"}}}, nil, false, ""},
		{"ancestor two up", `resource.project.owner == "olga"`, ann, task, nil, true, ""},
		{"ancestor of ancestor", `resource.data_row.project.id == "p1"`, ann, task, nil, true, ""},
		{"parent", `resource.parent.id == "r1" && resource.parent.parent.parent.id == ""`, ann, task, nil, true, ""},
		{"parent is ancestor", `resource.parent == resource.data_row && resource.data_row != resource.project`, ann, task, nil, true, ""},
		{"groups intersect", inGroups, bob, task, nil, true, ""},
		{"groups disjoint", inGroups, ann, task, nil, false, ""},
		{"no groups", inGroups, nil, orphan, nil, false, ""},
		{"groups of ancestor", `"team-a" in resource.project.groups`, ann, task, nil, true, ""},
		{"locked by other", unlocked, ann, task, nil, false, ""},
		{"locked by me", unlocked, bob, task, nil, true, ""},
		{"unlocked", unlocked, ann, orphan, nil, true, ""},
		{"bool attr", "resource.escalated", ann, task, nil, true, ""},
		{"unset bool attr", "resource.escalated", ann, orphan, nil, false, ""},
		{"int attr", "resource.priority > 2 && resource.priority < 5", ann, task, nil, true, ""},
		{"int attr from int", "resource.priority == 7", ann, orphan, nil, true, ""},
		{"unset int attr", "resource.priority == 0", ann, row, nil, true, ""},
		{"int vs double", "resource.priority > 2.5", ann, task, nil, true, ""},
		{"double attr", "resource.score == 0.5 && resource.data_row.score == 0.0", ann, task, nil, true, ""},
		{"list attr", `"urgent" in resource.labels && size(resource.parent.labels) == 0`, ann, task, nil, true, ""},
		{"timestamp attr", `resource.due < timestamp("2026-01-01T00:00:00Z")`, ann, task, nil, true, ""},
		{"unset timestamp", `resource.due < timestamp("2026-01-01T00:00:00Z")`, ann, orphan, nil, true, ""},
		{"timestamp arithmetic", `resource.due + duration("745h") > timestamp("2026-01-01T00:00:00Z")`, ann, task, nil, true, ""},
		{"has set", "has(resource.locked_by) && has(resource.data_row) && has(resource.parent)", ann, task, nil, true, ""},
		{"has unset", "has(resource.locked_by) || has(resource.data_row) || has(resource.parent)", ann, orphan, nil, false, ""},
		{"subject attr", "subject.level >= 2", bob, task, nil, true, ""},
		{"unset subject attr", `subject.level == 0 && subject.department == ""`, ann, task, nil, true, ""},
		{"type and scope", `resource.type == "task" && resource.scope == ""`, ann, task, nil, true, ""},
		{"escaped ancestor name", "resource.`org-unit`.id == ''", ann, task, nil, true, ""},
		{"context", api, ann, &fakeObject{attrs: map[string]any{"published": true}}, map[string]any{"channel": "api"}, true, ""},
		{"context other channel", api, ann, &fakeObject{attrs: map[string]any{"published": true}}, map[string]any{"channel": "web"}, false, ""},
		{"context short-circuit", api, ann, task, nil, false, ""},
		{"context key missing", api, ann, &fakeObject{attrs: map[string]any{"published": true}}, nil, false, "no such key: channel"},
		{"dyn context", "context.admin", ann, task, map[string]any{"admin": true}, true, ""},
		{"dyn context not bool", "context.admin", ann, task, map[string]any{"admin": "yes"}, false, "evaluated to string, not a boolean"},
		{"wrong attr type", `resource.step == "rework"`, ann, &fakeObject{attrs: map[string]any{"step": 3}}, nil, false,
			`resource attribute "step" holds a Go int, but the model declares it string; store a Go string`},
		{"wrong subject attr type", `subject.level > 1`, &fakeSubject{attrs: map[string]any{"level": "2"}}, task, nil, false,
			`subject attribute "level" holds a Go string, but the model declares it int`},
		{"wrong type short-circuited", `true || resource.step == "rework"`, ann, &fakeObject{attrs: map[string]any{"step": 3}}, nil, true, ""},
		{"dyn field access", `dyn(resource).parent.id == "r1" && dyn(subject).id == "ann"`, ann, task, nil, true, ""},
		{"type value", "type(resource) == rolecall.Resource", ann, task, nil, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := env.Compile(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if p.Expr() != tt.expr {
				t.Errorf("Expr() = %q, want %q", p.Expr(), tt.expr)
			}
			got, err := p.Eval(tt.sub, tt.obj, tt.ctx)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("Eval error = %v, want one containing %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Errorf("Eval error = %v", err)
			case got != tt.want:
				t.Errorf("Eval = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEvalAllocs guards the check path: evaluating a condition must not start
// allocating more than it does now.
func TestEvalAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so evaluations allocate")
	}
	env := testEnv(t)
	sub := &fakeSubject{id: "bob", groups: []string{"g1", "g3"}}
	obj := &fakeObject{id: "t1", owner: "ann", groups: []string{"g2", "g3"}, attrs: map[string]any{"locked_by": "bob"},
		parent: &fakeObject{typ: "data_row", attrs: map[string]any{"step": "custom_rework"}}}
	for _, tt := range []struct {
		expr string
		max  float64
	}{
		// Each string read is boxed into a CEL value (one allocation); the
		// bounds guard against anything more creeping in.
		{"resource.owner == subject.id", 2},
		{`resource.owner == subject.id || resource.data_row.step in ["rework", "custom_rework"]`, 3},
		{`resource.locked_by == "" || resource.locked_by == subject.id`, 3},
		{`resource.parent.parent.id == "" && resource.parent.type == "data_row"`, 1},
		// Two lists, and CEL boxes the strings it iterates over.
		{"resource.groups.exists(g, g in subject.groups)", 4},
	} {
		p, err := env.Compile(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := p.Eval(sub, obj, nil); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > tt.max {
			t.Errorf("Eval(%s) allocates %v times, want at most %v", tt.expr, allocs, tt.max)
		}
	}
}

func BenchmarkEvalOwnOnly(b *testing.B) {
	benchmarkEval(b, "resource.owner == subject.id", false)
}

func BenchmarkEvalRework(b *testing.B) {
	benchmarkEval(b, `resource.owner == subject.id || resource.data_row.step in ["rework", "custom_rework"]`, true)
}

func BenchmarkEvalGroups(b *testing.B) {
	benchmarkEval(b, "resource.groups.exists(g, g in subject.groups)", true)
}

// benchmarkEval evaluates expr for a subject who does not own the object but
// shares a group with it, on an object whose data row is in custom rework.
func benchmarkEval(b *testing.B, expr string, want bool) {
	p, err := testEnv(b).Compile(expr)
	if err != nil {
		b.Fatal(err)
	}
	sub := &fakeSubject{id: "bob", groups: []string{"g1", "g3"}}
	obj := &fakeObject{id: "t1", owner: "ann", groups: []string{"g2", "g3"},
		parent: &fakeObject{typ: "data_row", attrs: map[string]any{"step": "custom_rework"}}}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := p.Eval(sub, obj, nil); got != want || err != nil {
			b.Fatalf("Eval = %v, %v; want %v", got, err, want)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"resource.owner == subject.id",
		`resource.owner == subject.id || resource.data_row.step in ["rework", "custom_rework"]`,
		"resource.groups.exists(g, g in subject.groups)",
		`resource.locked_by == "" || resource.locked_by == subject.id`,
		`resource.published && context.channel == "api"`,
		`resource.due < timestamp("2026-01-01T00:00:00Z")`,
		"has(resource.parent) ? resource.parent.priority > 1 : dyn(resource).score < 1.0",
		"document {resource.id} is {{locked}} by {resource.locked_by}",
		"{'a': [1, 2u, 3.0, b'x', null]}",
	} {
		f.Add(s)
	}
	env := testEnv(f)
	sub := &fakeSubject{id: "bob", groups: []string{"g1"}}
	obj := &fakeObject{id: "t1", owner: "ann", parent: &fakeObject{typ: "data_row", attrs: map[string]any{"step": "x"}}}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := env.Compile(s); err == nil {
			p.Eval(sub, obj, map[string]any{"channel": "api"})
			p.Eval(nil, nil, nil)
		} else if _, ok := err.(*Error); !ok {
			t.Errorf("Compile(%q) error %v is a %T, want *Error", s, err, err)
		}
		if tmpl, err := env.CompileTemplate(s); err == nil {
			tmpl.Render(sub, obj, nil)
		} else if _, ok := err.(*Error); !ok {
			t.Errorf("CompileTemplate(%q) error %v is a %T, want *Error", s, err, err)
		}
	})
}

func TestFieldsAndValues(t *testing.T) {
	env := testEnv(t)
	p, err := env.Compile(`resource.owner == subject.id || resource.data_row.step in ["rework"] || resource.owner == "x"`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"resource.owner", "subject.id", "resource.data_row.step"}
	if got := p.Fields(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Fields() = %v, want %v", got, want)
	}
	obj := &fakeObject{owner: "dan", parent: &fakeObject{typ: "data_row", attrs: map[string]any{"step": "review"}}}
	got := p.Values(&fakeSubject{id: "cleo"}, obj, nil)
	if want := `resource.owner = dan, subject.id = cleo, resource.data_row.step = review`; got != want {
		t.Fatalf("Values() = %q, want %q", got, want)
	}
}
