package condition

import "fmt"

// Error reports a condition or message template that does not compile, and
// where in it the mistake is.
type Error struct {
	// Expr is the condition or template as the model writes it.
	Expr string
	// Line and Column locate the mistake within Expr; both count from 1 and
	// Column counts characters, not bytes.
	Line, Column int
	// Msg says what is wrong, such as
	// `resource has no field "ownr"; fields: id, type, owner, ...`.
	Msg string

	template bool // Expr is a template, not a condition
}

// Error returns the message with what it is about and where, for example
// `condition "resource.ownr == subject.id" at column 10: resource has no field "ownr"; ...`.
func (e *Error) Error() string {
	what := "condition"
	if e.template {
		what = "template"
	}
	if e.Line > 1 {
		return fmt.Sprintf("%s %q at line %d, column %d: %s", what, e.Expr, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s %q at column %d: %s", what, e.Expr, e.Column, e.Msg)
}
