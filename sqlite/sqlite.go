package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
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
	// the writer keeps 16 MiB of pages (SQLite's default is 2 MiB): a bulk
	// write touches the same index pages again and again; 64 MiB was no
	// faster on rbac-dp and cost 87 MiB more memory
	w, err := sql.Open("sqlite", path+params+"&_txlock=immediate&_pragma=cache_size(-16384)")
	if err != nil {
		return nil, &rolecall.Error{Op: op, Kind: rolecall.Internal, Name: path, Msg: "cannot set up the database driver", Err: err}
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	s := &Store{path: path, w: w}
	ctx := context.Background()
	// the first connection to a new file turns on WAL, which takes the
	// file's lock; openers of the same new file at once may find it taken
	// before their busy timeout applies, so they try again a few times
	err = w.PingContext(ctx)
	for attempt := 1; isBusy(err) && attempt < migrateAttempts; attempt++ {
		time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
		err = w.PingContext(ctx)
	}
	if err != nil {
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

// migrateAttempts bounds how often migrate starts over when another
// process is migrating the same file at the same time.
const migrateAttempts = 5

// migrate applies the embedded migrations that db lacks and reports how
// many it applied.
//
// Two processes opening a new file at once (a server and a CLI, say) both
// see the same missing migrations; each migration is one transaction, so
// one of them wins and the other fails on the tables the first created.
// migrate then reads the version again and applies only what is still
// missing, a few times, before it reports the failure.
func migrate(ctx context.Context, db *sql.DB) (int, error) {
	dir, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, dir, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, err
	}
	applied := 0
	for attempt := 1; ; attempt++ {
		res, err := p.Up(ctx)
		applied += len(res)
		if partial := (*goose.PartialError)(nil); errors.As(err, &partial) {
			applied += len(partial.Applied)
		}
		if err == nil || attempt == migrateAttempts || ctx.Err() != nil {
			return applied, err
		}
		time.Sleep(time.Duration(attempt) * 50 * time.Millisecond)
	}
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

// Audit lists the audit events of q.Org that q selects, newest first: each
// field of q given must match exactly, Since is inclusive and Until
// exclusive on the event's At. A page has at most q.Page.Limit events (100
// when Limit ≤ 0, at most 1000); next is the cursor of the following page,
// empty after the last. A cursor serves only the query that made it.
func (s *Store) Audit(ctx context.Context, q rolecall.AuditQuery) ([]rolecall.AuditEvent, string, error) {
	const op = "sqlite.Audit"
	if q.Org == "" {
		return nil, "", rolecall.E(op, rolecall.Invalid, "audit query", "has no organization; give the Org whose events to list")
	}
	limit := q.Page.Limit
	if limit <= 0 {
		limit = defaultAuditPage
	}
	limit = min(limit, maxAuditPage)
	// Each filter given narrows the walk down the index of org and that
	// column, newest first (see migrations); the times filter that walk.
	where := []string{"org = ?"}
	args := []any{q.Org}
	for _, f := range [...]struct{ col, value string }{{"actor", q.Actor}, {"act", q.Act}, {"target", q.Target}} {
		if f.value != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.value)
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, unixNano(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, unixNano(q.Until))
	}
	sum := querySum(q)
	if q.Page.After != "" {
		rev, seq, ok := decodeCursor(q.Page.After, sum)
		if !ok {
			return nil, "", rolecall.E(op, rolecall.Invalid, "cursor "+strconv.Quote(q.Page.After),
				"does not decode, or was made by another query; pass the next cursor of the previous page of the same query, or an empty one for the first page")
		}
		where = append(where, "(revision, seq) < (?, ?)")
		args = append(args, rev, seq)
	}
	args = append(args, limit+1)
	query := "SELECT revision, seq, value FROM audit WHERE " + strings.Join(where, " AND ") +
		" ORDER BY revision DESC, seq DESC LIMIT ?"
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
			next = encodeCursor(rev, seq, sum)
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

// unixNano returns t in Unix nanoseconds, as the audit table's at column
// holds it, clamped to the range an int64 holds (years 1678 to 2262).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// querySum returns the digest of what an audit query selects (its paging
// aside), which ties a cursor to its query: 12 bytes of SHA-256, in
// URL-safe base64.
func querySum(q rolecall.AuditQuery) string {
	bound := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return strconv.FormatInt(unixNano(t), 10)
	}
	h := sha256.New()
	for _, f := range []string{q.Org, q.Actor, q.Act, q.Target, bound(q.Since), bound(q.Until)} {
		h.Write(strconv.AppendQuote(nil, f))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// A cursor is the position (revision and seq) of the last event of a page
// and the digest of the page's query, as "a.<revision>.<seq>.<digest>" in
// URL-safe base64.
func encodeCursor(rev, seq int64, sum string) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "a.%d.%d.%s", rev, seq, sum))
}

// decodeCursor returns the position in cursor c; ok is false when c does
// not decode or was made by a query with another digest than sum.
func decodeCursor(c, sum string) (rev, seq int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, false
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 4 || parts[0] != "a" || parts[3] != sum {
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

// APIKey reads the API key with an ID; found is false when there is none.
func (s *Store) APIKey(ctx context.Context, id string) (rolecall.APIKey, bool, error) {
	const op = "sqlite.APIKey"
	keys, err := s.readAPIKeys(ctx, "WHERE id = ?", id)
	if err != nil {
		return rolecall.APIKey{}, false, dbError(op, err)
	}
	if len(keys) == 0 {
		return rolecall.APIKey{}, false, nil
	}
	return keys[0], true, nil
}

// APIKeys lists the API keys of an organization ("" for the operator's),
// revoked ones included, by ID in byte order.
func (s *Store) APIKeys(ctx context.Context, org string) ([]rolecall.APIKey, error) {
	const op = "sqlite.APIKeys"
	keys, err := s.readAPIKeys(ctx, "WHERE org = ? ORDER BY id COLLATE BINARY", org)
	if err != nil {
		return nil, dbError(op, err)
	}
	return keys, nil
}

// readAPIKeys reads the API keys the rest of a query (its WHERE clause and
// order) selects.
func (s *Store) readAPIKeys(ctx context.Context, rest string, args ...any) ([]rolecall.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT id, org, user_id, name, hash, created, revoked FROM api_keys "+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []rolecall.APIKey
	for rows.Next() {
		var k rolecall.APIKey
		var user sql.NullString
		var created, revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Org, &user, &k.Name, &k.Hash, &created, &revoked); err != nil {
			return nil, err
		}
		k.User = user.String
		if created.Valid {
			k.Created = time.Unix(0, created.Int64).UTC()
		}
		if revoked.Valid {
			k.Revoked = time.Unix(0, revoked.Int64).UTC()
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
