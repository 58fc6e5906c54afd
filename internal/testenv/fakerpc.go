package testenv

import (
	"context"
	"testing"

	"connectrpc.com/connect/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
)

// FakeRPC is a connect.Server of two fake services, for tests of
// transports: Check allows "ann", waits for the call's end for "slow"
// and refuses anyone else with PermissionDenied ("<subject> may not ask
// (ünïcode, 100%)", a message that needs escaping), echoing the X-Who
// request header in a header and setting an X-Done trailer;
// LookupResources answers as many ids as the page limit, each the
// subject; Watch streams as many changes as the request's After, each
// keyed by its first kind.
func FakeRPC() *connect.Server {
	rpc := connect.NewServer()
	rolecallv1connect.RegisterAuthzServiceHandler(rpc, fakeAuthz{})
	rolecallv1connect.RegisterWatchServiceHandler(rpc, fakeWatch{})
	return rpc
}

type fakeAuthz struct {
	rolecallv1connect.UnimplementedAuthzServiceHandler
}

func (fakeAuthz) Check(ctx context.Context, r *v1.CheckRequest) (*v1.CheckResponse, error) {
	info, _ := connect.CallInfoForServerContext(ctx)
	info.ResponseHeader().Set("X-Who", info.RequestHeader().Get("X-Who"))
	info.ResponseTrailer().Set("X-Done", "yes")
	switch r.Subject {
	case "ann":
		return &v1.CheckResponse{Allowed: true, Revision: 7}, nil
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, connect.NewError(connect.CodePermissionDenied, r.Subject+" may not ask (ünïcode, 100%)")
}

func (fakeAuthz) LookupResources(_ context.Context, r *v1.LookupResourcesRequest) (*v1.LookupResourcesResponse, error) {
	out := &v1.LookupResourcesResponse{}
	for range r.Page.GetLimit() {
		out.Ids = append(out.Ids, r.Subject)
	}
	return out, nil
}

type fakeWatch struct{}

func (fakeWatch) Watch(_ context.Context, r *v1.WatchRequest, s rolecallv1connect.WatchServiceWatchServerStream) error {
	key := ""
	if len(r.Kinds) > 0 {
		key = r.Kinds[0]
	}
	for i := range int(r.After) {
		if err := s.Send(&v1.Change{Revision: uint64(i + 1), Key: key}); err != nil {
			return err
		}
	}
	return nil
}

// GRPCConn is a grpc-go client connection to addr ("host:port") without
// TLS, closed when t ends.
func GRPCConn(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
