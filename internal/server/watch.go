package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect/v2"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/transfer"
)

// Watch streams the change log.
type Watch struct {
	rolecallv1connect.UnimplementedWatchServiceHandler
	Store rolecall.Reader
	// keys and live re-check the caller's key while a stream lasts: a
	// revoked key, or a user who left, ends it.
	keys *keyCache
	live *engine.Live
	// Poll is how often to look for new changes (default 100 ms).
	Poll time.Duration
}

// Watch sends changes after req.After until the call ends.
func (w *Watch) Watch(ctx context.Context, req *v1.WatchRequest, stream rolecallv1connect.WatchServiceWatchServerStream) error {
	poll := w.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	p, _ := PrincipalFrom(ctx)
	after := rolecall.Revision(req.After)
	for {
		cs, err := w.Store.Changes(ctx, after, 1000)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil
			}
			return toStatus(err)
		}
		for _, c := range cs {
			after = c.Revision
			if !p.Operator && c.Org != p.Org {
				continue // another organization's, or a user (users are global)
			}
			if len(req.Kinds) > 0 && !slices.Contains(req.Kinds, string(c.Kind)) {
				continue
			}
			if err := stream.Send(&v1.Change{Revision: uint64(c.Revision), Seq: int32(c.Seq), Org: c.Org, Kind: string(c.Kind),
				Key: c.Key, Deleted: c.Deleted, Value: string(c.Value), At: timestamppb.New(c.At)}); err != nil {
				return err
			}
		}
		if err := w.stillValid(ctx); err != nil {
			return err
		}
		if len(cs) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

// stillValid re-authenticates a stream's caller.
func (w *Watch) stillValid(ctx context.Context) error {
	if w.keys == nil {
		return nil
	}
	info, ok := connect.CallInfoForServerContext(ctx)
	if !ok {
		return nil
	}
	p, err := w.keys.authenticate(ctx, info.RequestHeader().Get("Authorization"))
	if err != nil {
		return err
	}
	if !p.Operator && !w.live.Engine().MemberOf(p.User, p.Org) {
		return connect.NewError(connect.CodeUnauthenticated, "the API key's user is no longer a member of "+p.Org)
	}
	return nil
}

// Model describes the model the server runs and checks model files.
type Model struct {
	rolecallv1connect.UnimplementedModelServiceHandler
	Model *model.Model
}

// Get describes the model.
func (m *Model) Get(context.Context, *v1.GetModelRequest) (*v1.GetModelResponse, error) {
	var b bytes.Buffer
	m.Model.Show(&b)
	return &v1.GetModelResponse{Id: m.Model.ID, Name: m.Model.Name, Text: b.String()}, nil
}

// Validate checks a model file.
func (m *Model) Validate(_ context.Context, r *v1.ValidateModelRequest) (*v1.ValidateModelResponse, error) {
	name := r.Name
	if name == "" {
		name = "model.yaml"
	}
	if _, err := model.Parse(name, []byte(r.Source)); err != nil {
		var list interface{ Unwrap() []error }
		out := &v1.ValidateModelResponse{}
		if errors.As(err, &list) {
			for _, e := range list.Unwrap() {
				out.Problems = append(out.Problems, e.Error())
			}
		} else {
			out.Problems = []string{err.Error()}
		}
		return out, nil
	}
	return &v1.ValidateModelResponse{Ok: true}, nil
}

// Import moves objects in bulk: Import writes them, for the operator;
// Export (export.go) reads them, for any key within its reach.
type Import struct {
	rolecallv1connect.UnimplementedImportServiceHandler
	Store rolecall.Store
	Live  *engine.Live
	Log   *slog.Logger
	// Admin decides who of an organization may export it.
	Admin *admin.Service
}

func (im *Import) log(msg string, err error) {
	if im.Log != nil {
		im.Log.Error(msg, "error", err)
	}
}

// Import writes one request's lines in one transaction and applies them to
// the index before returning.
func (im *Import) Import(ctx context.Context, r *v1.ImportRequest) (*v1.ImportResponse, error) {
	if p, _ := PrincipalFrom(ctx); !p.Operator {
		return nil, connect.NewError(connect.CodePermissionDenied, "imports are the operator's: use an operator key")
	}
	var b strings.Builder
	for _, l := range r.Lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	n, rev, err := transfer.Import(ctx, im.Store, strings.NewReader(b.String()), transfer.Options{Batch: len(r.Lines) + 1})
	if err != nil {
		return nil, toStatus(err)
	}
	if _, err := im.Live.Sync(context.WithoutCancel(ctx)); err != nil {
		im.log("the index has not applied the import yet", err)
	}
	return &v1.ImportResponse{Revision: uint64(rev), Objects: int64(n)}, nil
}
