package server

import (
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	connectv1 "connectrpc.com/connect"
	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect/v2"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/internal/authzen"
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
}

// Handler returns the API on one handler: gRPC, gRPC-Web and Connect
// (HTTP/JSON POST to /rolecall.v1.AuthzService/Check, ...), every call
// authenticated by an API key ("Authorization: Bearer rck_..."), plus the
// gRPC health protocol, server reflection, GET /healthz reporting the
// index's revision, the store's head and how far the index is behind it
// (503 while the store cannot be read), and GET /metrics for Prometheus
// (the same, plus each applied revision's replication lag).
func Handler(o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 4 << 20
	}
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
	rolecallv1connect.RegisterImportServiceHandler(srv, &Import{Store: o.Store, Live: o.Live, Log: o.Log})
	rolecallv1connect.RegisterModelServiceHandler(srv, &Model{Model: o.Live.Engine().Model()})
	grpcreflect.Register(srv) // the schema is public: it is in the repository
	mux := http.NewServeMux()
	// answers under 1 KiB (checks, most admin acts) go uncompressed: gzip
	// costs more CPU than it saves bytes on them
	connecthttp.Mount(mux, srv, connecthttp.WithReadMaxBytes(o.MaxBodyBytes), connecthttp.WithCompressMinBytes(1024))
	mux.Handle(grpchealth.NewHandler(health{o.Store}))
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
	if o.Console != nil {
		mux.Handle("/", o.Console)
	}
	if o.Tracer == nil {
		return mux
	}
	return otelhttp.NewHandler(mux, "rolecall", otelhttp.WithTracerProvider(o.Tracer),
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

// health answers the gRPC health protocol: serving while the store
// answers.
type health struct{ store rolecall.Reader }

func (h health) Check(ctx context.Context, r *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	switch r.Service {
	case "", rolecallv1connect.AuthzServiceName, rolecallv1connect.AdminServiceName:
	default:
		return nil, connectv1.NewError(connectv1.CodeNotFound, errors.New("no such service: "+r.Service))
	}
	if _, err := h.store.Head(ctx); err != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}
