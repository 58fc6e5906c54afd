package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/rolecall/rolecall"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a rolecall.Store in one SQLite file. It is safe for concurrent
// use; see the package overview for how writers and readers share the file.
type Store struct {
	path string
	w    *sql.DB // one connection; every transaction begins IMMEDIATE
	r    *sql.DB // query-only connections
}

var _ rolecall.Store = (*Store)(nil)

// busyTimeout is how long SQLite itself waits for a lock another
// connection holds before reporting SQLITE_BUSY. (A variable so tests can
// shorten it.)
var busyTimeout = 2 * time.Second

// synchronous is the durability of a commit: FULL syncs the WAL on every
// commit, so an Update that returned survives a power loss. (NORMAL would
// make a small Update about twice as fast, at the risk of losing the last
// commits, a revocation among them, in a power loss.)
const synchronous = "FULL"

// Open opens the store in the SQLite file at path, creating the file if it
// does not exist, and brings its schema up to date. path is a file path,
// not a URI; ":memory:" is not supported. Close the store when done.
func Open(path string) (*Store, error) {
	const op = "sqlite.Open"
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return nil, rolecall.E(op, rolecall.Invalid, strconv.Quote(path),
			"give the path of a database file (not a URI, and not :memory:); for a throwaway store use a file in a temporary directory")
	}
	params := fmt.Sprintf("?_busy_timeout=%d&_foreign_keys=1&_journal_mode=WAL&_synchronous=%s",
		busyTimeout.Milliseconds(), synchronous)
	w, err := sql.Open("sqlite", path+params+"&_txlock=immediate")
	if err != nil {
		return nil, &rolecall.Error{Op: op, Kind: rolecall.Internal, Name: path, Msg: "cannot set up the database driver", Err: err}
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	s := &Store{path: path, w: w}
	ctx := context.Background()
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, &rolecall.Error{Op: op, Kind: rolecall.FailedPrecondition, Name: path,
			Msg: "cannot open the database file; check that its directory exists and is writable and that it is a SQLite database", Err: err}
	}
	if _, err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, &rolecall.Error{Op: op, Kind: rolecall.FailedPrecondition, Name: path,
			Msg: "cannot bring the schema up to date; is this a rolecall database written by a newer version?", Err: err}
	}
	r, err := sql.Open("sqlite", path+params+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, &rolecall.Error{Op: op, Kind: rolecall.Internal, Name: path, Msg: "cannot set up the database driver", Err: err}
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	return s, nil
}

// migrate applies the embedded migrations that db lacks and reports how
// many it applied.
func migrate(ctx context.Context, db *sql.DB) (int, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	return len(res), err
}

// Close closes the store's connections. A Store must not be used after.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Head returns the latest committed revision.
func (s *Store) Head(ctx context.Context) (rolecall.Revision, error) {
	var rev rolecall.Revision
	if err := s.r.QueryRowContext(ctx, "SELECT revision FROM head").Scan(&rev); err != nil {
		return 0, dbError("sqlite.Head", err)
	}
	return rev, nil
}

// Snapshot returns everything the store holds for building an engine, read
// in one transaction as of the revision it reports. Each slice is ordered
// by key.
func (s *Store) Snapshot(ctx context.Context) (*rolecall.Snapshot, error) {
	const op = "sqlite.Snapshot"
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbError(op, err)
	}
	defer tx.Rollback()
	snap := new(rolecall.Snapshot)
	if err := tx.QueryRowContext(ctx, "SELECT revision FROM head").Scan(&snap.Revision); err != nil {
		return nil, dbError(op, err)
	}
	err = errors.Join(
		readAll(ctx, tx, "scopes", &snap.Scopes),
		readAll(ctx, tx, "users", &snap.Users),
		readAll(ctx, tx, "memberships", &snap.Memberships),
		readAll(ctx, tx, "groups", &snap.Groups),
		readAll(ctx, tx, "group_members", &snap.GroupMembers),
		readAll(ctx, tx, "resources", &snap.Resources),
		readAll(ctx, tx, "roles", &snap.Roles),
		readAll(ctx, tx, "bindings", &snap.Bindings),
		readAll(ctx, tx, "offers", &snap.Offers),
	)
	if err != nil {
		return nil, dbError(op, err)
	}
	return snap, nil
}

// readAll decodes the values of every row of table into out.
func readAll[T any](ctx context.Context, tx *sql.Tx, table string, out *[]T) error {
	rows, err := tx.QueryContext(ctx, "SELECT key, value FROM "+table+" ORDER BY key")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var value []byte
		if err := rows.Scan(&key, &value); err != nil {
			return err
		}
		var v T
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("%s %q: stored value does not decode: %w", table, key, err)
		}
		*out = append(*out, v)
	}
	return rows.Err()
}

// Changes returns the committed changes of the revisions after after, in
// (revision, seq) order: whole revisions, as many as fit in limit changes,
// but at least the first, however many changes it has. limit must be at
// least 1.
func (s *Store) Changes(ctx context.Context, after rolecall.Revision, limit int) ([]rolecall.Change, error) {
	const op = "sqlite.Changes"
	if limit < 1 {
		return nil, rolecall.E(op, rolecall.Invalid, "limit "+strconv.Itoa(limit), "ask for at least one change")
	}
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbError(op, err)
	}
	defer tx.Rollback()
	const cols = "SELECT revision, seq, org, kind, key, deleted, value, at FROM changes "
	cs, err := readChanges(ctx, tx, cols+"WHERE revision > ? ORDER BY revision, seq LIMIT ?", after, limit+1)
	if err != nil {
		return nil, dbError(op, err)
	}
	if len(cs) <= limit {
		return cs, nil
	}
	// Drop the revision that did not fit whole.
	cut := cs[limit].Revision
	for len(cs) > 0 && cs[len(cs)-1].Revision == cut {
		cs = cs[:len(cs)-1]
	}
	if len(cs) > 0 {
		return cs, nil
	}
	// The first revision alone has more than limit changes: return it whole.
	cs, err = readChanges(ctx, tx, cols+"WHERE revision = ? ORDER BY seq", cut)
	if err != nil {
		return nil, dbError(op, err)
	}
	return cs, nil
}

func readChanges(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]rolecall.Change, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []rolecall.Change
	for rows.Next() {
		var c rolecall.Change
		var value []byte
		var at int64
		if err := rows.Scan(&c.Revision, &c.Seq, &c.Org, &c.Kind, &c.Key, &c.Deleted, &value, &at); err != nil {
			return nil, err
		}
		if value != nil {
			c.Value = json.RawMessage(value)
		}
		c.At = time.Unix(0, at).UTC()
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

const (
	defaultAuditPage = 100
	maxAuditPage     = 1000
)

// Audit lists an organization's audit events, newest first. A page has at
// most p.Limit events (100 when Limit ≤ 0, at most 1000); next is the
// cursor of the following page, empty after the last.
func (s *Store) Audit(ctx context.Context, org string, p rolecall.Page) ([]rolecall.AuditEvent, string, error) {
	const op = "sqlite.Audit"
	limit := p.Limit
	if limit <= 0 {
		limit = defaultAuditPage
	}
	limit = min(limit, maxAuditPage)
	query := "SELECT revision, seq, value FROM audit WHERE org = ? ORDER BY revision DESC, seq DESC LIMIT ?"
	args := []any{org, limit + 1}
	if p.After != "" {
		rev, seq, ok := decodeCursor(p.After)
		if !ok {
			return nil, "", rolecall.E(op, rolecall.Invalid, "cursor "+strconv.Quote(p.After),
				"does not decode; pass the next cursor of the previous page, or an empty one for the first page")
		}
		query = "SELECT revision, seq, value FROM audit WHERE org = ? AND (revision, seq) < (?, ?) ORDER BY revision DESC, seq DESC LIMIT ?"
		args = []any{org, rev, seq, limit + 1}
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", dbError(op, err)
	}
	defer rows.Close()
	var events []rolecall.AuditEvent
	var rev, seq int64
	next := ""
	for rows.Next() {
		if len(events) == limit {
			next = encodeCursor(rev, seq)
			break
		}
		var value []byte
		if err := rows.Scan(&rev, &seq, &value); err != nil {
			return nil, "", dbError(op, err)
		}
		var e rolecall.AuditEvent
		if err := json.Unmarshal(value, &e); err != nil {
			return nil, "", &rolecall.Error{Op: op, Kind: rolecall.Internal, Name: "audit event at revision " + strconv.FormatInt(rev, 10),
				Msg: "stored value does not decode", Err: err}
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", dbError(op, err)
	}
	return events, next, nil
}

// A cursor is the position (revision and seq) of the last event of a
// page, as "a.<revision>.<seq>" in URL-safe base64.
func encodeCursor(rev, seq int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "a.%d.%d", rev, seq))
}

func decodeCursor(c string) (rev, seq int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 || parts[0] != "a" {
		return 0, 0, false
	}
	rev, err1 := strconv.ParseInt(parts[1], 10, 64)
	seq, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || rev < 0 || seq < 0 {
		return 0, 0, false
	}
	return rev, seq, true
}

// dbError classifies an error the database returned.
func dbError(op string, err error) error {
	var se *sqlite.Error
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return &rolecall.Error{Op: op, Kind: rolecall.Unavailable, Msg: "the request ended before the database finished", Err: err}
	case isBusy(err):
		return &rolecall.Error{Op: op, Kind: rolecall.Unavailable, Msg: "the database is locked by another writer; try again", Err: err}
	case errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return &rolecall.Error{Op: op, Kind: rolecall.FailedPrecondition,
			Msg: "the change would leave a reference to a missing object; create what it refers to, or remove what refers to it, first", Err: err}
	}
	return &rolecall.Error{Op: op, Kind: rolecall.Internal, Msg: "the database failed", Err: err}
}

// isBusy reports whether err is SQLite's "the database is locked": another
// connection holds a lock this one needs.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}
