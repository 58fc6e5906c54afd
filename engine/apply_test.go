package engine_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
	"pgregory.net/rapid"
)

// object is one stored object in a world kept as a list in creation order
// (so that creating in order and deleting in reverse order is always
// valid).
type object struct {
	kind rolecall.ObjectKind
	key  string
	val  any
}

func objectsOf(d *engine.Data) []object {
	var out []object
	add := func(kind rolecall.ObjectKind, key string, v any) { out = append(out, object{kind, key, v}) }
	for _, s := range d.Scopes {
		add(rolecall.ObjScope, s.Key(), s)
	}
	for _, u := range d.Users {
		add(rolecall.ObjUser, u.Key(), u)
	}
	for _, r := range d.Roles {
		add(rolecall.ObjRole, r.Key(), r)
	}
	for _, m := range d.Memberships {
		add(rolecall.ObjMembership, m.Key(), m)
	}
	for _, g := range d.Groups {
		add(rolecall.ObjGroup, g.Key(), g)
	}
	for _, gm := range d.GroupMembers {
		add(rolecall.ObjGroupMember, gm.Key(), gm)
	}
	for _, r := range d.Resources {
		add(rolecall.ObjResource, r.Key(), r)
	}
	for _, b := range d.Bindings {
		add(rolecall.ObjBinding, b.Key(), b)
	}
	for _, o := range d.Offers {
		add(rolecall.ObjOffer, o.Key(), o)
	}
	return out
}

func dataOf(objs []object) *engine.Data {
	d := &engine.Data{}
	for _, o := range objs {
		switch v := o.val.(type) {
		case rolecall.Scope:
			d.Scopes = append(d.Scopes, v)
		case rolecall.User:
			d.Users = append(d.Users, v)
		case rolecall.Role:
			d.Roles = append(d.Roles, v)
		case rolecall.Membership:
			d.Memberships = append(d.Memberships, v)
		case rolecall.Group:
			d.Groups = append(d.Groups, v)
		case rolecall.GroupMember:
			d.GroupMembers = append(d.GroupMembers, v)
		case rolecall.Resource:
			d.Resources = append(d.Resources, v)
		case rolecall.Binding:
			d.Bindings = append(d.Bindings, v)
		case rolecall.Offer:
			d.Offers = append(d.Offers, v)
		}
	}
	return d
}

func change(rev rolecall.Revision, o object, deleted bool) rolecall.Change {
	c := rolecall.Change{Revision: rev, Kind: o.kind, Key: o.key, Deleted: deleted}
	if !deleted {
		c.Value, _ = json.Marshal(o.val)
	}
	return c
}

// TestApplyAgreesWithBruteForce builds an engine from part of a random
// world, applies the rest as changes in random batches, then random
// replacements, moves and deletions, and compares the engine with the
// brute-force evaluator after each phase. Every engine made on the way
// must stay as it was (engines are immutable).
func TestApplyAgreesWithBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		src := genModel(t)
		m, err := model.Parse("random.yaml", []byte(src))
		if err != nil {
			t.Fatalf("generated model does not compile: %v\n%s", err, src)
		}
		w := genData(t, m)
		t.Logf("model:\n%s", src)
		for i := range w.Bindings {
			w.Bindings[i].ID = fmt.Sprintf("b%d", i)
		}
		objs := objectsOf(w)
		k := rapid.IntRange(0, len(objs)).Draw(t, "prefix")
		e, err := engine.New(m, dataOf(objs[:k]))
		if err != nil {
			t.Fatalf("engine.New: %v", err)
		}
		e.Now = func() time.Time { return t0 }
		rev := rolecall.Revision(0)
		apply := func(cs []rolecall.Change) {
			t.Helper()
			next, err := e.Apply(cs)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if next.Revision != cs[len(cs)-1].Revision {
				t.Fatalf("engine at revision %d after applying up to %d", next.Revision, cs[len(cs)-1].Revision)
			}
			e = next
		}
		// creates, in random batches
		for i := k; i < len(objs); {
			n := rapid.IntRange(1, 4).Draw(t, "batch")
			var cs []rolecall.Change
			for ; n > 0 && i < len(objs); n-- {
				rev++
				cs = append(cs, change(rev, objs[i], false))
				i++
			}
			apply(cs)
		}
		t.Logf("phase: after creates")
		before := e
		beforeData := dataOf(objs)
		compareAll(t, m, beforeData, e, &brute{m: m, d: beforeData, now: t0})

		// replacements, moves and deletions, each kept only if the world
		// it leads to is valid
		live := slices.Clone(objs)
		for range rapid.IntRange(0, 6).Draw(t, "mutations") {
			i := rapid.IntRange(0, len(live)-1).Draw(t, "object")
			o, del := mutate(t, m, live, i)
			next := slices.Clone(live)
			if del {
				next = slices.Delete(next, i, i+1)
			} else {
				next[i] = o
			}
			if _, err := engine.New(m, dataOf(next)); err != nil {
				continue
			}
			rev++
			t.Logf("mutation: %s %s deleted=%v %+v", o.kind, o.key, del, o.val)
			apply([]rolecall.Change{change(rev, o, del)})
			live = next
		}
		t.Logf("phase: after mutations")
		d := dataOf(live)
		compareAll(t, m, d, e, &brute{m: m, d: d, now: t0})

		// deletions of a suffix, newest first
		j := rapid.IntRange(0, len(live)).Draw(t, "keep")
		var cs []rolecall.Change
		for i := len(live) - 1; i >= j; i-- {
			rev++
			cs = append(cs, change(rev, live[i], true))
		}
		gone := live[j:]
		live = live[:j]
		if len(cs) > 0 {
			apply(cs)
		}
		t.Logf("phase: after deletions")
		d = dataOf(live)
		if fresh, err := engine.New(m, d); err == nil {
			fresh.Now = func() time.Time { return t0 }
			compareAll(t, m, d, fresh, &brute{m: m, d: d, now: t0})
			t.Logf("a fresh engine agrees")
		}
		compareAll(t, m, d, e, &brute{m: m, d: d, now: t0})
		for _, o := range gone {
			var err error
			switch v := o.val.(type) {
			case rolecall.User:
				_, err = e.Check(engine.Request{Subject: v.ID, Permission: m.Perms[0].ID, Target: rolecall.ScopeTarget(w.Scopes[0].ID)})
			case rolecall.Resource:
				if len(d.Users) > 0 {
					_, err = e.Check(engine.Request{Subject: d.Users[0].ID, Permission: m.Perms[0].ID, Target: rolecall.ResourceTarget(v.Type, v.ID)})
				} else {
					err = rolecall.E("", rolecall.NotFound, "", "")
				}
			default:
				continue
			}
			if rolecall.KindOf(err) != rolecall.NotFound {
				t.Fatalf("%s %s was deleted, yet a check on it says %v", o.kind, o.key, err)
			}
		}
		// the engine from before the mutations is untouched
		compareAll(t, m, beforeData, before, &brute{m: m, d: beforeData, now: t0})
	})
}

// mutate draws a change of live[i]: a replacement (a new default role, a
// resource's owner, flag, groups or place, a custom role's grants, an
// offer's state, a project's organization) or a deletion (a binding, a
// membership, a group membership).
func mutate(t *rapid.T, m *model.Model, live []object, i int) (object, bool) {
	o := live[i]
	var scopes, projs, orgs, groups, users []string
	for j, x := range live {
		switch v := x.val.(type) {
		case rolecall.Scope:
			scopes = append(scopes, v.ID)
			if v.Parent != "" {
				projs = append(projs, v.ID)
			} else if j < i {
				orgs = append(orgs, v.ID) // created before: deleting in reverse stays valid
			}
		case rolecall.Group:
			groups = append(groups, v.ID)
		case rolecall.User:
			users = append(users, v.ID)
		}
	}
	var roles []string
	for _, r := range m.Roles {
		roles = append(roles, r.ID)
	}
	switch v := o.val.(type) {
	case rolecall.Binding, rolecall.GroupMember:
		return o, true
	case rolecall.Membership:
		if rapid.Bool().Draw(t, "deleteMembership") {
			return o, true
		}
		v.DefaultRole = rapid.SampledFrom(append(roles, "")).Draw(t, "defaultRole")
		o.val = v
	case rolecall.Resource:
		v.Owner = rapid.SampledFrom(append(users, "")).Draw(t, "owner")
		if v.Attrs != nil {
			v.Attrs = map[string]any{"flag": rapid.Bool().Draw(t, "flag")}
		}
		if v.Type == "doc" {
			v.Groups = nil
			for _, g := range groups {
				if rapid.Bool().Draw(t, "group") {
					v.Groups = append(v.Groups, g)
				}
			}
			if rapid.Bool().Draw(t, "move") {
				v.Scope = rapid.SampledFrom(projs).Draw(t, "to")
			}
		}
		o.val = v
	case rolecall.Role:
		v.Grants = []rolecall.Grant{{Permission: rapid.SampledFrom(m.Perms).Draw(t, "grant").ID}}
		o.val = v
	case rolecall.Offer:
		v.State = rapid.SampledFrom([]string{"pending", "accepted", "revoked"}).Draw(t, "state")
		o.val = v
	case rolecall.Scope:
		if v.Parent != "" && len(orgs) > 0 {
			v.Parent = rapid.SampledFrom(orgs).Draw(t, "org")
			o.val = v
		}
	}
	return o, false
}
