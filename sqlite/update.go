package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rolecall/rolecall"
)

// Retries of an Update that finds the database locked by another process
// (after SQLite's own busy timeout): at most maxAttempts attempts, waiting
// firstBackoff, then twice as long each time up to maxBackoff, with jitter.
const (
	maxAttempts  = 5
	firstBackoff = 5 * time.Millisecond
	maxBackoff   = 200 * time.Millisecond
)

// Update runs fn in one write transaction and commits it at the revision
// after the head, returning that revision. If fn returns an error, nothing
// is written and Update returns that error. If fn writes nothing, nothing
// is committed and Update returns the current head. If fn writes only API
// keys, which log no change, they are committed and Update returns the
// current head: the revision advances only with a logged change.
//
// Writers in one process queue for the store's one write connection. When
// another process holds the database's write lock, Update waits for it,
// then runs fn again from the start, a few times, before failing with
// Unavailable; so fn must have no effects outside the transaction.
//
// The Tx given to fn is valid only until fn returns.
func (s *Store) Update(ctx context.Context, fn func(rolecall.Tx) error) (rolecall.Revision, error) {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		rev, busy, err := s.update(ctx, fn)
		if !busy {
			return rev, err
		}
		if attempt == maxAttempts {
			return 0, &rolecall.Error{Op: "sqlite.Update", Kind: rolecall.Unavailable, Name: s.path,
				Msg: "another process kept the database locked through every attempt; try again later", Err: err}
		}
		wait := backoff/2 + rand.N(backoff)
		select {
		case <-ctx.Done():
			return 0, dbError("sqlite.Update", ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// update makes one attempt at an Update. busy reports that it failed
// because another connection held the write lock, so it may be retried.
func (s *Store) update(ctx context.Context, fn func(rolecall.Tx) error) (rev rolecall.Revision, busy bool, err error) {
	const op = "sqlite.Update"
	sqlTx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock now
	if err != nil {
		return 0, isBusy(err), dbError(op, err)
	}
	t := &tx{ctx: ctx, tx: sqlTx, at: time.Now().UTC()}
	defer func() {
		t.mu.Lock()
		t.done = true
		t.mu.Unlock()
		if t.tx != nil {
			sqlTx.Rollback()
		}
	}()
	var head rolecall.Revision
	if err := sqlTx.QueryRowContext(ctx, "SELECT revision FROM head").Scan(&head); err != nil {
		return 0, isBusy(err), dbError(op, err)
	}
	t.rev = head + 1
	fnErr := fn(t)
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.err != nil: // a database failure inside fn
		return 0, isBusy(t.err), dbError(op, t.err)
	case fnErr != nil:
		return 0, false, fnErr
	case t.seq == 0 && !t.unlogged: // nothing written
		return head, false, nil
	}
	rev = head // only API keys written: commit them at the head
	if t.seq > 0 {
		rev = t.rev
		if _, err := sqlTx.ExecContext(ctx, "UPDATE head SET revision = ?", rev); err != nil {
			return 0, isBusy(err), dbError(op, err)
		}
	}
	if err := sqlTx.Commit(); err != nil {
		t.tx = nil
		return 0, isBusy(err), dbError(op, err)
	}
	t.tx = nil
	return rev, false, nil
}

// tx is one write transaction: a rolecall.Tx over a database transaction.
type tx struct {
	ctx context.Context
	rev rolecall.Revision
	at  time.Time // commit time of every change

	mu  sync.Mutex // serializes calls, in case fn shares its Tx between goroutines
	tx  *sql.Tx    // nil once committed
	seq int        // changes logged so far
	// unlogged reports writes that log no change (API keys): they are
	// committed even when seq is 0, without advancing the revision.
	unlogged bool
	err      error // the first database failure: the transaction can only roll back
	done     bool  // Update has returned
	// stmts caches the transaction's prepared statements by query text, so
	// a batch of writes prepares each statement once; they close with the
	// transaction.
	stmts map[string]*sql.Stmt
	// orgs remembers the organization of rows this transaction has read or
	// written (by table and key), so a batch of writes referring to the
	// same scopes and users reads each once. Anything that deletes or
	// moves rows empties it.
	orgs map[rowKey]string
}

// rowKey names one row: its table and key.
type rowKey struct{ table, key string }

// orgOf reads the organization of a row, from memory when this
// transaction has seen the row already.
func (t *tx) orgOf(table, key string) (string, bool, error) {
	if org, ok := t.orgs[rowKey{table, key}]; ok {
		return org, true, nil
	}
	org, ok, err := t.lookup("SELECT org FROM "+table+" WHERE key = ?", key)
	if ok {
		t.remember(table, key, org)
	}
	return org, ok, err
}

// remember records the organization of a row just read or written.
func (t *tx) remember(table, key, org string) {
	if t.orgs == nil {
		t.orgs = map[rowKey]string{}
	}
	t.orgs[rowKey{table, key}] = org
}

// forget empties the memory of rows' organizations, before rows are
// deleted or moved.
func (t *tx) forget() { clear(t.orgs) }

// stmt returns the transaction's prepared statement for query.
func (t *tx) stmt(query string) (*sql.Stmt, error) {
	if st, ok := t.stmts[query]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(t.ctx, query)
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st
	return st, nil
}

func (t *tx) Revision() rolecall.Revision { return t.rev }

// run runs one Tx method: it refuses once Update has returned or the
// database has failed, and records a database failure of f.
func (t *tx) run(op string, f func() error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return rolecall.E(op, rolecall.FailedPrecondition, "", "the transaction has ended (its Update returned); make every change inside the function given to Update")
	}
	if t.err != nil {
		return &rolecall.Error{Op: op, Kind: rolecall.Internal, Msg: "an earlier database failure aborted this transaction", Err: t.err}
	}
	err := f()
	if dbErr, ok := err.(databaseError); ok {
		t.err = dbErr.err
		return dbError(op, dbErr.err)
	}
	return err
}

// databaseError marks a failure of the database itself, as opposed to a
// refused change; it aborts the transaction.
type databaseError struct{ err error }

func (e databaseError) Error() string { return e.err.Error() }

// exec runs a statement in the transaction.
func (t *tx) exec(query string, args ...any) error {
	st, err := t.stmt(query)
	if err == nil {
		_, err = st.ExecContext(t.ctx, args...)
	}
	if err != nil {
		return databaseError{err}
	}
	return nil
}

// insert runs an INSERT in the transaction; a row whose key is taken is
// reported by taken (the statement is undone, the transaction goes on).
func (t *tx) insert(query string, args ...any) (taken bool, err error) {
	st, err := t.stmt(query)
	if err == nil {
		_, err = st.ExecContext(t.ctx, args...)
	}
	var se *sqlite.Error
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true, nil
	}
	return false, databaseError{err}
}

// lookup reads one row's column; ok is false when there is no such row.
func (t *tx) lookup(query string, args ...any) (value string, ok bool, err error) {
	var v sql.NullString
	st, err := t.stmt(query)
	if err != nil {
		return "", false, databaseError{err}
	}
	switch err := st.QueryRowContext(t.ctx, args...).Scan(&v); err {
	case nil:
		return v.String, true, nil
	case sql.ErrNoRows:
		return "", false, nil
	default:
		return "", false, databaseError{err}
	}
}

// log appends one change to the change log.
func (t *tx) log(kind rolecall.ObjectKind, key, org string, value []byte) error {
	var v any // NULL for a deletion
	if value != nil {
		v = string(value)
	}
	err := t.exec("INSERT INTO changes (revision, seq, org, kind, key, deleted, value, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		t.rev, t.seq, org, string(kind), key, value == nil, v, t.at.UnixNano())
	if err == nil {
		t.seq++
	}
	return err
}

// query reads every row a query returns, each column as a string (NULL
// as "").
func (t *tx) query(query string, args ...any) ([][]string, error) {
	st, err := t.stmt(query)
	if err != nil {
		return nil, databaseError{err}
	}
	rows, err := st.QueryContext(t.ctx, args...)
	if err != nil {
		return nil, databaseError{err}
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, databaseError{err}
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, databaseError{err}
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, databaseError{err}
	}
	return out, nil
}
