package condition

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// Template is a compiled message template, such as the denial reason
// "document {resource.id} is locked by {resource.locked_by}". It is safe for
// concurrent use.
type Template struct {
	src   string
	parts []templatePart
}

// templatePart is literal text or, if prg is set, an expression to render.
type templatePart struct {
	text string
	prg  cel.Program
}

// Source returns the template as the model writes it.
func (t *Template) Source() string { return t.src }

// CompileTemplate compiles the message template s. Each {expr} in s is a CEL
// expression of any type over resource, subject and context, type-checked as
// a condition is; "{{" and "}}" stand for literal braces. It returns an
// *Error whose Line and Column locate the mistake within s.
func (e *Env) CompileTemplate(s string) (*Template, error) {
	rs := []rune(s)
	t := &Template{src: s}
	var lit strings.Builder
	fail := func(at int, msg string) (*Template, error) {
		line, col := runePosition(rs, at)
		return nil, &Error{Expr: s, Line: line, Column: col, Msg: msg, template: true}
	}
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case (c == '{' || c == '}') && i+1 < len(rs) && rs[i+1] == c:
			lit.WriteRune(c)
			i += 2
		case c == '}':
			return fail(i, `unmatched "}"; write "}}" for a literal brace`)
		case c == '{':
			end, ok := exprEnd(rs, i+1)
			if !ok {
				return fail(i, `unclosed "{"; end the expression with "}", or write "{{" for a literal brace`)
			}
			expr := string(rs[i+1 : end])
			if strings.TrimSpace(expr) == "" {
				return fail(i, `empty "{}"; put an expression between the braces, or write "{{}}" for literal braces`)
			}
			checked, cerr := e.check(expr)
			if cerr == nil {
				prg, err := e.program(expr, checked)
				if err != nil {
					cerr = err.(*Error)
				} else {
					if lit.Len() > 0 {
						t.parts = append(t.parts, templatePart{text: lit.String()})
						lit.Reset()
					}
					t.parts = append(t.parts, templatePart{text: expr, prg: prg.prg})
				}
			}
			if cerr != nil {
				exprRunes := rs[i+1 : end]
				return fail(i+1+runeOffset(exprRunes, cerr.Line, cerr.Column), cerr.Msg)
			}
			i = end + 1
		default:
			lit.WriteRune(c)
			i++
		}
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, templatePart{text: lit.String()})
	}
	return t, nil
}

// exprEnd returns the index of the "}" closing the expression that starts at
// rs[start], skipping braces nested in the expression and in its string
// literals.
func exprEnd(rs []rune, start int) (int, bool) {
	depth := 0
	for i := start; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i, true
			}
			depth--
		case '"', '\'':
			raw := i > start && (rs[i-1] == 'r' || rs[i-1] == 'R')
			end, ok := stringEnd(rs, i, raw)
			if !ok {
				return 0, false
			}
			i = end - 1
		}
	}
	return 0, false
}

// stringEnd returns the index just past the CEL string literal whose opening
// quote is rs[i].
func stringEnd(rs []rune, i int, raw bool) (int, bool) {
	q := rs[i]
	triple := i+2 < len(rs) && rs[i+1] == q && rs[i+2] == q
	j := i + 1
	if triple {
		j = i + 3
	}
	for j < len(rs) {
		switch {
		case rs[j] == '\\' && !raw:
			j += 2
		case triple && j+2 < len(rs) && rs[j] == q && rs[j+1] == q && rs[j+2] == q:
			return j + 3, true
		case !triple && rs[j] == q:
			return j + 1, true
		default:
			j++
		}
	}
	return 0, false
}

// runePosition returns the 1-based line and column of rs[at].
func runePosition(rs []rune, at int) (line, col int) {
	line, col = 1, 1
	for _, c := range rs[:min(at, len(rs))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// runeOffset returns the index in rs of the 1-based line and column.
func runeOffset(rs []rune, line, col int) int {
	i := 0
	for l := 1; l < line && i < len(rs); i++ {
		if rs[i] == '\n' {
			l++
		}
	}
	return min(i+col-1, len(rs))
}

// Render fills in the template for sub acting on obj in a request with
// context ctx. Strings render unquoted, lists comma-separated, timestamps in
// RFC 3339 and resources and subjects as their ids. An expression that fails
// to evaluate renders as "?".
func (t *Template) Render(sub Subject, obj Object, ctx map[string]any) string {
	var b strings.Builder
	a := newActivation(sub, obj, ctx)
	defer a.release()
	for _, p := range t.parts {
		if p.prg == nil {
			b.WriteString(p.text)
			continue
		}
		out, _, err := p.prg.Eval(a)
		if err != nil {
			b.WriteString("?")
			continue
		}
		format(&b, out, false)
	}
	return b.String()
}

// format writes v plainly; nested lists and maps are bracketed.
func format(b *strings.Builder, v ref.Val, nested bool) {
	switch v := v.(type) {
	case types.String:
		b.WriteString(string(v))
	case types.Bool:
		b.WriteString(strconv.FormatBool(bool(v)))
	case types.Int:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case types.Uint:
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	case types.Double:
		b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 64))
	case types.Bytes:
		b.Write(v)
	case types.Timestamp:
		b.WriteString(v.Time.Format(time.RFC3339Nano))
	case types.Duration:
		b.WriteString(v.Duration.String())
	case types.Null:
		b.WriteString("null")
	case *types.Type:
		b.WriteString(v.TypeName())
	case structVal:
		if o, ok := v.v.(Object); ok {
			b.WriteString(o.ID())
		} else {
			b.WriteString(asSubject(v.v).ID())
		}
	case traits.Lister:
		if nested {
			b.WriteByte('[')
		}
		for i, it := 0, v.Iterator(); it.HasNext() == types.True; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, it.Next(), true)
		}
		if nested {
			b.WriteByte(']')
		}
	case traits.Mapper:
		var entries []string
		for it := v.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			var e strings.Builder
			format(&e, k, true)
			e.WriteString(": ")
			format(&e, v.Get(k), true)
			entries = append(entries, e.String())
		}
		slices.Sort(entries)
		if nested {
			b.WriteByte('{')
		}
		b.WriteString(strings.Join(entries, ", "))
		if nested {
			b.WriteByte('}')
		}
	default:
		b.WriteString("?")
	}
}
