// Package admin is rolecall's admin layer: the acts that change who may do
// what (members, invitations, bindings, groups, custom roles, offers), each
// authorized by the engine against the actor's own rights, checked against
// the model's admin rules, committed in one store transaction with its audit
// event, then applied to the index. The server, the command line and the
// console all act through it.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/model"
)

// Actor is who performs an act: a user, or the platform operator, who
// stands above every organization (authenticated by the caller, say by an
// operator API key).
type Actor struct {
	User     string
	Operator bool
	// Org, when set, confines the actor to one organization (an
	// organization's API key): an act in another reads as not found.
	Org string
}

func (a Actor) String() string {
	if a.Operator {
		return "operator"
	}
	return a.User
}

// Request is one admin act: Act names it (one of model.AdminActs, as the
// model configures it); the other fields are its arguments, as the act
// needs them.
type Request struct {
	Act string `json:"act"`

	Org   string `json:"org,omitempty"`   // the organization, where the act cannot tell it otherwise
	Scope string `json:"scope,omitempty"` // a scope node; "*" for every node of Org (a wildcard binding)
	Level string `json:"level,omitempty"` // the level of a new scope
	Name  string `json:"name,omitempty"`  // a display name (scope, group, custom role)
	New   string `json:"new,omitempty"`   // the id of a scope to create (Scope is its parent)

	User   string `json:"user,omitempty"`
	Email  string `json:"email,omitempty"`
	Group  string `json:"group,omitempty"`
	Role   string `json:"role,omitempty"`
	Domain string `json:"domain,omitempty"`

	Resource *rolecall.ResourceRef `json:"resource,omitempty"`

	Permissions       []string `json:"permissions,omitempty"`
	AddPermissions    []string `json:"add_permissions,omitempty"`
	RemovePermissions []string `json:"remove_permissions,omitempty"`

	Offer     string `json:"offer,omitempty"`
	Kind      string `json:"kind,omitempty"` // an offer's kind
	Recipient string `json:"recipient,omitempty"`
	PrivateID string `json:"private_id,omitempty"`

	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`

	// Base, when set, is the revision at which the caller read the object
	// it edits (a role, a group, an offer, an invitation, a binding): if
	// the object changed after it, the act fails with Conflict naming it,
	// so of two concurrent edits of one object one wins and the other is
	// told to read again.
	Base rolecall.Revision `json:"base,omitempty"`

	// Token is an invitation link's token (accept_invitation): it names the
	// invitation and proves that whoever holds it received it, so the act
	// needs no signed-in user; the invitee's account is created when there
	// is none.
	Token string `json:"token,omitempty"`
}

// Result is what an accepted act did: the revision it committed at, the
// warnings the model's rules attach, and the audit event recorded.
type Result struct {
	Revision rolecall.Revision
	Warnings []string
	Audit    rolecall.AuditEvent
	// Link is the token of an invitation's link, made by invite and
	// resend_invitation: the only time it is told (the store keeps its
	// hash). Give it to the invitee, who accepts with it.
	Link string
	// User is the user an invitation link's acceptance joined (created
	// when the address had no account).
	User string
}

// Service performs admin acts over one model, one store and the live index
// that follows it. It is safe for concurrent use; concurrent acts are
// serialized by the store.
type Service struct {
	m    *model.Model
	st   rolecall.Store
	live *engine.Live
	now  func() time.Time
}

// New returns a service. now, if not nil, is its clock (audit times,
// invitation expiry).
func New(m *model.Model, st rolecall.Store, live *engine.Live, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{m: m, st: st, live: live, now: now}
}

// Model returns the service's model.
func (s *Service) Model() *model.Model { return s.m }

// acts maps each act to its implementation.
var acts = map[string]func(*acting) error{}

// Available reports whether the service performs an act: one of
// model.AdminActs, or an offer's transition (send, accept, ...).
func Available(act string) bool {
	_, ok := acts[act]
	return ok || transitionNames[act]
}

// Do performs one act. It fails with PermissionDenied when the actor lacks
// the right the model requires for it (naming the right and where), with
// FailedPrecondition when an admin rule refuses it (naming the rule, and
// what to do instead), with NotFound for objects the actor's organization
// does not have, and with Invalid for malformed requests. Nothing of a
// refused act is written.
func (s *Service) Do(ctx context.Context, a Actor, r Request) (Result, error) {
	rs, err := s.DoAll(ctx, a, []Request{r})
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// DoAll performs several acts in one transaction, in order, each as Do
// would and each with its audit event: all of them commit at one revision,
// or, when any is refused, none does (the error is the first refusal's,
// naming the act). Each act is authorized on the state before the first,
// and sees what the earlier ones wrote (replacing a member's role is
// unbind_role then bind_role, never half done).
func (s *Service) DoAll(ctx context.Context, a Actor, rs []Request) ([]Result, error) {
	if len(rs) == 0 {
		return nil, rolecall.E("admin.DoAll", rolecall.Invalid, "acts", "no act to perform")
	}
	type step struct {
		r   Request
		op  string
		act *model.Act
		do  func(*acting) error
	}
	steps := make([]step, len(rs))
	for i, r := range rs {
		st, err := s.resolve(r)
		if err != nil {
			return nil, err
		}
		steps[i] = step{r, "admin." + r.Act, st.act, st.do}
	}
	if !a.Operator && a.User == "" && !allByLink(rs) {
		return nil, rolecall.E(steps[0].op, rolecall.Invalid, "actor", "name the user who acts, or act as the operator")
	}
	// Admin checks read fully consistent: the index catches up with the
	// store first.
	if _, err := s.live.Sync(ctx); err != nil {
		return nil, err
	}
	xs := make([]*acting, len(steps))
	var rev rolecall.Revision
	var err error
	for attempt := 0; ; attempt++ {
		rev, err = s.st.Update(ctx, func(tx rolecall.Tx) error {
			e := s.live.Engine()
			// the engine that authorizes must reflect everything committed
			// before this transaction. When another write committed since
			// the sync above, the index catches up now: this transaction
			// holds the store's write lock, so nothing more commits before
			// it, and the changes it reads are all committed.
			if e.Revision+1 != tx.Revision() {
				ce, err := s.live.AtLeast(ctx, tx.Revision()-1)
				if err != nil {
					return err
				}
				if e = ce; e.Revision+1 != tx.Revision() {
					return errStale
				}
			}
			for i, st := range steps {
				xs[i] = &acting{s: s, ctx: ctx, tx: tx, e: e, actor: a, r: st.r, act: st.act, op: st.op}
				if err := s.act(xs[i], a, st.r, st.op, st.do); err != nil {
					return err
				}
			}
			return nil
		})
		if !errors.Is(err, errStale) {
			break
		}
		if attempt == staleAttempts {
			return nil, rolecall.E(steps[0].op, rolecall.Unavailable, "", fmt.Sprintf("the index stayed behind the store through %d attempts while other acts committed; try again", staleAttempts+1))
		}
		if _, err := s.live.Sync(ctx); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	// The acts are committed: however the caller's context ends, the index
	// catches up, and a failure to is a warning, not the acts' failure.
	var lag string
	if _, err := s.live.Sync(context.WithoutCancel(ctx)); err != nil {
		lag = fmt.Sprintf("committed at revision %d; the index has not applied it yet (%v) and will when it next syncs", rev, err)
	}
	out := make([]Result, len(xs))
	for i, x := range xs {
		if lag != "" {
			x.warn("%s", lag)
		}
		out[i] = Result{Revision: rev, Warnings: x.warnings, Audit: x.event, Link: x.link, User: x.joiner}
	}
	return out, nil
}

// resolved is an act's definition in the model and its implementation.
type resolved struct {
	act *model.Act
	do  func(*acting) error
}

// resolve finds what performs a request's act, or says why none does.
func (s *Service) resolve(r Request) (resolved, error) {
	op := "admin." + r.Act
	act, ok := s.m.Act(r.Act)
	if !ok {
		act, ok = s.impliedAct(r)
	}
	if _, rolesOnly := rule[model.RolesOnlyRule](s.m); !ok && rolesOnly && (r.Act == "grant_permissions" || r.Act == "revoke_permissions") {
		return resolved{}, rolecall.E(op, rolecall.FailedPrecondition, "roles_only",
			fmt.Sprintf("in model %s rights are given through roles only, never directly; put %s in a role and bind the role to %s", s.m.ID, strings.Join(r.Permissions, ", "), r.User))
	}
	if !ok {
		return resolved{}, rolecall.E(op, rolecall.Invalid, r.Act, fmt.Sprintf("model %s does not offer this act; it offers %s", s.m.ID, actList(s.m)))
	}
	do, ok := acts[r.Act]
	if !ok && act.Requires == "" && act.Actor == "" && s.isTransition(r.Act) {
		do, ok = (*acting).transition, true
	}
	if !ok {
		return resolved{}, rolecall.E(op, rolecall.FailedPrecondition, r.Act, "this act is not available yet")
	}
	return resolved{act, do}, nil
}

// impliedAct returns the acts a model offers without configuring them:
// creating an organization (the operator's), accepting an invitation where
// the model offers invitations (the invitee needs no right), and the
// transitions of its offers.
func (s *Service) impliedAct(r Request) (*model.Act, bool) {
	if r.Act == "create_organization" { // the operator's, in every model
		return &model.Act{ID: r.Act, Actor: "operator"}, true
	}
	if r.Act == "accept_invitation" {
		if _, ok := s.m.Act("invite"); ok {
			return &model.Act{ID: r.Act}, true
		}
	}
	for _, k := range s.m.Offers {
		for _, t := range k.Transitions {
			if t.Act == r.Act && (r.Kind == "" || r.Kind == k.ID) {
				return &model.Act{ID: r.Act}, true
			}
		}
	}
	return nil, false
}

// errStale says the index was behind the store when an act's transaction
// began: the act syncs and runs again.
var errStale = errors.New("the index is behind the store")

// staleAttempts bounds how often an act syncs and runs again before it
// gives up as unavailable rather than authorize on a stale index.
const staleAttempts = 5

// act runs inside the transaction: the operator-only rule, the act, the
// organization confinement of the actor, the audit event.
func (s *Service) act(x *acting, a Actor, r Request, op string, do func(*acting) error) error {
	if err := x.operatorOnly(); err != nil {
		return err
	}
	if err := do(x); err != nil {
		return err
	}
	if a.Org != "" && x.org != a.Org {
		return rolecall.E(op, rolecall.NotFound, r.Act, "no such object in organization "+a.Org)
	}
	if !x.wrote {
		return nil
	}
	return x.audit()
}

func actList(m *model.Model) string {
	var ids []string
	for _, a := range m.Admin.Acts {
		ids = append(ids, a.ID)
	}
	return strings.Join(ids, ", ")
}

// acting is one act under way, inside its store transaction.
type acting struct {
	s     *Service
	ctx   context.Context
	tx    rolecall.Tx
	e     *engine.Engine
	actor Actor
	r     Request
	act   *model.Act
	op    string

	org      string // the organization acted in
	target   string // what the audit event names
	before   any
	after    any
	decision string // the path that authorized the act
	warnings []string
	wrote    bool
	event    rolecall.AuditEvent
	link     string // an invitation link's token, for the result
	joiner   string // the user an invitation link joined, for the result
}

// refuse returns a rule's refusal: FailedPrecondition, named by the rule.
func (x *acting) refuse(rule, format string, args ...any) error {
	return rolecall.E(x.op, rolecall.FailedPrecondition, rule, fmt.Sprintf(format, args...))
}

func (x *acting) invalid(name, format string, args ...any) error {
	return rolecall.E(x.op, rolecall.Invalid, name, fmt.Sprintf(format, args...))
}

func (x *acting) notFound(name, format string, args ...any) error {
	return rolecall.E(x.op, rolecall.NotFound, name, fmt.Sprintf(format, args...))
}

// need fails with Invalid unless every named field is given.
func (x *acting) need(fields ...string) error {
	vals := map[string]string{"user": x.r.User, "email": x.r.Email, "group": x.r.Group, "role": x.r.Role,
		"scope": x.r.Scope, "level": x.r.Level, "name": x.r.Name, "domain": x.r.Domain, "offer": x.r.Offer,
		"kind": x.r.Kind, "recipient": x.r.Recipient, "new": x.r.New}
	for _, f := range fields {
		switch f {
		case "resource":
			if x.r.Resource == nil {
				return x.invalid(x.r.Act, "give the resource (type:id)")
			}
		case "permissions":
			if len(x.r.Permissions) == 0 {
				return x.invalid(x.r.Act, "give the permissions")
			}
		default:
			if vals[f] == "" {
				return x.invalid(x.r.Act, "give the %s", f)
			}
		}
	}
	return nil
}

// done records what the act changed, for its audit event.
func (x *acting) done(target string, before, after any) {
	x.target, x.before, x.after, x.wrote = target, before, after, true
}

func (x *acting) audit() error {
	raw := func(v any) json.RawMessage {
		if v == nil {
			return nil
		}
		b, _ := json.Marshal(v)
		return b
	}
	decision := x.decision
	if x.actor.Operator {
		decision = "the operator"
	}
	x.event = rolecall.AuditEvent{Org: x.org, Actor: x.actor.String(), Act: x.r.Act, Target: x.target,
		Before: raw(x.before), After: raw(x.after), Decision: decision, At: x.s.now().UTC()}
	return x.tx.AppendAudit(&x.event)
}

// warn attaches a warning to the result.
func (x *acting) warn(format string, args ...any) {
	x.warnings = append(x.warnings, fmt.Sprintf(format, args...))
}

// unchangedSince refuses an edit of an object that changed after the
// revision the caller read it at (Request.Base).
func (x *acting) unchangedSince(kind rolecall.ObjectKind, key string) error {
	if x.r.Base == 0 {
		return nil
	}
	rev, err := x.tx.LastChange(kind, key)
	if err != nil {
		return err
	}
	if rev > x.r.Base {
		return rolecall.E(x.op, rolecall.Conflict, fmt.Sprintf("%s %s", kind, key),
			fmt.Sprintf("changed at revision %d, after revision %d that the edit is based on; read it again and retry", rev, x.r.Base))
	}
	return nil
}

// Audit lists the audit events of q.Org that q selects, newest first, one
// page at a time. The operator reads every organization's log; a user reads
// an organization's log only as its member holding the right the model
// requires for view_audit (or, where the model does not configure it, the
// right it requires for binding roles or granting permissions) on the
// organization or on a node of it. Another organization's log reads as not
// found.
func (s *Service) Audit(ctx context.Context, a Actor, q rolecall.AuditQuery) ([]rolecall.AuditEvent, string, error) {
	if err := s.auditor(ctx, "admin.Audit", a, q.Org); err != nil {
		return nil, "", err
	}
	return s.st.Audit(ctx, q)
}

// auditor checks that an actor may read an organization's audit log.
func (s *Service) auditor(ctx context.Context, op string, a Actor, org string) error {
	return s.may(ctx, op, a, org, "view_audit", "read the audit log of")
}

// readActs lists, for each act that reads an organization, the acts whose
// configured right it falls back on, in order, where the model does not
// configure it: a model that says who may bind roles has said who
// administers members.
var readActs = map[string][]string{
	"view_members":  {"view_members"},
	"view_bindings": {"view_bindings", "view_members", "bind_role", "grant_permissions"},
	"explain_other": {"explain_other", "view_bindings", "bind_role", "grant_permissions"},
	"view_audit":    {"view_audit", "bind_role", "grant_permissions"},
	// an export is everything of the organization at once: only a right
	// the model gives for it, held on the organization itself, or the
	// operator
	"export_organization": {"export_organization"},
}

// May reports, as nil or a PermissionDenied error naming the right, whether
// an actor may perform a read act in an organization: view_members (list
// its members), view_bindings (see who holds which role where),
// explain_other (explain another member's access), view_audit (read its
// log), export_organization (read all of it at once, as JSON Lines). The
// operator may do all. A member needs the right the model
// requires for the act on the organization or a node of it where the member
// is one; where the model configures no right for the act, the right of the
// first act it falls back on that is configured (view_bindings falls back
// on view_members, then on binding roles or granting permissions;
// explain_other on view_bindings, then the same). Where none is configured,
// members may list members, and only the operator may do the others.
// Another organization reads as not found.
func (s *Service) May(ctx context.Context, a Actor, org, act string) error {
	if _, ok := readActs[act]; !ok {
		return rolecall.E("admin.May", rolecall.Invalid, act, "not a read act; give view_members, view_bindings, explain_other, view_audit or export_organization")
	}
	return s.may(ctx, "admin.May", a, org, act, strings.ReplaceAll(act, "_", " ")+" in")
}

func (s *Service) may(ctx context.Context, op string, a Actor, org, act, doing string) error {
	if org == "" {
		return rolecall.E(op, rolecall.Invalid, "org", "give the organization")
	}
	if a.Operator {
		return nil
	}
	if a.Org != "" && a.Org != org {
		return rolecall.E(op, rolecall.NotFound, org, "no such organization")
	}
	if _, err := s.live.Sync(ctx); err != nil {
		return err
	}
	e := s.live.Engine()
	if !e.MemberOf(a.User, org) {
		return rolecall.E(op, rolecall.NotFound, org, "no such organization")
	}
	need := ""
	for _, id := range readActs[act] {
		if ac, ok := s.m.Act(id); ok && ac.Requires != "" {
			need = ac.Requires
			break
		}
	}
	if need == "" && act == "view_members" {
		return nil
	}
	held := false
	switch {
	case need == "":
	case act == "export_organization":
		// on the organization itself, not on a node of it
		d, err := e.Check(engine.Request{Subject: a.User, Permission: need, Target: rolecall.ScopeTarget(org)})
		held = err == nil && d.Allowed
	default:
		var mine []string
		for _, ms := range e.Memberships(a.User, org) {
			mine = append(mine, ms.Scope)
		}
		held = mayAnywhere(e, a.User, need, org, mine)
	}
	if !held {
		return rolecall.E(op, rolecall.PermissionDenied, "authorization",
			fmt.Sprintf("%s may not %s %s; it needs %s on the organization", a.User, doing, org, firstNonEmpty(need, "the operator")))
	}
	return nil
}

// TimeBound lists the organization's bindings that start or expire, for
// review, to the operator and to members who may read its audit log.
func (s *Service) TimeBound(ctx context.Context, a Actor, org string) ([]rolecall.Binding, error) {
	if err := s.auditor(ctx, "admin.TimeBound", a, org); err != nil {
		return nil, err
	}
	return s.live.Engine().TimeBound(org), nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// MemberQuery asks for one page of an organization's members: those whose
// id, name or email contains Search (any case), after the member id After,
// at most Limit (default 50).
type MemberQuery struct {
	Org    string `json:"org"`
	Search string `json:"search,omitempty"`
	After  string `json:"after,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// Members lists the members of an organization the actor may see, in id
// order: the operator sees all; a member sees them where the model's
// view_members act allows (its right on the organization or a node of it,
// when configured), and under a visibility rule only the members who share
// a node of the rule's level with the actor. next is the id to pass as
// After for the following page, "" on the last.
func (s *Service) Members(ctx context.Context, a Actor, q MemberQuery) (members []engine.Member, next string, err error) {
	const op = "admin.Members"
	if q.Org == "" {
		return nil, "", rolecall.E(op, rolecall.Invalid, "org", "give the organization")
	}
	if _, err := s.live.Sync(ctx); err != nil {
		return nil, "", err
	}
	e := s.live.Engine()
	all := e.Members(q.Org)
	var shared map[string]bool
	if !a.Operator {
		if !e.MemberOf(a.User, q.Org) {
			return nil, "", rolecall.E(op, rolecall.NotFound, q.Org, "no such organization")
		}
		if act, ok := s.m.Act("view_members"); ok && act.Requires != "" {
			var mine []string
			for _, m := range all {
				if m.ID == a.User {
					mine = m.Scopes
				}
			}
			if !mayAnywhere(e, a.User, act.Requires, q.Org, mine) {
				return nil, "", rolecall.E(op, rolecall.PermissionDenied, "authorization",
					fmt.Sprintf("%s may not list the members of %s; it needs %s", a.User, q.Org, act.Requires))
			}
		}
		if p, ok := rule[model.VisibilityRule](s.m); ok && p.Subjects == "share_membership" {
			shared = map[string]bool{}
			var mine []string
			for _, m := range all {
				if m.ID == a.User {
					mine = m.Scopes
				}
			}
			for _, m := range all {
				for _, sc := range m.Scopes {
					if slices.Contains(mine, sc) && e.ScopeLevel(sc) == p.Level {
						shared[m.ID] = true
					}
				}
			}
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	search := strings.ToLower(q.Search)
	for _, m := range all {
		if m.ID <= q.After && q.After != "" {
			continue
		}
		if shared != nil && !shared[m.ID] {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(m.ID+"\x00"+m.Name+"\x00"+m.Email), search) {
			continue
		}
		if len(members) == limit {
			return members, members[len(members)-1].ID, nil
		}
		members = append(members, m)
	}
	return members, "", nil
}

// mayAnywhere reports whether a user may do a permission or action on an
// organization, or on one of the given nodes of it (where the user is a
// member), or holds the permission anywhere in it.
func mayAnywhere(e *engine.Engine, user, what, org string, scopes []string) bool {
	for _, sc := range append([]string{org}, scopes...) {
		if d, err := e.Check(engine.Request{Subject: user, Permission: what, Target: rolecall.ScopeTarget(sc)}); err == nil && d.Allowed {
			return true
		}
	}
	return e.HoldsAnywhere(user, what, org)
}
