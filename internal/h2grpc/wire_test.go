package h2grpc

import (
	"errors"
	"testing"

	"golang.org/x/net/http2"

	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
)

// TestMessages: messages arriving in pieces of any size come out whole
// and in order; a compressed one and one over the limit are refused as
// soon as their prefix is in.
func TestMessages(t *testing.T) {
	var stream []byte
	for _, subject := range []string{"ann", "", "a longer subject than the others"} {
		b, err := frame(&v1.CheckRequest{Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
	}
	for _, piece := range []int{1, 2, 5, 7, len(stream)} {
		var m messages
		for rest := stream; len(rest) > 0; rest = rest[min(piece, len(rest)):] {
			if err := m.add(rest[:min(piece, len(rest))], 1<<10); err != nil {
				t.Fatalf("pieces of %d: %v", piece, err)
			}
		}
		if len(m.msgs) != 3 || len(m.buf) != 0 {
			t.Fatalf("pieces of %d: %d messages, %d bytes left", piece, len(m.msgs), len(m.buf))
		}
		if b, _ := m.next(); len(b) != 5 { // field 1, length 3, "ann"
			t.Fatalf("pieces of %d: first message of %d bytes", piece, len(b))
		}
	}
	var m messages
	if err := m.add([]byte{1, 0, 0, 0, 1, 0}, 1<<10); !errors.Is(err, errCompressed) {
		t.Errorf("a compressed message: %v", err)
	}
	m = messages{}
	if err := m.add([]byte{0, 0, 0, 8, 0}, 1<<10); !errors.As(err, new(sizeError)) {
		t.Errorf("a message of 2 KiB past a limit of 1 KiB: %v", err)
	}
}

// TestSendFlow: DATA is bounded by the connection's window, the
// stream's and the frame size; a new initial window moves open streams'
// windows; windows past 2^31-1 are errors of the connection or the
// stream.
func TestSendFlow(t *testing.T) {
	f := newSendFlow()
	f.open(1)
	if n := f.take(1, 1<<20); n != 16384 {
		t.Fatalf("first take %d, want a frame (16384)", n)
	}
	for f.ready(1) {
		f.take(1, 1<<20)
	}
	if got := 65535 - f.conn; got != 65535 {
		t.Fatalf("took %d of the default window of 65535", got)
	}
	if err := f.setting(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65535 + 100}); err != nil {
		t.Fatal(err)
	}
	if f.streams[1] != 100 {
		t.Fatalf("stream window %d after the initial window grew by 100", f.streams[1])
	}
	if f.ready(1) {
		t.Fatal("ready with the connection's window spent")
	}
	if _, err := f.update(0, 50); err != nil {
		t.Fatal(err)
	}
	if n := f.take(1, 1<<20); n != 50 {
		t.Fatalf("took %d with 50 bytes of the connection's window", n)
	}
	if over, err := f.update(1, maxWindow); !over || err != nil {
		t.Fatalf("a stream's window past 2^31-1: over %v, %v", over, err)
	}
	f.update(0, 1)
	if _, err := f.update(0, maxWindow); !errors.Is(err, http2.ConnectionError(http2.ErrCodeFlowControl)) {
		t.Fatalf("the connection's window past 2^31-1: %v", err)
	}
	if err := f.setting(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100}); err == nil {
		t.Fatal("a frame size below 16384 was taken")
	}
	f.close(1)
	if f.ready(1) || f.take(1, 10) != 0 {
		t.Fatal("a closed stream may send")
	}
}
