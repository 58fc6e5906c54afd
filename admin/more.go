package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

func init() {
	acts["create_scope"] = (*acting).createScope
	acts["delete_user"] = (*acting).deleteUser
	acts["unbind_group"] = (*acting).unbindGroup
	acts["bind_group"] = (*acting).bindGroup
	acts["assign_resource_group"] = (*acting).assignResourceGroup
	acts["invite"] = (*acting).invite
	acts["revoke_invitation"] = (*acting).revokeInvitation
	acts["accept_invitation"] = (*acting).acceptInvitation
}

// invitationTTL is how long an invitation stays open.
const invitationTTL = 14 * 24 * time.Hour

// createScope creates a node below r.Scope: r.New is its id, r.Level its
// level, r.Name its display name.
func (x *acting) createScope() error {
	if x.r.New == "" {
		x.r.New = x.r.Name
	}
	if err := x.need("scope", "level", "new"); err != nil {
		return err
	}
	ch, err := x.enter(x.r.Scope)
	if err != nil {
		return err
	}
	l, ok := x.s.m.Level(x.r.Level)
	if !ok || l.Parent == nil {
		return x.invalid("level", "%q is not a level that lives under another", x.r.Level)
	}
	if l.Parent.ID != ch[0].Level {
		return x.invalid("scope", "a %s lives in a %s, and %s is not one", strings.ToLower(l.Name), strings.ToLower(l.Parent.Name), x.label(ch[0]))
	}
	if err := x.authorize(rolecall.ScopeTarget(x.r.Scope), ch); err != nil {
		return err
	}
	s := rolecall.Scope{ID: x.r.New, Level: l.ID, Parent: x.r.Scope, Name: x.r.Name}
	if err := x.tx.CreateScope(s); err != nil {
		return err
	}
	x.done("scope "+s.ID, nil, s)
	return nil
}

// deleteUser deletes a user entirely: memberships, group memberships,
// bindings and the user. With on: every_membership_of_target the actor
// needs the right in every node the user belongs to.
func (x *acting) deleteUser() error {
	if err := x.need("user"); err != nil {
		return err
	}
	var u rolecall.User
	found, err := x.tx.Get(rolecall.ObjUser, x.r.User, &u)
	if err != nil {
		return err
	}
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjMembership, User: x.r.User})
	if err != nil {
		return err
	}
	if !found || len(ks) == 0 && !x.actor.Operator {
		return x.notFound(x.r.User, "no such user")
	}
	var org string
	for _, k := range ks {
		var ms rolecall.Membership
		if _, err := x.tx.Get(rolecall.ObjMembership, k, &ms); err != nil {
			return err
		}
		ch, err := x.chain(ms.Scope)
		if err != nil {
			return err
		}
		if o := ch[len(ch)-1].ID; org == "" {
			org = o
		} else if o != org {
			return x.invalid(x.r.User, "belongs to several organizations; only the operator deletes such a user")
		}
	}
	if org != "" {
		if err := x.enterOrg(org); err != nil {
			return x.notFound(x.r.User, "no such user")
		}
		ch, err := x.chain(org)
		if err != nil {
			return err
		}
		if err := x.authorize(rolecall.ScopeTarget(org), ch); err != nil {
			return err
		}
		if err := x.requiresEverywhere(); err != nil {
			return err
		}
		bs, at, err := x.userBindings(x.r.User)
		if err != nil {
			return err
		}
		for i, b := range bs {
			bch, err := x.chain(at[i].ID)
			if err != nil {
				return err
			}
			if err := x.minHolders(bch, b); err != nil {
				return err
			}
		}
	}
	for _, kind := range []rolecall.ObjectKind{rolecall.ObjBinding, rolecall.ObjOffer, rolecall.ObjGroupMember, rolecall.ObjMembership} {
		if _, err := x.tx.DeleteWhere(rolecall.Filter{Kind: kind, User: x.r.User}); err != nil {
			return err
		}
	}
	if err := x.tx.Delete(rolecall.ObjUser, x.r.User); err != nil {
		return err
	}
	x.done("user "+u.ID, u, nil)
	return nil
}

// requiresEverywhere applies the rule of that name to the running act: the
// actor needs a permission at every node of a level the target user
// belongs to.
func (x *acting) requiresEverywhere() error {
	p, ok := rule[model.RequiresEverywhereRule](x.s.m)
	if !ok || p.Act != x.r.Act || x.actor.Operator {
		return nil
	}
	nodes, err := x.memberNodes(x.r.User, p.Level)
	if err != nil {
		return err
	}
	for _, n := range slices.Sorted(mapsKeys(nodes)) {
		if allowed, err := x.holds(p.Permission, rolecall.ScopeTarget(n)); err != nil {
			return err
		} else if !allowed {
			s, _ := x.scope(n)
			return rolecall.E(x.op, rolecall.PermissionDenied, "requires_everywhere",
				x.actor.User+" does not hold "+p.Permission+" in "+x.label(s)+", where "+x.r.User+" is a member; "+x.r.Act+" needs it in every "+p.Level+" "+x.r.User+" belongs to")
		}
	}
	return nil
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// holds checks one permission of the actor.
func (x *acting) holds(perm string, t rolecall.Target) (bool, error) {
	d, err := x.e.Check(engineRequest(x.actor.User, perm, t))
	return d.Allowed, err
}

// bindGroup gives a group a role (or its members' default roles) at a
// node.
func (x *acting) bindGroup() error {
	if err := x.need("group", "scope"); err != nil {
		return err
	}
	g, _, err := x.group(x.r.Group)
	if err != nil {
		return err
	}
	ch, err := x.enterAuthorized(x.r.Scope)
	if err != nil {
		return err
	}
	b := rolecall.Binding{Subject: rolecall.GroupSubject(g.ID), Role: x.r.Role, Scope: x.r.Scope, DefaultRole: x.r.Role == ""}
	if x.r.Role != "" {
		return x.bind(ch, b)
	}
	if err := x.tx.CreateBinding(&b); err != nil {
		return err
	}
	x.done("binding "+b.ID, nil, b)
	return nil
}

// unbindGroup takes a group's bindings at a node away.
func (x *acting) unbindGroup() error {
	if err := x.need("group", "scope"); err != nil {
		return err
	}
	g, _, err := x.group(x.r.Group)
	if err != nil {
		return err
	}
	ch, err := x.enterAuthorized(x.r.Scope)
	if err != nil {
		return err
	}
	bs, err := x.bindingsOf(rolecall.GroupSubject(g.ID), x.r.Scope)
	if err != nil {
		return err
	}
	if len(bs) == 0 {
		return x.notFound(g.ID, "has no role at %s", x.label(ch[0]))
	}
	for _, b := range bs {
		if err := x.tx.Delete(rolecall.ObjBinding, b.ID); err != nil {
			return err
		}
	}
	x.done("group "+g.ID+" at "+x.r.Scope, bs, nil)
	return nil
}

// assignResourceGroup assigns a resource to a group (team): its members
// get what the model's implicit grants give them.
func (x *acting) assignResourceGroup() error {
	if err := x.need("resource", "group"); err != nil {
		return err
	}
	var r rolecall.Resource
	found, err := x.tx.Get(rolecall.ObjResource, x.r.Resource.String(), &r)
	if err != nil {
		return err
	}
	if !found {
		return x.notFound(x.r.Resource.String(), "no such resource")
	}
	if _, err := x.enterResource(); err != nil {
		return err
	}
	var g rolecall.Group
	if found, err := x.tx.Get(rolecall.ObjGroup, x.r.Group, &g); err != nil {
		return err
	} else if !found {
		return x.notFound(x.r.Group, "no such %s", x.s.groupWord())
	}
	if slices.Contains(r.Groups, g.ID) {
		return nil
	}
	nr := r
	nr.Groups = append(slices.Clone(r.Groups), g.ID)
	if err := x.tx.ReplaceResource(nr); err != nil {
		return err
	}
	x.done("resource "+r.Key(), r, nr)
	return nil
}

// invitation finds the pending-or-not invitation of an email to a node.
func (x *acting) invitation(email, scope string) (rolecall.Invitation, bool, error) {
	var inv rolecall.Invitation
	ks, err := x.tx.Find(rolecall.Filter{Kind: rolecall.ObjInvitation, Scope: scope})
	if err != nil {
		return inv, false, err
	}
	var best rolecall.Invitation
	found := false
	for _, k := range ks {
		var i rolecall.Invitation
		if _, err := x.tx.Get(rolecall.ObjInvitation, k, &i); err != nil {
			return inv, false, err
		}
		if i.Scope == scope && strings.EqualFold(i.Email, email) && (!found || i.Created.After(best.Created)) {
			best, found = i, true
		}
	}
	return best, found, nil
}

// invite invites an email address to a node with a role; nothing is given
// until the invitation is accepted.
func (x *acting) invite() error {
	ch, err := x.atScope("email", "scope")
	if err != nil {
		return err
	}
	if x.r.Role != "" {
		// the role must be one the inviter may bind there, as bind_role
		// would check it
		r, level, err := x.bindable(ch, rolecall.Binding{Role: x.r.Role, Scope: x.r.Scope})
		if err != nil {
			return err
		}
		if err := x.noEscalation(x.r.Scope, r.GrantsAt(levelIndex(x.s.m, level))); err != nil {
			return err
		}
	}
	if old, ok, err := x.invitation(x.r.Email, x.r.Scope); err != nil {
		return err
	} else if ok && old.State == "pending" {
		return x.refuse("pending", "%s already has a pending invitation to %s; resend or revoke it", x.r.Email, x.label(ch[0]))
	}
	now := x.s.now().UTC()
	inv := rolecall.Invitation{Org: x.org, Scope: x.r.Scope, Email: strings.ToLower(x.r.Email), Role: x.r.Role, State: "pending",
		InvitedBy: x.actor.String(), Created: now, Expires: now.Add(invitationTTL)}
	secret := newLink(&inv)
	if err := x.tx.CreateInvitation(&inv); err != nil {
		return err
	}
	x.link = inv.ID + "." + secret
	x.done("invitation "+inv.ID, nil, inv)
	return nil
}

// newLink gives an invitation a new link, which replaces any earlier one:
// it keeps the hash of a random secret and returns the secret.
func newLink(inv *rolecall.Invitation) string {
	secret := rand.Text() // 26 base32 characters, 130 random bits
	inv.LinkHash = linkHash(secret)
	return secret
}

func linkHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// allByLink reports whether every request accepts an invitation by its
// link's token: acts that need no signed-in user.
func allByLink(rs []Request) bool {
	for _, r := range rs {
		if r.Act != "accept_invitation" || r.Token == "" {
			return false
		}
	}
	return len(rs) > 0
}

// byLink resolves an invitation link's token into the invitation's email
// and node, and the invitee into the acting user: the user with the
// invited address, created when there is none (unless only the operator
// creates users). A signed-in user must be the invitee; the operator
// accepts for the invitee.
func (x *acting) byLink() (rolecall.Invitation, error) {
	inv, err := linked(x.op, x.tx, x.r.Token)
	if err != nil {
		return inv, err
	}
	x.r.Email, x.r.Scope = inv.Email, inv.Scope
	user, exists := x.e.UserByEmail(inv.Email)
	switch {
	case x.actor.Operator:
		// a platform accepting for the invitee who followed its link
	case x.actor.User != "" && x.actor.User != user:
		return inv, x.refuse("invitation", "this invitation is for %s, and %s is signed in; sign out and open the link again", inv.Email, x.actor.User)
	}
	if !exists {
		if x.userCreationReserved() {
			return inv, x.refuse("operator_only", "%s has no account, and in model %s only the platform operator creates accounts; ask the operator for one, then open the link again", inv.Email, x.s.m.ID)
		}
		user = inv.Email
		for n := 2; ; n++ {
			var u rolecall.User
			taken, err := x.tx.Get(rolecall.ObjUser, user, &u)
			if err != nil {
				return inv, err
			}
			if !taken {
				break
			}
			user = fmt.Sprintf("%s~%d", inv.Email, n)
		}
		if err := x.tx.CreateUser(rolecall.User{ID: user, Name: strings.TrimSpace(x.r.Name), Email: inv.Email}); err != nil {
			return inv, err
		}
	}
	x.actor = Actor{User: user}
	x.joiner = user
	return inv, nil
}

// linked returns the pending invitation an invitation link's token names,
// or NotFound when none has the link (forged, replaced by a resend, used,
// revoked or expired: all look the same to the holder).
func linked(op string, tx rolecall.Tx, token string) (rolecall.Invitation, error) {
	var inv rolecall.Invitation
	id, secret, ok := strings.Cut(token, ".")
	if !ok || id == "" || secret == "" {
		return inv, rolecall.E(op, rolecall.Invalid, "token", "is not an invitation link's token (INVITATION.SECRET)")
	}
	found, err := tx.Get(rolecall.ObjInvitation, id, &inv)
	if err != nil {
		return inv, err
	}
	if !found || inv.LinkHash == "" || subtle.ConstantTimeCompare([]byte(inv.LinkHash), []byte(linkHash(secret))) != 1 || inv.State != "pending" {
		return rolecall.Invitation{}, rolecall.E(op, rolecall.NotFound, "token",
			"no pending invitation has this link: it may have been resent (which makes a new link), accepted or revoked; ask for a new one")
	}
	return inv, nil
}

// Linked is what an invitation link shows before it is accepted: the
// pending invitation it names, and the user who has the invited address,
// if any ("" when accepting will make the account). An expired link says
// so; a link that names no pending invitation is NotFound. It needs no
// actor: the token is the proof.
func (s *Service) Linked(ctx context.Context, token string) (inv rolecall.Invitation, user string, err error) {
	const op = "admin.Linked"
	if _, err := s.live.Sync(ctx); err != nil {
		return inv, "", err
	}
	// a transaction that writes nothing commits nothing: a consistent read
	_, err = s.st.Update(ctx, func(tx rolecall.Tx) error {
		inv, err = linked(op, tx, token)
		return err
	})
	if err != nil {
		return rolecall.Invitation{}, "", err
	}
	if !inv.Expires.IsZero() && s.now().After(inv.Expires) {
		return rolecall.Invitation{}, "", rolecall.E(op, rolecall.FailedPrecondition, "invitation",
			fmt.Sprintf("the invitation expired on %s; ask for a new one", inv.Expires.Format("2006-01-02")))
	}
	inv.LinkHash = ""
	user, _ = s.live.Engine().UserByEmail(inv.Email)
	return inv, user, nil
}

// userCreationReserved reports whether only the operator creates users in
// the model.
func (x *acting) userCreationReserved() bool {
	if a, ok := x.s.m.Act("create_user"); ok && a.Actor == "operator" {
		return true
	}
	for _, r := range x.s.m.Admin.Rules {
		if p, ok := r.Params.(*modelOperatorOnly); ok && slices.Contains(p.Acts, "create_user") {
			return true
		}
	}
	return false
}

func (x *acting) revokeInvitation() error {
	return x.changeInvitation("", func(inv *rolecall.Invitation) { inv.State = "revoked" })
}

// changeInvitation changes the pending invitation of the request's email to
// its scope; hint ends the error where there is none.
func (x *acting) changeInvitation(hint string, change func(*rolecall.Invitation)) error {
	ch, err := x.atScope("email", "scope")
	if err != nil {
		return err
	}
	inv, ok, err := x.invitation(x.r.Email, x.r.Scope)
	if err != nil {
		return err
	}
	if !ok || inv.State != "pending" {
		return x.notFound(x.r.Email, "has no pending invitation to %s%s", x.label(ch[0]), hint)
	}
	ni := inv
	change(&ni)
	if err := x.tx.ReplaceInvitation(ni); err != nil {
		return err
	}
	x.done("invitation "+inv.ID, inv, ni)
	return nil
}

// acceptInvitation is the invitee's act: the user whose email was invited
// joins the node with the invited role.
func (x *acting) acceptInvitation() error {
	var inv rolecall.Invitation
	if x.r.Token != "" {
		var err error
		if inv, err = x.byLink(); err != nil {
			return err
		}
	}
	if err := x.need("email", "scope"); err != nil {
		return err
	}
	if x.actor.Operator {
		return x.invalid("actor", "the invited user accepts an invitation")
	}
	var u rolecall.User
	if found, err := x.tx.Get(rolecall.ObjUser, x.actor.User, &u); err != nil {
		return err
	} else if !found || !strings.EqualFold(u.Email, x.r.Email) {
		return x.notFound(x.r.Email, "no invitation for you")
	}
	ch, err := x.chain(x.r.Scope)
	if err != nil {
		return err
	}
	x.org = ch[len(ch)-1].ID
	if x.r.Token == "" {
		var ok bool
		if inv, ok, err = x.invitation(x.r.Email, x.r.Scope); err != nil {
			return err
		} else if !ok {
			return x.notFound(x.r.Email, "no invitation for you")
		}
	}
	switch {
	case inv.State != "pending":
		return x.refuse("invitation", "the invitation to %s was %s; ask for a new one", x.label(ch[0]), inv.State)
	case !inv.Expires.IsZero() && x.s.now().After(inv.Expires):
		return x.refuse("invitation", "the invitation to %s expired on %s; ask for a new one", x.label(ch[0]), inv.Expires.Format("2006-01-02"))
	}
	ni := inv
	ni.State = "accepted"
	if err := x.tx.ReplaceInvitation(ni); err != nil {
		return err
	}
	ms := rolecall.Membership{User: u.ID, Scope: inv.Scope, DefaultRole: inv.DefaultRole}
	if err := x.tx.CreateMembership(ms); err != nil && rolecall.KindOf(err) != rolecall.Conflict {
		return err
	}
	if inv.Role != "" {
		// checked again now: the model's rules about where a member holds
		// roles apply to the invitee as they are today
		b := rolecall.Binding{Subject: rolecall.UserSubject(u.ID), Role: inv.Role, Scope: inv.Scope}
		r, _, err := x.bindable(ch, b)
		if err != nil {
			return err
		}
		if err := x.bindingRules(ch, b, r); err != nil {
			return err
		}
		if err := x.tx.CreateBinding(&b); err != nil {
			return err
		}
	}
	x.done("invitation "+inv.ID, inv, ni)
	return nil
}

// Invitations lists an organization's invitations still pending, newest
// first, to those who may list its members.
func (s *Service) Invitations(ctx context.Context, a Actor, org string) ([]rolecall.Invitation, error) {
	if err := s.May(ctx, a, org, "view_members"); err != nil {
		return nil, err
	}
	var out []rolecall.Invitation
	// a transaction that writes nothing commits nothing: a consistent read
	_, err := s.st.Update(ctx, func(tx rolecall.Tx) error {
		out = out[:0]
		ks, err := tx.Find(rolecall.Filter{Kind: rolecall.ObjInvitation, Org: org})
		if err != nil {
			return err
		}
		now := s.now()
		for _, k := range ks {
			var inv rolecall.Invitation
			if _, err := tx.Get(rolecall.ObjInvitation, k, &inv); err != nil {
				return err
			}
			if inv.State == "pending" && (inv.Expires.IsZero() || inv.Expires.After(now)) {
				out = append(out, inv)
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b rolecall.Invitation) int { return b.Created.Compare(a.Created) })
	return out, err
}

// Domains lists the email domains an organization registered (users with
// an address there join it), by name, to those who may list its members.
func (s *Service) Domains(ctx context.Context, a Actor, org string) ([]rolecall.Domain, error) {
	if err := s.May(ctx, a, org, "view_members"); err != nil {
		return nil, err
	}
	var out []rolecall.Domain
	_, err := s.st.Update(ctx, func(tx rolecall.Tx) error {
		out = out[:0]
		ks, err := tx.Find(rolecall.Filter{Kind: rolecall.ObjDomain, Org: org})
		if err != nil {
			return err
		}
		for _, k := range ks {
			var d rolecall.Domain
			if _, err := tx.Get(rolecall.ObjDomain, k, &d); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b rolecall.Domain) int { return strings.Compare(a.Domain, b.Domain) })
	return out, err
}
