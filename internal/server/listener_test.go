package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/grpcreflect/v2"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/grpcwire"
	"github.com/rolecall/rolecall/internal/h2grpc"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// TestOneListener: server.New on one port answers every protocol (gRPC
// on gRPC's transport, from grpc-go and from connect's gRPC client; Connect
// binary and JSON, gRPC-Web over HTTP/1.1), the gRPC health protocol and
// reflection on either transport, keys checked the same way; Shutdown
// ends Serve.
func TestOneListener(t *testing.T) {
	o, _ := fixture(t)
	srv := server.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()

	cc := testenv.GRPCConn(t, ln.Addr().String())
	lean, err := h2grpc.NewClient(url, h2grpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer lean.Close()
	clients := map[string]*connect.Client{
		"gRPC transport":     connect.NewClient(grpcwire.Transport{Conn: cc}, bearer(tokens["ann"])),
		"connect gRPC, h2c":  connect.NewClient(connecthttp.NewTransport(testenv.H2C(), url, connecthttp.WithGRPC()), bearer(tokens["ann"])),
		"connect, HTTP/1.1":  connect.NewClient(connecthttp.NewTransport(http.DefaultClient, url), bearer(tokens["ann"])),
		"JSON, h2c":          connect.NewClient(connecthttp.NewTransport(testenv.H2C(), url, connecthttp.WithProtoJSON()), bearer(tokens["ann"])),
		"gRPC-Web, HTTP/1.1": connect.NewClient(connecthttp.NewTransport(http.DefaultClient, url, connecthttp.WithGRPCWeb()), bearer(tokens["ann"])),
		"h2grpc client":      connect.NewClient(lean, bearer(tokens["ann"])),
	}
	for name, c := range clients {
		askAll(t, name, rolecallv1connect.NewAuthzServiceClient(c))
	}

	// keys: none, revoked, another organization's question
	ctx := context.Background()
	q := &v1.CheckRequest{Subject: "bob", Permission: "view_sources", Target: &v1.Target{Scope: "claims"}}
	out := new(v1.CheckResponse)
	err = cc.Invoke(ctx, rolecallv1connect.AuthzServiceCheckProcedure, q, out)
	if s, _ := status.FromError(err); s.Code() != codes.Unauthenticated {
		t.Fatalf("a call without a key: %v", err)
	}
	err = cc.Invoke(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tokens["revoked"]), rolecallv1connect.AuthzServiceCheckProcedure, q, out)
	if s, _ := status.FromError(err); s.Code() != codes.Unauthenticated || !strings.Contains(s.Message(), "revoked") {
		t.Fatalf("a revoked key: %v", err)
	}
	if err := cc.Invoke(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tokens["bob"]), rolecallv1connect.AuthzServiceCheckProcedure, q, out); err != nil || !out.Allowed {
		t.Fatalf("bob's key: %v, %v", out, err)
	}

	// a request past the size limit is refused, naming the limit
	big := &v1.CheckRequest{Subject: strings.Repeat("x", 5<<20), Permission: "view_sources", Target: &v1.Target{Scope: "claims"}}
	err = cc.Invoke(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tokens["bob"]), rolecallv1connect.AuthzServiceCheckProcedure, big, out)
	if s, _ := status.FromError(err); s.Code() != codes.ResourceExhausted || !strings.Contains(s.Message(), "the most is 4194304") {
		t.Fatalf("a 5 MiB request over gRPC: %v", err)
	}

	// health and reflection need no key, on both transports
	h, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health over gRPC: %v, %v", h, err)
	}
	if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("health of an unknown service: %v", err)
	}
	wctx, stopWatch := context.WithCancel(ctx)
	watch, err := healthpb.NewHealthClient(cc).Watch(wctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if h, err := watch.Recv(); err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health watch: %v, %v", h, err)
	}
	stopWatch() // a stream still open would hold Shutdown to its deadline
	res, err := http.Post(url+"/grpc.health.v1.Health/Check", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "SERVING") {
		t.Fatalf("health over HTTP/JSON: %s", b)
	}
	// reflection is a stream both ways
	for name, tr := range map[string]connect.Transport{"net/http": connecthttp.NewTransport(testenv.H2C(), url, connecthttp.WithGRPC()), "h2grpc client": lean} {
		stream := grpcreflect.NewClient(connect.NewClient(tr)).NewStream(ctx)
		names, err := stream.ListServices()
		if err == nil {
			_, err = stream.FileContainingSymbol(rolecallv1connect.AuthzServiceName)
		}
		stream.Close()
		if err != nil || !slices.Contains(names, rolecallv1connect.AuthzServiceName) {
			t.Fatalf("reflection over gRPC (%s): %v, %v", name, names, err)
		}
	}

	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

// TestProfiling: Go's runtime profiles are served only when asked for.
func TestProfiling(t *testing.T) {
	for _, on := range []bool{false, true} {
		ts, _ := start(t, func(o *server.Options) { o.Profiling = on })
		res, err := ts.Client().Get(ts.URL + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if (res.StatusCode == http.StatusOK) != on {
			t.Errorf("profiling %v: /debug/pprof/cmdline answered %d", on, res.StatusCode)
		}
	}
}

// TestShutdownBeforeServe: a server shut down before it serves returns at
// once from Serve, and closes the listener it was given.
func TestShutdownBeforeServe(t *testing.T) {
	o, _ := fixture(t)
	srv := server.New(o)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := ln.Accept(); err == nil {
		t.Fatal("the listener is still open")
	}
}
