// Package grpcwire splits one listener's connections between gRPC
// clients and net/http (Split), and carries connect calls over gRPC's own
// HTTP/2 transport, google.golang.org/grpc, on either side (NewServer,
// Transport).
//
// A connect.Server is transport-neutral: its interceptors and handlers see a
// stream and a CallInfo. rolecall serves the gRPC side of the split with
// internal/h2grpc; NewServer serves a connect.Server's procedures through
// grpc-go (the peer h2grpc is tested against), and Transport is the
// client for connect clients that speak gRPC through grpc-go (the Go
// client's, over TLS or with dial options).
package grpcwire

import (
	"context"
	"errors"
	"io"
	"strings"

	"connectrpc.com/connect/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // accept gzip-compressed calls, as connect does
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Observe is called as each call starts, and the function it returns as
// the call ends with its error (tracing). It may return ctx unchanged.
type Observe func(ctx context.Context, procedure string) (context.Context, func(error))

// NewServer returns a gRPC server that hands every call to srv: the
// procedure, headers and messages of the call, with srv's interceptors.
// observe may be nil. opts are added to the server's (message size
// limits, keepalive).
func NewServer(srv *connect.Server, observe Observe, opts ...grpc.ServerOption) *grpc.Server {
	handle := func(_ any, ss grpc.ServerStream) error {
		proc, ok := grpc.MethodFromServerStream(ss)
		if !ok {
			return status.Error(codes.Internal, "the call names no method")
		}
		ctx := ss.Context()
		info := &connect.CallInfo{Protocol: connect.ProtocolNameGRPC, Codec: "proto", RequestEncoding: "identity", ResponseEncoding: "identity"}
		if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
			info.PeerAddr = p.Addr.String()
		}
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			fromMD(md, info.RequestHeader())
		}
		var end func(error)
		if observe != nil {
			ctx, end = observe(ctx, proc)
		}
		st := &serverStream{ss: ss, info: info}
		err := srv.Call(ctx, proc, info, st)
		if end != nil {
			end(err)
		}
		if !st.sentHeaders && info.ResponseHeader().Len() > 0 {
			ss.SetHeader(toMD(info.ResponseHeader()))
		}
		if info.ResponseTrailer().Len() > 0 {
			ss.SetTrailer(toMD(info.ResponseTrailer()))
		}
		return grpcError(err)
	}
	return grpc.NewServer(append([]grpc.ServerOption{grpc.UnknownServiceHandler(handle)}, opts...)...)
}

// serverStream is one call's stream as the connect.Server sees it.
type serverStream struct {
	ss          grpc.ServerStream
	info        *connect.CallInfo
	sentHeaders bool
}

func (s *serverStream) Receive(msg any) error {
	err := s.ss.RecvMsg(msg)
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	return connectError(err)
}

func (s *serverStream) SendHeaders() error {
	if s.sentHeaders {
		return nil
	}
	s.sentHeaders = true
	return connectError(s.ss.SendHeader(toMD(s.info.ResponseHeader())))
}

func (s *serverStream) Send(msg any) error {
	if !s.sentHeaders {
		s.sentHeaders = true
		if s.info.ResponseHeader().Len() > 0 {
			if err := s.ss.SetHeader(toMD(s.info.ResponseHeader())); err != nil {
				return connectError(err)
			}
		}
	}
	return connectError(s.ss.SendMsg(msg))
}

// grpcError turns a handler's error into a gRPC status, as connect's own
// gRPC transport does: a connect error keeps its code and message, a
// context's end is Canceled or DeadlineExceeded, anything else Unknown.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	switch {
	case errors.As(err, &ce):
		return status.Error(codes.Code(ce.Code()), ce.Message())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, io.EOF):
		// a unary or server-streaming call that sent no message
		return status.Error(codes.InvalidArgument, "the call carried no request message; send exactly one")
	}
	if s, ok := status.FromError(err); ok {
		return s.Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

// connectError turns a gRPC status (or a context's end) into a connect
// error with the same code and message.
func connectError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) {
		return err
	}
	if s, ok := status.FromError(err); ok {
		return connect.NewError(connect.Code(s.Code()), s.Message())
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err.Error())
	}
	return connect.NewError(connect.CodeUnknown, err.Error())
}

// fromMD copies gRPC metadata into a connect header, leaving out HTTP/2
// pseudo-headers and the transport's own; binary ("-bin") values are
// base64-encoded again, as they were on the wire.
func fromMD(md metadata.MD, h *connect.Header) {
	for k, vs := range md {
		switch {
		case strings.HasPrefix(k, ":"), k == "content-type", k == "te", strings.HasPrefix(k, "grpc-"):
			continue
		case strings.HasSuffix(k, "-bin"):
			enc := make([]string, len(vs))
			for i, v := range vs {
				enc[i] = connect.EncodeBinaryHeader([]byte(v))
			}
			vs = enc
		}
		h.SetValues(k, vs)
	}
}

// toMD copies a connect header into gRPC metadata; "-bin" values are
// decoded (gRPC encodes them itself).
func toMD(h *connect.Header) metadata.MD {
	md := make(metadata.MD, h.Len())
	for k, vs := range h.All() {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, "grpc-") || k == "content-type" {
			continue
		}
		if strings.HasSuffix(k, "-bin") {
			for _, v := range vs {
				if b, err := connect.DecodeBinaryHeader(v); err == nil {
					md[k] = append(md[k], string(b))
				}
			}
			continue
		}
		md[k] = append(md[k], vs...)
	}
	return md
}
