package engine

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
)

// Live keeps an engine in step with a store: it is built from the store's
// snapshot, then Sync applies the changes committed since, incrementally.
// Readers take the current engine with Engine or AtLeast and never wait
// for a writer: each Sync swaps in a new immutable engine.
type Live struct {
	r   rolecall.Reader
	cur atomic.Pointer[Engine]

	mu       sync.Mutex    // one Sync at a time
	advanced chan struct{} // closed (and replaced) whenever the engine advances
	amu      sync.Mutex    // guards advanced
}

// syncBatch is how many changes Sync reads at once.
const syncBatch = 10_000

// Options tune an engine that Open builds.
type Options struct {
	// Now is the engines' clock (for time-bound bindings and offers); nil
	// means time.Now.
	Now func() time.Time
	// CursorKey signs lookup cursors. Processes that must accept each
	// other's cursors (replicas behind one address, successive command-line
	// runs) share one; nil means a random key of this process.
	CursorKey []byte
}

// Open builds an engine from the store's current snapshot.
func Open(ctx context.Context, m *model.Model, r rolecall.Reader, opt Options) (*Live, error) {
	snap, err := r.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	e, err := New(m, snap)
	if err != nil {
		return nil, err
	}
	e.Now = opt.Now
	if opt.CursorKey != nil {
		e.look.key = slices.Clone(opt.CursorKey)
	}
	l := &Live{r: r, advanced: make(chan struct{})}
	l.cur.Store(e)
	return l, nil
}

// Engine returns the current engine.
func (l *Live) Engine() *Engine { return l.cur.Load() }

// Revision returns the revision the current engine is at.
func (l *Live) Revision() rolecall.Revision { return l.cur.Load().Revision }

// Sync applies every change committed after the current engine's revision
// and returns the revision it reached. A change that cannot be applied is
// returned as an error and the engine stays where it was.
func (l *Live) Sync(ctx context.Context) (rolecall.Revision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.cur.Load()
	for {
		cs, err := l.r.Changes(ctx, e.Revision, syncBatch)
		if err != nil {
			return e.Revision, err
		}
		if len(cs) == 0 {
			return e.Revision, nil
		}
		next, err := e.Apply(cs)
		if err != nil {
			return e.Revision, err
		}
		e = next
		l.cur.Store(e)
		l.amu.Lock()
		close(l.advanced)
		l.advanced = make(chan struct{})
		l.amu.Unlock()
	}
}

// AtLeast returns an engine at revision rev or later: at once if the
// current one is, else after a Sync, else after waiting for another Sync
// (a Follow loop, say) until ctx ends. Then it fails with Unavailable: the
// answer would come from older data. A revision the store itself has not
// reached fails at once, as Invalid.
func (l *Live) AtLeast(ctx context.Context, rev rolecall.Revision) (*Engine, error) {
	if e := l.cur.Load(); e.Revision >= rev {
		return e, nil
	}
	if _, err := l.Sync(ctx); err != nil && ctx.Err() == nil {
		return nil, err
	}
	if e := l.cur.Load(); e.Revision < rev {
		// a revision the store has not reached is no token of this store's:
		// waiting cannot help
		if head, err := l.r.Head(ctx); err == nil && head < rev {
			return nil, rolecall.E("engine.AtLeast", rolecall.Invalid, "revision "+strconv.FormatUint(uint64(rev), 10),
				"the store is at revision "+strconv.FormatUint(uint64(head), 10)+"; a revision token comes from a write to this store, so this one is from another store or made up")
		}
	}
	for {
		l.amu.Lock()
		ch := l.advanced
		l.amu.Unlock()
		e := l.cur.Load()
		if e.Revision >= rev {
			return e, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, rolecall.E("engine.AtLeast", rolecall.Unavailable, "revision "+strconv.FormatUint(uint64(rev), 10),
				"the index is at revision "+strconv.FormatUint(uint64(e.Revision), 10)+" and did not reach it in time; retry")
		}
	}
}

// Follow calls Sync every interval until ctx ends, so the engine follows
// writes made by other processes. Errors are passed to onErr (if not nil)
// and retried at the next tick.
func (l *Live) Follow(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := l.Sync(ctx); err != nil && onErr != nil && !errors.Is(err, context.Canceled) {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
