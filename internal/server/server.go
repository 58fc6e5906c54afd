package server

import (
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/grpcreflect/v2"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/authzen"
	"github.com/rolecall/rolecall/internal/grpcwire"
	"github.com/rolecall/rolecall/internal/h2grpc"
)

// Options configure the API handler.
type Options struct {
	Live *engine.Live
	// Admin performs admin acts.
	Admin *admin.Service
	// Store is the store: it authenticates callers by their API keys,
	// Watch reads its change log, Import writes to it, Export reads its
	// snapshot.
	Store rolecall.Store
	// MaxBodyBytes bounds a request's body (default 4 MiB).
	MaxBodyBytes int
	// Timeout bounds a call that sets no earlier deadline (default 30 s).
	Timeout time.Duration
	// Log receives a line per failed call (default: slog's default).
	Log *slog.Logger
	// BaseURL is the public base URL the AuthZEN metadata announces
	// (default: the request's scheme and host).
	BaseURL string
	// Tracer, if set, records a span for every HTTP request (every call, of
	// any protocol, and every AuthZEN request), named by method and path and
	// carrying the caller's key and organization. Nil: no tracing.
	Tracer trace.TracerProvider
	// Console, if set, serves every path the API does not (the web
	// console at "/").
	Console http.Handler
	// Profiling serves Go's runtime profiles at /debug/pprof/ (CPU, heap,
	// goroutines, execution traces), without a key: turn it on only where
	// the port is not reachable from outside.
	Profiling bool
}

// Handler returns the API on one handler: gRPC, gRPC-Web and Connect
// (HTTP/JSON POST to /rolecall.v1.AuthzService/Check, ...), every call
// authenticated by an API key ("Authorization: Bearer rck_..."), plus the
// gRPC health protocol, server reflection, GET /healthz reporting the
// index's revision, the store's head and how far the index is behind it
// (503 while the store cannot be read), and GET /metrics for Prometheus
// (the same, plus each applied revision's replication lag). Server serves
// the same on a listener, with gRPC clients on a transport of their own.
func Handler(o Options) http.Handler {
	_, h := build(o)
	return h
}

// Server is the API on one listener: connections of gRPC clients (HTTP/2
// without TLS whose first call is gRPC with protobuf) are served by a
// transport made for short gRPC calls (internal/h2grpc), every other
// connection (HTTP/1.1, Connect and HTTP/JSON, gRPC-Web, the console,
// AuthZEN, metrics) by net/http; both call the same handlers through the
// same interceptors.
type Server struct {
	http  *http.Server
	grpc  *h2grpc.Server
	mu    sync.Mutex // split and done
	split *grpcwire.Split
	done  chan struct{}
}

// New builds a Server; Serve starts it on a listener.
func New(o Options) *Server {
	rpc, h := build(o)
	var observe func(context.Context, string) (context.Context, func(error))
	if o.Tracer != nil {
		tr := o.Tracer.Tracer("rolecall")
		observe = func(ctx context.Context, procedure string) (context.Context, func(error)) {
			ctx, span := tr.Start(ctx, "POST "+procedure, trace.WithSpanKind(trace.SpanKindServer))
			return ctx, func(err error) {
				if err != nil {
					span.SetStatus(otelcodes.Error, err.Error())
				}
				span.End()
			}
		}
	}
	return &Server{
		http: &http.Server{Handler: h, Protocols: protocols(), ReadHeaderTimeout: 10 * time.Second},
		grpc: h2grpc.New(rpc, h2grpc.Options{MaxRecvMsgSize: o.maxBody(), Observe: observe}),
		done: make(chan struct{}),
	}
}

// protocols are HTTP/1.1 and HTTP/2 without TLS (for gRPC clients, and
// curl --http2-prior-knowledge).
func protocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// Serve answers on ln until Shutdown, returning http.ErrServerClosed then,
// or the error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	default:
	}
	split := grpcwire.NewSplit(ln)
	s.split = split
	s.mu.Unlock()
	errs := make(chan error, 3)
	go func() { errs <- split.Serve() }()
	go func() { errs <- s.grpc.Serve(split.GRPC()) }()
	go func() { errs <- s.http.Serve(split.HTTP()) }()
	select {
	case err := <-errs:
		select {
		case <-s.done:
			return http.ErrServerClosed
		default:
		}
		split.Close()
		s.grpc.Stop()
		s.http.Close()
		return err
	case <-s.done:
		return http.ErrServerClosed
	}
}

// Shutdown stops accepting connections and waits for calls in flight to
// finish, until ctx ends; then it closes what is left (a Watch stream
// lasts as long as its caller wants) and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return nil
	default:
		close(s.done)
	}
	split := s.split
	s.mu.Unlock()
	if split != nil {
		split.Close()
	}
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	err := s.http.Shutdown(ctx)
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		s.http.Close()
	}
	return err
}

func (o Options) maxBody() int {
	if o.MaxBodyBytes <= 0 {
		return 4 << 20
	}
	return o.MaxBodyBytes
}

// build makes the API's connect.Server (for any transport) and the HTTP
// handler serving it with everything else.
func build(o Options) (*connect.Server, http.Handler) {
	o.MaxBodyBytes = o.maxBody()
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	met := newMetrics(o.Live, o.Store)
	keys := &keyCache{keys: o.Store}
	srv := connect.NewServer(met.interceptor, deadline(o.Timeout), logFailures(o.Log), authn(keys, o.Live))
	rolecallv1connect.RegisterAuthzServiceHandler(srv, &Authz{Live: o.Live})
	rolecallv1connect.RegisterAdminServiceHandler(srv, &Admin{Service: o.Admin})
	rolecallv1connect.RegisterWatchServiceHandler(srv, &Watch{Store: o.Store, keys: keys, live: o.Live})
	rolecallv1connect.RegisterImportServiceHandler(srv, &Import{Store: o.Store, Live: o.Live, Log: o.Log, Admin: o.Admin})
	rolecallv1connect.RegisterModelServiceHandler(srv, &Model{Model: o.Live.Engine().Model()})
	registerHealth(srv, o.Store)
	grpcreflect.Register(srv) // the schema is public: it is in the repository
	mux := http.NewServeMux()
	// answers under 1 KiB (checks, most admin acts) go uncompressed: gzip
	// costs more CPU than it saves bytes on them
	connecthttp.Mount(mux, srv, connecthttp.WithReadMaxBytes(o.MaxBodyBytes), connecthttp.WithCompressMinBytes(1024))
	mux.Handle("GET /metrics", met.handler())
	authzen.Mount(mux, authzen.Options{Live: o.Live, BaseURL: o.BaseURL, Scope: func(ctx context.Context) (string, bool) {
		p, _ := PrincipalFrom(ctx)
		return p.Org, p.Operator
	}}, httpAuthn(keys, o.Live))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		st := readState(o.Live, o.Store)
		w.Header().Set("Content-Type", "application/json")
		if !st.StoreUp {
			// a router should send fresh reads and writes elsewhere
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(st)
	})
	if o.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	if o.Console != nil {
		mux.Handle("/", o.Console)
	}
	if o.Tracer == nil {
		return srv, mux
	}
	return srv, otelhttp.NewHandler(mux, "rolecall", otelhttp.WithTracerProvider(o.Tracer),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
}

// deadline gives every unary call a deadline, unless it has an earlier
// one; a stream (Watch) lasts as long as its caller wants.
func deadline(d time.Duration) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			if spec.StreamType != connect.StreamTypeUnary {
				return next(ctx, spec, stream)
			}
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, spec, stream)
		}
	}
}

// logFailures logs calls that fail with a server-side cause.
func logFailures(log *slog.Logger) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			err := next(ctx, spec, stream)
			if err == nil {
				return nil
			}
			switch connect.CodeOf(err) {
			case connect.CodeInternal, connect.CodeUnknown:
				log.Error("call failed", "procedure", spec.Procedure, "error", err, "cause", errors.Unwrap(err))
			}
			return err
		}
	}
}
