package h2grpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/grpcwire"
	"github.com/rolecall/rolecall/internal/h2grpc"
	"github.com/rolecall/rolecall/internal/testenv"
)

// serve runs an h2grpc server of the fakes on a loopback port.
func serve(t *testing.T) (string, *h2grpc.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := h2grpc.New(testenv.FakeRPC(), h2grpc.Options{MaxRecvMsgSize: 8 << 20})
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String(), s
}

// serveGRPCGo runs the fakes on grpc-go's server instead, for the
// client's sake.
func serveGRPCGo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpcwire.NewServer(testenv.FakeRPC(), nil, grpc.MaxRecvMsgSize(8<<20))
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// newClient is this package's client of addr, closed when the test ends.
func newClient(t *testing.T, addr string) *h2grpc.Client {
	t.Helper()
	c, err := h2grpc.NewClient("http://"+addr, h2grpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestCalls: grpc-go's client, connect's gRPC client (net/http's HTTP/2)
// and this package's get answers, errors, headers, trailers and streams
// whole, from this package's server and from grpc-go's.
func TestCalls(t *testing.T) {
	addr, _ := serve(t)
	other := serveGRPCGo(t)
	clients := map[string]*connect.Client{
		"grpc-go":                  connect.NewClient(grpcwire.Transport{Conn: testenv.GRPCConn(t, addr)}),
		"connect over net/http":    connect.NewClient(connecthttp.NewTransport(testenv.H2C(), "http://"+addr, connecthttp.WithGRPC())),
		"h2grpc client":            connect.NewClient(newClient(t, addr)),
		"h2grpc client to grpc-go": connect.NewClient(newClient(t, other)),
	}
	for name, c := range clients {
		t.Run(name, func(t *testing.T) {
			az := rolecallv1connect.NewAuthzServiceClient(c)
			ctx, info := connect.NewClientContext(context.Background())
			info.RequestHeader().Set("X-Who", "tester")
			res, err := az.Check(ctx, &v1.CheckRequest{Subject: "ann"})
			if err != nil || !res.Allowed || res.Revision != 7 {
				t.Fatalf("ann's check: %v, %v", res, err)
			}
			if info.ResponseHeader().Get("X-Who") != "tester" || info.ResponseTrailer().Get("X-Done") != "yes" {
				t.Errorf("header %v, trailer %v", info.ResponseHeader(), info.ResponseTrailer())
			}
			_, err = az.Check(context.Background(), &v1.CheckRequest{Subject: "bob"})
			if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "bob may not ask (ünïcode, 100%)") {
				t.Fatalf("bob's check: %v", err)
			}
			if _, err := az.Explain(context.Background(), &v1.CheckRequest{}); connect.CodeOf(err) != connect.CodeUnimplemented {
				t.Fatalf("an unimplemented call: %v", err)
			}
			// an answer of ~3 MB crosses the client's window many times
			big, err := az.LookupResources(context.Background(), &v1.LookupResourcesRequest{Subject: strings.Repeat("x", 1000), Page: &v1.Page{Limit: 3000}})
			if err != nil || len(big.Ids) != 3000 {
				t.Fatalf("a large answer: %d ids, %v", len(big.GetIds()), err)
			}
			// a request of ~3 MB crosses ours
			kinds := []string{strings.Repeat("k", 3<<20)}
			stream, err := rolecallv1connect.NewWatchServiceClient(c).Watch(context.Background(), &v1.WatchRequest{After: 3, Kinds: kinds})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			for {
				ch, err := stream.Receive()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
				if len(ch.Key) != 3<<20 {
					t.Fatalf("change %d: key of %d bytes", n, len(ch.Key))
				}
			}
			if n != 3 {
				t.Fatalf("%d changes streamed, want 3", n)
			}
			dctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := az.Check(dctx, &v1.CheckRequest{Subject: "slow"}); connect.CodeOf(err) != connect.CodeDeadlineExceeded {
				t.Fatalf("a call past its deadline: %v", err)
			}
		})
	}
}

// TestRefusals: metadata and status of a plain gRPC client; an unknown
// procedure; compressed messages refused by name; a canceled call ends
// the handler.
func TestRefusals(t *testing.T) {
	addr, _ := serve(t)
	cc := testenv.GRPCConn(t, addr)
	var header, trailer metadata.MD
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-who", "plain")
	out := new(v1.CheckResponse)
	if err := cc.Invoke(ctx, "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "ann"}, out, grpc.Header(&header), grpc.Trailer(&trailer)); err != nil {
		t.Fatal(err)
	}
	if header.Get("x-who")[0] != "plain" || trailer.Get("x-done")[0] != "yes" {
		t.Errorf("header %v, trailer %v", header, trailer)
	}
	err := cc.Invoke(context.Background(), "/rolecall.v1.Nothing/Here", &v1.CheckRequest{}, out)
	if s, _ := status.FromError(err); s.Code() != codes.Unimplemented {
		t.Fatalf("an unknown procedure: %v", err)
	}
	err = cc.Invoke(context.Background(), "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "ann"}, out, grpc.UseCompressor("gzip"))
	if s, _ := status.FromError(err); s.Code() != codes.Unimplemented || !strings.Contains(s.Message(), "uncompressed") {
		t.Fatalf("a compressed call: %v", err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	err = cc.Invoke(cctx, "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "slow"}, out)
	if s, _ := status.FromError(err); s.Code() != codes.Canceled {
		t.Fatalf("a canceled call: %v", err)
	}
	// the connection still works after all that
	if err := cc.Invoke(context.Background(), "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "ann"}, out); err != nil {
		t.Fatal(err)
	}
}

// TestGracefulStop: a call in flight finishes; new connections are
// refused; GracefulStop returns once it has.
func TestGracefulStop(t *testing.T) {
	addr, s := serve(t)
	cc := testenv.GRPCConn(t, addr)
	out := new(v1.CheckResponse)
	if err := cc.Invoke(context.Background(), "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "ann"}, out); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- cc.Invoke(ctx, "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "slow"}, out)
	}()
	time.Sleep(50 * time.Millisecond)
	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("GracefulStop returned with a call in flight")
	case <-time.After(100 * time.Millisecond):
	}
	if err := <-done; status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("the call in flight: %v", err)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("GracefulStop still waiting after the last call ended")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("the listener still accepts")
	}
}
