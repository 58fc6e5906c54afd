package grpcwire

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// dropFirstAck is dropSettingsAck written plainly over a whole stream
// (after its preface): the frames, less the first empty SETTINGS frame
// with the ACK flag; a frame header cut off by the stream's end is lost.
func dropFirstAck(body []byte) []byte {
	var out []byte
	for dropped := false; len(body) > 0; {
		if dropped {
			return append(out, body...)
		}
		if len(body) < 9 {
			return out
		}
		length := int(body[0])<<16 | int(body[1])<<8 | int(body[2])
		if body[3] == 4 && body[4]&1 != 0 && length == 0 {
			body, dropped = body[9:], true
			continue
		}
		n := min(len(body), 9+length)
		out, body = append(out, body[:n]...), body[n:]
	}
	return out
}

// FuzzDropSettingsAck: whatever a client sends, read in any pieces, the
// filter passes the preface and the frames and takes out the first
// SETTINGS acknowledgement only.
func FuzzDropSettingsAck(f *testing.F) {
	ack := []byte{0, 0, 0, 4, 1, 0, 0, 0, 0}
	settings := []byte{0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100}
	headers := []byte{0, 0, 3, 1, 4, 0, 0, 0, 1, 0x82, 0x86, 0x84}
	f.Add(append(append(append([]byte{}, settings...), ack...), headers...), uint8(7))
	f.Add(append(append(append([]byte{}, settings...), headers...), ack...), uint8(1))
	f.Add(append(append([]byte{}, ack...), ack...), uint8(3))
	f.Add([]byte{0, 0, 0, 4}, uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, chunk uint8) {
		in := append([]byte(preface), body...)
		d := &dropSettingsAck{r: iotest.OneByteReader(bytes.NewReader(in)), skip: len(preface)}
		var got bytes.Buffer
		buf := make([]byte, int(chunk)%16+1)
		for {
			n, err := d.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				break
			}
		}
		want := append([]byte(preface), dropFirstAck(body)...)
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("body %x read %d at a time:\n got %x\nwant %x", body, len(buf), got.Bytes(), want)
		}
	})
}

var _ io.Reader = (*dropSettingsAck)(nil)
