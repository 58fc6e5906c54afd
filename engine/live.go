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
//
// Several processes may each hold a Live over one store (replicas on
// PostgreSQL): each follows the store's change log by revision (Follow),
// and a read that must reflect a given write waits for it with AtLeast.
type Live struct {
	r    rolecall.Reader
	cur  atomic.Pointer[Engine]
	orgs map[string]bool // the organizations held; nil for all

	mu       sync.Mutex    // one sync round at a time
	advanced chan struct{} // closed (and replaced) whenever the engine advances
	amu      sync.Mutex    // guards advanced

	rmu  sync.Mutex // guards next
	next *round     // the sync round callers join, not yet reading the store

	caughtUp atomic.Int64 // when (unix ns) the last sync round that reached the store's head began
	onApply  atomic.Pointer[func(rev rolecall.Revision, committed time.Time)]
}

// A round is one sync shared by every caller that asked for it before it
// began reading the store.
type round struct {
	done chan struct{}
	rev  rolecall.Revision
	err  error
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
	// Orgs, if not empty, are the only organizations the engine holds:
	// the snapshot and the change log are read whole, and everything of
	// other organizations is passed over (their revisions still count, so
	// revision tokens of any write stay comparable). Users, global
	// identities, are all kept. Empty means every organization.
	Orgs []string
}

// Open builds an engine from the store's current snapshot.
func Open(ctx context.Context, m *model.Model, r rolecall.Reader, opt Options) (*Live, error) {
	start := time.Now()
	snap, err := r.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	l := &Live{r: r, advanced: make(chan struct{})}
	if len(opt.Orgs) > 0 {
		l.orgs = map[string]bool{}
		for _, o := range opt.Orgs {
			l.orgs[o] = true
		}
		snap = snap.Part(func(org string) bool { return l.orgs[org] })
	}
	e, err := New(m, snap)
	if err != nil {
		return nil, err
	}
	e.Now = opt.Now
	if opt.CursorKey != nil {
		e.look.key = slices.Clone(opt.CursorKey)
	}
	l.cur.Store(e)
	l.caughtUp.Store(start.UnixNano())
	return l, nil
}

// Engine returns the current engine.
func (l *Live) Engine() *Engine { return l.cur.Load() }

// Revision returns the revision the current engine is at.
func (l *Live) Revision() rolecall.Revision { return l.cur.Load().Revision }

// Orgs returns the organizations the engine holds, sorted, or nil when it
// holds every one.
func (l *Live) Orgs() []string {
	if l.orgs == nil {
		return nil
	}
	out := make([]string, 0, len(l.orgs))
	for o := range l.orgs {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// Holds reports whether the engine holds an organization's data (always,
// unless Options.Orgs named others).
func (l *Live) Holds(org string) bool { return l.orgs == nil || l.orgs[org] }

// CaughtUp returns the time since which every committed write is applied:
// when the last sync that reached the store's head began. Its age bounds
// how stale an answer from Engine can be.
func (l *Live) CaughtUp() time.Time { return time.Unix(0, l.caughtUp.Load()) }

// OnApply sets a function called, after the engine advances, once per
// revision applied, with the time the revision's change was made (by the
// writer's clock); it replaces any function set before. The server times
// replication with it.
func (l *Live) OnApply(fn func(rev rolecall.Revision, committed time.Time)) {
	l.onApply.Store(&fn)
}

// Sync applies every change committed before it was called (and maybe
// later ones) and returns the revision it reached. Concurrent callers
// share one read of the store. A change that cannot be applied is returned
// as an error and the engine stays where it was.
func (l *Live) Sync(ctx context.Context) (rolecall.Revision, error) {
	l.rmu.Lock()
	r := l.next
	if r != nil {
		// a round that has not begun reading: it will see every commit made
		// before now
		l.rmu.Unlock()
		select {
		case <-r.done:
			if r.err != nil && ctx.Err() == nil && (errors.Is(r.err, context.Canceled) || errors.Is(r.err, context.DeadlineExceeded)) {
				return l.Sync(ctx) // the round's own caller gave up; ours has not
			}
			return r.rev, r.err
		case <-ctx.Done():
			return l.Revision(), ctx.Err()
		}
	}
	r = &round{done: make(chan struct{})}
	l.next = r
	l.rmu.Unlock()
	l.mu.Lock()
	l.rmu.Lock()
	l.next = nil // from here on the round reads: later callers start another
	l.rmu.Unlock()
	r.rev, r.err = l.sync(ctx)
	l.mu.Unlock()
	close(r.done)
	return r.rev, r.err
}

// sync reads the change log from the current revision to its end and
// applies it; l.mu is held.
func (l *Live) sync(ctx context.Context) (rolecall.Revision, error) {
	e := l.cur.Load()
	for {
		began := time.Now()
		cs, err := l.r.Changes(ctx, e.Revision, syncBatch)
		if err != nil {
			return e.Revision, err
		}
		if len(cs) == 0 {
			l.caughtUp.Store(began.UnixNano())
			return e.Revision, nil
		}
		last := cs[len(cs)-1].Revision
		next, err := e.Apply(l.held(cs))
		if err != nil {
			return e.Revision, err
		}
		if next.Revision < last {
			// everything read was of other organizations (or of kinds the
			// engine passes over): the engine is still at the store's
			// revision, and says so
			n := *next
			n.Revision = last
			next = &n
		}
		e = next
		l.cur.Store(e)
		l.amu.Lock()
		close(l.advanced)
		l.advanced = make(chan struct{})
		l.amu.Unlock()
		if fn := l.onApply.Load(); fn != nil {
			for i, c := range cs {
				if i == len(cs)-1 || cs[i+1].Revision != c.Revision {
					(*fn)(c.Revision, c.At)
				}
			}
		}
	}
}

// held returns the changes of the organizations the engine holds.
func (l *Live) held(cs []rolecall.Change) []rolecall.Change {
	if l.orgs == nil {
		return cs
	}
	out := cs[:0:0]
	for _, c := range cs {
		if c.Org == "" || l.orgs[c.Org] {
			out = append(out, c)
		}
	}
	return out
}

// AtLeast returns an engine at revision rev or later: at once if the
// current one is, else after a Sync, else after waiting for another Sync
// (a Follow loop, say) until ctx ends. Then it fails with Unavailable: the
// answer would come from older data, and the caller should retry (here or
// on another replica). If the store cannot be read, it fails at once,
// Unavailable too, naming the cause. A revision the store itself has not
// reached fails at once, as Invalid.
func (l *Live) AtLeast(ctx context.Context, rev rolecall.Revision) (*Engine, error) {
	if e := l.cur.Load(); e.Revision >= rev {
		return e, nil
	}
	if _, err := l.Sync(ctx); err != nil && ctx.Err() == nil {
		if e := l.cur.Load(); e.Revision >= rev {
			return e, nil
		}
		// whatever the cause (the database down, a change this index cannot
		// apply), this replica cannot answer at rev: another may
		return nil, &rolecall.Error{Op: "engine.AtLeast", Kind: rolecall.Unavailable, Name: "revision " + strconv.FormatUint(uint64(rev), 10),
			Msg: "the index is at revision " + strconv.FormatUint(uint64(l.Revision()), 10) + " and cannot catch up (" +
				rolecall.Message(err) + "); retry, on another replica or later", Err: err}
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
				"the index is at revision "+strconv.FormatUint(uint64(e.Revision), 10)+" and did not reach it before the request's deadline; retry, on another replica or later")
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
