// Package engine answers access questions over a compiled model and its
// data: Check, CheckBulk, Explain, Effective and LookupResources.
//
// New builds an immutable index from the data: each user's grants are
// merged per scope node (through groups, default roles, organization-wide
// and wildcard bindings) into permission bitsets closed under implication,
// so a check is a few map lookups and a bitwise AND. Conditions (the
// model's qualifiers, preconditions) are compiled CEL programs evaluated
// only where a qualified grant is the one that could allow. Explain is the
// same evaluation with tracing on: it lists the paths that granted access,
// or for a denial every missing requirement, the condition that failed and
// the roles that would grant it and where.
//
// The engine does no I/O. An Engine is safe for concurrent use; the check
// path takes no locks and does not allocate.
package engine
