package rolecall

import (
	"errors"
	"strings"
)

// Kind classifies an Error so callers can branch on it and transports can map
// it to a status code in one table.
type Kind uint8

// The kinds of error rolecall returns.
const (
	KindOther          Kind = iota // unclassified
	Invalid                        // the input is malformed or breaks a rule of the model
	NotFound                       // the object does not exist, or the caller may not see it
	PermissionDenied               // the caller may not do this
	Conflict                       // the object already exists or was changed concurrently
	FailedPrecondition             // the system is not in a state that allows the operation
	Unavailable                    // try again later
	Internal                       // a bug: report it
)

var kindNames = [...]string{
	KindOther:          "error",
	Invalid:            "invalid",
	NotFound:           "not found",
	PermissionDenied:   "permission denied",
	Conflict:           "conflict",
	FailedPrecondition: "failed precondition",
	Unavailable:        "unavailable",
	Internal:           "internal",
}

// String returns the kind in words, as used in error messages.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "error"
}

// Error is the error type of every rolecall package. Op names the operation
// ("model.Load", "engine.Check"), Name the offending object or position
// ("reinfer.yaml:12:5", "role labeler"), Msg says what happened and what to
// do, and Err is the underlying cause, if any.
type Error struct {
	Op   string
	Kind Kind
	Name string
	Msg  string
	Err  error
}

// Error formats the error as "name: msg: cause" with the parts that are set.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Name != "" {
		b.WriteString(e.Name)
	}
	if e.Msg != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	if b.Len() == 0 {
		return e.Kind.String()
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// E builds an Error. It is a shorthand for the composite literal.
func E(op string, kind Kind, name, msg string) *Error {
	return &Error{Op: op, Kind: kind, Name: name, Msg: msg}
}

// Message returns an error's text for a person or for another error's
// message: the name and message of the first *Error in err's chain, without
// the operation that raised it, or err's text.
func Message(err error) string {
	var re *Error
	if errors.As(err, &re) {
		if re.Name != "" {
			return re.Name + ": " + re.Msg
		}
		return re.Msg
	}
	return err.Error()
}

// KindOf returns the Kind of the first *Error in err's chain, or KindOther.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == KindOther && e.Err != nil {
			return KindOf(e.Err)
		}
		return e.Kind
	}
	return KindOther
}

// Errors is a list of errors reported together, such as every problem found
// in one model file. Its message has one error per line.
type Errors []error

// Error joins the messages one per line.
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap returns the list, so errors.Is and errors.As look inside.
func (es Errors) Unwrap() []error { return es }
