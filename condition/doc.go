// Package condition compiles and evaluates the conditions ("qualifiers") and
// message templates of a rolecall model.
//
// Conditions are written in CEL (https://cel.dev). A model declares the
// attributes its resource types carry; [NewEnv] turns that declaration, a
// [Schema], into an [Env] whose CEL environment knows two struct types:
//
//	rolecall.Resource  id, type, owner, groups, scope, parent,
//	                   every declared resource attribute, and one field per
//	                   ancestor type or scope level (resource.data_row,
//	                   resource.project), itself a rolecall.Resource
//	rolecall.Subject   id, groups and every declared subject attribute
//
// and three variables: resource (rolecall.Resource), subject
// (rolecall.Subject) and context (map(string, dyn)), the request context.
//
// [Env.Compile] type-checks a condition once, when the model is loaded, so a
// misspelt field or a condition that is not boolean is reported then, with the
// line and column of the mistake, instead of silently denying at check time:
//
//	p, err := env.Compile(`resource.owner == subject.id || resource.data_row.step in ["rework"]`)
//
// [Program.Eval] runs a compiled condition on the check path against the
// engine's views of the subject, the checked object and the request context.
// It builds no maps: fields resolve through getters compiled into the
// environment, and the values they return are built in memory the
// evaluation already has (see box.go), so that conditions comparing strings,
// numbers and times, like the one above, take one or two hundred
// nanoseconds and allocate nothing. Lists and comprehensions do allocate.
//
// Reading never fails for want of data: an attribute the object does not set
// reads as the zero value of its declared type, and a missing parent or
// ancestor reads as an empty object, so resource.data_row.step == "rework" is
// simply false for an object with no data row. has(resource.x) reports whether
// x is set. Evaluation does fail, with an error naming the attribute, when an
// object stores a value of the wrong Go type for an attribute, and when a
// condition reads a context key the request did not supply.
//
// [Env.CompileTemplate] compiles the message templates of denial reasons, such
// as "document {resource.id} is locked by {resource.locked_by}", in which each
// braced part is a CEL expression of any type.
//
// Env, Program and Template are safe for concurrent use.
package condition
