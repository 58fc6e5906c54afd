package h2grpc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Dial opens a connection (default: a net.Dialer with a 10 s timeout).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxRecvMsgSize bounds one answer message (default 64 MiB).
	MaxRecvMsgSize int
	// UserAgent is sent with every call (default "rolecall-go").
	UserAgent string
}

// Client is a connect client transport speaking gRPC with protobuf to one
// server over HTTP/2 without TLS, on one connection made for short calls:
// a caller writes its own request, and a caller waiting for its answer
// reads the connection for every call on it, handing the reading on when
// its answer is in. With one call at a time no goroutine hands anything to
// another; a reading goroutine of its own would cost a wake-up a call.
//
// Calls the server refused without running them (a stream above a GOAWAY's
// last one, REFUSED_STREAM) are sent again, on a new connection if the
// server is going away, up to five times.
// Close the Client when done with it.
type Client struct {
	addr string // host:port, also the calls' :authority
	o    ClientOptions

	mu     sync.Mutex
	cc     *clientConn
	closed bool
}

// NewClient returns a Client of the server at addr: "host:port" or
// "http://host:port".
func NewClient(addr string, o ClientOptions) (*Client, error) {
	host := addr
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("address %q: give http://host:port (this transport speaks HTTP/2 without TLS)", addr)
		}
		host = u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		return nil, fmt.Errorf("address %q: %v", addr, err)
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second}
		o.Dial = d.DialContext
	}
	if o.MaxRecvMsgSize <= 0 {
		o.MaxRecvMsgSize = 64 << 20
	}
	if o.UserAgent == "" {
		o.UserAgent = "rolecall-go"
	}
	return &Client{addr: host, o: o}, nil
}

// Close closes the connection; calls in flight fail as unavailable.
func (t *Client) Close() error {
	t.mu.Lock()
	cc := t.cc
	t.cc, t.closed = nil, true
	t.mu.Unlock()
	if cc != nil {
		cc.fail(errClientClosed)
	}
	return nil
}

var errClientClosed = connect.NewError(connect.CodeUnavailable, "the client was closed")

// conn returns the connection for new calls, dialing one when there is
// none or the last one ended or was told to go away.
func (t *Client) conn(ctx context.Context) (*clientConn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errClientClosed
	}
	if t.cc != nil && t.cc.usable() {
		return t.cc, nil
	}
	nc, err := t.o.Dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, connect.Errorf(connect.CodeUnavailable, "connecting to %s: %v", t.addr, err)
	}
	cc, err := newClientConn(t, nc)
	if err != nil {
		nc.Close()
		return nil, connect.Errorf(connect.CodeUnavailable, "opening HTTP/2 with %s: %v", t.addr, err)
	}
	t.cc = cc
	return cc, nil
}

// Windows we grant the server: per call, and for the connection.
const (
	clientStreamWindow = 4 << 20
	clientConnWindow   = 16 << 20
	// readFrameMax is the largest frame we accept (the protocol's
	// default; we do not raise it): a frame is read whole from the buffer
	// once it is there, so the buffer holds one.
	readFrameMax = 16384
)

// clientConn is one HTTP/2 connection.
type clientConn struct {
	t  *Client
	nc net.Conn

	// reading: whoever holds the token reads (see Client)
	token       chan struct{}
	br          *bufio.Reader
	fr          *http2.Framer
	hdec        *hpack.Decoder
	block       []byte // a header block arriving in CONTINUATION frames
	blockID     uint32
	blockEnd    bool // its HEADERS frame ended the stream
	recvUnacked uint32

	// writing: frames whole under wmu; the last of a run of writers
	// flushes
	wmu     sync.Mutex
	writers atomic.Int32
	dirty   bool
	bw      *bufio.Writer
	hbuf    bytes.Buffer
	henc    *hpack.Encoder

	// flow control of what we send
	flow *sendFlow

	// calls, under smu
	smu        sync.Mutex
	streams    map[uint32]*cstream
	maxStreams int // the server's SETTINGS_MAX_CONCURRENT_STREAMS
	nextID     uint32
	goAway     bool
	lastID     uint32 // of the GOAWAY
	err        error  // why the connection ended
	slot       chan struct{}

	// an idle connection is read in the background (idleRead), so that a
	// GOAWAY, a ping or the connection's end is seen between calls
	idleTimer   *time.Timer
	idleReading atomic.Bool
}

// idleAfter is how long a connection without calls waits before it is
// read in the background.
const idleAfter = 200 * time.Millisecond

func newClientConn(t *Client, nc net.Conn) (*clientConn, error) {
	cc := &clientConn{t: t, nc: nc, token: make(chan struct{}, 1), br: bufio.NewReaderSize(nc, 32<<10), bw: bufio.NewWriterSize(nc, 32<<10),
		flow: newSendFlow(), maxStreams: 1000, streams: map[uint32]*cstream{}, nextID: 1,
		slot: make(chan struct{})}
	cc.token <- struct{}{}
	cc.idleTimer = time.AfterFunc(idleAfter, cc.idleRead)
	cc.fr = http2.NewFramer(cc.bw, cc.br)
	cc.fr.SetMaxReadFrameSize(readFrameMax)
	cc.hdec = hpack.NewDecoder(4096, nil)
	cc.hdec.SetMaxStringLength(1 << 20)
	cc.henc = hpack.NewEncoder(&cc.hbuf)
	cc.bw.WriteString(http2.ClientPreface)
	cc.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: clientStreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: 1 << 20})
	cc.fr.WriteWindowUpdate(0, clientConnWindow-65535)
	if err := cc.bw.Flush(); err != nil {
		return nil, err
	}
	return cc, nil
}

func (cc *clientConn) usable() bool {
	cc.smu.Lock()
	defer cc.smu.Unlock()
	return cc.err == nil && !cc.goAway && cc.nextID < 1<<31-1
}

// write runs fn under the write lock; with flush, the frames go out now,
// or with the next writer's if another is waiting for the lock already
// (many calls at once share a write).
func (cc *clientConn) write(flush bool, fn func() error) error {
	cc.writers.Add(1)
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	last := cc.writers.Add(-1) == 0
	err := fn()
	if err == nil && (flush || cc.dirty) {
		if last {
			cc.dirty = false
			err = cc.bw.Flush()
		} else {
			cc.dirty = true
		}
	}
	if err != nil {
		go cc.fail(fmt.Errorf("writing to the server: %v", err))
	}
	return err
}

// fail ends the connection: every call on it fails with err (a call the
// server never saw is sent again elsewhere).
func (cc *clientConn) fail(err error) {
	cc.smu.Lock()
	if cc.err != nil {
		cc.smu.Unlock()
		return
	}
	if _, ok := err.(*connect.Error); !ok {
		err = connect.NewError(connect.CodeUnavailable, err.Error()).WithCause(err)
	}
	cc.err = err
	streams := cc.streams
	cc.streams = map[uint32]*cstream{}
	close(cc.slot)
	cc.smu.Unlock()
	cc.idleTimer.Stop()
	cc.nc.Close()
	for _, s := range streams {
		s.update(func() {
			if s.err == nil && !s.ended {
				s.err = err
			}
		})
	}
}

// waitSlot waits until the server's limit of concurrent calls lets one
// more in (reading the connection if no one is); the limit is kept
// loosely: a call over it is refused by the server and sent again.
func (cc *clientConn) waitSlot(s *cstream) error {
	for {
		cc.smu.Lock()
		if cc.err != nil {
			err := cc.err
			cc.smu.Unlock()
			return err
		}
		if len(cc.streams) < cc.maxStreams {
			cc.smu.Unlock()
			return nil
		}
		slot := cc.slot
		cc.smu.Unlock()
		select {
		case <-slot:
		case <-cc.token:
			cc.readFor(s.ctx, func() bool {
				select {
				case <-slot:
					return true
				default:
					return false
				}
			})
		case <-s.ctx.Done():
			return ctxErr(s.ctx)
		}
	}
}

// register gives a call the next stream id (wmu held: ids go out in
// order); errRetry when the connection takes no more calls.
func (cc *clientConn) register(s *cstream) error {
	cc.smu.Lock()
	defer cc.smu.Unlock()
	switch {
	case cc.err != nil:
		return cc.err
	case cc.goAway || cc.nextID >= 1<<31-1:
		return errRetry
	case len(cc.streams) >= cc.maxStreams:
		return errFull
	}
	s.id = cc.nextID
	cc.nextID += 2
	cc.streams[s.id] = s
	cc.flow.open(s.id)
	return nil
}

// done forgets a call.
func (cc *clientConn) done(s *cstream) {
	cc.smu.Lock()
	if cc.streams[s.id] == s {
		delete(cc.streams, s.id)
		cc.flow.close(s.id)
		close(cc.slot)
		cc.slot = make(chan struct{})
	}
	idle := cc.goAway && len(cc.streams) == 0 && cc.err == nil
	if len(cc.streams) == 0 && cc.err == nil {
		cc.idleTimer.Reset(idleAfter)
	}
	cc.smu.Unlock()
	if idle {
		cc.fail(connect.NewError(connect.CodeUnavailable, "the server closed the connection (GOAWAY)"))
	}
}

// idleRead reads a connection that has no calls, until it fails or a
// call wants to read it (kick).
func (cc *clientConn) idleRead() {
	select {
	case <-cc.token:
	default:
		return // a call reads it
	}
	cc.idleReading.Store(true)
	defer cc.idleReading.Store(false)
	cc.readFor(context.Background(), func() bool {
		cc.smu.Lock()
		defer cc.smu.Unlock()
		return len(cc.streams) > 0 || cc.err != nil
	})
}

// kick interrupts the background read of an idle connection: a call
// wants to read it.
func (cc *clientConn) kick() {
	if cc.idleReading.Load() {
		cc.nc.SetReadDeadline(aLongTimeAgo)
	}
}

// errRetry marks a call the server did not run: it is sent again (on a
// new connection if the server is going away).
var errRetry = errors.New("h2grpc: refused; send again")

// errFull: the connection has as many calls as the server takes.
var errFull = errors.New("h2grpc: at the server's limit of calls")

// maxRetries bounds how often one call refused by the server is sent
// again.
const maxRetries = 5

// aLongTimeAgo is a read deadline that interrupts a read at once.
var aLongTimeAgo = time.Unix(1, 0)

// readFor reads the connection's frames for every call until done()
// holds, ctx ends or the connection fails, then passes the reading on.
// The caller holds the token.
func (cc *clientConn) readFor(ctx context.Context, done func() bool) error {
	interrupted := false
	stop := context.AfterFunc(ctx, func() { cc.nc.SetReadDeadline(aLongTimeAgo) })
	defer func() {
		if !stop() || interrupted {
			cc.nc.SetReadDeadline(time.Time{})
		}
		cc.token <- struct{}{}
	}()
	for !done() {
		if ctx.Err() != nil {
			return nil // the caller sees its context's end
		}
		f, err := cc.readFrame()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// our context ended, or an earlier reader's (too late to
			// matter): nothing was taken from the buffer
			interrupted = true
			cc.nc.SetReadDeadline(time.Time{})
			continue
		}
		if err == nil {
			err = cc.handle(f)
		}
		if err != nil {
			cc.fail(err)
			return nil // the callers see the connection's end
		}
	}
	return nil
}

// readFrame reads one frame once the whole of it is in the buffer, so that
// an interrupted read takes nothing from it.
func (cc *clientConn) readFrame() (http2.Frame, error) {
	hdr, err := cc.br.Peek(9)
	if err != nil {
		return nil, err
	}
	if n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2]); n <= readFrameMax {
		if _, err := cc.br.Peek(9 + n); err != nil {
			return nil, err
		}
	}
	f, err := cc.fr.ReadFrame()
	if err != nil {
		var se http2.StreamError
		if errors.As(err, &se) {
			// a bad frame of one call: reset it, fail it
			cc.reset(se.StreamID, se.Code)
			if s := cc.stream(se.StreamID); s != nil {
				s.update(func() { s.err = connect.Errorf(connect.CodeInternal, "the server broke the protocol: %v", se) })
			}
			return cc.readFrame()
		}
		return nil, fmt.Errorf("reading from the server: %v", err)
	}
	return f, nil
}

func (cc *clientConn) stream(id uint32) *cstream {
	cc.smu.Lock()
	defer cc.smu.Unlock()
	return cc.streams[id]
}

func (cc *clientConn) reset(id uint32, code http2.ErrCode) {
	cc.write(true, func() error { return cc.fr.WriteRSTStream(id, code) })
}

// handle acts on one frame (the token holder only).
func (cc *clientConn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		n := f.Header().Length
		if cc.recvUnacked += n; cc.recvUnacked >= clientConnWindow/2 {
			inc := cc.recvUnacked
			cc.recvUnacked = 0
			cc.write(true, func() error { return cc.fr.WriteWindowUpdate(0, inc) })
		}
		if s := cc.stream(f.StreamID); s != nil {
			s.data(f.Data(), f.StreamEnded())
			s.grant()
		}
	case *http2.HeadersFrame:
		cc.block = append(cc.block[:0], f.HeaderBlockFragment()...)
		cc.blockID, cc.blockEnd = f.StreamID, f.StreamEnded()
		if f.HeadersEnded() {
			return cc.headers()
		}
	case *http2.ContinuationFrame:
		if f.StreamID != cc.blockID {
			return fmt.Errorf("the server sent a CONTINUATION of stream %d inside a header block of stream %d", f.StreamID, cc.blockID)
		}
		if cc.block = append(cc.block, f.HeaderBlockFragment()...); len(cc.block) > 1<<20 {
			return errors.New("the server sent a header block of more than 1 MiB")
		}
		if f.HeadersEnded() {
			return cc.headers()
		}
	case *http2.RSTStreamFrame:
		if s := cc.stream(f.StreamID); s != nil {
			s.update(func() {
				if s.ended || s.err != nil {
					return // an answer in full, then "stop sending"; or a second reset
				}
				switch f.ErrCode {
				case http2.ErrCodeRefusedStream:
					s.err = errRetry
				case http2.ErrCodeCancel:
					s.err = connect.NewError(connect.CodeCanceled, "the server canceled the call")
					if d, ok := s.ctx.Deadline(); ok && !d.After(time.Now()) {
						// the server's copy of our deadline passed (as grpc-go reads it)
						s.err = connect.NewError(connect.CodeDeadlineExceeded, "the call's deadline passed").WithCause(context.DeadlineExceeded)
					}
				case http2.ErrCodeEnhanceYourCalm:
					s.err = connect.NewError(connect.CodeResourceExhausted, "the server asks to calm down (ENHANCE_YOUR_CALM)")
				default:
					s.err = connect.Errorf(connect.CodeInternal, "the server reset the call: %v", f.ErrCode)
				}
			})
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		if err := f.ForeachSetting(cc.setting); err != nil {
			return err
		}
		cc.write(true, func() error { return cc.fr.WriteSettingsAck() })
	case *http2.WindowUpdateFrame:
		over, err := cc.flow.update(f.StreamID, f.Increment)
		if s := cc.stream(f.StreamID); over && s != nil {
			cc.reset(s.id, http2.ErrCodeFlowControl)
			s.update(func() {
				s.err = connect.NewError(connect.CodeInternal, "the server broke the protocol: its window grew past 2^31-1")
			})
		}
		cc.wakeSenders()
		return err
	case *http2.PingFrame:
		if !f.IsAck() {
			cc.write(true, func() error { return cc.fr.WritePing(true, f.Data) })
		}
	case *http2.GoAwayFrame:
		cc.smu.Lock()
		cc.goAway, cc.lastID = true, f.LastStreamID
		var refused []*cstream
		for id, s := range cc.streams {
			if id > f.LastStreamID {
				refused = append(refused, s)
			}
		}
		idle := len(cc.streams) == len(refused)
		cc.smu.Unlock()
		for _, s := range refused {
			s.update(func() { s.err = errRetry })
		}
		if idle {
			return connect.NewError(connect.CodeUnavailable, "the server closed the connection (GOAWAY)")
		}
	case *http2.PushPromiseFrame:
		return errors.New("the server pushed a stream, which this client disabled")
	}
	return nil
}

// setting applies one of the server's settings.
func (cc *clientConn) setting(st http2.Setting) error {
	if err := cc.flow.setting(st); err != nil {
		return err
	}
	switch st.ID {
	case http2.SettingInitialWindowSize:
		cc.wakeSenders()
	case http2.SettingMaxConcurrentStreams:
		cc.smu.Lock()
		cc.maxStreams = int(min(st.Val, 1<<20))
		cc.smu.Unlock()
	case http2.SettingHeaderTableSize:
		cc.wmu.Lock()
		cc.henc.SetMaxDynamicTableSizeLimit(st.Val)
		cc.wmu.Unlock()
	}
	return nil
}

// wakeSenders wakes the calls waiting for send window.
func (cc *clientConn) wakeSenders() {
	cc.smu.Lock()
	defer cc.smu.Unlock()
	for _, s := range cc.streams {
		s.poke()
	}
}

// headers decodes a whole header block and gives it to its call.
func (cc *clientConn) headers() error {
	fields, err := cc.hdec.DecodeFull(cc.block)
	if err != nil {
		return fmt.Errorf("the server's headers do not decode (HPACK): %v", err)
	}
	s := cc.stream(cc.blockID)
	if s == nil {
		return nil
	}
	end := cc.blockEnd
	s.update(func() { s.headers(fields, end) })
	return nil
}

// cstream is one call.
type cstream struct {
	t    *Client
	ctx  context.Context
	spec connect.Spec
	info *connect.CallInfo

	cc       *clientConn
	id       uint32
	opened   bool
	openErr  error
	req      []byte // the one request message of a call without a client stream, kept to send again
	sentEnd  bool
	retries  int
	finished bool
	released bool

	// the answer, filled by the reader, under mu
	mu         sync.Mutex
	notify     chan struct{}
	gotHeaders bool
	in         messages
	ended      bool
	status     error  // the call's end (nil: OK)
	err        error  // the call failed: reset, connection's end, bad answer
	unacked    uint32 // answer bytes received and not granted back
}

// NewClientStream opens a call lazily: the call starts at its first send
// or receive, once the caller has set its request headers.
func (t *Client) NewClientStream(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
	info, ok := connect.CallInfoForClientContext(ctx)
	if !ok {
		ctx, info = connect.NewClientContext(ctx)
	}
	return &cstream{t: t, ctx: ctx, spec: spec, info: info, notify: make(chan struct{}, 1)}, nil
}

// update changes the answer's state under its lock and wakes the caller.
func (s *cstream) update(fn func()) {
	s.mu.Lock()
	fn()
	s.mu.Unlock()
	s.poke()
}

func (s *cstream) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// data adds answer bytes (the reader).
func (s *cstream) data(b []byte, end bool) {
	s.update(func() {
		if s.err != nil || s.ended {
			return
		}
		if !s.gotHeaders {
			s.err = connect.NewError(connect.CodeInternal, "the server sent data before headers")
			return
		}
		s.unacked += uint32(len(b))
		switch err := s.in.add(b, s.t.o.MaxRecvMsgSize); {
		case errors.Is(err, errCompressed):
			s.err = connect.NewError(connect.CodeInternal, "the server sent a compressed message, which this client did not ask for")
			return
		case err != nil:
			s.err = connect.NewError(connect.CodeResourceExhausted, "the answer is too large: "+err.Error())
			return
		}
		if end {
			s.ended = true
			s.status = connect.NewError(connect.CodeInternal, "the server ended the call without a status")
		}
	})
}

// headers takes a header block (the reader, under mu): the answer's
// headers, or its trailers, or both at once.
func (s *cstream) headers(fields []hpack.HeaderField, end bool) {
	if s.err != nil || s.ended {
		return
	}
	trailers := s.gotHeaders
	if !s.gotHeaders {
		s.gotHeaders = true
		status, ct := "", ""
		for _, f := range fields {
			switch f.Name {
			case ":status":
				status = f.Value
			case "content-type":
				ct = f.Value
			}
		}
		if status != "200" {
			s.err = httpStatusError(status)
			return
		}
		if ct, _, _ = strings.Cut(ct, ";"); ct != "application/grpc" && ct != "application/grpc+proto" {
			s.err = connect.Errorf(connect.CodeUnknown, "the server answered with content-type %q, not gRPC", ct)
			return
		}
		trailers = end // trailers only
	}
	var code, msg string
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f.Name, ":"), f.Name == "content-type":
		case f.Name == "grpc-status":
			code = f.Value
		case f.Name == "grpc-message":
			msg = decodeMessage(f.Value)
		case f.Name == "grpc-status-details-bin", f.Name == "grpc-encoding", f.Name == "grpc-accept-encoding":
		case trailers:
			s.info.ResponseTrailer().Add(f.Name, f.Value)
		default:
			s.info.ResponseHeader().Add(f.Name, f.Value)
		}
	}
	if !end {
		return
	}
	s.ended = true
	if !trailers {
		return
	}
	n, err := strconv.Atoi(code)
	switch {
	case err != nil || n < 0 || n > 16:
		s.status = connect.Errorf(connect.CodeInternal, "the server ended the call with grpc-status %q", code)
	case n != 0:
		s.status = connect.NewError(connect.Code(n), msg).WithRemote()
	default:
		s.status = nil
	}
}

// httpStatusError is gRPC's code for an answer that is not HTTP 200.
func httpStatusError(status string) error {
	code := connect.CodeUnknown
	switch status {
	case "400":
		code = connect.CodeInternal
	case "401":
		code = connect.CodeUnauthenticated
	case "403":
		code = connect.CodePermissionDenied
	case "404":
		code = connect.CodeUnimplemented
	case "429", "502", "503", "504":
		code = connect.CodeUnavailable
	}
	return connect.Errorf(code, "the server answered HTTP %s, not gRPC", status)
}

// decodeMessage undoes gRPC's percent-encoding of grpc-message.
func decodeMessage(m string) string {
	if !strings.Contains(m, "%") {
		return m
	}
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		if m[i] == '%' && i+2 < len(m) {
			if v, err := strconv.ParseUint(m[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(m[i])
	}
	return b.String()
}

func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, "the call's deadline passed").WithCause(ctx.Err())
	}
	return connect.NewError(connect.CodeCanceled, "the call was canceled").WithCause(ctx.Err())
}

func (s *cstream) clientStreams() bool { return s.spec.StreamType&connect.StreamTypeClient != 0 }

// start opens the call on a connection and writes its headers (not
// flushed: the request follows).
func (s *cstream) start() error {
	if s.opened {
		return s.openErr
	}
	s.opened = true
	s.openErr = s.startOn()
	return s.openErr
}

func (s *cstream) startOn() error {
	if err := s.ctx.Err(); err != nil {
		return ctxErr(s.ctx)
	}
	for tries := 0; tries < maxRetries; {
		cc, err := s.t.conn(s.ctx)
		if err != nil {
			return err
		}
		if err := cc.waitSlot(s); err != nil {
			return err
		}
		s.cc = cc
		var refused error
		err = cc.write(false, func() error {
			if refused = cc.register(s); refused != nil {
				return nil
			}
			return s.writeHeaders()
		})
		switch {
		case errors.Is(refused, errFull):
			continue // waitSlot waits for the next call to end
		case errors.Is(refused, errRetry):
			tries++
			continue
		case refused != nil:
			return refused
		case err != nil:
			return connect.NewError(connect.CodeUnavailable, err.Error())
		}
		return nil
	}
	return connect.NewError(connect.CodeUnavailable, "the server kept refusing the call")
}

// writeHeaders writes the request's header block (wmu held).
func (s *cstream) writeHeaders() error {
	cc := s.cc
	cc.hbuf.Reset()
	field := func(k, v string) { cc.henc.WriteField(hpack.HeaderField{Name: k, Value: v}) }
	field(":method", "POST")
	field(":scheme", "http")
	field(":path", s.spec.Procedure)
	field(":authority", s.t.addr)
	field("content-type", "application/grpc")
	field("te", "trailers")
	field("user-agent", s.t.o.UserAgent)
	if d, ok := s.ctx.Deadline(); ok {
		field("grpc-timeout", encodeTimeout(time.Until(d)))
	}
	for k, vs := range s.info.RequestHeader().All() {
		k = strings.ToLower(k)
		switch {
		case strings.HasPrefix(k, ":"), k == "content-type", k == "te", k == "user-agent", k == "connection",
			k == "grpc-timeout", k == "grpc-encoding", k == "grpc-accept-encoding":
			continue
		}
		for _, v := range vs {
			field(k, v)
		}
	}
	return writeBlock(cc.fr, s.id, cc.hbuf.Bytes(), cc.flow.frameSize(), false)
}

// encodeTimeout writes a grpc-timeout value: at most eight digits and a
// unit, rounded up.
func encodeTimeout(d time.Duration) string {
	if d <= 0 {
		return "1n"
	}
	for _, u := range []struct {
		d time.Duration
		c string
	}{{time.Nanosecond, "n"}, {time.Microsecond, "u"}, {time.Millisecond, "m"}, {time.Second, "S"}, {time.Minute, "M"}} {
		if n := (d + u.d - 1) / u.d; n < 1e8 {
			return strconv.FormatInt(int64(n), 10) + u.c
		}
	}
	return strconv.FormatInt(int64(min((d+time.Hour-1)/time.Hour, 99999999)), 10) + "H"
}

func (s *cstream) SendHeaders() error {
	if err := s.start(); err != nil {
		return err
	}
	return s.cc.write(true, func() error { return nil })
}

func (s *cstream) Send(msg any) error {
	if s.sentEnd {
		return connect.NewError(connect.CodeInternal, "a second request message on a call that takes one")
	}
	b, err := frame(msg)
	if err != nil {
		return err
	}
	if err := s.start(); err != nil {
		return err
	}
	end := !s.clientStreams()
	if end {
		s.req = b
	}
	return s.sendData(b, end)
}

// sendData writes request bytes within the server's windows, waiting for
// more window (and reading for it) when they run out; end ends the
// request side.
func (s *cstream) sendData(b []byte, end bool) error {
	cc := s.cc
	for {
		n := cc.flow.take(s.id, len(b))
		last := n == len(b)
		if n > 0 || last {
			part := b[:n]
			if err := cc.write(last, func() error { return cc.fr.WriteData(s.id, last && end, part) }); err != nil {
				return connect.NewError(connect.CodeUnavailable, err.Error())
			}
			b = b[n:]
		}
		if last {
			if end {
				s.sentEnd = true
			}
			return nil
		}
		err := s.await(func() bool { return cc.flow.ready(s.id) })
		if err != nil {
			return err
		}
		s.mu.Lock()
		failed := s.err != nil || s.ended
		s.mu.Unlock()
		if failed {
			return nil // the server ended the call: its status comes with the next receive
		}
	}
}

func (s *cstream) CloseSend() error {
	if err := s.start(); err != nil {
		return err
	}
	if s.sentEnd {
		return nil
	}
	s.sentEnd = true
	return s.cc.write(true, func() error { return s.cc.fr.WriteData(s.id, true, nil) })
}

// await waits until ready() holds or the call fails or ends, reading the
// connection when no one else is.
func (s *cstream) await(ready func() bool) error {
	cc := s.cc
	done := func() bool {
		s.mu.Lock()
		stop := s.err != nil || s.ended
		s.mu.Unlock()
		return stop || ready()
	}
	for {
		if done() {
			return nil
		}
		cc.kick()
		select {
		case <-s.notify:
		case <-cc.token:
			cc.readFor(s.ctx, done)
		case <-s.ctx.Done():
		}
		if s.ctx.Err() != nil {
			s.mu.Lock()
			if s.err == nil && !s.ended {
				s.err = ctxErr(s.ctx)
			}
			s.mu.Unlock()
			return nil
		}
	}
}

func (s *cstream) Receive(msg any) error {
	if err := s.start(); err != nil {
		return err
	}
	if s.finished {
		return io.EOF
	}
	unary := s.spec.StreamType&connect.StreamTypeServer == 0
	for {
		s.await(func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return !unary && len(s.in.msgs) > 0
		})
		s.mu.Lock()
		err := s.err
		s.mu.Unlock()
		if errors.Is(err, errRetry) && s.retry() {
			continue
		}
		break
	}
	s.mu.Lock()
	err, status := s.err, s.status
	var m []byte
	if err == nil || !unary {
		m, _ = s.in.next()
	}
	if unary && err == nil && len(s.in.msgs) > 0 {
		err = connect.NewError(connect.CodeInternal, "the server answered a unary call with more than one message")
	}
	s.mu.Unlock()
	if errors.Is(err, errRetry) {
		err = connect.NewError(connect.CodeUnavailable, "the server refused the call (it was going away or busy); try again")
	}
	if m != nil {
		if unary && (err != nil || status != nil) {
			m = nil // the call failed after all
		} else {
			s.grant()
			pm, ok := msg.(proto.Message)
			if !ok {
				s.release()
				return connect.Errorf(connect.CodeInternal, "%T is not a protobuf message", msg)
			}
			if uerr := proto.Unmarshal(m, pm); uerr != nil {
				s.release()
				return connect.Errorf(connect.CodeInternal, "the answer is not valid protobuf: %v", uerr)
			}
			if !unary {
				return nil
			}
		}
	}
	s.finished = true
	s.release()
	switch {
	case err != nil:
		return err
	case status != nil:
		return status
	case unary && m == nil:
		return connect.NewError(connect.CodeUnimplemented, "the server answered a unary call with no message")
	case unary:
		return nil
	}
	return io.EOF
}

// grant gives the server back the window of answer bytes received, in
// steps of half a window (a short call's answer costs no update), once
// the caller has taken every whole message: a caller slow to read a
// stream holds the server back, one whose message is larger than the
// window does not.
func (s *cstream) grant() {
	s.mu.Lock()
	n := s.unacked
	if n < clientStreamWindow/2 || s.ended || s.err != nil || len(s.in.msgs) > 0 && s.spec.StreamType&connect.StreamTypeServer != 0 {
		s.mu.Unlock()
		return
	}
	s.unacked = 0
	s.mu.Unlock()
	s.cc.write(true, func() error { return s.cc.fr.WriteWindowUpdate(s.id, n) })
}

// retry sends a call the server refused without running it again (a few
// times at most); only a call whose whole request is kept can be.
func (s *cstream) retry() bool {
	if s.retries >= maxRetries || s.req == nil || s.ctx.Err() != nil {
		return false
	}
	s.retries++
	s.cc.done(s)
	s.mu.Lock()
	s.err, s.gotHeaders, s.in, s.ended, s.status = nil, false, messages{}, false, nil
	s.mu.Unlock()
	s.opened, s.sentEnd = false, false
	if err := s.start(); err != nil {
		s.update(func() { s.err = err })
		return true
	}
	if err := s.sendData(s.req, true); err != nil {
		s.update(func() { s.err = err })
	}
	return true
}

// release ends the call on our side: a call the server has not ended is
// reset.
func (s *cstream) release() {
	if s.released || s.cc == nil {
		return
	}
	s.released = true
	s.mu.Lock()
	open := !s.ended && (s.err == nil || errors.Is(s.err, context.Canceled) || errors.Is(s.err, context.DeadlineExceeded))
	s.mu.Unlock()
	if open {
		s.cc.reset(s.id, http2.ErrCodeCancel)
	}
	s.cc.done(s)
}

func (s *cstream) Close() error {
	if s.opened && s.openErr == nil {
		s.release()
	}
	return nil
}
