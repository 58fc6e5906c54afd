package admin

import (
	"slices"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

// transitionNames are the names offer transitions take in the presets; a
// model may name its own, which Service.Do recognises from the model.
var transitionNames = map[string]bool{"send": true, "accept": true, "reject": true, "update": true, "revoke": true, "surrender": true}

func (s *Service) isTransition(act string) bool {
	for _, k := range s.m.Offers {
		for _, t := range k.Transitions {
			if t.Act == act {
				return true
			}
		}
	}
	return false
}

func engineRequest(user, perm string, t rolecall.Target) engine.Request {
	return engine.Request{Subject: user, Permission: perm, Target: t}
}

// transition moves an offer from one state to another, as its kind's
// transitions allow: the owner's side (a member of the resource's
// organization holding the right there) sends, updates and revokes; the
// recipient's side (a member of the recipient's organization holding the
// right there) accepts, rejects and surrenders. Nobody else may, and the
// recipient can never pass the offer on.
func (x *acting) transition() error {
	if err := x.need("offer"); err != nil {
		return err
	}
	var o rolecall.Offer
	found, err := x.tx.Get(rolecall.ObjOffer, x.r.Offer, &o)
	if err != nil {
		return err
	}
	state := "none"
	if found {
		state = o.State
	} else {
		if err := x.need("kind", "resource", "recipient"); err != nil {
			return err
		}
		o = rolecall.Offer{ID: x.r.Offer, Kind: x.r.Kind, Resource: *x.r.Resource, Recipient: x.r.Recipient, NotBefore: x.r.NotBefore, NotAfter: x.r.NotAfter}
	}
	kind, ok := x.s.m.Offer(o.Kind)
	if !ok {
		return x.notFound(o.Kind, "no such kind of offer in model %s", x.s.m.ID)
	}
	var t *model.Transition
	for i := range kind.Transitions {
		if kind.Transitions[i].Act == x.r.Act {
			t = &kind.Transitions[i]
		}
	}
	if t == nil {
		return x.invalid(x.r.Act, "a %s cannot be %s", kind.Name, x.r.Act)
	}
	// where the acting side stands
	var side string
	if t.By == "recipient" {
		orgs, err := x.orgsOf(o.Recipient)
		if err != nil {
			return err
		}
		if len(orgs) == 0 {
			return x.notFound(x.r.Offer, "no such offer")
		}
		side = orgs[0]
	} else {
		var r rolecall.Resource
		if found, err := x.tx.Get(rolecall.ObjResource, o.Resource.String(), &r); err != nil {
			return err
		} else if !found {
			return x.notFound(o.Resource.String(), "no such resource")
		}
		ch, err := x.resourceChain(r)
		if err != nil {
			return err
		}
		side = ch[len(ch)-1].ID
	}
	if err := x.enterOrg(side); err != nil {
		return x.notFound(x.r.Offer, "no such offer")
	}
	if found && x.r.Kind != "" && x.r.Kind != o.Kind {
		return x.invalid(x.r.Offer, "is a %s, not a %s", o.Kind, x.r.Kind)
	}
	if !x.actor.Operator && t.Requires != nil {
		target := rolecall.ScopeTarget(side)
		if t.By != "recipient" {
			target = rolecall.ResourceTarget(o.Resource.Type, o.Resource.ID)
		}
		if ok, err := x.holds(t.Requires.ID, target); err != nil {
			return err
		} else if !ok {
			return rolecall.E(x.op, rolecall.PermissionDenied, "authorization",
				x.actor.User+" does not hold "+t.Requires.ID+" in "+side+", which "+x.r.Act+" needs; someone who holds it must act")
		}
	}
	if !slices.Contains(t.From, state) {
		if state == "none" {
			return x.notFound(x.r.Offer, "no such offer")
		}
		return x.refuse("offer_state", "offer %s is %s and cannot be %s now; ask the owner for a new one", o.ID, state, pastTense(x.r.Act))
	}
	if found {
		if err := x.unchangedSince(rolecall.ObjOffer, o.ID); err != nil {
			return err
		}
	}
	before := o
	if t.To != "same" {
		o.State = t.To
	}
	if found && t.By != "recipient" { // the owner may change the offer's time bounds
		if !x.r.NotBefore.IsZero() {
			o.NotBefore = x.r.NotBefore
		}
		if !x.r.NotAfter.IsZero() {
			o.NotAfter = x.r.NotAfter
		}
	}
	if state == "none" {
		if err := x.tx.CreateOffer(&o); err != nil {
			return err
		}
		x.done("offer "+o.ID, nil, o)
		return nil
	}
	if err := x.tx.ReplaceOffer(o); err != nil {
		return err
	}
	x.done("offer "+o.ID, before, o)
	return nil
}

func pastTense(act string) string {
	switch act {
	case "send":
		return "sent"
	case "reject", "revoke", "accept", "update", "surrender":
		return act + "ed"
	}
	return act
}

// orgsOf lists the organizations a user belongs to.
func (x *acting) orgsOf(user string) ([]string, error) {
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjMembership, User: user})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range ks {
		var ms rolecall.Membership
		if _, err := x.tx.Get(rolecall.ObjMembership, k, &ms); err != nil {
			return nil, err
		}
		ch, err := x.chain(ms.Scope)
		if err != nil {
			return nil, err
		}
		if o := ch[len(ch)-1].ID; !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// resourceChain returns the node chain of a resource's home scope.
func (x *acting) resourceChain(r rolecall.Resource) ([]rolecall.Scope, error) {
	for r.Scope == "" && r.Parent != nil {
		var p rolecall.Resource
		if _, err := x.tx.Get(rolecall.ObjResource, r.Parent.String(), &p); err != nil {
			return nil, err
		}
		r = p
	}
	return x.chain(r.Scope)
}
