// Package h2grpc serves a connect.Server's procedures to gRPC clients
// over HTTP/2 without TLS, on a transport of its own made for short calls:
// one goroutine reads each connection, each call runs in a goroutine of
// its own that writes its answer itself. General HTTP/2 servers (net/http's,
// grpc-go's) pass every answer through another goroutine that owns the
// connection's writes; on a small machine each hand-off is a wake-up, and
// wake-ups are most of what a short call costs.
//
// It speaks what gRPC clients need: the connection preface and settings,
// HPACK, flow control both ways, pings, stream resets, GOAWAY on a graceful
// stop, deadlines (grpc-timeout), and unary, server-, client- and
// bidirectional streams with protobuf messages. It does not speak
// compressed messages (a call that sends one fails as unimplemented, naming
// it) or anything that is not gRPC.
package h2grpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect/v2"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"
)

// Options configure a Server.
type Options struct {
	// MaxRecvMsgSize bounds one request message (default 4 MiB).
	MaxRecvMsgSize int
	// MaxStreams bounds the calls in flight on one connection (default
	// 250); a client opening more has the extra ones refused, to retry.
	MaxStreams int
	// Observe is called as each call starts, and the function it returns
	// as the call ends with its error (tracing). Nil: nothing.
	Observe func(ctx context.Context, procedure string) (context.Context, func(error))
}

// Server serves a connect.Server to gRPC clients.
type Server struct {
	rpc    *connect.Server
	o      Options
	unary  map[string]bool // procedures whose answer is one message
	mu     sync.Mutex
	lns    map[net.Listener]bool
	conns  map[*conn]bool
	stop   bool
	connWG sync.WaitGroup
	// work hands a call to a goroutine kept from an earlier one: its
	// stack has grown to what a call needs already (a new goroutine's
	// grows by copying, a good share of a short call's cost)
	work chan func()
}

// New returns a Server of rpc's procedures.
func New(rpc *connect.Server, o Options) *Server {
	if o.MaxRecvMsgSize <= 0 {
		o.MaxRecvMsgSize = 4 << 20
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 250
	}
	s := &Server{rpc: rpc, o: o, unary: map[string]bool{}, lns: map[net.Listener]bool{}, conns: map[*conn]bool{}, work: make(chan func())}
	for spec := range rpc.Specs() {
		if spec.StreamType&connect.StreamTypeServer == 0 {
			s.unary[spec.Procedure] = true
		}
	}
	return s
}

// workerIdle is how long a goroutine waits for another call before it
// ends.
const workerIdle = 10 * time.Second

// spawn runs f on a waiting worker, or on a new one.
func (s *Server) spawn(f func()) {
	select {
	case s.work <- f:
	default:
		go s.worker(f)
	}
}

func (s *Server) worker(f func()) {
	f()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case f := <-s.work:
			f()
			idle.Reset(workerIdle)
		case <-idle.C:
			return
		}
	}
}

// ErrStopped is what Serve returns once the server is stopped.
var ErrStopped = errors.New("h2grpc: the server was stopped")

// Serve accepts connections on ln until the server stops or ln fails.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.stop {
		s.mu.Unlock()
		ln.Close()
		return ErrStopped
	}
	s.lns[ln] = true
	s.mu.Unlock()
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			stopped := s.stop
			delete(s.lns, ln)
			s.mu.Unlock()
			if stopped {
				return ErrStopped
			}
			return err
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.stop {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = true
		s.connWG.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.connWG.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// GracefulStop stops accepting connections and calls, tells every client
// (GOAWAY), and returns once the calls in flight have finished.
func (s *Server) GracefulStop() {
	for _, c := range s.shut() {
		c.drain()
	}
	s.connWG.Wait()
}

// Stop closes every connection at once; calls in flight see their
// context canceled.
func (s *Server) Stop() {
	for _, c := range s.shut() {
		c.nc.Close()
	}
	s.connWG.Wait()
}

func (s *Server) shut() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop = true
	for ln := range s.lns {
		ln.Close()
	}
	var cs []*conn
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// Our settings: the window a call may send before we grant more (we
// grant as data arrives), and the connection's.
const (
	streamWindow = 1 << 20
	connWindow   = 16 << 20
)

// conn is one client connection.
type conn struct {
	s      *Server
	nc     net.Conn
	br     *bufio.Reader
	ctx    context.Context
	cancel context.CancelFunc

	// writes: frames are written whole under wmu; a writer flushes when
	// it is done (an answer, a batch of control frames)
	wmu   sync.Mutex
	bw    *bufio.Writer
	fr    *http2.Framer
	hbuf  bytes.Buffer
	henc  *hpack.Encoder
	dirty bool // control frames written, not yet flushed

	// flow control of what we send
	flow *sendFlow

	// window used by the client and not yet granted back (read loop only)
	recvUnacked uint32

	// streams, under smu
	smu      sync.Mutex
	streams  map[uint32]*stream
	last     uint32 // highest stream id seen
	draining bool
	closed   bool
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, br: bufio.NewReaderSize(nc, 32<<10), bw: bufio.NewWriterSize(nc, 32<<10),
		flow: newSendFlow(), streams: map[uint32]*stream{}}
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.fr.SetMaxReadFrameSize(1 << 20)
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// serve reads the connection's frames until it ends.
func (c *conn) serve() {
	defer c.close()
	pre := make([]byte, len(http2.ClientPreface))
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c.br, pre); err != nil || string(pre) != http2.ClientPreface {
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	c.control(func() {
		c.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: uint32(c.s.o.MaxStreams)},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
			http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20})
		c.fr.WriteWindowUpdate(0, connWindow-65535)
	})
	c.flushControl()
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			var ce http2.ConnectionError
			var se http2.StreamError
			switch {
			case errors.As(err, &se):
				c.control(func() { c.fr.WriteRSTStream(se.StreamID, se.Code) })
				c.flushControl()
				continue
			case errors.As(err, &ce):
				c.goAway(http2.ErrCode(ce))
			case errors.Is(err, http2.ErrFrameTooLarge):
				c.goAway(http2.ErrCodeFrameSize)
			}
			return
		}
		if err := c.handle(f); err != nil {
			code := http2.ErrCodeProtocol
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				code = http2.ErrCode(ce)
			}
			c.goAway(code)
			return
		}
		if c.br.Buffered() == 0 {
			c.flushControl()
		}
	}
}

func (c *conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		err := f.ForeachSetting(func(st http2.Setting) error {
			if err := c.flow.setting(st); err != nil {
				return err
			}
			if st.ID == http2.SettingHeaderTableSize {
				c.wmu.Lock()
				c.henc.SetMaxDynamicTableSizeLimit(st.Val)
				c.wmu.Unlock()
			}
			return nil
		})
		c.control(func() { c.fr.WriteSettingsAck() })
		return err
	case *http2.MetaHeadersFrame:
		if f.HasPriority() && f.Priority.StreamDep == f.StreamID {
			c.streamError(f.StreamID, http2.ErrCodeProtocol)
			return nil
		}
		return c.onHeaders(f)
	case *http2.DataFrame:
		if c.idle(f.StreamID) {
			return errors.New("DATA on an idle stream")
		}
		c.onData(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			c.streamError(f.StreamID, http2.ErrCodeProtocol)
		}
	case *http2.PushPromiseFrame:
		return errors.New("a client may not push")
	case *http2.RSTStreamFrame:
		if c.idle(f.StreamID) {
			return errors.New("RST_STREAM on an idle stream")
		}
		if s := c.stream(f.StreamID); s != nil {
			s.abort(connect.NewError(connect.CodeCanceled, "the client canceled the call"))
			if !s.started {
				// a unary call reset before its request ended: nothing ran
				c.forget(s.id)
			}
		}
	case *http2.WindowUpdateFrame:
		if c.idle(f.StreamID) {
			return errors.New("WINDOW_UPDATE on an idle stream")
		}
		over, err := c.flow.update(f.StreamID, f.Increment)
		if over {
			c.streamError(f.StreamID, http2.ErrCodeFlowControl)
		}
		return err
	case *http2.PingFrame:
		if !f.IsAck() {
			c.control(func() { c.fr.WritePing(true, f.Data) })
		}
	case *http2.GoAwayFrame:
		// the client opens no more calls; those in flight finish
	}
	return nil
}

// idle tells whether a stream id is one the client has not opened yet.
func (c *conn) idle(id uint32) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	return id != 0 && id > c.last
}

// streamError resets a stream for breaking the protocol, ending its call
// if it runs.
func (c *conn) streamError(id uint32, code http2.ErrCode) {
	if s := c.stream(id); s != nil {
		s.abort(connect.NewError(connect.CodeInternal, "the client broke the protocol: "+code.String()))
		if !s.started {
			c.forget(id)
		}
	}
	c.control(func() { c.fr.WriteRSTStream(id, code) })
}

// forget ends a stream's bookkeeping.
func (c *conn) forget(id uint32) {
	c.smu.Lock()
	delete(c.streams, id)
	c.smu.Unlock()
	c.flow.close(id)
}

func (c *conn) stream(id uint32) *stream {
	c.smu.Lock()
	defer c.smu.Unlock()
	return c.streams[id]
}

// control writes control frames without flushing; the read loop flushes
// them once it has read everything buffered, or an answer's flush does.
func (c *conn) control(write func()) {
	c.wmu.Lock()
	write()
	c.dirty = true
	c.wmu.Unlock()
}

func (c *conn) flushControl() {
	c.wmu.Lock()
	if c.dirty {
		c.dirty = false
		c.bw.Flush()
	}
	c.wmu.Unlock()
}

func (c *conn) goAway(code http2.ErrCode) {
	c.smu.Lock()
	last := c.last
	c.smu.Unlock()
	c.control(func() { c.fr.WriteGoAway(last, code, nil) })
	c.flushControl()
}

// drain sends GOAWAY and closes the connection once its calls are done.
func (c *conn) drain() {
	c.smu.Lock()
	c.draining = true
	idle := len(c.streams) == 0
	c.smu.Unlock()
	c.goAway(http2.ErrCodeNo)
	if idle {
		c.nc.Close()
	}
}

func (c *conn) close() {
	c.smu.Lock()
	c.closed = true
	streams := c.streams
	c.streams = map[uint32]*stream{}
	c.smu.Unlock()
	c.cancel()
	for _, s := range streams {
		s.abort(connect.NewError(connect.CodeUnavailable, "the connection closed"))
	}
	c.flow.wake()
	c.nc.Close()
}

// onHeaders starts a call.
func (c *conn) onHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if s := c.stream(id); s != nil {
		// trailers of a client stream: the request side ends
		switch {
		case s.remoteEnded:
			c.streamError(id, http2.ErrCodeStreamClosed)
		case !f.StreamEnded():
			c.streamError(id, http2.ErrCodeProtocol) // trailers end the request
		default:
			s.remoteEnded = true
			s.push(nil, true)
			c.start(s)
		}
		return nil
	}
	if id%2 == 1 && !c.idle(id) {
		// a stream that has ended
		return http2.ConnectionError(http2.ErrCodeStreamClosed)
	}
	c.smu.Lock()
	if id%2 == 0 || id <= c.last {
		c.smu.Unlock()
		return fmt.Errorf("stream %d out of order", id)
	}
	c.last = id
	refuse := c.draining || c.closed || len(c.streams) >= c.s.o.MaxStreams
	c.smu.Unlock()
	if refuse {
		c.control(func() { c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
		return nil
	}
	if f.Truncated {
		c.control(func() { c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
		return nil
	}
	if bad := malformed(f); bad {
		c.streamError(id, http2.ErrCodeProtocol)
		return nil
	}
	method, path := f.PseudoValue("method"), f.PseudoValue("path")
	info := &connect.CallInfo{Protocol: connect.ProtocolNameGRPC, Codec: "proto", RequestEncoding: "identity", ResponseEncoding: "identity",
		PeerAddr: c.nc.RemoteAddr().String()}
	var ct, timeout, encoding string
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "content-type":
			ct = hf.Value
		case "grpc-timeout":
			timeout = hf.Value
		case "grpc-encoding":
			encoding = hf.Value
		case "te", "connection", "grpc-accept-encoding":
		default:
			info.RequestHeader().Add(hf.Name, hf.Value)
		}
	}
	s := &stream{c: c, id: id, procedure: path, info: info, unary: c.s.unary[path], notify: make(chan struct{}, 1), length: -1}
	for _, hf := range f.RegularFields() {
		if hf.Name == "content-length" {
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 {
				c.streamError(id, http2.ErrCodeProtocol)
				return nil
			}
			s.length = n
		}
	}
	base, cancel := context.WithCancel(c.ctx)
	if d, ok := parseTimeout(timeout); ok {
		base, cancel = context.WithTimeout(c.ctx, d)
	}
	s.ctx, s.cancel = base, cancel
	c.flow.open(id)
	c.smu.Lock()
	c.streams[id] = s
	c.smu.Unlock()
	if f.StreamEnded() {
		s.remoteEnded = true
		if s.length > 0 {
			c.streamError(id, http2.ErrCodeProtocol)
			return nil
		}
		s.push(nil, true)
	}
	var early error
	switch ct, _, _ = strings.Cut(ct, ";"); {
	case method != "POST":
		early = connect.NewError(connect.CodeUnimplemented, "gRPC calls are POSTs; this was "+method)
	case ct != "application/grpc" && ct != "application/grpc+proto":
		early = connect.NewError(connect.CodeUnimplemented, "content-type "+ct+" is not gRPC with protobuf; send application/grpc")
	case encoding != "" && encoding != "identity":
		early = connect.NewError(connect.CodeUnimplemented, "compressed messages ("+encoding+") are not accepted here; send them uncompressed")
	}
	s.early = early
	if !s.unary || f.StreamEnded() || early != nil {
		c.start(s)
	}
	return nil
}

// start runs a call on a worker, once: a streaming call as its headers
// arrive, a unary one once its request has ended (or failed), so that it
// runs straight through, without waiting for the read loop again.
func (c *conn) start(s *stream) {
	if s.started {
		return
	}
	s.started = true
	c.s.spawn(func() { s.run(s.early) })
}

// onData feeds a call's request messages, granting the window back as
// the data arrives (a call buffers at most one message's worth), in
// updates of half a window or more: a short call's request costs no
// update, and no packet of its own.
func (c *conn) onData(f *http2.DataFrame) {
	n := f.Header().Length
	if c.recvUnacked += n; c.recvUnacked >= connWindow/2 {
		inc := c.recvUnacked
		c.recvUnacked = 0
		c.control(func() { c.fr.WriteWindowUpdate(0, inc) })
	}
	s := c.stream(f.StreamID)
	if s == nil {
		// a stream that has ended (or was never opened: idle ones are
		// refused before)
		c.control(func() { c.fr.WriteRSTStream(f.StreamID, http2.ErrCodeStreamClosed) })
		return
	}
	if s.remoteEnded {
		c.streamError(s.id, http2.ErrCodeStreamClosed)
		return
	}
	s.received += int64(len(f.Data()))
	if f.StreamEnded() {
		s.remoteEnded = true
		if s.length >= 0 && s.received != s.length {
			c.streamError(s.id, http2.ErrCodeProtocol)
			return
		}
	}
	if err := s.push(f.Data(), f.StreamEnded()); err != nil {
		// the call's next receive fails with err, and it ends with it;
		// no more window for it
		c.start(s)
		return
	}
	if f.StreamEnded() {
		c.start(s)
	}
	if s.recvUnacked += n; s.recvUnacked >= streamWindow/2 && !f.StreamEnded() {
		inc := s.recvUnacked
		s.recvUnacked = 0
		c.control(func() { c.fr.WriteWindowUpdate(s.id, inc) })
	}
}

// parseTimeout reads a grpc-timeout value: digits and a unit.
func parseTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second, 'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}[v[len(v)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// stream is one call.
type stream struct {
	c         *conn
	id        uint32
	procedure string
	info      *connect.CallInfo
	unary     bool
	ctx       context.Context
	cancel    context.CancelFunc

	// request side, under mu
	mu     sync.Mutex
	in     messages // the request's messages
	eof    bool
	err    error
	notify chan struct{}

	// answer side, used by the call's goroutine only
	headersSent bool

	recvUnacked uint32 // window used and not yet granted back (read loop only)
	started     bool   // the call runs (read loop only)
	remoteEnded bool   // the client ended the request (read loop only)
	length      int64  // the request's content-length, -1 if none
	received    int64  // request bytes received (read loop only)
	early       error  // the call fails at once with this (bad content type...)
}

// push adds request bytes; end marks the request side's end.
func (s *stream) push(data []byte, end bool) error {
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}()
	if s.err != nil {
		return nil
	}
	switch err := s.in.add(data, s.c.s.o.MaxRecvMsgSize); {
	case errors.Is(err, errCompressed):
		s.err = connect.NewError(connect.CodeUnimplemented, "compressed messages are not accepted here; send them uncompressed")
		return s.err
	case err != nil:
		s.err = connect.NewError(connect.CodeResourceExhausted, err.Error())
		return s.err
	}
	if end {
		s.eof = true
		if len(s.in.buf) > 0 {
			s.err = connect.NewError(connect.CodeInvalidArgument, "the request ended inside a message")
			return s.err
		}
	}
	return nil
}

// abort ends a call from outside: its context is canceled, a receive
// fails with err.
func (s *stream) abort(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.cancel()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	s.c.flow.wake()
}

func (s *stream) Receive(msg any) error {
	for {
		s.mu.Lock()
		switch {
		case len(s.in.msgs) > 0:
			m, _ := s.in.next()
			s.mu.Unlock()
			pm, ok := msg.(proto.Message)
			if !ok {
				return connect.NewError(connect.CodeInternal, fmt.Sprintf("%T is not a protobuf message", msg))
			}
			if err := proto.Unmarshal(m, pm); err != nil {
				return connect.NewError(connect.CodeInvalidArgument, "the request message is not valid protobuf: "+err.Error())
			}
			return nil
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return err
		case s.eof:
			s.mu.Unlock()
			return io.EOF
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-s.ctx.Done():
			return ctxError(s.ctx.Err())
		}
	}
}

func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, "the call's deadline passed")
	}
	return connect.NewError(connect.CodeCanceled, "the call was canceled")
}

func (s *stream) SendHeaders() error {
	if s.headersSent {
		return nil
	}
	c := s.c
	c.wmu.Lock()
	s.writeHeaders()
	err := c.bw.Flush()
	c.wmu.Unlock()
	return err
}

// writeHeaders writes the answer's headers; wmu is held.
func (s *stream) writeHeaders() {
	s.headersSent = true
	c := s.c
	c.hbuf.Reset()
	c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
	c.henc.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
	writeFields(c.henc, s.info.ResponseHeader())
	c.writeBlock(s.id, false)
}

// writeBlock writes c.hbuf as a header block, in CONTINUATION frames past
// the client's frame size; wmu is held.
func (c *conn) writeBlock(id uint32, end bool) {
	writeBlock(c.fr, id, c.hbuf.Bytes(), c.flow.frameSize(), end)
}

// writeFields encodes a header's fields, leaving out those the protocol
// reserves.
func writeFields(enc *hpack.Encoder, h *connect.Header) {
	for k, vs := range h.All() {
		k = strings.ToLower(k)
		if k == "content-type" || k == "te" || strings.HasPrefix(k, "grpc-") || strings.HasPrefix(k, ":") {
			continue
		}
		for _, v := range vs {
			enc.WriteField(hpack.HeaderField{Name: k, Value: v})
		}
	}
}

func (s *stream) Send(msg any) error {
	b, err := frame(msg)
	if err != nil {
		return err
	}
	c := s.c
	if !s.headersSent {
		c.wmu.Lock()
		s.writeHeaders()
		c.wmu.Unlock()
	}
	for len(b) > 0 {
		if err := s.ctx.Err(); err != nil {
			return ctxError(err)
		}
		n := c.flow.take(s.id, len(b))
		if n == 0 {
			c.flow.wait(s.id, func() bool { return s.ctx.Err() != nil })
			continue
		}
		c.wmu.Lock()
		err := c.fr.WriteData(s.id, false, b[:n])
		c.wmu.Unlock()
		if err != nil {
			return connect.NewError(connect.CodeUnavailable, "the connection failed: "+err.Error())
		}
		b = b[n:]
	}
	if s.unary {
		return nil // flushed with the trailers
	}
	c.wmu.Lock()
	err = c.bw.Flush()
	c.wmu.Unlock()
	if err != nil {
		return connect.NewError(connect.CodeUnavailable, "the connection failed: "+err.Error())
	}
	return nil
}

// run runs the call and writes its end.
func (s *stream) run(early error) {
	c := s.c
	// a context's end wakes a Send waiting for window
	stopWake := context.AfterFunc(s.ctx, c.flow.wake)
	err := early
	if err == nil {
		ctx := s.ctx
		var end func(error)
		if c.s.o.Observe != nil {
			ctx, end = c.s.o.Observe(ctx, s.procedure)
		}
		err = c.s.rpc.Call(ctx, s.procedure, s.info, s)
		if end != nil {
			end(err)
		}
	}
	stopWake()
	code, msg := status(err)
	c.wmu.Lock()
	c.hbuf.Reset()
	if !s.headersSent {
		// trailers only
		s.headersSent = true
		c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
		c.henc.WriteField(hpack.HeaderField{Name: "content-type", Value: "application/grpc"})
		writeFields(c.henc, s.info.ResponseHeader())
	}
	c.henc.WriteField(hpack.HeaderField{Name: "grpc-status", Value: strconv.Itoa(int(code))})
	if msg != "" {
		c.henc.WriteField(hpack.HeaderField{Name: "grpc-message", Value: encodeMessage(msg)})
	}
	writeFields(c.henc, s.info.ResponseTrailer())
	c.writeBlock(s.id, true)
	s.mu.Lock()
	open := !s.eof
	s.mu.Unlock()
	if open {
		// the client is still sending: it need not
		c.fr.WriteRSTStream(s.id, http2.ErrCodeNo)
	}
	// the call stops counting against the client's limit before the
	// client can know it ended
	c.smu.Lock()
	delete(c.streams, s.id)
	done := c.draining && len(c.streams) == 0
	c.smu.Unlock()
	c.flow.close(s.id)
	c.dirty = false
	c.bw.Flush()
	c.wmu.Unlock()
	s.cancel()
	if done {
		c.nc.Close()
	}
}

// status is the gRPC status of a call's error, as connect's own gRPC
// transport writes it.
func status(err error) (connect.Code, string) {
	if err == nil {
		return 0, ""
	}
	var ce *connect.Error
	switch {
	case errors.As(err, &ce):
		return ce.Code(), ce.Message()
	case errors.Is(err, context.DeadlineExceeded):
		return connect.CodeDeadlineExceeded, err.Error()
	case errors.Is(err, context.Canceled):
		return connect.CodeCanceled, err.Error()
	case errors.Is(err, io.EOF):
		return connect.CodeInvalidArgument, "the call carried no request message; send exactly one"
	}
	return connect.CodeUnknown, err.Error()
}

// encodeMessage percent-encodes a grpc-message value (gRPC's rule: bytes
// outside printable ASCII, and '%').
func encodeMessage(m string) string {
	clean := true
	for i := 0; i < len(m); i++ {
		if m[i] < 0x20 || m[i] > 0x7e || m[i] == '%' {
			clean = false
			break
		}
	}
	if clean {
		return m
	}
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 0x20 || c > 0x7e || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// malformed tells whether a request's header block breaks HTTP/2's rules
// for requests (RFC 9113 8.2-8.3): pseudo-headers a request has (and no
// others), no connection-specific fields, TE only "trailers".
func malformed(f *http2.MetaHeadersFrame) bool {
	seen := map[string]bool{}
	for _, hf := range f.PseudoFields() {
		switch hf.Name {
		case ":method", ":scheme", ":path", ":authority":
			seen[hf.Name] = true
		default:
			return true
		}
	}
	if !seen[":method"] || !seen[":scheme"] || f.PseudoValue("path") == "" {
		return true
	}
	for _, hf := range f.RegularFields() {
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return true
		case "te":
			if hf.Value != "trailers" {
				return true
			}
		}
	}
	return false
}
