package condition

import (
	"fmt"
	"regexp"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
)

// Program is a compiled condition. It is safe for concurrent use.
type Program struct {
	expr   string
	prg    cel.Program
	fields []string
	values []*Template // one per field, rendering its value
}

// Expr returns the condition as the model writes it.
func (p *Program) Expr() string { return p.expr }

// Fields lists the fields the condition reads (resource.owner,
// subject.id, resource.data_row.step, context.channel), in the order they
// first appear, so an explanation can show their values.
func (p *Program) Fields() []string { return p.fields }

// Values renders the value of each field the condition reads, as
// "resource.owner = dan, subject.id = cleo", for explaining why it did not
// hold.
func (p *Program) Values(sub Subject, obj Object, ctx map[string]any) string {
	parts := make([]string, 0, len(p.fields))
	for i, f := range p.fields {
		v := p.values[i].Render(sub, obj, ctx)
		if v == "" {
			v = `""`
		}
		parts = append(parts, f+" = "+v)
	}
	return strings.Join(parts, ", ")
}

// Compile type-checks the condition expr and prepares it for evaluation. It
// returns an *Error locating the mistake when expr is not valid CEL, refers to
// a name or field the Schema does not declare, or does not evaluate to a
// boolean. A condition whose type is only known at run time, such as
// context.is_admin, is accepted; Eval fails if it is not a boolean then.
func (e *Env) Compile(expr string) (*Program, error) {
	checked, cerr := e.check(expr)
	if cerr != nil {
		return nil, cerr
	}
	switch t := checked.OutputType(); t.Kind() {
	case types.BoolKind, types.DynKind:
	default:
		return nil, &Error{Expr: expr, Line: 1, Column: 1, Msg: "condition must be boolean, got " + t.String() + "; compare the value (resource.owner == subject.id, resource.step == \"rework\", resource.count > 0)"}
	}
	prog, err := e.program(expr, checked)
	if err != nil {
		return nil, err
	}
	for _, f := range readFields(checked) {
		t, err := e.CompileTemplate("{" + f + "}")
		if err != nil {
			continue // not renderable on its own; leave it out
		}
		prog.fields = append(prog.fields, f)
		prog.values = append(prog.values, t)
	}
	return prog, nil
}

func (e *Env) program(expr string, checked *cel.Ast) (*Program, error) {
	prg, err := e.cel.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		// Planning fails only for expressions the checker accepted but the
		// interpreter cannot run, such as a regular expression literal that
		// does not compile.
		return nil, &Error{Expr: expr, Line: 1, Column: 1, Msg: err.Error()}
	}
	return &Program{expr: expr, prg: prg}, nil
}

// readFields lists the longest field paths an expression reads from
// resource, subject and context, in the order they first appear.
func readFields(checked *cel.Ast) []string {
	native := checked.NativeRep()
	var out []string
	seen := map[string]bool{}
	inner := map[int64]bool{} // selects that are operands of longer ones
	sels := ast.MatchDescendants(ast.NavigateAST(native), ast.KindMatcher(ast.SelectKind))
	for _, n := range sels {
		if op := n.AsSelect().Operand(); op.Kind() == ast.SelectKind {
			inner[op.ID()] = true
		}
	}
	for _, n := range sels {
		if inner[n.ID()] || n.AsSelect().IsTestOnly() {
			continue
		}
		p := dottedPath(n)
		if p == "" || seen[p] {
			continue
		}
		root, _, _ := strings.Cut(p, ".")
		if root != "resource" && root != "subject" && root != "context" {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

// check parses and type-checks expr, translating CEL's complaints into an
// *Error that names what the Schema does declare.
func (e *Env) check(expr string) (*cel.Ast, *Error) {
	parsed, iss := e.cel.Parse(expr)
	if iss.Err() != nil {
		return nil, e.issueError(expr, iss, nil)
	}
	checked, iss := e.cel.Check(parsed)
	if iss.Err() != nil {
		return nil, e.issueError(expr, iss, parsed)
	}
	native := checked.NativeRep()
	for _, n := range ast.MatchDescendants(ast.NavigateAST(native), ast.KindMatcher(ast.StructKind)) {
		if name := n.AsStruct().TypeName(); name == resourceTypeName || name == subjectTypeName {
			line, col := position(native.SourceInfo().GetStartLocation(n.ID()))
			return nil, &Error{Expr: expr, Line: line, Column: col,
				Msg: fmt.Sprintf("conditions cannot create %s values; read the resource and subject variables instead", name)}
		}
	}
	return checked, nil
}

// position returns the 1-based line and column of loc, or 1, 1 if CEL did
// not say where.
func position(loc common.Location) (line, col int) {
	if loc == nil || loc.Line() < 1 {
		return 1, 1
	}
	return loc.Line(), loc.Column() + 1
}

var expecting = regexp.MustCompile(`^(extraneous|mismatched|missing) (input|token) ('[^']*'|<EOF>|\S+)(?: expecting .*)?$`)

// simplifySyntax turns the parser's token lists into words: "extraneous
// input '==' expecting {'[', '{', ...}" becomes "unexpected '=='; check the
// expression around it".
func simplifySyntax(msg string) string {
	m := expecting.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	tok := m[3]
	if tok == "<EOF>" || tok == "'<EOF>'" {
		return "the expression ends too early; something is missing at its end"
	}
	if m[1] == "missing" {
		return "missing " + tok + " here"
	}
	return "unexpected " + tok + " here"
}

var (
	undefinedField      = regexp.MustCompile(`^undefined field '(.*)'$`)
	undeclaredReference = regexp.MustCompile(`^undeclared reference to '([^']*)'(?: \(did you mean '([^']*)'\?\))?`)
)

func (e *Env) issueError(expr string, iss *cel.Issues, parsed *cel.Ast) *Error {
	first := iss.Errors()[0]
	line, col := position(first.Location)
	msg := first.Message
	if rest, ok := strings.CutPrefix(msg, "Syntax error: "); ok {
		msg = "syntax error: " + simplifySyntax(rest)
	} else if m := undefinedField.FindStringSubmatch(msg); m != nil && parsed != nil {
		msg = e.explainField(parsed, first.ExprID, m[1])
	} else if m := undeclaredReference.FindStringSubmatch(msg); m != nil {
		msg = explainName(parsed, first.ExprID, m[1], m[2])
	}
	return &Error{Expr: expr, Line: line, Column: col, Msg: msg}
}

// explainField describes the select expression id, whose field does not
// exist, by naming the operand and listing the fields it does have.
func (e *Env) explainField(parsed *cel.Ast, id int64, field string) string {
	var operand string
	if n := ast.MatchDescendants(ast.NavigateAST(parsed.NativeRep()), func(n ast.NavigableExpr) bool {
		return n.ID() == id
	}); len(n) == 1 && n[0].Kind() == ast.SelectKind {
		operand = dottedPath(n[0].AsSelect().Operand())
	}
	def := e.resource
	switch {
	case operand == "subject":
		def = e.subject
	case operand != "resource" && !strings.HasPrefix(operand, "resource."):
		// A comprehension variable or some other expression: the field is
		// missing from whichever type it was looked up in.
		if _, ok := e.resource.fields[field]; ok {
			def = e.subject
		}
		operand = def.name
	}
	return fmt.Sprintf("%s has no field %q; fields: %s", operand, field, strings.Join(def.names, ", "))
}

// explainName describes the undeclared identifier or function name in
// expression id; suggestion is CEL's guess at what was meant, or "".
func explainName(parsed *cel.Ast, id int64, name, suggestion string) string {
	if parsed != nil {
		n := ast.MatchDescendants(ast.NavigateAST(parsed.NativeRep()), func(n ast.NavigableExpr) bool {
			return n.ID() == id
		})
		if len(n) == 1 && n[0].Kind() == ast.CallKind {
			return fmt.Sprintf("unknown function %q; see https://cel.dev for the functions CEL provides", name)
		}
	}
	msg := fmt.Sprintf("unknown name %q", name)
	if suggestion != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", suggestion)
	}
	return msg + "; conditions can refer to resource, subject and context"
}

// dottedPath returns the source form of an expression made of an identifier
// and field selections, or "" for any other expression.
func dottedPath(x ast.Expr) string {
	switch x.Kind() {
	case ast.IdentKind:
		return x.AsIdent()
	case ast.SelectKind:
		if p := dottedPath(x.AsSelect().Operand()); p != "" {
			return p + "." + x.AsSelect().FieldName()
		}
	}
	return ""
}

// Eval reports whether the condition holds for sub acting on obj in a request
// with context ctx. A nil sub or obj behaves as one whose fields are all
// unset. Eval returns an error, naming the cause, when an attribute holds a
// value of the wrong Go type, when the condition reads a key ctx lacks, or
// when it otherwise fails at run time; the engine treats that as the
// condition not holding.
func (p *Program) Eval(sub Subject, obj Object, ctx map[string]any) (bool, error) {
	a := newActivation(sub, obj, ctx)
	defer a.release()
	out, _, err := p.prg.Eval(a)
	if err != nil {
		// Format the error now: CEL's errors may refer to values that
		// live in a and format them only when asked.
		return false, fmt.Errorf("condition %q: %s", p.expr, err)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition %q evaluated to %s, not a boolean", p.expr, out.Type().TypeName())
	}
	return bool(b), nil
}
