package postgres

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/rolecall/rolecall"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a rolecall.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	// writing admits one Update of this process to the database at a
	// time. Writers serialize on the head row anyway; waiting here instead
	// of there keeps the pool's other connections free for readers, even
	// for readers called from inside a transaction's function.
	writing chan struct{}
}

var _ rolecall.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or a key=value
// connection string, as pgx takes), brings its schema up to date and
// returns the store. The pool's size and timeouts can be set in the dsn
// (pool_max_conns and the others pgxpool.ParseConfig reads).
func Open(ctx context.Context, dsn string) (*Store, error) {
	const op = "postgres.Open"
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, &rolecall.Error{Op: op, Kind: rolecall.Invalid, Msg: "cannot parse the database URL", Err: err}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
		if err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, &rolecall.Error{Op: op, Kind: rolecall.Unavailable, Name: cfg.ConnConfig.Host, Msg: "cannot connect to PostgreSQL", Err: err}
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, &rolecall.Error{Op: op, Kind: errKind(err), Name: cfg.ConnConfig.Database, Msg: "cannot migrate the database schema", Err: err}
	}
	return &Store{pool: pool, writing: make(chan struct{}, 1)}, nil
}

// migrate applies the embedded migrations that the database lacks. Several
// replicas may start at once, so the migration takes goose's lock: a row
// of a table (goose_lock) rather than an advisory lock, which CockroachDB
// lacks.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresTableLocker(lock.WithTableLockTimeout(250*time.Millisecond, 1200))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithDisableGlobalRegistry(true), goose.WithLocker(locker))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Retry limits for Update: attempts in all, and the backoff before each
// retry, doubling from the first to the last, with jitter.
const (
	maxAttempts  = 10
	firstBackoff = 2 * time.Millisecond
	maxBackoff   = 200 * time.Millisecond
)

// Update runs fn in one transaction and commits it at the next revision
// (at the head, when fn wrote only API keys, which log no change),
// retrying the whole transaction when the database reports a serialization
// failure or a deadlock.
func (s *Store) Update(ctx context.Context, fn func(rolecall.Tx) error) (rolecall.Revision, error) {
	return s.retrying(ctx, "postgres.Update", func() (rolecall.Revision, error) { return s.update(ctx, fn) })
}

// retrying runs one attempt at a write transaction, and runs it again
// while it fails with a serialization failure or a deadlock, up to
// maxAttempts times.
func (s *Store) retrying(ctx context.Context, op string, attempt func() (rolecall.Revision, error)) (rolecall.Revision, error) {
	backoff := firstBackoff
	for n := 1; ; n++ {
		rev, err := attempt()
		if err == nil || !retryable(err) {
			return rev, err
		}
		if n == maxAttempts {
			return 0, &rolecall.Error{Op: op, Kind: rolecall.Unavailable,
				Msg: fmt.Sprintf("the transaction conflicted with others %d times; try again", n), Err: err}
		}
		// Full jitter: concurrent losers spread out instead of colliding again.
		d := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return 0, dbErr(op, "", ctx.Err())
		case <-time.After(d):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// begin starts a write transaction and takes its revision, once this
// process's earlier writers are done. The caller calls done when the
// transaction is over, committed or not; until then it holds the head row.
func (s *Store) begin(ctx context.Context, op string) (ptx pgx.Tx, rev rolecall.Revision, done func(), err error) {
	select {
	case s.writing <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, nil, dbErr(op, "", ctx.Err())
	}
	// Read committed is enough, and on PostgreSQL avoids needless
	// serialization failures: every writer first takes the head row (below),
	// and each later statement reads what the writers before it committed.
	// CockroachDB runs it as serializable unless read committed is enabled;
	// either is correct.
	ptx, err = s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		<-s.writing
		return nil, 0, nil, dbErr(op, "", err)
	}
	done = func() {
		ptx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit
		<-s.writing
	}

	// Taking the revision by incrementing the one head row makes every
	// writer wait here for the previous one to commit or roll back, so
	// transactions commit in revision order. That is what lets a replica
	// follow the change log by revision alone: when it reads a change at
	// revision n, every revision below n has already committed, and none
	// can appear behind it later. (With a sequence instead, a transaction
	// holding revision 7 could commit after one holding 8; a reader that
	// had seen 8 would ask for changes after 8 and miss 7 for ever.) The
	// cost is that writes do not run in parallel; they are short, and the
	// change log needs a total order anyway.
	var r int64
	if err := ptx.QueryRow(ctx, `UPDATE head SET revision = revision + 1 RETURNING revision`).Scan(&r); err != nil {
		done()
		return nil, 0, nil, dbErr(op, "", err)
	}
	return ptx, rolecall.Revision(r), done, nil
}

// update makes one attempt at an Update.
func (s *Store) update(ctx context.Context, fn func(rolecall.Tx) error) (rolecall.Revision, error) {
	const op = "postgres.Update"
	ptx, rev, done, err := s.begin(ctx, op)
	if err != nil {
		return 0, err
	}
	defer done()
	t := &tx{ctx: ctx, tx: ptx, rev: rev, at: time.Now().UTC().Truncate(time.Microsecond)}
	ferr := fn(t)
	t.done = true
	if t.err != nil {
		// A statement failed inside the database, which aborts the
		// transaction whatever fn made of the error.
		return 0, t.err
	}
	if ferr != nil {
		return 0, ferr
	}
	if t.seq == 0 {
		// No change logged: the revision does not advance, so that every
		// revision has a change. The head row is still held, so rev-1 is
		// the head.
		if !t.keys {
			// Nothing written at all: commit nothing.
			return t.rev - 1, nil
		}
		// Only API keys written, which log no change: commit them, with
		// the head row back at the revision begin found. No other writer
		// has seen rev, as it waits for the row.
		if _, err := ptx.Exec(ctx, `UPDATE head SET revision = $1`, int64(t.rev-1)); err != nil {
			return 0, dbErr(op, "", err)
		}
		if err := ptx.Commit(ctx); err != nil {
			return 0, dbErr(op, "", err)
		}
		return t.rev - 1, nil
	}
	if err := ptx.Commit(ctx); err != nil {
		return 0, dbErr(op, "", err)
	}
	return t.rev, nil
}

// Head returns the latest committed revision.
func (s *Store) Head(ctx context.Context) (rolecall.Revision, error) {
	var rev int64
	if err := s.pool.QueryRow(ctx, `SELECT revision FROM head`).Scan(&rev); err != nil {
		return 0, dbErr("postgres.Head", "", err)
	}
	return rolecall.Revision(rev), nil
}

// Snapshot reads every table the engine is built from in one repeatable
// read transaction, so the objects and the revision it reports are of one
// moment: writers update head in the same transaction as their objects.
func (s *Store) Snapshot(ctx context.Context) (*rolecall.Snapshot, error) {
	const op = "postgres.Snapshot"
	var snap *rolecall.Snapshot
	err := retry(ctx, func() error {
		ptx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer ptx.Rollback(context.WithoutCancel(ctx))
		snap = new(rolecall.Snapshot)
		var rev int64
		if err := ptx.QueryRow(ctx, `SELECT revision FROM head`).Scan(&rev); err != nil {
			return err
		}
		snap.Revision = rolecall.Revision(rev)
		if err := readAll(ctx, ptx, "scopes", &snap.Scopes); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "users", &snap.Users); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "memberships", &snap.Memberships); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "groups", &snap.Groups); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "group_members", &snap.GroupMembers); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "resources", &snap.Resources); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "roles", &snap.Roles); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "bindings", &snap.Bindings); err != nil {
			return err
		}
		if err := readAll(ctx, ptx, "offers", &snap.Offers); err != nil {
			return err
		}
		return ptx.Commit(ctx)
	})
	if err != nil {
		return nil, dbErr(op, "", err)
	}
	return snap, nil
}

// readAll appends every object of a table to *out, in key order.
func readAll[T any](ctx context.Context, q pgx.Tx, table string, out *[]T) error {
	rows, err := q.Query(ctx, `SELECT obj FROM `+table+` ORDER BY key`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("%s %q: %w", table, b, err)
		}
		*out = append(*out, v)
	}
	return rows.Err()
}

// Changes returns committed changes after a revision: as many whole
// revisions as fit in limit changes, but always the first one whole,
// however large, so that a follower always makes progress.
func (s *Store) Changes(ctx context.Context, after rolecall.Revision, limit int) ([]rolecall.Change, error) {
	const op = "postgres.Changes"
	const cols = `SELECT revision, seq, org, kind, key, deleted, value, at FROM changes `
	if limit < 1 {
		return nil, rolecall.E(op, rolecall.Invalid, "limit "+strconv.Itoa(limit), "the limit must be at least 1")
	}
	// One more than asked tells whether the last revision is cut.
	rows, err := s.pool.Query(ctx, cols+`WHERE revision > $1 ORDER BY revision, seq LIMIT $2`, int64(after), limit+1)
	if err != nil {
		return nil, dbErr(op, "", err)
	}
	cs, err := scanChanges(rows)
	if err != nil {
		return nil, dbErr(op, "", err)
	}
	if len(cs) <= limit {
		return cs, nil
	}
	// Drop the revision the limit cut through.
	last := cs[limit].Revision
	n := limit
	for n > 0 && cs[n-1].Revision == last {
		n--
	}
	if n > 0 {
		return cs[:n], nil
	}
	// One revision holds more than limit changes: return all of it.
	rows, err = s.pool.Query(ctx, cols+`WHERE revision = $1 ORDER BY seq`, int64(last))
	if err != nil {
		return nil, dbErr(op, "", err)
	}
	cs, err = scanChanges(rows)
	if err != nil {
		return nil, dbErr(op, "", err)
	}
	return cs, nil
}

func scanChanges(rows pgx.Rows) ([]rolecall.Change, error) {
	defer rows.Close()
	var cs []rolecall.Change
	for rows.Next() {
		var (
			c     rolecall.Change
			rev   int64
			kind  string
			value []byte
		)
		if err := rows.Scan(&rev, &c.Seq, &c.Org, &kind, &c.Key, &c.Deleted, &value, &c.At); err != nil {
			return nil, err
		}
		c.Revision, c.Kind, c.At = rolecall.Revision(rev), rolecall.ObjectKind(kind), c.At.UTC()
		c.Value = value // nil for a deletion
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// Audit page sizes: the default, and the most one page holds.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 1000
)

// Audit lists the audit events of an organization that a query selects,
// newest first. Each filter is a condition on a column of the audit table,
// and an index on the organization, that column and the listing order
// serves the common queries (see migrations/00002_audit_query.sql). Times
// are compared rounded to the microsecond, as AppendAudit stores them and
// PostgreSQL keeps them. A page's cursor is the position of its last event
// in the change log, with a hash of the query, so that it serves that
// query only.
func (s *Store) Audit(ctx context.Context, q rolecall.AuditQuery) ([]rolecall.AuditEvent, string, error) {
	const op = "postgres.Audit"
	if q.Org == "" {
		return nil, "", rolecall.E(op, rolecall.Invalid, "audit query", "has no organization; give the Org whose events to list")
	}
	limit := q.Page.Limit
	if limit < 1 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	sum := querySum(q)
	var a args
	where := []string{"org = " + a.add(q.Org)}
	for _, f := range [][2]string{{"actor", q.Actor}, {"act", q.Act}, {"target", q.Target}} {
		if f[1] != "" {
			where = append(where, f[0]+" = "+a.add(f[1]))
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+a.add(q.Since.Round(time.Microsecond)))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+a.add(q.Until.Round(time.Microsecond)))
	}
	if q.Page.After != "" {
		rev, seq, qsum, ok := parseCursor(q.Page.After)
		if !ok {
			return nil, "", rolecall.E(op, rolecall.Invalid, "cursor "+strconv.Quote(q.Page.After),
				"not a cursor this listing returned; start again with an empty cursor")
		}
		if qsum != sum {
			return nil, "", rolecall.E(op, rolecall.Invalid, "cursor "+strconv.Quote(q.Page.After),
				"was returned for another query (another organization or other filters); use a cursor with the query that returned it, or start again with an empty cursor")
		}
		where = append(where, "(revision, seq) < ("+a.add(rev)+", "+a.add(seq)+")")
	}
	// One more than asked tells whether there is a next page.
	rows, err := s.pool.Query(ctx, `SELECT obj, revision, seq FROM audit WHERE `+strings.Join(where, " AND ")+
		` ORDER BY revision DESC, seq DESC LIMIT `+a.add(limit+1), a...)
	if err != nil {
		return nil, "", dbErr(op, "", err)
	}
	defer rows.Close()
	var (
		events   []rolecall.AuditEvent
		rev      int64
		seq      int
		next     string
		lastRev  int64
		lastSeq  int
		overflow bool
	)
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b, &rev, &seq); err != nil {
			return nil, "", dbErr(op, "", err)
		}
		if len(events) == limit {
			overflow = true
			break
		}
		var e rolecall.AuditEvent
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, "", dbErr(op, "audit event", err)
		}
		events = append(events, e)
		lastRev, lastSeq = rev, seq
	}
	if err := rows.Err(); err != nil {
		return nil, "", dbErr(op, "", err)
	}
	if overflow {
		next = formatCursor(lastRev, lastSeq, sum)
	}
	return events, next, nil
}

// querySum returns what ties a cursor to its query: the first 12 bytes of
// the SHA-256 of the query's selection (its page aside), in hex. Times are
// taken in UTC, so that one instant in two time zones is one query.
func querySum(q rolecall.AuditQuery) string {
	t := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal([]string{q.Org, q.Actor, q.Act, q.Target, t(q.Since), t(q.Until)}) // strings always encode
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:12])
}

// Cursors are "a2.<revision>.<seq>.<query sum>" in unpadded URL-safe
// base64: opaque to callers, and versioned so their form can change. (The
// "a1" cursors before them had no query sum.)
func formatCursor(rev int64, seq int, sum string) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "a2.%d.%d.%s", rev, seq, sum))
}

func parseCursor(s string) (rev int64, seq int, sum string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, 0, "", false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 4 || parts[0] != "a2" {
		return 0, 0, "", false
	}
	rev, err1 := strconv.ParseInt(parts[1], 10, 64)
	seq, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || rev < 1 || seq < 0 {
		return 0, 0, "", false
	}
	return rev, seq, parts[3], true
}

// retry runs fn again when the database reports a serialization failure
// or a deadlock, like Update.
func retry(ctx context.Context, fn func() error) error {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// retryable reports whether err says the transaction lost a race and can
// simply run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// dbErr wraps an error from the database in a rolecall.Error, keeping the
// cause. Errors that are rolecall.Errors already pass through.
func dbErr(op, name string, err error) error {
	var re *rolecall.Error
	if errors.As(err, &re) {
		return err
	}
	kind := errKind(err)
	msg := "the database failed"
	switch kind {
	case rolecall.Unavailable:
		msg = "the database is unavailable; try again"
	case rolecall.Conflict:
		msg = "changed concurrently; try again"
	}
	return &rolecall.Error{Op: op, Kind: kind, Name: name, Msg: msg, Err: err}
}

// errKind classifies an error from pgx.
func errKind(err error) rolecall.Kind {
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return rolecall.Unavailable
	case errors.As(err, &pe):
		switch {
		case pe.Code == "40001" || pe.Code == "40P01":
			return rolecall.Unavailable
		case pe.Code == "23505":
			return rolecall.Conflict
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57"):
			// connection exceptions, insufficient resources, operator intervention
			return rolecall.Unavailable
		}
		return rolecall.Internal
	case pgconn.SafeToRetry(err) || pgconn.Timeout(err):
		return rolecall.Unavailable
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return rolecall.Unavailable
	}
	return rolecall.Internal
}
