package condition

import (
	"errors"
	"testing"
	"time"
)

func TestTemplateRender(t *testing.T) {
	env := testEnv(t)
	sub := &fakeSubject{id: "ann", groups: []string{"g1", "g3"}}
	obj := &fakeObject{id: "t1", owner: "ann", typ: "task",
		parent: &fakeObject{id: "r1", typ: "data_row"},
		attrs: map[string]any{
			"locked_by": "bob",
			"labels":    []string{"urgent", "later"},
			"priority":  int64(3),
			"score":     0.5,
			"escalated": true,
			"due":       time.Date(2025, 12, 1, 9, 30, 0, 0, time.UTC),
			"step":      7, // wrong type: renders as "?"
		}}
	for _, tt := range []struct {
		tmpl, want string
	}{
		{"document {resource.id} is locked by {resource.locked_by}", "document t1 is locked by bob"},
		{"", ""},
		{"no expressions", "no expressions"},
		{"{{literal}} and {resource.owner}}}", "{literal} and ann}"},
		{"labels: {resource.labels}", "labels: urgent, later"},
		{"{subject.groups}|{resource.groups}|", "g1, g3||"},
		{"{resource.priority + 1} {resource.score} {resource.escalated} {resource.step == 'x'}", "4 0.5 true ?"},
		{"due {resource.due}, {resource.due - timestamp('2025-12-01T00:00:00Z')} late", "due 2025-12-01T09:30:00Z, 9h30m0s late"},
		{"in {resource.parent} under {resource.data_row}/{resource.project}.", "in r1 under r1/."},
		{"{[1, [2u, 3.5], b'x', null]}", "1, [2, 3.5], x, null"},
		{"{ {'b': 2, 'a': [1]} }", "a: [1], b: 2"},
		{`{'}' + resource.id + "{"}`, "}t1{"},
		{`{'''it's {''' + r'\'}`, `it's {\`},
		{"{type(resource)} {resource.step}", "rolecall.Resource ?"},
		{"channel {context.channel}", "channel ?"},
		{"line one\n{subject.id}", "line one\nann"},
	} {
		tmpl, err := env.CompileTemplate(tt.tmpl)
		if err != nil {
			t.Errorf("CompileTemplate(%q): %v", tt.tmpl, err)
			continue
		}
		if tmpl.Source() != tt.tmpl {
			t.Errorf("Source() = %q, want %q", tmpl.Source(), tt.tmpl)
		}
		if got := tmpl.Render(sub, obj, nil); got != tt.want {
			t.Errorf("CompileTemplate(%q).Render = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
	tmpl, err := env.CompileTemplate("{resource.id}/{subject.id}/{context.channel}")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tmpl.Render(nil, nil, map[string]any{"channel": "api"}), "//api"; got != want {
		t.Errorf("Render(nil, nil, ctx) = %q, want %q", got, want)
	}
}

func TestTemplateErrors(t *testing.T) {
	env := testEnv(t)
	for _, tt := range []struct {
		tmpl      string
		line, col int
		msg       string
	}{
		{"locked by {resource.lockd_by}", 1, 20, `resource has no field "lockd_by"; ...`},
		{"a } b", 1, 3, `unmatched "}"; write "}}" for a literal brace`},
		{"a {resource.id", 1, 3, `unclosed "{"; end the expression with "}", or write "{{" for a literal brace`},
		{"a {'}", 1, 3, `unclosed "{"; ...`},
		{"a { } b", 1, 3, `empty "{}"; ...`},
		{"ok {resource.id} {resource.id ==}", 1, 33, "syntax error: ..."},
		{"line one\n  {resource.ownr}", 2, 12, `resource has no field "ownr"; ...`},
		{"{resource.id +\n   resource.ownr}", 2, 12, `resource has no field "ownr"; ...`},
		{"é {nope}", 1, 4, `unknown name "nope"; ...`},
	} {
		_, err := env.CompileTemplate(tt.tmpl)
		var cerr *Error
		if !errors.As(err, &cerr) {
			t.Errorf("CompileTemplate(%q) = %v, want an *Error", tt.tmpl, err)
			continue
		}
		if cerr.Expr != tt.tmpl || cerr.Line != tt.line || cerr.Column != tt.col || !matchMsg(cerr.Msg, tt.msg) {
			t.Errorf("CompileTemplate(%q) error = %+v\nwant line %d, column %d, message %q", tt.tmpl, *cerr, tt.line, tt.col, tt.msg)
		}
	}
}
