package grpcwire

import (
	"context"
	"errors"
	"io"

	"connectrpc.com/connect/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Transport is a connect client transport over a gRPC client connection:
// connect.NewClient(grpcwire.Transport{Conn: cc}) calls with grpc-go's
// HTTP/2 transport, request headers from the call's CallInfo, response
// headers and trailers back into it.
type Transport struct {
	Conn grpc.ClientConnInterface
	// CallOptions are added to every call (compression, message limits).
	CallOptions []grpc.CallOption
}

// NewClientStream opens a stream lazily: the call starts at its first
// send or receive, once the caller has set its request headers.
func (t Transport) NewClientStream(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
	info, ok := connect.CallInfoForClientContext(ctx)
	if !ok {
		ctx, info = connect.NewClientContext(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	return &clientStream{t: t, ctx: ctx, cancel: cancel, spec: spec, info: info}, nil
}

type clientStream struct {
	t      Transport
	ctx    context.Context
	cancel context.CancelFunc
	spec   connect.Spec
	info   *connect.CallInfo

	cs       grpc.ClientStream
	openErr  error
	header   metadata.MD
	trailer  metadata.MD
	finished bool
}

func (s *clientStream) open() error {
	if s.cs != nil || s.openErr != nil {
		return s.openErr
	}
	s.info.Spec = s.spec
	s.info.Protocol, s.info.Codec = connect.ProtocolNameGRPC, "proto"
	ctx := s.ctx
	if s.info.RequestHeader().Len() > 0 {
		ctx = metadata.NewOutgoingContext(ctx, toMD(s.info.RequestHeader()))
	}
	desc := &grpc.StreamDesc{
		StreamName:    s.spec.Procedure,
		ServerStreams: s.spec.StreamType&connect.StreamTypeServer != 0,
		ClientStreams: s.spec.StreamType&connect.StreamTypeClient != 0,
	}
	opts := append([]grpc.CallOption{grpc.Header(&s.header), grpc.Trailer(&s.trailer)}, s.t.CallOptions...)
	s.cs, s.openErr = s.t.Conn.NewStream(ctx, desc, s.spec.Procedure, opts...)
	s.openErr = connectError(s.openErr)
	return s.openErr
}

func (s *clientStream) SendHeaders() error { return s.open() }

func (s *clientStream) Send(msg any) error {
	if err := s.open(); err != nil {
		return err
	}
	err := s.cs.SendMsg(msg)
	if errors.Is(err, io.EOF) {
		// the server ended the call: its status comes with the next receive
		return nil
	}
	return connectError(err)
}

func (s *clientStream) CloseSend() error {
	if err := s.open(); err != nil {
		return err
	}
	return connectError(s.cs.CloseSend())
}

func (s *clientStream) Receive(msg any) error {
	if err := s.open(); err != nil {
		return err
	}
	if s.finished {
		return io.EOF
	}
	err := s.cs.RecvMsg(msg)
	if s.spec.StreamType&connect.StreamTypeServer == 0 && err == nil {
		// grpc-go has read to the end of a unary answer already
		s.finish()
		return nil
	}
	if err != nil {
		s.finish()
	}
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return connectError(err)
}

// finish copies the answer's headers and trailers into the CallInfo.
func (s *clientStream) finish() {
	s.finished = true
	fromMD(s.header, s.info.ResponseHeader())
	fromMD(s.trailer, s.info.ResponseTrailer())
}

func (s *clientStream) Close() error {
	s.cancel()
	return nil
}
