package server

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
)

// Admin performs admin acts as the caller's key: an organization's key
// acts as its user, the operator's as the operator.
type Admin struct {
	rolecallv1connect.UnimplementedAdminServiceHandler
	Service *admin.Service
}

var _ rolecallv1connect.AdminServiceHandler = (*Admin)(nil)

func actor(ctx context.Context) admin.Actor {
	p, _ := PrincipalFrom(ctx)
	return admin.Actor{User: p.User, Operator: p.Operator, Org: p.Org}
}

// timeOf reads an optional timestamp; absent is the zero time.
func timeOf(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime()
}

// Act performs one act.
func (a *Admin) Act(ctx context.Context, r *v1.ActRequest) (*v1.ActResponse, error) {
	req := admin.Request{Act: r.Act, Org: r.Org, Scope: r.Scope, Level: r.Level, Name: r.Name, New: r.New, User: r.User,
		Email: r.Email, Group: r.Group, Role: r.Role, Domain: r.Domain, Permissions: r.Permissions,
		AddPermissions: r.AddPermissions, RemovePermissions: r.RemovePermissions, Offer: r.Offer, Kind: r.Kind,
		Recipient: r.Recipient, PrivateID: r.PrivateId, NotBefore: timeOf(r.NotBefore), NotAfter: timeOf(r.NotAfter),
		Base: rolecall.Revision(r.Base), Token: r.Token}
	if r.Resource != nil {
		ref := ref(r.Resource)
		req.Resource = &ref
	}
	if p, _ := PrincipalFrom(ctx); !p.Operator && req.Org == "" {
		req.Org = p.Org
	}
	res, err := a.Service.Do(ctx, actor(ctx), req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &v1.ActResponse{Revision: uint64(res.Revision), Warnings: res.Warnings, Audit: auditEvent(res.Audit), Link: res.Link, User: res.User}, nil
}

func auditEvent(e rolecall.AuditEvent) *v1.AuditEvent {
	return &v1.AuditEvent{Id: e.ID, Org: e.Org, Actor: e.Actor, Act: e.Act, Target: e.Target, Before: string(e.Before),
		After: string(e.After), Revision: uint64(e.Revision), Decision: e.Decision, At: timestamppb.New(e.At)}
}

// Audit lists an organization's audit log.
func (a *Admin) Audit(ctx context.Context, r *v1.AuditRequest) (*v1.AuditResponse, error) {
	if err := inOrg(ctx, r.Org, "organization "+r.Org); err != nil {
		return nil, err
	}
	q := rolecall.AuditQuery{Org: r.Org, Actor: r.Actor, Act: r.Act, Target: r.Target, Since: timeOf(r.Since),
		Until: timeOf(r.Until), Page: page(r.Page)}
	evs, next, err := a.Service.Audit(ctx, actor(ctx), q)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &v1.AuditResponse{Next: next}
	for _, e := range evs {
		out.Events = append(out.Events, auditEvent(e))
	}
	return out, nil
}

// Members lists an organization's members the actor may see.
func (a *Admin) Members(ctx context.Context, r *v1.MembersRequest) (*v1.MembersResponse, error) {
	if err := inOrg(ctx, r.Org, "organization "+r.Org); err != nil {
		return nil, err
	}
	ms, next, err := a.Service.Members(ctx, actor(ctx), admin.MemberQuery{Org: r.Org, Search: r.Search, After: r.After, Limit: int(r.Limit)})
	if err != nil {
		return nil, toStatus(err)
	}
	out := &v1.MembersResponse{Next: next}
	for _, m := range ms {
		out.Members = append(out.Members, &v1.Member{Id: m.ID, Name: m.Name, Email: m.Email, Scopes: m.Scopes, Groups: m.Groups})
	}
	return out, nil
}
