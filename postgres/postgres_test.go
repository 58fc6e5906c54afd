package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/pgtest"
	"github.com/rolecall/rolecall/postgres"
	"github.com/rolecall/rolecall/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open opens a store on dsn, closed when the test ends.
func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) rolecall.Store { return open(t, pgtest.DSN(t)) })
}

// TestOpenConcurrently: replicas starting at once on a new database all
// open it; one migrates it while the others wait for goose's lock. A later
// Open finds nothing to do.
func TestOpenConcurrently(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
	open(t, dsn)
}

// TestReplicasFollowInOrder: with two stores (two replicas) writing to one
// database at once, a follower polling the change log sees every revision
// from 1 up, each once and whole, in order. This is what committing in
// revision order buys.
func TestReplicasFollowInOrder(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := open(t, dsn), open(t, dsn)
	if _, err := a.Update(t.Context(), func(tx rolecall.Tx) error {
		return tx.CreateScope(rolecall.Scope{ID: "o", Level: "org"})
	}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 30
	var wg sync.WaitGroup
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for i := range each {
				_, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
					// Two changes per revision, so a cut revision would show.
					id := fmt.Sprintf("w%d-%d", w, i)
					if err := tx.CreateScope(rolecall.Scope{ID: id, Parent: "o"}); err != nil {
						return err
					}
					return tx.CreateGroup(rolecall.Group{ID: id, Scope: id})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var seen []rolecall.Change
	after := rolecall.Revision(0)
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		cs, err := b.Changes(t.Context(), after, 5)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, cs...)
		if len(cs) > 0 {
			after = cs[len(cs)-1].Revision
		} else if finished {
			break
		}
	}
	want := 1 + 2*writers*each
	if len(seen) != want {
		t.Fatalf("the follower saw %d changes, want %d", len(seen), want)
	}
	rev, seq := rolecall.Revision(1), 0
	for _, c := range seen {
		if c.Seq == 0 && c.Revision != 1 {
			rev, seq = rev+1, 0
		}
		if c.Revision != rev || c.Seq != seq {
			t.Fatalf("the follower saw change %d.%d, want %d.%d", c.Revision, c.Seq, rev, seq)
		}
		seq++
	}
}

// TestRetry: Update runs the function again after a serialization
// failure, and gives up with Unavailable after a bounded number of tries.
func TestRetry(t *testing.T) {
	s := open(t, pgtest.DSN(t))
	var calls atomic.Int32
	rev, err := s.Update(t.Context(), func(tx rolecall.Tx) error {
		if calls.Add(1) == 1 {
			return fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40001", Message: "could not serialize access"})
		}
		return tx.CreateUser(rolecall.User{ID: "ann"})
	})
	if err != nil || rev != 1 || calls.Load() != 2 {
		t.Errorf("Update = %d, %v after %d calls; want revision 1 after 2 calls", rev, err, calls.Load())
	}

	calls.Store(0)
	_, err = s.Update(t.Context(), func(tx rolecall.Tx) error {
		calls.Add(1)
		return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
	})
	if rolecall.KindOf(err) != rolecall.Unavailable || calls.Load() < 2 || calls.Load() > 20 {
		t.Errorf("Update always failing with a deadlock: %v after %d calls; want Unavailable after a few", err, calls.Load())
	}
	if h, _ := s.Head(t.Context()); h != 1 {
		t.Errorf("Head = %d after failed Updates, want 1", h)
	}

	// Other errors are not retried.
	calls.Store(0)
	boom := errors.New("boom")
	if _, err := s.Update(t.Context(), func(tx rolecall.Tx) error { calls.Add(1); return boom }); err != boom || calls.Load() != 1 {
		t.Errorf("Update returning an error: %v after %d calls; want the error after 1", err, calls.Load())
	}
}

// BenchmarkUpdate measures one small write (a user) per Update, from one
// goroutine and from several.
func BenchmarkUpdate(b *testing.B) {
	s := open(b, pgtest.DSN(b))
	var n atomic.Int64
	write := func() error {
		id := fmt.Sprint("u", n.Add(1))
		_, err := s.Update(context.Background(), func(tx rolecall.Tx) error {
			return tx.CreateUser(rolecall.User{ID: id, Name: "User " + id})
		})
		return err
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if err := write(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := write(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
