// Package engine answers access questions over a compiled model and its
// data: Check, CheckBulk, Explain, Effective, LookupResources and
// LookupSubjects.
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
// Apply makes a new index with committed changes applied. The index keeps
// its arrays in small chunks and its id maps as an immutable base under
// small deltas, so Apply copies only the chunks it changes and recomputes
// only the users, resources and nodes a change reaches; the old index is
// untouched and stays usable. Live keeps an index in step with a store: it
// builds from the store's snapshot, applies its change log (Sync, or
// Follow to poll), and hands readers an index at least as fresh as a
// revision they name (AtLeast).
//
// The engine does no file or network I/O of its own (Live reads through
// the rolecall.Reader it is given). An Engine is safe for concurrent use;
// the check path takes no locks and does not allocate.
package engine
