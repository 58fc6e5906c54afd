package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/rolecall/rolecall"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
)

// Watch streams the changes committed after revision after (only of the
// given kinds, if any), in commit order, for as long as ctx lasts: a cache
// or a search index follows the store with it. An organization's key sees
// its organization's changes only.
//
// When the connection breaks, Watch reconnects (waiting 100 ms, doubling up
// to 5 s) and resumes where it stopped, with no change lost or repeated. It
// ends when ctx does, without an error, or with one the server gives that a
// retry cannot mend (a revoked key, say), yielded last.
//
//	for ch, err := range c.Watch(ctx, rev, rolecall.ObjBinding) {
//		if err != nil {
//			return err
//		}
//		apply(ch)
//	}
func (c *Client) Watch(ctx context.Context, after rolecall.Revision, kinds ...rolecall.ObjectKind) iter.Seq2[rolecall.Change, error] {
	return func(yield func(rolecall.Change, error) bool) {
		req := &v1.WatchRequest{}
		for _, k := range kinds {
			req.Kinds = append(req.Kinds, string(k))
		}
		// from is what each stream starts after; lastRev and lastSeq are the
		// last change delivered, so that a stream resumed at its revision
		// skips what was delivered of it
		from, lastRev, lastSeq := after, rolecall.Revision(0), int32(-1)
		wait := 100 * time.Millisecond
		for {
			req.After = uint64(from)
			stream, err := c.watch.Watch(ctx, req)
			if err == nil {
				stop := false
				for {
					var ch *v1.Change
					if ch, err = stream.Receive(); err != nil {
						break
					}
					rev := rolecall.Revision(ch.Revision)
					if rev < lastRev || rev == lastRev && ch.Seq <= lastSeq {
						continue // delivered before the reconnection
					}
					from, lastRev, lastSeq, wait = rev-1, rev, ch.Seq, 100*time.Millisecond
					if !yield(changeOf(ch), nil) {
						stop = true
						break
					}
				}
				stream.Close()
				if stop {
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			if !retryable(err) {
				yield(rolecall.Change{}, fromStatus("client.Watch", err))
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
		}
	}
}

// retryable reports whether a broken watch may be resumed.
func retryable(err error) bool {
	if errors.Is(err, io.EOF) {
		return true // the server ended the stream (a restart)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return true // the connection
	}
	switch ce.Code() {
	case connect.CodeUnavailable, connect.CodeUnknown, connect.CodeInternal, connect.CodeDeadlineExceeded, connect.CodeResourceExhausted, connect.CodeAborted:
		return true
	}
	return false
}

func changeOf(c *v1.Change) rolecall.Change {
	out := rolecall.Change{Revision: rolecall.Revision(c.Revision), Seq: int(c.Seq), Org: c.Org, Kind: rolecall.ObjectKind(c.Kind),
		Key: c.Key, Deleted: c.Deleted, At: c.At.AsTime()}
	if c.Value != "" {
		out.Value = json.RawMessage(c.Value)
	}
	return out
}
