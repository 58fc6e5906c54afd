package grpcwire_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/grpcwire"
	"github.com/rolecall/rolecall/internal/testenv"
)

// countingListener counts the connections it hands out.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// serve starts a Split on a loopback port, the connect server on gRPC's
// transport on one half and on net/http (HTTP/1.1 and HTTP/2 without
// TLS) on the other.
func serve(t *testing.T) (addr string, grpcConns, httpConns *countingListener, split *grpcwire.Split) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	split = grpcwire.NewSplit(ln)
	split.Wait = 200 * time.Millisecond
	rpc := testenv.FakeRPC()
	gs := grpcwire.NewServer(rpc, nil)
	mux := http.NewServeMux()
	connecthttp.Mount(mux, rpc)
	mux.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain "+r.Proto) })
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	hs := &http.Server{Handler: mux, Protocols: p}
	grpcConns = &countingListener{Listener: split.GRPC()}
	httpConns = &countingListener{Listener: split.HTTP()}
	go split.Serve()
	go gs.Serve(grpcConns)
	go hs.Serve(httpConns)
	t.Cleanup(func() { gs.Stop(); hs.Close(); split.Close() })
	return ln.Addr().String(), grpcConns, httpConns, split
}

// TestTransports: connect clients on the gRPC transport and on net/http
// (gRPC and Connect JSON) call the connect server on one port; codes,
// messages, headers, trailers and server streams arrive whole either way.
func TestTransports(t *testing.T) {
	addr, grpcConns, httpConns, _ := serve(t)
	cc := testenv.GRPCConn(t, addr)
	clients := map[string]*connect.Client{
		"gRPC transport":          connect.NewClient(grpcwire.Transport{Conn: cc}),
		"net/http, gRPC protocol": connect.NewClient(connecthttp.NewTransport(testenv.H2C(), "http://"+addr, connecthttp.WithGRPC())),
		"net/http, Connect JSON":  connect.NewClient(connecthttp.NewTransport(testenv.H2C(), "http://"+addr, connecthttp.WithProtoJSON())),
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
			if got := info.ResponseHeader().Get("X-Who"); got != "tester" {
				t.Errorf("response header X-Who %q, want tester", got)
			}
			if got := info.ResponseTrailer().Get("X-Done"); got != "yes" {
				t.Errorf("response trailer X-Done %q, want yes", got)
			}
			_, err = az.Check(context.Background(), &v1.CheckRequest{Subject: "bob"})
			if connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "bob may not ask") {
				t.Fatalf("bob's check: %v, want permission_denied naming bob", err)
			}
			_, err = az.Explain(context.Background(), &v1.CheckRequest{Subject: "ann"})
			if connect.CodeOf(err) != connect.CodeUnimplemented {
				t.Fatalf("an unimplemented call: %v", err)
			}
			stream, err := rolecallv1connect.NewWatchServiceClient(c).Watch(context.Background(), &v1.WatchRequest{After: 3})
			if err != nil {
				t.Fatal(err)
			}
			var revs []uint64
			for {
				ch, err := stream.Receive()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				revs = append(revs, ch.Revision)
			}
			if len(revs) != 3 || revs[2] != 3 {
				t.Fatalf("streamed %v, want 1 2 3", revs)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
			defer cancel()
			time.Sleep(time.Millisecond)
			if _, err := az.Check(ctx, &v1.CheckRequest{Subject: "ann"}); connect.CodeOf(err) != connect.CodeDeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a call past its deadline: %v", err)
			}
		})
	}
	// connect's own gRPC client opens with a gRPC call too: only the
	// JSON client's connection is net/http's
	if grpcConns.n.Load() != 2 || httpConns.n.Load() != 1 {
		t.Errorf("connections: %d to gRPC, %d to net/http; want 2 and 1", grpcConns.n.Load(), httpConns.n.Load())
	}
}

// TestPlainGRPCClient: a gRPC client with no connect at all (grpc-go's
// Invoke) is answered, metadata and status included.
func TestPlainGRPCClient(t *testing.T) {
	addr, _, _, _ := serve(t)
	cc := testenv.GRPCConn(t, addr)
	var header, trailer metadata.MD
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-who", "plain")
	out := new(v1.CheckResponse)
	if err := cc.Invoke(ctx, "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "ann"}, out, grpc.Header(&header), grpc.Trailer(&trailer)); err != nil || !out.Allowed {
		t.Fatalf("check: %v, %v", out, err)
	}
	if header.Get("x-who")[0] != "plain" || trailer.Get("x-done")[0] != "yes" {
		t.Errorf("header %v, trailer %v", header, trailer)
	}
	err := cc.Invoke(context.Background(), "/rolecall.v1.AuthzService/Check", &v1.CheckRequest{Subject: "eve"}, out)
	if s, _ := status.FromError(err); s.Code() != codes.PermissionDenied || s.Message() != "eve may not ask (ünïcode, 100%)" {
		t.Fatalf("eve's check: %v", err)
	}
	err = cc.Invoke(context.Background(), "/rolecall.v1.Nothing/Here", &v1.CheckRequest{}, out)
	if s, _ := status.FromError(err); s.Code() != codes.Unimplemented {
		t.Fatalf("an unknown procedure: %v", err)
	}
}

// TestSplitSorts: HTTP/1.1, and HTTP/2 whose first request is not gRPC with
// protobuf, go to net/http; an HTTP/2 connection silent after its opening
// goes to gRPC; a connection that sends nothing useful is closed without
// reaching either.
func TestSplitSorts(t *testing.T) {
	addr, grpcConns, httpConns, _ := serve(t)
	res, err := http.Get("http://" + addr + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "plain HTTP/1.1" {
		t.Fatalf("HTTP/1.1: %q", b)
	}
	res, err = testenv.H2C().Get("http://" + addr + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "plain HTTP/2.0" {
		t.Fatalf("HTTP/2 without TLS: %q", b)
	}
	for _, ct := range []string{"application/grpc-web+proto", "application/grpc+json"} {
		req, _ := http.NewRequest("POST", "http://"+addr+"/rolecall.v1.AuthzService/Check", strings.NewReader(""))
		req.Header.Set("Content-Type", ct)
		res, err := testenv.H2C().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if grpcConns.n.Load() != 0 || httpConns.n.Load() != 4 {
		t.Fatalf("connections: %d to gRPC, %d to net/http; want 0 and 4", grpcConns.n.Load(), httpConns.n.Load())
	}

	// a client that opens HTTP/2 and sends no request (as gRPC clients open
	// connections ahead of calls) gets the split's SETTINGS at once, and
	// goes to gRPC once Wait has passed
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, http2.ClientPreface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := http2.NewFramer(c, c)
	for i := range 2 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d from the server: %v", i, err)
		}
		if _, ok := f.(*http2.SettingsFrame); !ok {
			t.Fatalf("frame %d from the server: %v, want SETTINGS", i, f)
		}
	}
	if grpcConns.n.Load() != 1 {
		t.Fatalf("a silent HTTP/2 client went to net/http")
	}

	// garbage, then a hang-up: neither server sees it
	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c2, "PRI * HTTP/2.0\r\n")
	c2.Close()
	time.Sleep(50 * time.Millisecond)
	if grpcConns.n.Load() != 1 || httpConns.n.Load() != 4 {
		t.Fatalf("a cut-off opening reached a server: %d gRPC, %d net/http", grpcConns.n.Load(), httpConns.n.Load())
	}
}

// TestSplitClose: closing both halves closes the listener, and Serve
// returns.
func TestSplitClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpcwire.NewSplit(ln)
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	s.GRPC().Close()
	s.HTTP().Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still accepting after both halves closed")
	}
	if _, err := s.HTTP().Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}

// TestSplitHeadersAndMessage: a client that sends its opening, then its
// first request's headers and message in one write, is answered: the
// bytes read to sort the connection past the headers reach the server
// too.
func TestSplitHeadersAndMessage(t *testing.T) {
	addr, grpcConns, _, _ := serve(t)
	msg, err := proto.Marshal(&v1.CheckRequest{Subject: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(&buf, nil)
	fr.WriteSettings()
	opening := buf.Len()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":path", "/rolecall.v1.AuthzService/Check"},
		{":authority", addr}, {"content-type", "application/grpc"}, {"te", "trailers"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	fr.WriteData(1, true, append([]byte{0, 0, 0, 0, byte(len(msg))}, msg...))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(buf.Bytes()[:opening]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := c.Write(buf.Bytes()[opening:]); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	in := http2.NewFramer(io.Discard, c)
	in.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	for {
		f, err := in.ReadFrame()
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		if h, ok := f.(*http2.MetaHeadersFrame); ok && h.StreamEnded() {
			for _, hf := range h.Fields {
				if hf.Name == "grpc-status" && hf.Value != "0" {
					t.Fatalf("grpc-status %s", hf.Value)
				}
			}
			break
		}
	}
	if grpcConns.n.Load() != 1 {
		t.Fatalf("the connection did not go to gRPC")
	}
}

// TestSplitAcknowledgement: a raw HTTP/2 client acknowledges the split's
// SETTINGS frame before or after its first request's headers; on the way
// to net/http the acknowledgement is taken out (net/http would hang up on
// an acknowledgement of settings it never sent), and the request is
// answered.
func TestSplitAcknowledgement(t *testing.T) {
	addr, _, httpConns, _ := serve(t)
	for i, ackFirst := range []bool{true, false} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		fr.WriteSettings()
		if f, err := fr.ReadFrame(); err != nil || f.Header().Type != http2.FrameSettings {
			t.Fatalf("the server's preface: %v, %v", f, err)
		}
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/plain"}, {":authority", addr}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		if ackFirst {
			fr.WriteSettingsAck()
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
		if !ackFirst {
			fr.WriteSettingsAck()
		}
		// net/http's settings are acknowledged as they come; a PING answered
		// after the answer shows the server took every frame before it
		status, pinged := "", false
		for status == "" || !pinged {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("ack first %v: no answer: %v", ackFirst, err)
			}
			switch f := f.(type) {
			case *http2.GoAwayFrame:
				t.Fatalf("ack first %v: the server hung up: %v", ackFirst, f.ErrCode)
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck() // net/http's own settings
				}
			case *http2.MetaHeadersFrame:
				status = f.PseudoValue("status")
				fr.WritePing(false, [8]byte{1})
			case *http2.PingFrame:
				pinged = f.IsAck()
			}
		}
		if status != "200" || httpConns.n.Load() != int64(i+1) {
			t.Fatalf("ack first %v: status %s, %d connections to net/http", ackFirst, status, httpConns.n.Load())
		}
	}
}
