package h2grpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"connectrpc.com/connect/v2"
	"golang.org/x/net/http2"
	"google.golang.org/protobuf/proto"
)

// What both sides write and read on a call's stream: gRPC messages (a
// flag byte, a 4-byte length, the protobuf bytes) in DATA frames, and
// header blocks.

// messages splits a call's DATA into whole messages as it arrives.
type messages struct {
	buf  []byte   // bytes of a message not yet whole
	msgs [][]byte // whole messages not yet taken
}

// errCompressed: a message came compressed, which neither side asks for.
var errCompressed = errors.New("h2grpc: a compressed message")

// sizeError: a message is larger than the receiver takes.
type sizeError struct{ size, max int }

func (e sizeError) Error() string {
	return fmt.Sprintf("a message of %d bytes; the most is %d", e.size, e.max)
}

// add appends data and splits off the messages it completes; it fails
// with errCompressed or a sizeError as soon as a message's prefix shows
// it.
func (m *messages) add(data []byte, max int) error {
	m.buf = append(m.buf, data...)
	for len(m.buf) >= 5 {
		if m.buf[0] != 0 {
			return errCompressed
		}
		size := int(binary.BigEndian.Uint32(m.buf[1:5]))
		if size > max {
			return sizeError{size, max}
		}
		if len(m.buf) < 5+size {
			break
		}
		m.msgs = append(m.msgs, m.buf[5:5+size:5+size])
		m.buf = m.buf[5+size:]
	}
	if len(m.buf) == 0 {
		m.buf = nil
	}
	return nil
}

// next takes the first whole message.
func (m *messages) next() ([]byte, bool) {
	if len(m.msgs) == 0 {
		return nil, false
	}
	b := m.msgs[0]
	m.msgs = m.msgs[1:]
	return b, true
}

// frame encodes msg as one gRPC message.
func frame(msg any) ([]byte, error) {
	pm, ok := msg.(proto.Message)
	if !ok {
		return nil, connect.NewError(connect.CodeInternal, fmt.Sprintf("%T is not a protobuf message", msg))
	}
	size := proto.Size(pm)
	b := make([]byte, 5, 5+size)
	binary.BigEndian.PutUint32(b[1:], uint32(size))
	b, err := proto.MarshalOptions{}.MarshalAppend(b, pm)
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, "the message could not be encoded: "+err.Error())
	}
	return b, nil
}

// writeBlock writes a header block as a HEADERS frame and, past the
// peer's frame size max, CONTINUATION frames.
func writeBlock(fr *http2.Framer, id uint32, block []byte, max int, end bool) error {
	first := block[:min(len(block), max)]
	block = block[len(first):]
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: first, EndStream: end, EndHeaders: len(block) == 0}); err != nil {
		return err
	}
	for len(block) > 0 {
		part := block[:min(len(block), max)]
		block = block[len(part):]
		if err := fr.WriteContinuation(id, len(block) == 0, part); err != nil {
			return err
		}
	}
	return nil
}

// sendFlow is what one side of a connection may send (RFC 9113 6.9): the
// connection's window, each open stream's, and the peer's largest frame.
// Its lock is taken last: no other lock is taken under it.
type sendFlow struct {
	mu       sync.Mutex
	grown    *sync.Cond // a window grew, or wake was called
	conn     int64
	init     int64 // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame int
	streams  map[uint32]int64
}

func newSendFlow() *sendFlow {
	f := &sendFlow{conn: 65535, init: 65535, maxFrame: 16384, streams: map[uint32]int64{}}
	f.grown = sync.NewCond(&f.mu)
	return f
}

// maxWindow is the largest a window may grow (RFC 9113 6.9.1).
const maxWindow = 1<<31 - 1

// open gives a new stream the initial window; close forgets it.
func (f *sendFlow) open(id uint32) {
	f.mu.Lock()
	f.streams[id] = f.init
	f.mu.Unlock()
}

func (f *sendFlow) close(id uint32) {
	f.mu.Lock()
	delete(f.streams, id)
	f.mu.Unlock()
}

// frameSize is the peer's largest frame.
func (f *sendFlow) frameSize() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxFrame
}

// take takes up to want bytes of window for a stream's DATA (at most a
// frame), and returns how many; 0 when a window is spent.
func (f *sendFlow) take(id uint32, want int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := int(max(0, min(int64(want), f.conn, f.streams[id], int64(f.maxFrame))))
	f.conn -= int64(n)
	f.streams[id] -= int64(n)
	return n
}

// ready tells whether a stream may send a byte.
func (f *sendFlow) ready(id uint32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conn > 0 && f.streams[id] > 0
}

// wait blocks until a stream may send a byte or stop() holds (call wake
// when stop's answer changes).
func (f *sendFlow) wait(id uint32, stop func() bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for (f.conn <= 0 || f.streams[id] <= 0) && !stop() {
		f.grown.Wait()
	}
}

// wake wakes the waiters.
func (f *sendFlow) wake() {
	f.mu.Lock()
	f.grown.Broadcast()
	f.mu.Unlock()
}

// update takes a WINDOW_UPDATE: a connection's window past the most is a
// connection error; a stream's, reported as streamOver, a stream error.
func (f *sendFlow) update(id uint32, inc uint32) (streamOver bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	defer f.grown.Broadcast()
	if id == 0 {
		if f.conn += int64(inc); f.conn > maxWindow {
			return false, http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		return false, nil
	}
	w, ok := f.streams[id]
	if !ok {
		return false, nil
	}
	f.streams[id] = w + int64(inc)
	return w+int64(inc) > maxWindow, nil
}

// setting checks one of the peer's settings and takes its initial window
// or frame size (others are the caller's): a new initial window moves every open stream's by the
// difference, and one moved past the most is a connection error.
func (f *sendFlow) setting(st http2.Setting) error {
	if err := st.Valid(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch st.ID {
	case http2.SettingInitialWindowSize:
		delta := int64(st.Val) - f.init
		f.init = int64(st.Val)
		for id, w := range f.streams {
			if f.streams[id] = w + delta; w+delta > maxWindow {
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
		}
		f.grown.Broadcast()
	case http2.SettingMaxFrameSize:
		f.maxFrame = int(st.Val)
	}
	return nil
}
