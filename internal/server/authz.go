// Package server serves rolecall's API: gRPC, gRPC-Web and Connect
// (HTTP/JSON) on one handler, mapping each call onto the engine and the
// admin layer, and each rolecall.Kind onto a status code from one table.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
)

// MaxBulk is the most questions one CheckBulk may ask.
const MaxBulk = 1000

// codes maps each kind of rolecall error to its status code.
var codes = map[rolecall.Kind]connect.Code{
	rolecall.Invalid:            connect.CodeInvalidArgument,
	rolecall.NotFound:           connect.CodeNotFound,
	rolecall.PermissionDenied:   connect.CodePermissionDenied,
	rolecall.Conflict:           connect.CodeAborted,
	rolecall.FailedPrecondition: connect.CodeFailedPrecondition,
	rolecall.Unavailable:        connect.CodeUnavailable,
	rolecall.Internal:           connect.CodeInternal,
	rolecall.KindOther:          connect.CodeUnknown,
}

// kindNames names each kind on the wire (CheckBulk's per-question errors).
var kindNames = map[rolecall.Kind]string{
	rolecall.Invalid: "invalid", rolecall.NotFound: "not_found", rolecall.PermissionDenied: "permission_denied",
	rolecall.Conflict: "conflict", rolecall.FailedPrecondition: "failed_precondition", rolecall.Unavailable: "unavailable",
	rolecall.Internal: "internal", rolecall.KindOther: "unknown",
}

// toStatus turns an error into the one the client sees: a rolecall error's
// message with its kind's code; a context error as such; anything else as
// internal, its text kept on the server.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, "the request's deadline passed").WithCause(err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, "the request was canceled").WithCause(err)
	}
	var re *rolecall.Error
	var res rolecall.Errors
	switch {
	case errors.As(err, &res):
		return connect.NewError(connect.CodeInvalidArgument, err.Error()).WithCause(err)
	case errors.As(err, &re):
		code, ok := codes[re.Kind]
		if !ok {
			code = connect.CodeUnknown
		}
		if re.Kind == rolecall.Internal {
			return connect.NewError(code, "internal error; the server log has it").WithCause(err)
		}
		return connect.NewError(code, err.Error()).WithCause(err)
	}
	return connect.NewError(connect.CodeInternal, "internal error; the server log has it").WithCause(err)
}

// Authz answers access questions from a live index.
type Authz struct {
	rolecallv1connect.UnimplementedAuthzServiceHandler
	Live *engine.Live
}

var _ rolecallv1connect.AuthzServiceHandler = (*Authz)(nil)

// engine returns the index at the freshness the request asks for.
func (a *Authz) engine(ctx context.Context, c *v1.Consistency) (*engine.Engine, error) {
	switch {
	case c.GetFullyConsistent():
		if _, err := a.Live.Sync(ctx); err != nil {
			return nil, err
		}
		return a.Live.Engine(), nil
	case c.GetAtLeastAsFresh() > 0:
		e, err := a.Live.AtLeast(ctx, rolecall.Revision(c.GetAtLeastAsFresh()))
		var re *rolecall.Error
		if errors.As(err, &re) && re.Kind == rolecall.Invalid {
			return nil, rolecall.E(re.Op, rolecall.Invalid, "consistency.at_least_as_fresh", fmt.Sprintf("%d: %s", c.GetAtLeastAsFresh(), re.Msg))
		}
		return e, err
	}
	return a.Live.Engine(), nil
}

// scoped refuses, as not found, a question an organization's key asks
// about another organization: the target must be in the key's
// organization, and the subject (if any) one of its members.
func scoped(ctx context.Context, e *engine.Engine, subject string, t rolecall.Target) error {
	p, _ := PrincipalFrom(ctx)
	if p.Operator {
		return nil
	}
	if org, ok := e.OrgOf(t); ok && org != p.Org {
		return connect.NewError(connect.CodeNotFound, t.String()+": no such target")
	}
	if t.Item != nil {
		if org, ok := e.OrgOf(rolecall.Target{Resource: *t.Item}); ok && org != p.Org {
			return connect.NewError(connect.CodeNotFound, t.Item.String()+": no such item")
		}
	}
	if subject != "" && !e.MemberOf(subject, p.Org) {
		return connect.NewError(connect.CodeNotFound, subject+": no such user")
	}
	return nil
}

// asMap returns a Struct as a map, and nil for none (AsMap allocates an
// empty map, on every check that sends no context).
func asMap(s *structpb.Struct) map[string]any {
	if s == nil {
		return nil
	}
	return s.AsMap()
}

func ref(r *v1.ResourceRef) rolecall.ResourceRef {
	return rolecall.ResourceRef{Type: r.GetType(), ID: r.GetId()}
}

func target(t *v1.Target) rolecall.Target {
	out := rolecall.Target{Scope: t.GetScope()}
	if t.GetResource() != nil {
		out.Resource = ref(t.Resource)
	}
	if p := t.GetProposed(); p != nil {
		r := &rolecall.Resource{Type: p.Type, ID: p.Id, Scope: p.Scope, Owner: p.Owner, Groups: p.Groups, Attrs: asMap(p.Attrs)}
		if p.Parent != nil {
			pr := ref(p.Parent)
			r.Parent = &pr
		}
		out.Proposed = r
	}
	if t.GetItem() != nil {
		it := ref(t.Item)
		out.Item = &it
	}
	return out
}

func request(r *v1.CheckRequest) engine.Request {
	return engine.Request{Subject: r.GetSubject(), Permission: r.GetPermission(), Target: target(r.GetTarget()), Context: asMap(r.GetContext())}
}

// question is what Check and Explain start with: the index the request's
// consistency asks for, and the request, within the caller's organization.
func (a *Authz) question(ctx context.Context, r *v1.CheckRequest) (*engine.Engine, engine.Request, error) {
	e, err := a.engine(ctx, r.Consistency)
	if err != nil {
		return nil, engine.Request{}, toStatus(err)
	}
	req := request(r)
	if err := scoped(ctx, e, req.Subject, req.Target); err != nil {
		return nil, engine.Request{}, err
	}
	return e, req, nil
}

// Check answers one question.
func (a *Authz) Check(ctx context.Context, r *v1.CheckRequest) (*v1.CheckResponse, error) {
	e, req, err := a.question(ctx, r)
	if err != nil {
		return nil, err
	}
	d, err := e.Check(req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &v1.CheckResponse{Allowed: d.Allowed, Withheld: d.Withheld, Revision: uint64(e.Revision)}, nil
}

// CheckBulk answers many questions against one index; a question that
// fails carries its error and the others are answered.
func (a *Authz) CheckBulk(ctx context.Context, r *v1.CheckBulkRequest) (*v1.CheckBulkResponse, error) {
	if n := len(r.Checks); n > MaxBulk {
		return nil, connect.Errorf(connect.CodeInvalidArgument, "%d checks in one request; send at most %d", n, MaxBulk)
	}
	e, err := a.engine(ctx, r.Consistency)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &v1.CheckBulkResponse{Results: make([]*v1.CheckResult, len(r.Checks)), Revision: uint64(e.Revision)}
	for i, c := range r.Checks {
		req := request(c)
		if err := scoped(ctx, e, req.Subject, req.Target); err != nil {
			out.Results[i] = &v1.CheckResult{Error: &v1.Error{Code: "not_found", Message: errMessage(err)}}
			continue
		}
		d, err := e.Check(req)
		cr := &v1.CheckResult{Allowed: d.Allowed, Withheld: d.Withheld}
		if err != nil {
			cr.Error = &v1.Error{Code: kindNames[rolecall.KindOf(err)], Message: err.Error()}
		}
		out.Results[i] = cr
	}
	return out, nil
}

// asStruct converts a JSON-encodable value to a Struct.
func asStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return structpb.NewStruct(m)
}

// Explain answers one question with its explanation.
func (a *Authz) Explain(ctx context.Context, r *v1.CheckRequest) (*v1.ExplainResponse, error) {
	e, req, err := a.question(ctx, r)
	if err != nil {
		return nil, err
	}
	d, err := e.Explain(req)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &v1.ExplainResponse{Allowed: d.Allowed, Withheld: d.Withheld, Revision: uint64(e.Revision)}
	if d.Explanation != nil {
		out.Text = d.Explanation.String()
		if out.Explanation, err = asStruct(d.Explanation); err != nil {
			return nil, toStatus(fmt.Errorf("encoding the explanation: %w", err))
		}
	}
	return out, nil
}

// Effective lists the permissions held on a target.
func (a *Authz) Effective(ctx context.Context, r *v1.EffectiveRequest) (*v1.EffectiveResponse, error) {
	e, err := a.engine(ctx, r.Consistency)
	if err != nil {
		return nil, toStatus(err)
	}
	t := target(r.GetTarget())
	if err := scoped(ctx, e, r.GetSubject(), t); err != nil {
		return nil, err
	}
	eff, err := e.Effective(r.GetSubject(), t, asMap(r.GetContext()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &v1.EffectiveResponse{Revision: uint64(e.Revision)}
	for _, x := range eff {
		p := &v1.EffectivePermission{Permission: x.Permission}
		for _, path := range x.Paths {
			p.Paths = append(p.Paths, path.String())
		}
		out.Permissions = append(out.Permissions, p)
	}
	return out, nil
}

func page(p *v1.Page) rolecall.Page {
	return rolecall.Page{After: p.GetAfter(), Limit: int(p.GetLimit())}
}

// LookupResources lists the resources a subject may act on.
func (a *Authz) LookupResources(ctx context.Context, r *v1.LookupResourcesRequest) (*v1.LookupResourcesResponse, error) {
	e, err := a.engine(ctx, r.Consistency)
	if err != nil {
		return nil, toStatus(err)
	}
	in := r.GetIn()
	if p, _ := PrincipalFrom(ctx); !p.Operator {
		if in == "" {
			in = p.Org
		}
		if err := scoped(ctx, e, r.GetSubject(), rolecall.ScopeTarget(in)); err != nil {
			return nil, err
		}
	}
	ids, next, err := e.LookupResources(engine.ResourceQuery{Subject: r.GetSubject(), Permission: r.GetPermission(), Type: r.GetType(),
		In: in, Context: asMap(r.GetContext()), Page: page(r.Page)})
	if err != nil {
		return nil, toStatus(err)
	}
	return &v1.LookupResourcesResponse{Ids: ids, Next: next, Revision: uint64(e.Revision)}, nil
}

// LookupSubjects lists who may act on a target.
func (a *Authz) LookupSubjects(ctx context.Context, r *v1.LookupSubjectsRequest) (*v1.LookupSubjectsResponse, error) {
	e, err := a.engine(ctx, r.Consistency)
	if err != nil {
		return nil, toStatus(err)
	}
	t := target(r.GetTarget())
	if err := scoped(ctx, e, "", t); err != nil {
		return nil, err
	}
	res, err := e.LookupSubjects(engine.SubjectQuery{Permission: r.GetPermission(), Target: t, Groups: r.GetGroups(),
		Context: asMap(r.GetContext()), Page: page(r.Page)})
	if err != nil {
		return nil, toStatus(err)
	}
	return &v1.LookupSubjectsResponse{Users: res.Users, Groups: res.Groups, Next: res.Next, Revision: uint64(e.Revision)}, nil
}

func errMessage(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Message()
	}
	return err.Error()
}
