package server

import (
	"bytes"
	"context"
	"fmt"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	v1 "github.com/rolecall/rolecall/internal/api/rolecallv1"
	"github.com/rolecall/rolecall/internal/api/rolecallv1/rolecallv1connect"
	"github.com/rolecall/rolecall/transfer"
)

// exportChunk bounds the bytes of lines one Export message carries (a
// longer line goes alone), well under a gRPC client's 4 MiB default.
const exportChunk = 256 << 10

// Export sends an organization's data as JSON Lines, read from the store's
// snapshot at one revision: an organization's key its own organization
// (another's reads as not found) when its user may export_organization
// (the model's admin act, on the organization itself), the operator's
// everything or the organization it names.
func (im *Import) Export(ctx context.Context, r *v1.ExportRequest, stream rolecallv1connect.ImportServiceExportServerStream) error {
	p, _ := PrincipalFrom(ctx)
	org := r.Org
	if !p.Operator {
		if org == "" {
			org = p.Org
		}
		if err := inOrg(ctx, org, "organization "+org); err != nil {
			return err
		}
		if err := im.Admin.May(ctx, admin.Actor{User: p.User, Org: p.Org}, org, "export_organization"); err != nil {
			return toStatus(err)
		}
	}
	snap, err := im.Store.Snapshot(ctx)
	if err != nil {
		return toStatus(err)
	}
	// the snapshot is the store's latest state: a token it has not reached
	// is not one of this store's
	if want := r.GetConsistency().GetAtLeastAsFresh(); want > uint64(snap.Revision) {
		return toStatus(rolecall.E("server.Export", rolecall.Invalid, "consistency.at_least_as_fresh",
			fmt.Sprintf("%d: the store is at revision %d; a revision token comes from a write to this store, so this one is from another store or made up", want, snap.Revision)))
	}
	w := &lineWriter{send: stream.Send, rev: uint64(snap.Revision)}
	if _, err := transfer.ExportSnapshot(snap, org, w); err != nil {
		if w.err != nil {
			return w.err // the caller went away
		}
		return toStatus(err)
	}
	return w.close()
}

// lineWriter cuts the JSON Lines written to it into Export messages of
// whole lines, at most about exportChunk bytes each.
type lineWriter struct {
	send    func(*v1.ExportResponse) error
	rev     uint64
	partial []byte   // the start of a line not yet ended
	lines   []string // lines not yet sent
	size    int
	sent    bool
	err     error // the first failed send
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			return n, nil
		}
		line := string(append(w.partial, p[:i]...))
		w.partial, p = w.partial[:0], p[i+1:]
		if len(w.lines) > 0 && w.size+len(line) > exportChunk {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
		w.lines = append(w.lines, line)
		w.size += len(line)
	}
}

func (w *lineWriter) flush() error {
	w.sent = true
	if err := w.send(&v1.ExportResponse{Lines: w.lines, Revision: w.rev}); err != nil {
		w.err = err
		return err
	}
	w.lines, w.size = nil, 0
	return nil
}

// close sends what is left, and one message even for an empty export, so
// the caller learns the revision.
func (w *lineWriter) close() error {
	if len(w.partial) > 0 {
		return toStatus(fmt.Errorf("server.Export: the export ended inside a line (%d bytes)", len(w.partial)))
	}
	if len(w.lines) > 0 || !w.sent {
		return w.flush()
	}
	return nil
}
