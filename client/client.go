// Package client is the Go client of a rolecall server: access questions
// (Check, CheckBulk, Explain, Effective, LookupResources, LookupSubjects),
// admin acts, the audit log and member lists, the change log (Watch), and
// data in bulk (Import, Export), returning rolecall's own types. Errors are
// *rolecall.Error with the server's Kind, so rolecall.KindOf works on them
// as on the library's.
//
//	c := client.New("http://127.0.0.1:7080", os.Getenv("ROLECALL_KEY"))
//	d, rev, err := c.Check(ctx, client.Question{Subject: "bob", Permission: "view_sources",
//		Target: rolecall.ResourceTarget("source", "mail")})
package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rolecall/rolecall"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/grpcwire"
	"github.com/rolecall/rolecall/internal/h2grpc"
)

// Client calls one rolecall server. It is safe for concurrent use.
type Client struct {
	closer io.Closer // the gRPC transport's connection (WithGRPC)
	authz  rolecallv1connect.AuthzServiceClient
	admin  rolecallv1connect.AdminServiceClient
	imp    rolecallv1connect.ImportServiceClient
	watch  rolecallv1connect.WatchServiceClient
}

// Option configures a Client.
type Option func(*options)

type options struct {
	http     *http.Client
	protocol []connecthttp.Option
	grpc     bool
	dial     []grpc.DialOption
}

// WithHTTPClient sets the HTTP client (TLS settings, timeouts).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.http = c } }

// WithGRPC speaks gRPC instead of Connect: the fastest way to call. To an
// http:// address (HTTP/2 without TLS) with no dial options, the client
// calls on a transport of its own made for short calls (internal/h2grpc:
// the calling goroutine writes its request and reads its answer, no
// hand-offs between goroutines), about half the latency of grpc-go's at
// one call at a time; to an https:// address, or with dial options, on
// gRPC's own transport (google.golang.org/grpc), dialed with TLS and the
// system's roots, which dial options replace (grpc.WithTransportCredentials)
// or add to. WithHTTPClient and WithoutCompression do not apply (a gRPC
// client sends and asks for uncompressed messages). Close the client when
// done with it.
func WithGRPC(dial ...grpc.DialOption) Option {
	return func(o *options) { o.grpc, o.dial = true, append(o.dial, dial...) }
}

// WithJSON speaks Connect's HTTP/JSON (what curl and scripts send) instead
// of binary protobuf.
func WithJSON() Option {
	return func(o *options) { o.protocol = append(o.protocol, connecthttp.WithProtoJSON()) }
}

// WithoutCompression asks the server for uncompressed answers: on loopback
// or a fast local network, gzip costs more CPU than it saves (by default a
// client accepts gzip, which the server uses for answers of 1 KiB or more).
func WithoutCompression() Option {
	return func(o *options) { o.protocol = append(o.protocol, connecthttp.WithCompressors()) }
}

// New returns a client of the server at addr ("http://host:port"), calling
// with an API key.
func New(addr, key string, opts ...Option) *Client {
	o := options{http: http.DefaultClient}
	for _, opt := range opts {
		opt(&o)
	}
	var tr connect.Transport
	var closer io.Closer
	switch {
	case o.grpc && len(o.dial) == 0 && strings.HasPrefix(addr, "http://"):
		lean, err := h2grpc.NewClient(addr, h2grpc.ClientOptions{})
		if err != nil {
			tr = failing{err}
		} else {
			tr, closer = lean, lean
		}
	case o.grpc:
		if cc, err := dial(addr, o.dial); err != nil {
			tr = failing{err}
		} else {
			tr, closer = grpcwire.Transport{Conn: cc}, cc
		}
	default:
		tr = connecthttp.NewTransport(o.http, addr, o.protocol...)
	}
	c := connect.NewClient(tr, bearer(key))
	return &Client{closer: closer, authz: rolecallv1connect.NewAuthzServiceClient(c), admin: rolecallv1connect.NewAdminServiceClient(c),
		imp: rolecallv1connect.NewImportServiceClient(c), watch: rolecallv1connect.NewWatchServiceClient(c)}
}

// Close closes the client's gRPC connection (WithGRPC); a client over
// HTTP has nothing to close.
func (c *Client) Close() error {
	if c.closer == nil {
		return nil
	}
	return c.closer.Close()
}

// dial makes the gRPC connection of an "http://host:port" or
// "https://host:port" address. It connects on the first call.
func dial(addr string, extra []grpc.DialOption) (*grpc.ClientConn, error) {
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("address %q: give http://host:port or https://host:port", addr)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	creds := insecure.NewCredentials()
	if u.Scheme == "https" {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	// windows of 4 MiB: a bulk import's request (a few MiB) streams without
	// waiting for window updates; gRPC's default starts at 64 KiB
	return grpc.NewClient(host, append([]grpc.DialOption{grpc.WithTransportCredentials(creds),
		grpc.WithInitialWindowSize(4 << 20), grpc.WithInitialConnWindowSize(4 << 20)}, extra...)...)
}

// failing is the transport of a client whose address was not usable:
// every call fails, naming it.
type failing struct{ err error }

func (f failing) NewClientStream(context.Context, connect.Spec) (connect.ClientStream, error) {
	return nil, connect.NewError(connect.CodeInvalidArgument, f.err.Error())
}

func bearer(key string) connect.ClientInterceptor {
	return func(next connect.ClientFunc) connect.ClientFunc {
		return func(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
			ctx, info := connect.NewClientContext(ctx)
			info.RequestHeader().Set("Authorization", "Bearer "+key)
			return next(ctx, spec)
		}
	}
}

// kinds maps status codes back to rolecall's kinds.
var kinds = map[connect.Code]rolecall.Kind{
	connect.CodeInvalidArgument:    rolecall.Invalid,
	connect.CodeNotFound:           rolecall.NotFound,
	connect.CodePermissionDenied:   rolecall.PermissionDenied,
	connect.CodeUnauthenticated:    rolecall.PermissionDenied,
	connect.CodeAborted:            rolecall.Conflict,
	connect.CodeAlreadyExists:      rolecall.Conflict,
	connect.CodeFailedPrecondition: rolecall.FailedPrecondition,
	connect.CodeUnavailable:        rolecall.Unavailable,
	connect.CodeDeadlineExceeded:   rolecall.Unavailable,
	connect.CodeInternal:           rolecall.Internal,
}

// fromStatus turns a call's error into a *rolecall.Error.
func fromStatus(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return &rolecall.Error{Op: op, Kind: rolecall.Unavailable, Msg: "the call failed; retry", Err: err}
	}
	k, ok := kinds[ce.Code()]
	if !ok {
		k = rolecall.KindOther
	}
	return &rolecall.Error{Op: op, Kind: k, Msg: ce.Message(), Err: err}
}

// Consistency says how fresh an answer must be: at least as fresh as a
// revision a write returned, or fully consistent. The zero value takes the
// server's index as it is.
type Consistency struct {
	AtLeastAsFresh  rolecall.Revision
	FullyConsistent bool
}

func (c Consistency) proto() *v1.Consistency {
	return &v1.Consistency{AtLeastAsFresh: uint64(c.AtLeastAsFresh), FullyConsistent: c.FullyConsistent}
}

// Question is one access question.
type Question struct {
	Subject    string
	Permission string // a permission or action id
	Target     rolecall.Target
	Context    map[string]any
	Consistency
}

func refProto(r rolecall.ResourceRef) *v1.ResourceRef { return &v1.ResourceRef{Type: r.Type, Id: r.ID} }

func targetProto(t rolecall.Target) (*v1.Target, error) {
	out := &v1.Target{Scope: t.Scope}
	if !t.Resource.IsZero() {
		out.Resource = refProto(t.Resource)
	}
	if t.Item != nil {
		out.Item = refProto(*t.Item)
	}
	if p := t.Proposed; p != nil {
		attrs, err := structpb.NewStruct(p.Attrs)
		if err != nil {
			return nil, &rolecall.Error{Op: "client", Kind: rolecall.Invalid, Name: "proposed attrs", Msg: err.Error()}
		}
		out.Proposed = &v1.Resource{Type: p.Type, Id: p.ID, Scope: p.Scope, Owner: p.Owner, Groups: p.Groups, Attrs: attrs}
		if p.Parent != nil {
			out.Proposed.Parent = refProto(*p.Parent)
		}
	}
	return out, nil
}

func contextProto(m map[string]any) (*structpb.Struct, error) {
	if m == nil {
		return nil, nil
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, &rolecall.Error{Op: "client", Kind: rolecall.Invalid, Name: "context", Msg: err.Error()}
	}
	return s, nil
}

func (q Question) proto() (*v1.CheckRequest, error) {
	t, err := targetProto(q.Target)
	if err != nil {
		return nil, err
	}
	ctx, err := contextProto(q.Context)
	if err != nil {
		return nil, err
	}
	return &v1.CheckRequest{Subject: q.Subject, Permission: q.Permission, Target: t, Context: ctx, Consistency: q.Consistency.proto()}, nil
}

// Check answers one question; rev is the revision the answer reflects.
func (c *Client) Check(ctx context.Context, q Question) (d rolecall.Decision, rev rolecall.Revision, err error) {
	req, err := q.proto()
	if err != nil {
		return d, 0, err
	}
	res, err := c.authz.Check(ctx, req)
	if err != nil {
		return d, 0, fromStatus("client.Check", err)
	}
	return rolecall.Decision{Allowed: res.Allowed, Withheld: res.Withheld}, rolecall.Revision(res.Revision), nil
}

// Answer is one answer of CheckBulk: a decision, or the error of that
// question alone.
type Answer struct {
	Decision rolecall.Decision
	Err      error
}

// CheckBulk answers many questions against one index (at most 1,000).
func (c *Client) CheckBulk(ctx context.Context, qs []Question, cons Consistency) ([]Answer, rolecall.Revision, error) {
	req := &v1.CheckBulkRequest{Consistency: cons.proto()}
	for _, q := range qs {
		r, err := q.proto()
		if err != nil {
			return nil, 0, err
		}
		req.Checks = append(req.Checks, r)
	}
	res, err := c.authz.CheckBulk(ctx, req)
	if err != nil {
		return nil, 0, fromStatus("client.CheckBulk", err)
	}
	out := make([]Answer, len(res.Results))
	for i, r := range res.Results {
		out[i].Decision = rolecall.Decision{Allowed: r.Allowed, Withheld: r.Withheld}
		if r.Error != nil {
			out[i].Err = &rolecall.Error{Op: "client.CheckBulk", Kind: kindNamed(r.Error.Code), Msg: r.Error.Message}
		}
	}
	return out, rolecall.Revision(res.Revision), nil
}

// kindNames maps the kinds CheckBulk names per question back to rolecall's.
var kindNames = map[string]rolecall.Kind{
	"invalid": rolecall.Invalid, "not_found": rolecall.NotFound, "permission_denied": rolecall.PermissionDenied,
	"conflict": rolecall.Conflict, "failed_precondition": rolecall.FailedPrecondition, "unavailable": rolecall.Unavailable,
	"internal": rolecall.Internal,
}

func kindNamed(s string) rolecall.Kind {
	if k, ok := kindNames[s]; ok {
		return k
	}
	return rolecall.KindOther
}

// Explain answers one question with its explanation.
func (c *Client) Explain(ctx context.Context, q Question) (rolecall.Decision, rolecall.Revision, error) {
	req, err := q.proto()
	if err != nil {
		return rolecall.Decision{}, 0, err
	}
	res, err := c.authz.Explain(ctx, req)
	if err != nil {
		return rolecall.Decision{}, 0, fromStatus("client.Explain", err)
	}
	d := rolecall.Decision{Allowed: res.Allowed, Withheld: res.Withheld}
	if res.Explanation != nil {
		b, err := res.Explanation.MarshalJSON()
		if err == nil {
			var ex rolecall.Explanation
			if json.Unmarshal(b, &ex) == nil {
				d.Explanation = &ex
			}
		}
	}
	return d, rolecall.Revision(res.Revision), nil
}

// Effective lists the permissions the subject holds on the target, each
// with how it is held, in words.
func (c *Client) Effective(ctx context.Context, subject string, target rolecall.Target, cons Consistency) (map[string][]string, rolecall.Revision, error) {
	t, err := targetProto(target)
	if err != nil {
		return nil, 0, err
	}
	res, err := c.authz.Effective(ctx, &v1.EffectiveRequest{Subject: subject, Target: t, Consistency: cons.proto()})
	if err != nil {
		return nil, 0, fromStatus("client.Effective", err)
	}
	out := map[string][]string{}
	for _, p := range res.Permissions {
		out[p.Permission] = p.Paths
	}
	return out, rolecall.Revision(res.Revision), nil
}

// LookupResources lists one page of the resources of a type the subject
// may act on (inside scope in, if given); next is the cursor of the next
// page, "" on the last.
func (c *Client) LookupResources(ctx context.Context, subject, permission, typ, in string, page rolecall.Page, cons Consistency) (ids []string, next string, err error) {
	res, err := c.authz.LookupResources(ctx, &v1.LookupResourcesRequest{Subject: subject, Permission: permission, Type: typ, In: in,
		Page: &v1.Page{After: page.After, Limit: int32(page.Limit)}, Consistency: cons.proto()})
	if err != nil {
		return nil, "", fromStatus("client.LookupResources", err)
	}
	return res.Ids, res.Next, nil
}

// LookupSubjects lists one page of the users (and with groups, the groups)
// who may do the permission on the target.
func (c *Client) LookupSubjects(ctx context.Context, permission string, target rolecall.Target, groups bool, page rolecall.Page, cons Consistency) (users, groupIDs []string, next string, err error) {
	t, err := targetProto(target)
	if err != nil {
		return nil, nil, "", err
	}
	res, err := c.authz.LookupSubjects(ctx, &v1.LookupSubjectsRequest{Permission: permission, Target: t, Groups: groups,
		Page: &v1.Page{After: page.After, Limit: int32(page.Limit)}, Consistency: cons.proto()})
	if err != nil {
		return nil, nil, "", fromStatus("client.LookupSubjects", err)
	}
	return res.Users, res.Groups, res.Next, nil
}

// Act is one admin act, as the key's user (or the operator). See
// docs/admin.md for each act's fields.
type Act struct {
	Act                                                    string
	Org, Scope, Level, Name, New, User, Email, Group, Role string
	Domain, Offer, Kind, Recipient, PrivateID              string
	Resource                                               *rolecall.ResourceRef
	Permissions, AddPermissions, RemovePermissions         []string
	NotBefore, NotAfter                                    time.Time
	Base                                                   rolecall.Revision
	// Token is an invitation link's token, for accept_invitation.
	Token string
}

// Done is what an accepted act did.
type Done struct {
	Revision rolecall.Revision // pass it as Consistency.AtLeastAsFresh
	Warnings []string
	Audit    rolecall.AuditEvent
	// Link is the token of an invitation's link (invite,
	// resend_invitation), told once: give it to the invitee.
	Link string
	// User is the user who joined by an invitation link.
	User string
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// Do performs an admin act; a refusal is a *rolecall.Error saying why and
// what to do.
func (c *Client) Do(ctx context.Context, a Act) (Done, error) {
	req := &v1.ActRequest{Act: a.Act, Org: a.Org, Scope: a.Scope, Level: a.Level, Name: a.Name, New: a.New, User: a.User,
		Email: a.Email, Group: a.Group, Role: a.Role, Domain: a.Domain, Permissions: a.Permissions, AddPermissions: a.AddPermissions,
		RemovePermissions: a.RemovePermissions, Offer: a.Offer, Kind: a.Kind, Recipient: a.Recipient, PrivateId: a.PrivateID,
		NotBefore: ts(a.NotBefore), NotAfter: ts(a.NotAfter), Base: uint64(a.Base), Token: a.Token}
	if a.Resource != nil {
		req.Resource = refProto(*a.Resource)
	}
	res, err := c.admin.Act(ctx, req)
	if err != nil {
		return Done{}, fromStatus("client.Do", err)
	}
	return Done{Revision: rolecall.Revision(res.Revision), Warnings: res.Warnings, Audit: auditEvent(res.Audit), Link: res.Link, User: res.User}, nil
}

func auditEvent(e *v1.AuditEvent) rolecall.AuditEvent {
	if e == nil {
		return rolecall.AuditEvent{}
	}
	out := rolecall.AuditEvent{ID: e.Id, Org: e.Org, Actor: e.Actor, Act: e.Act, Target: e.Target, Revision: rolecall.Revision(e.Revision),
		Decision: e.Decision, At: e.At.AsTime()}
	if e.Before != "" {
		out.Before = json.RawMessage(e.Before)
	}
	if e.After != "" {
		out.After = json.RawMessage(e.After)
	}
	return out
}

// Audit lists one page of an organization's audit log, newest first.
func (c *Client) Audit(ctx context.Context, q rolecall.AuditQuery) ([]rolecall.AuditEvent, string, error) {
	res, err := c.admin.Audit(ctx, &v1.AuditRequest{Org: q.Org, Actor: q.Actor, Act: q.Act, Target: q.Target, Since: ts(q.Since),
		Until: ts(q.Until), Page: &v1.Page{After: q.Page.After, Limit: int32(q.Page.Limit)}})
	if err != nil {
		return nil, "", fromStatus("client.Audit", err)
	}
	var out []rolecall.AuditEvent
	for _, e := range res.Events {
		out = append(out, auditEvent(e))
	}
	return out, res.Next, nil
}

// Import writes objects given as JSON Lines (the format of `rolecall
// export`) in one transaction; the operator's key only.
func (c *Client) Import(ctx context.Context, lines []string) (int, rolecall.Revision, error) {
	res, err := c.imp.Import(ctx, &v1.ImportRequest{Lines: lines})
	if err != nil {
		return 0, 0, fromStatus("client.Import", err)
	}
	return int(res.Objects), rolecall.Revision(res.Revision), nil
}

// Export writes an organization's data to w as JSON Lines, the format
// Import and `rolecall import` read, and returns how many objects it wrote
// and the revision it read them at: one snapshot of the server's store, so
// cons only checks that revision is not beyond the store's. An empty org
// exports the key's organization, or for the operator's key everything;
// another organization than the key's is NotFound. An error after some
// lines were written leaves w incomplete: export again.
func (c *Client) Export(ctx context.Context, org string, cons Consistency, w io.Writer) (int, rolecall.Revision, error) {
	const op = "client.Export"
	stream, err := c.imp.Export(ctx, &v1.ExportRequest{Org: org, Consistency: cons.proto()})
	if err != nil {
		return 0, 0, fromStatus(op, err)
	}
	defer stream.Close()
	bw := bufio.NewWriter(w)
	n, rev := 0, rolecall.Revision(0)
	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			bw.Flush()
			return n, rev, fromStatus(op, err)
		}
		rev = rolecall.Revision(res.Revision)
		for _, l := range res.Lines {
			bw.WriteString(l)
			if err := bw.WriteByte('\n'); err != nil {
				return n, rev, &rolecall.Error{Op: op, Msg: fmt.Sprintf("cannot write the export after %d objects", n), Err: err}
			}
			n++
		}
	}
	if err := bw.Flush(); err != nil {
		return n, rev, &rolecall.Error{Op: op, Msg: fmt.Sprintf("cannot write the export after %d objects", n), Err: err}
	}
	return n, rev, nil
}

// Member is an organization's member as member lists show it.
type Member struct {
	ID, Name, Email string
	Scopes, Groups  []string
}

// Members lists one page of the members of an organization the key may
// see, in id order; next is the id to start the following page after.
func (c *Client) Members(ctx context.Context, org, search, after string, limit int) ([]Member, string, error) {
	res, err := c.admin.Members(ctx, &v1.MembersRequest{Org: org, Search: search, After: after, Limit: int32(limit)})
	if err != nil {
		return nil, "", fromStatus("client.Members", err)
	}
	var out []Member
	for _, m := range res.Members {
		out = append(out, Member{ID: m.Id, Name: m.Name, Email: m.Email, Scopes: m.Scopes, Groups: m.Groups})
	}
	return out, res.Next, nil
}
