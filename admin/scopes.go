package admin

import "github.com/rolecall/rolecall"

func init() {
	acts["create_organization"] = (*acting).createOrganization
	acts["rename_scope"] = (*acting).renameScope
	acts["delete_scope"] = (*acting).deleteScope
	acts["set_default_role"] = (*acting).setDefaultRole
	acts["remove_domain"] = (*acting).removeDomain
	acts["resend_invitation"] = (*acting).resendInvitation
}

// createOrganization creates a tenant-level node (the operator's act in
// every preset).
func (x *acting) createOrganization() error {
	if x.r.New == "" {
		x.r.New = x.r.Scope
	}
	if err := x.need("new"); err != nil {
		return err
	}
	s := rolecall.Scope{ID: x.r.New, Level: x.s.m.Tenant.ID, Name: x.r.Name}
	if err := x.tx.CreateScope(s); err != nil {
		return err
	}
	x.org = s.ID
	x.done("scope "+s.ID, nil, s)
	return nil
}

func (x *acting) renameScope() error {
	ch, err := x.atScope("scope", "name")
	if err != nil {
		return err
	}
	if err := x.unchangedSince(rolecall.ObjScope, x.r.Scope); err != nil {
		return err
	}
	old := ch[0]
	ns := old
	ns.Name = x.r.Name
	if err := x.tx.ReplaceScope(ns); err != nil {
		return err
	}
	x.done("scope "+old.ID, old, ns)
	return nil
}

// deleteScope deletes a node with nothing left in it; the store names what
// still is.
func (x *acting) deleteScope() error {
	ch, err := x.atScope("scope")
	if err != nil {
		return err
	}
	if err := x.tx.Delete(rolecall.ObjScope, x.r.Scope); err != nil {
		return err
	}
	x.done("scope "+ch[0].ID, ch[0], nil)
	return nil
}

// setDefaultRole sets the default role a member carries at a node.
func (x *acting) setDefaultRole() error {
	ch, err := x.atScope("user", "scope")
	if err != nil {
		return err
	}
	if x.r.Role != "" {
		if _, ok := x.e.Role(x.r.Scope, x.r.Role); !ok {
			return x.notFound(x.r.Role, "no such role in %s", x.label(ch[len(ch)-1]))
		}
	}
	key := (&rolecall.Membership{User: x.r.User, Scope: x.r.Scope}).Key()
	var old rolecall.Membership
	if found, err := x.tx.Get(rolecall.ObjMembership, key, &old); err != nil {
		return err
	} else if !found {
		return x.notFound(x.r.User, "is not a member of %s", x.label(ch[0]))
	}
	nm := old
	nm.DefaultRole = x.r.Role
	if err := x.tx.ReplaceMembership(nm); err != nil {
		return err
	}
	x.done("membership "+key, old, nm)
	return nil
}

func (x *acting) removeDomain() error {
	if err := x.need("domain"); err != nil {
		return err
	}
	var d rolecall.Domain
	if found, err := x.tx.Get(rolecall.ObjDomain, x.r.Domain, &d); err != nil {
		return err
	} else if !found {
		return x.notFound(x.r.Domain, "no such domain")
	}
	ch, err := x.enter(d.Org)
	if err != nil {
		return x.notFound(x.r.Domain, "no such domain")
	}
	if err := x.authorize(rolecall.ScopeTarget(d.Org), ch); err != nil {
		return err
	}
	if err := x.tx.Delete(rolecall.ObjDomain, d.Key()); err != nil {
		return err
	}
	x.done("domain "+d.Key(), d, nil)
	return nil
}

// resendInvitation renews a pending invitation's expiry and gives it a new
// link (the earlier link no longer works).
func (x *acting) resendInvitation() error {
	return x.changeInvitation("; invite them instead", func(inv *rolecall.Invitation) {
		inv.Expires = x.s.now().UTC().Add(invitationTTL)
		x.link = inv.ID + "." + newLink(inv)
	})
}
