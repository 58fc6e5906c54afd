package h2grpc_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect/v2"

	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/grpcwire"
	"github.com/rolecall/rolecall/internal/h2grpc"
	"github.com/rolecall/rolecall/internal/testenv"
)

// TestManyAtOnce: 64 callers share one connection, 200 calls each,
// every answer right: this package's client to either server and to a
// server that lets 3 calls in at a time, and grpc-go's client to this
// package's server.
func TestManyAtOnce(t *testing.T) {
	tight := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := h2grpc.New(testenv.FakeRPC(), h2grpc.Options{MaxStreams: 3})
		go s.Serve(ln)
		t.Cleanup(s.Stop)
		return ln.Addr().String()
	}
	ours := func(t *testing.T) string { a, _ := serve(t); return a }
	lean := func(t *testing.T, addr string) connect.Transport { return newClient(t, addr) }
	grpcGo := func(t *testing.T, addr string) connect.Transport {
		return grpcwire.Transport{Conn: testenv.GRPCConn(t, addr)}
	}
	pairs := map[string]struct {
		server func(*testing.T) string
		client func(*testing.T, string) connect.Transport
	}{
		"h2grpc to h2grpc":            {ours, lean},
		"h2grpc to grpc-go":           {serveGRPCGo, lean},
		"h2grpc to 3 calls at a time": {tight, lean},
		"grpc-go to h2grpc":           {ours, grpcGo},
	}
	for name, p := range pairs {
		t.Run(name, func(t *testing.T) {
			az := rolecallv1connect.NewAuthzServiceClient(connect.NewClient(p.client(t, p.server(t))))
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := range 64 {
				wg.Go(func() {
					for j := range 200 {
						subject := "ann"
						if (i+j)%7 == 0 {
							subject = "bob"
						}
						res, err := az.Check(context.Background(), &v1.CheckRequest{Subject: subject})
						switch {
						case subject == "ann" && (err != nil || !res.Allowed || res.Revision != 7):
							errs <- err
							return
						case subject == "bob" && connect.CodeOf(err) != connect.CodePermissionDenied:
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// TestClientDeadlines: a call whose deadline passes while it is reading
// the connection for everyone returns at once and hands the reading on;
// the call that was waiting gets its answer; the connection goes on.
func TestClientDeadlines(t *testing.T) {
	addr, _ := serve(t)
	az := rolecallv1connect.NewAuthzServiceClient(connect.NewClient(newClient(t, addr)))
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	long, cancelLong := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancelLong()
	started := time.Now()
	shortDone := make(chan time.Duration, 1)
	go func() {
		_, err := az.Check(short, &v1.CheckRequest{Subject: "slow"})
		if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
			t.Errorf("the short call: %v", err)
		}
		shortDone <- time.Since(started)
	}()
	time.Sleep(20 * time.Millisecond) // the short call reads now
	_, err := az.Check(long, &v1.CheckRequest{Subject: "slow"})
	if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("the long call: %v", err)
	}
	if took := time.Since(started); took < 550*time.Millisecond {
		t.Errorf("the long call ended after %v, before its deadline", took)
	}
	if took := <-shortDone; took > 400*time.Millisecond {
		t.Errorf("the short call ended after %v; its deadline was 100ms", took)
	}
	cctx, cancelNow := context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancelNow() }()
	if _, err := az.Check(cctx, &v1.CheckRequest{Subject: "slow"}); connect.CodeOf(err) != connect.CodeCanceled {
		t.Fatalf("a canceled call: %v", err)
	}
	if res, err := az.Check(context.Background(), &v1.CheckRequest{Subject: "ann"}); err != nil || !res.Allowed {
		t.Fatalf("after all that: %v, %v", res, err)
	}
}

// TestClientServerGoesAway: a call in flight as the server stops
// gracefully gets its answer; once the connection has been idle, a call
// goes to the server started on the same address on a new connection.
func TestClientServerGoesAway(t *testing.T) {
	addr, s := serve(t)
	c := newClient(t, addr)
	az := rolecallv1connect.NewAuthzServiceClient(connect.NewClient(c))
	if _, err := az.Check(context.Background(), &v1.CheckRequest{Subject: "ann"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	inflight := make(chan error, 1)
	go func() {
		_, err := az.Check(ctx, &v1.CheckRequest{Subject: "slow"})
		inflight <- err
	}()
	time.Sleep(30 * time.Millisecond)
	s.GracefulStop()
	if err := <-inflight; connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("the call in flight: %v", err)
	}
	// the same address, a new server
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s2 := h2grpc.New(testenv.FakeRPC(), h2grpc.Options{})
	go s2.Serve(ln)
	defer s2.Stop()
	time.Sleep(500 * time.Millisecond) // idle: the old connection's end is read
	if res, err := az.Check(context.Background(), &v1.CheckRequest{Subject: "ann"}); err != nil || !res.Allowed {
		t.Fatalf("a call after the server went away: %v, %v", res, err)
	}
	// Close: calls fail as unavailable, naming it
	c.Close()
	if _, err := az.Check(context.Background(), &v1.CheckRequest{Subject: "ann"}); connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("a call after Close: %v", err)
	}
}

// TestClientRefusals: a request over the server's limit is refused by
// code while it is still being sent; an address that is not HTTP is
// named; a server that is not there is unavailable.
func TestClientRefusals(t *testing.T) {
	addr, _ := serve(t)
	az := rolecallv1connect.NewAuthzServiceClient(connect.NewClient(newClient(t, addr)))
	_, err := az.Check(context.Background(), &v1.CheckRequest{Subject: strings.Repeat("x", 9<<20)})
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "the most is") {
		t.Fatalf("a request of 9 MiB: %v", err)
	}
	if res, err := az.Check(context.Background(), &v1.CheckRequest{Subject: "ann"}); err != nil || !res.Allowed {
		t.Fatalf("after a refused request: %v, %v", res, err)
	}
	if _, err := h2grpc.NewClient("https://"+addr, h2grpc.ClientOptions{}); err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Fatalf("an https address: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln.Addr().String()
	ln.Close()
	dead := rolecallv1connect.NewAuthzServiceClient(connect.NewClient(newClient(t, gone)))
	if _, err := dead.Check(context.Background(), &v1.CheckRequest{Subject: "ann"}); connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), gone) {
		t.Fatalf("no server: %v", err)
	}
}
