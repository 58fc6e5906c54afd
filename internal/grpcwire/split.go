package grpcwire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Split divides one listener's connections between the gRPC transport and
// net/http, by what each connection says first:
//
//   - HTTP/2 without TLS from the first byte (prior knowledge) whose first
//     request is a gRPC call with protobuf (content-type application/grpc
//     or application/grpc+proto) goes to GRPC;
//   - HTTP/2 without TLS that sends no request within Wait of its opening
//     goes to GRPC too: gRPC clients open connections ahead of calls;
//   - everything else (HTTP/1.x, gRPC-Web, Connect, gRPC with JSON, HTTP/2
//     whose first request is any of these) goes to HTTP.
//
// A connection stays where its first request sent it: an HTTP/2
// connection that opened with a gRPC call takes only gRPC calls.
//
// gRPC clients (grpc-go, grpc-java) wait for the server's SETTINGS frame
// before their first request, so Split answers an HTTP/2 opening with an
// empty SETTINGS frame of its own (the server's preface), then reads up to
// the first request. The client acknowledges that frame; net/http would
// take the acknowledgement of a frame it did not send for a protocol
// error, so on the way to HTTP it is taken out of the stream (gRPC's
// transport ignores acknowledgements).
type Split struct {
	// Wait bounds how long an HTTP/2 connection may stay silent after its
	// opening before it is taken for a gRPC client (default 1 s).
	Wait time.Duration
	// ReadTimeout bounds how long a new connection may take to send its
	// opening bytes (default 10 s); a connection that sends nothing is closed.
	ReadTimeout time.Duration

	root       net.Listener
	grpc, http *subListener
	once       sync.Once
}

// NewSplit splits the connections of l. Call Serve to start accepting.
func NewSplit(l net.Listener) *Split {
	s := &Split{root: l}
	s.grpc = &subListener{s: s, conns: make(chan net.Conn), done: make(chan struct{})}
	s.http = &subListener{s: s, conns: make(chan net.Conn), done: make(chan struct{})}
	return s
}

// GRPC is the listener of the gRPC connections.
func (s *Split) GRPC() net.Listener { return s.grpc }

// HTTP is the listener of every other connection.
func (s *Split) HTTP() net.Listener { return s.http }

// Serve accepts connections until the listener is closed, sorting each in
// its own goroutine. It returns the error that ended accepting.
func (s *Split) Serve() error {
	for {
		c, err := s.root.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			s.Close()
			return err
		}
		go s.sort(c)
	}
}

// Close closes the listener and both halves.
func (s *Split) Close() error {
	var err error
	s.once.Do(func() {
		err = s.root.Close()
		s.grpc.close()
		s.http.close()
	})
	return err
}

var preface = []byte(http2.ClientPreface)

// sort reads as much of a new connection as it needs to choose its
// server, then hands it over with those bytes to be read again.
func (s *Split) sort(c net.Conn) {
	wait, timeout := s.Wait, s.ReadTimeout
	if wait <= 0 {
		wait = time.Second
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	br := bufio.NewReaderSize(c, 4096)
	to := s.http
	var seen []byte
	h2 := true
	for i := 1; i <= len(preface); i++ {
		b, err := br.Peek(i)
		if err != nil {
			c.Close()
			return
		}
		if b[i-1] != preface[i-1] {
			h2 = false
			break
		}
	}
	if h2 {
		// read frames (recording them) until the first request's headers
		var rec bytes.Buffer
		n := br.Buffered()
		b, _ := br.Peek(n)
		rec.Write(b)
		br.Discard(n)
		// what was buffered past the preface is read from the record first
		rest := bytes.NewReader(rec.Bytes()[len(preface):])
		fr := http2.NewFramer(io.Discard, io.MultiReader(rest, io.TeeReader(br, &rec)))
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		fr.MaxHeaderListSize = 1 << 20
		c.SetWriteDeadline(time.Now().Add(timeout))
		if _, err := c.Write(emptySettings); err != nil {
			c.Close()
			return
		}
		c.SetWriteDeadline(time.Time{})
		c.SetReadDeadline(time.Now().Add(wait))
		to = s.grpc // a client silent after its opening is a gRPC client
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					to = s.http // let net/http answer what is wrong
				}
				break
			}
			if h, ok := f.(*http2.MetaHeadersFrame); ok {
				if !grpcProto(h.PseudoValue("method"), contentType(h)) {
					to = s.http
				}
				break
			}
		}
		// and what the reader holds past the frames read
		b, _ = br.Peek(br.Buffered())
		rec.Write(b)
		seen = rec.Bytes()
	} else {
		n := br.Buffered()
		b, _ := br.Peek(n)
		seen = bytes.Clone(b)
	}
	c.SetReadDeadline(time.Time{})
	r := io.MultiReader(bytes.NewReader(seen), c)
	if h2 && to == s.http {
		r = &dropSettingsAck{r: r, skip: len(preface)}
	}
	to.deliver(&replayConn{Conn: c, r: r})
}

// emptySettings is an HTTP/2 SETTINGS frame with no parameters.
var emptySettings = []byte{0, 0, 0, byte(http2.FrameSettings), 0, 0, 0, 0, 0}

// dropSettingsAck passes an HTTP/2 client's byte stream through, less its
// first SETTINGS acknowledgement (of Split's own SETTINGS frame).
type dropSettingsAck struct {
	r       io.Reader
	skip    int    // bytes of the client preface still to pass
	payload int    // bytes of the current frame's payload still to pass
	pending []byte // a frame header read but not yet passed
	hdr     [9]byte
	done    bool
}

func (d *dropSettingsAck) Read(p []byte) (int, error) {
	for {
		switch {
		case len(d.pending) > 0:
			n := copy(p, d.pending)
			d.pending = d.pending[n:]
			return n, nil
		case d.done:
			return d.r.Read(p)
		case d.skip > 0 || d.payload > 0:
			rest := &d.skip
			if d.skip == 0 {
				rest = &d.payload
			}
			n, err := d.r.Read(p[:min(len(p), *rest)])
			*rest -= n
			return n, err
		}
		if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
			return 0, err
		}
		length := int(d.hdr[0])<<16 | int(d.hdr[1])<<8 | int(d.hdr[2])
		if http2.FrameType(d.hdr[3]) == http2.FrameSettings && http2.Flags(d.hdr[4]).Has(http2.FlagSettingsAck) && length == 0 {
			d.done = true
			continue
		}
		d.pending, d.payload = d.hdr[:], length
	}
}

func contentType(h *http2.MetaHeadersFrame) string {
	for _, f := range h.RegularFields() {
		if f.Name == "content-type" {
			return f.Value
		}
	}
	return ""
}

// grpcProto reports whether a request is a gRPC call with protobuf
// messages, which the gRPC side of the split serves.
func grpcProto(method, ct string) bool {
	if method != "POST" {
		return false
	}
	ct, _, _ = strings.Cut(ct, ";")
	return ct == "application/grpc" || ct == "application/grpc+proto"
}

// replayConn is a connection whose first bytes, already read, are read
// again.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// CloseWrite half-closes a TCP connection (net/http uses it to end a
// connection gracefully).
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// subListener is one half of a Split.
type subListener struct {
	s     *Split
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *subListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *subListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *subListener) close() { l.once.Do(func() { close(l.done) }) }

// Close stops this half; the split listener closes when both halves have.
func (l *subListener) Close() error {
	l.close()
	select {
	case <-l.s.grpc.done:
	default:
		return nil
	}
	select {
	case <-l.s.http.done:
		return l.s.Close()
	default:
		return nil
	}
}

func (l *subListener) Addr() net.Addr { return l.s.root.Addr() }
