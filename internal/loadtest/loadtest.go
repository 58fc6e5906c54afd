// Package loadtest loads the rbac-dp workload into any rolecall.Store
// through the ordinary write API, for the storage benchmarks of the SQLite
// and PostgreSQL stores.
package loadtest

import (
	"context"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/rbacdp"
)

// Batch is how many objects one load transaction writes.
const Batch = 5000

// LoadRBACDP writes the workload's facts (organizations and projects,
// users and memberships, groups and members, datasets and sources, the
// role bindings) in batches of Batch objects and returns the number of
// objects and the last revision.
func LoadRBACDP(ctx context.Context, s rolecall.Writer, w *rbacdp.Workload) (int, rolecall.Revision, error) {
	scopes, users, members, groups, groupMembers, resources, bindings := w.Data()
	var ops []func(rolecall.Tx) error
	for _, x := range scopes {
		ops = append(ops, func(tx rolecall.Tx) error { return tx.CreateScope(x) })
	}
	for _, x := range users {
		ops = append(ops, func(tx rolecall.Tx) error { return tx.CreateUser(x) })
	}
	for _, x := range members {
		ops = append(ops, func(tx rolecall.Tx) error { return tx.CreateMembership(x) })
	}
	for _, x := range groups {
		ops = append(ops, func(tx rolecall.Tx) error { return tx.CreateGroup(x) })
	}
	for _, x := range groupMembers {
		ops = append(ops, func(tx rolecall.Tx) error { return tx.CreateGroupMember(x) })
	}
	for _, x := range resources {
		ops = append(ops, func(tx rolecall.Tx) error { return tx.CreateResource(x) })
	}
	for i := range bindings {
		b := bindings[i]
		ops = append(ops, func(tx rolecall.Tx) error { return tx.CreateBinding(&b) })
	}
	var rev rolecall.Revision
	for start := 0; start < len(ops); start += Batch {
		chunk := ops[start:min(start+Batch, len(ops))]
		r, err := s.Update(ctx, func(tx rolecall.Tx) error {
			for _, op := range chunk {
				if err := op(tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return start, rev, err
		}
		rev = r
	}
	return len(ops), rev, nil
}
