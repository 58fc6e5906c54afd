// Package transfer imports and exports an organization's data as JSON
// Lines: one object a line, {"kind": "...", "value": {...}}, in an order in
// which every object comes after those it refers to (scopes parents first,
// users, memberships, groups and their members, resources parents first,
// roles, bindings, offers, invitations, domains).
//
// Import reads the whole input before writing anything: a line that does
// not parse, names an unknown kind or breaks an object's shape stops the
// import with the line number and what is wrong, and nothing is committed.
// It then commits in batches, each one transaction, so an import killed
// midway leaves whole batches and nothing half-applied. A store that is a
// rolecall.Loader (PostgreSQL) takes each batch in one bulk Load.
package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
)

// Line is one line of an export.
type Line struct {
	Kind  rolecall.ObjectKind `json:"kind"`
	Value json.RawMessage     `json:"value"`
}

// DefaultBatch is how many objects an import commits per transaction.
const DefaultBatch = 2000

// Options adjust an import.
type Options struct {
	// Batch is the number of objects per transaction (DefaultBatch if 0).
	Batch int
	// Progress, when set, is called after each committed batch with the
	// number of objects committed so far and the total.
	Progress func(done, total int)
}

// item is one parsed line.
type item struct {
	line int
	kind rolecall.ObjectKind
	obj  any
}

// Import reads JSON Lines from r and creates every object in the store.
// It returns the number of objects created and the revision of the last
// batch.
func Import(ctx context.Context, s rolecall.Writer, r io.Reader, opt Options) (int, rolecall.Revision, error) {
	items, err := parse(r)
	if err != nil {
		return 0, 0, err
	}
	batch := opt.Batch
	if batch <= 0 {
		batch = DefaultBatch
	}
	loader, _ := s.(rolecall.Loader)
	var rev rolecall.Revision
	for start := 0; start < len(items); start += batch {
		chunk := items[start:min(start+batch, len(items))]
		if snap, ok := asSnapshot(chunk); ok && loader != nil {
			rev, err = loader.Load(ctx, snap)
		} else {
			rev, err = s.Update(ctx, func(tx rolecall.Tx) error {
				for _, it := range chunk {
					if err := create(tx, it); err != nil {
						return fmt.Errorf("line %d: %w", it.line, err)
					}
				}
				return nil
			})
		}
		if err != nil {
			return start, rev, &rolecall.Error{Op: "transfer.Import", Kind: rolecall.KindOf(err), Msg: fmt.Sprintf("the batch starting at line %d was not committed (the %d objects before it were)", chunk[0].line, start), Err: err}
		}
		if opt.Progress != nil {
			opt.Progress(start+len(chunk), len(items))
		}
	}
	return len(items), rev, nil
}

// asSnapshot gathers a batch into a snapshot for a bulk Load; ok is false
// when the batch holds kinds a snapshot cannot carry (invitations,
// domains).
func asSnapshot(items []item) (*rolecall.Snapshot, bool) {
	snap := &rolecall.Snapshot{}
	for _, it := range items {
		switch o := it.obj.(type) {
		case *rolecall.Scope:
			snap.Scopes = append(snap.Scopes, *o)
		case *rolecall.User:
			snap.Users = append(snap.Users, *o)
		case *rolecall.Membership:
			snap.Memberships = append(snap.Memberships, *o)
		case *rolecall.Group:
			snap.Groups = append(snap.Groups, *o)
		case *rolecall.GroupMember:
			snap.GroupMembers = append(snap.GroupMembers, *o)
		case *rolecall.Resource:
			snap.Resources = append(snap.Resources, *o)
		case *rolecall.Role:
			snap.Roles = append(snap.Roles, *o)
		case *rolecall.Binding:
			snap.Bindings = append(snap.Bindings, *o)
		case *rolecall.Offer:
			snap.Offers = append(snap.Offers, *o)
		default:
			return nil, false
		}
	}
	return snap, true
}

// parse reads and checks every line before anything is written.
func parse(r io.Reader) ([]item, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var items []item
	n := 0
	for sc.Scan() {
		n++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var l Line
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, lineErr(n, "not a JSON object {\"kind\": ..., \"value\": {...}}: "+err.Error())
		}
		obj, err := decodeValue(l.Kind, l.Value)
		if err != nil {
			return nil, lineErr(n, err.Error())
		}
		items = append(items, item{line: n, kind: l.Kind, obj: obj})
	}
	if err := sc.Err(); err != nil {
		return nil, &rolecall.Error{Op: "transfer.Import", Kind: rolecall.Invalid, Name: fmt.Sprintf("line %d", n+1), Msg: "cannot read the input", Err: err}
	}
	return items, nil
}

func lineErr(n int, msg string) error {
	return rolecall.E("transfer.Import", rolecall.Invalid, fmt.Sprintf("line %d", n), msg+"; nothing was imported")
}

// kinds lists the importable kinds in export order.
var kinds = []rolecall.ObjectKind{
	rolecall.ObjScope, rolecall.ObjUser, rolecall.ObjMembership, rolecall.ObjGroup, rolecall.ObjGroupMember,
	rolecall.ObjResource, rolecall.ObjRole, rolecall.ObjBinding, rolecall.ObjOffer, rolecall.ObjInvitation, rolecall.ObjDomain,
}

func decodeValue(kind rolecall.ObjectKind, v json.RawMessage) (any, error) {
	var obj any
	switch kind {
	case rolecall.ObjScope:
		obj = &rolecall.Scope{}
	case rolecall.ObjUser:
		obj = &rolecall.User{}
	case rolecall.ObjMembership:
		obj = &rolecall.Membership{}
	case rolecall.ObjGroup:
		obj = &rolecall.Group{}
	case rolecall.ObjGroupMember:
		obj = &rolecall.GroupMember{}
	case rolecall.ObjResource:
		obj = &rolecall.Resource{}
	case rolecall.ObjRole:
		obj = &rolecall.Role{}
	case rolecall.ObjBinding:
		obj = &rolecall.Binding{}
	case rolecall.ObjOffer:
		obj = &rolecall.Offer{}
	case rolecall.ObjInvitation:
		obj = &rolecall.Invitation{}
	case rolecall.ObjDomain:
		obj = &rolecall.Domain{}
	default:
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = string(k)
		}
		return nil, fmt.Errorf("unknown kind %q; kinds are %s", kind, strings.Join(names, ", "))
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("the %s has no value", kind)
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return nil, fmt.Errorf("the %s does not decode: %v", kind, err)
	}
	if k, ok := obj.(interface{ Key() string }); ok && strings.Trim(k.Key(), "@/:") == "" && kind != rolecall.ObjBinding && kind != rolecall.ObjOffer && kind != rolecall.ObjInvitation {
		return nil, fmt.Errorf("the %s has no id", kind)
	}
	return obj, nil
}

func create(tx rolecall.Tx, it item) error {
	switch o := it.obj.(type) {
	case *rolecall.Scope:
		return tx.CreateScope(*o)
	case *rolecall.User:
		return tx.CreateUser(*o)
	case *rolecall.Membership:
		return tx.CreateMembership(*o)
	case *rolecall.Group:
		return tx.CreateGroup(*o)
	case *rolecall.GroupMember:
		return tx.CreateGroupMember(*o)
	case *rolecall.Resource:
		return tx.CreateResource(*o)
	case *rolecall.Role:
		return tx.CreateRole(*o)
	case *rolecall.Binding:
		return tx.CreateBinding(o)
	case *rolecall.Offer:
		return tx.CreateOffer(o)
	case *rolecall.Invitation:
		return tx.CreateInvitation(o)
	case *rolecall.Domain:
		return tx.CreateDomain(*o)
	}
	return fmt.Errorf("cannot import a %s", it.kind)
}

// Export writes an organization's data (its scope tree and everything in
// it; the users who are members of it) as JSON Lines in import order, as of
// one revision of the store. An empty org exports everything. An org that
// is not an organization (a top-level scope) is NotFound, or Invalid when
// it is a scope below one; nothing is written then.
func Export(ctx context.Context, s rolecall.Reader, org string, w io.Writer) (int, error) {
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return 0, err
	}
	return ExportSnapshot(snap, org, w)
}

// ExportSnapshot writes a snapshot's data for one organization (or all, for
// an empty org) as JSON Lines. It refuses an org as Export does, before
// writing anything.
func ExportSnapshot(snap *rolecall.Snapshot, org string, w io.Writer) (int, error) {
	if err := isOrg(snap, org); err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	put := func(kind rolecall.ObjectKind, v any) error {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		n++
		return enc.Encode(Line{Kind: kind, Value: raw})
	}
	if org != "" {
		users := snap.Users
		snap = snap.Part(func(o string) bool { return o == org })
		// an organization's export carries the users who are its members
		members := map[string]bool{}
		for _, m := range snap.Memberships {
			members[m.User] = true
		}
		snap.Users = nil
		for _, u := range users {
			if members[u.ID] {
				snap.Users = append(snap.Users, u)
			}
		}
	}
	// scopes, parents first
	parent := map[string]string{}
	for _, sc := range snap.Scopes {
		parent[sc.ID] = sc.Parent
	}
	depth := func(id string) int {
		d := 0
		for ; parent[id] != "" && d < 64; d++ {
			id = parent[id]
		}
		return d
	}
	scopes := slices.Clone(snap.Scopes)
	slices.SortStableFunc(scopes, func(a, b rolecall.Scope) int { return depth(a.ID) - depth(b.ID) })
	for _, sc := range scopes {
		if err := put(rolecall.ObjScope, sc); err != nil {
			return n, err
		}
	}
	for _, u := range snap.Users {
		if err := put(rolecall.ObjUser, u); err != nil {
			return n, err
		}
	}
	for _, m := range snap.Memberships {
		if err := put(rolecall.ObjMembership, m); err != nil {
			return n, err
		}
	}
	for _, g := range snap.Groups {
		if err := put(rolecall.ObjGroup, g); err != nil {
			return n, err
		}
	}
	for _, gm := range snap.GroupMembers {
		if err := put(rolecall.ObjGroupMember, gm); err != nil {
			return n, err
		}
	}
	// resources after everything they refer to (parent, inputs)
	byKey := map[string]*rolecall.Resource{}
	for i := range snap.Resources {
		byKey[snap.Resources[i].Key()] = &snap.Resources[i]
	}
	done := map[string]bool{}
	var ordered []*rolecall.Resource
	var visit func(r *rolecall.Resource)
	visit = func(r *rolecall.Resource) {
		k := r.Key()
		if done[k] {
			return
		}
		done[k] = true
		var deps []string
		if r.Parent != nil {
			deps = append(deps, r.Parent.String())
		}
		for _, name := range slices.Sorted(maps.Keys(r.Inputs)) {
			for _, in := range r.Inputs[name] {
				deps = append(deps, in.String())
			}
		}
		for _, d := range deps {
			if dr := byKey[d]; dr != nil {
				visit(dr)
			}
		}
		ordered = append(ordered, r)
	}
	for i := range snap.Resources {
		visit(&snap.Resources[i])
	}
	for _, r := range ordered {
		if err := put(rolecall.ObjResource, *r); err != nil {
			return n, err
		}
	}
	for _, r := range snap.Roles {
		if err := put(rolecall.ObjRole, r); err != nil {
			return n, err
		}
	}
	for _, b := range snap.Bindings {
		if err := put(rolecall.ObjBinding, b); err != nil {
			return n, err
		}
	}
	for _, o := range snap.Offers {
		if err := put(rolecall.ObjOffer, o); err != nil {
			return n, err
		}
	}
	if err := bw.Flush(); err != nil {
		return n, err
	}
	return n, nil
}

// isOrg refuses an org that is not a top-level scope of the snapshot; the
// empty org (everything) passes.
func isOrg(snap *rolecall.Snapshot, org string) error {
	if org == "" {
		return nil
	}
	parent := map[string]string{}
	for _, sc := range snap.Scopes {
		parent[sc.ID] = sc.Parent
	}
	p, ok := parent[org]
	switch {
	case ok && p == "":
		return nil
	case ok:
		top := p
		for i := 0; i < 64 && parent[top] != ""; i++ {
			top = parent[top]
		}
		return rolecall.E("transfer.Export", rolecall.Invalid, "organization "+org,
			fmt.Sprintf("%s is a scope inside %s, not an organization; export %s instead", org, top, top))
	}
	return rolecall.E("transfer.Export", rolecall.NotFound, "organization "+org,
		"no such organization; give the id of a top-level scope, or no organization to export everything")
}
