// Package storetest is the conformance suite of rolecall.Store: one
// function, Run, that every storage back end (SQLite, PostgreSQL) calls
// from its own tests, the way testing/fstest checks a file system.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) rolecall.Store {
//			s, err := sqlite.Open(filepath.Join(t.TempDir(), "rolecall.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite is the precise statement of what the Store contract in the
// root package leaves to words. Beyond store.go it fixes these points, and
// every back end must agree on them:
//
//   - Kinds. Creating an existing key is a Conflict; replacing or deleting a
//     missing key is NotFound; a reference to an object that does not exist
//     (a membership's user, a resource's scope) is a FailedPrecondition, and
//     so is deleting an object something else still refers to (the message
//     names the referrer). Empty ids, unknown kinds, an unusable cursor or
//     limit are Invalid. Every message names the object ("scope \"acme\"").
//   - Integrity. Every reference the engine resolves must exist: a scope's
//     parent, a membership's user and scope, a group's scope, a group
//     member's group and user, a resource's scope or parent resource, its
//     groups and its inputs, a custom role's organization and owning scope,
//     a binding's subject and its scope or resource, an offer's resource
//     and recipient, an invitation's scope, a domain's organization. A
//     role's or a domain's Org must be an organization (a scope without a
//     parent).
//   - Organizations. Every object but a user belongs to one organization
//     (the root of its scope's tree), reported as Change.Org. A Replace
//     cannot change it: one that would move an object to another
//     organization is Invalid, and so is a move that would make a scope or
//     resource its own ancestor. Moves within the organization are allowed.
//     Only MoveScope and MoveResource take a subtree to another
//     organization; each object whose organization changes is then logged
//     as a replacement in the new one (the moved scope or resource always
//     is, its place having changed), and a reference across the new border
//     is FailedPrecondition naming the object that refers (its kind and
//     key) and the one referred to. A custom role owned by a scope that
//     moves to another organization changes key (its organization is part
//     of it): it is logged as a deletion of the old key in the old
//     organization and a creation of the new key in the new one. An
//     invitation's Org is filled in from its scope when empty.
//   - DeleteWhere checks the filter first (Invalid: a lone kind, a field
//     the kind lacks, an audit filter), then selects, then refuses with
//     FailedPrecondition while an unselected object refers to a selected
//     one, naming the selected object's kind and key; it deletes objects
//     that refer to others of the selection first, and logs one deletion
//     per object.
//   - Revisions. A new store is at revision 0. Every Update that writes
//     something commits at a revision greater than every earlier one; an
//     Update whose function writes nothing commits nothing and returns the
//     current head, so every revision has at least one change.
//   - Transactions. A Tx call that fails changes nothing, and the
//     transaction stays usable (create-or-replace is "Create, on Conflict
//     Replace"). Readers, even ones called from inside the function, see
//     only committed data. A Tx used after its Update returned fails with
//     FailedPrecondition.
//   - Change log. Changes(after, limit) needs limit ≥ 1 and returns whole
//     revisions: as many as fit in limit changes, but always the first one
//     whole, however large. Every change of a revision has the same At.
//     Invitations, domains and audit events are logged too, though a
//     Snapshot holds neither.
//   - Get and Find read inside the transaction: committed objects and the
//     transaction's own writes. Get into a value of the wrong type, or of
//     an unknown kind, is Invalid; a missing object is found = false with
//     no error. Find takes DeleteWhere's filters (and rejects the same
//     ones) and returns keys in byte order.
//   - Audit queries need an organization (Invalid otherwise); Since is
//     inclusive, Until exclusive, both on the event's At. A cursor is tied
//     to its query: used with another, it is Invalid.
//   - LastChange takes a kind the store holds (Invalid otherwise) and a key
//     (domains in any case); a deletion counts as a change.
//   - API keys are credentials, not authorization data: their writes are
//     checked like other objects' but log no change, and an Update that
//     writes only keys commits them without advancing the revision.
//   - Credentials. Every back end is also a rolecall.Credentials. Like API
//     keys, credentials and sessions log no change, advance no revision,
//     are in no snapshot, and Load leaves them alone. A credential or a
//     session belongs to a stored user or to the operator (user ""); any
//     other user is FailedPrecondition naming it. Deleting a user deletes
//     its credential and sessions in the same transaction. UseTOTPStep
//     accepts a step only if it is later than the last accepted, so of
//     racing sign-ins with one code exactly one succeeds. A session is
//     expired when its expiry is not after the current time (FindSession)
//     or the time given (DeleteExpiredSessions).
//   - Domains are keyed in lower case: the store lowers Domain.Domain, and
//     Delete(ObjDomain, key) takes the key in any case.
//   - Audit. AppendAudit sets Revision, and ID and At when empty; events are
//     never deleted (Delete of ObjAudit is Invalid). Audit lists newest
//     first; Page.Limit ≤ 0 asks for the store's default page size, which is
//     at least 50.
//   - Snapshot slices come in no particular order.
package storetest
