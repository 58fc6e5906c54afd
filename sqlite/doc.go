// Package sqlite is rolecall's embedded storage: a rolecall.Store in one
// SQLite file, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// Open takes the path of a database file and creates it when missing; an
// in-memory database is not supported (readers and the writer need
// separate connections to one database), so tests use a file in
// t.TempDir(). The schema is embedded (migrations/*.sql) and brought up to
// date by Open with goose.
//
// The file is in WAL mode with foreign keys on. Writes go through one
// connection, and every Update takes the write lock when it begins (BEGIN
// IMMEDIATE), so in one process writers queue rather than fail; when
// another process holds the lock, Update waits for it and retries with a
// bounded backoff, then reports Unavailable. Readers use their own
// connections and see only committed transactions, each read as of one
// revision. Commits are durable when Update returns (synchronous=FULL).
//
// Every object is stored as its JSON beside its key, its organization and
// the columns its references need; the store checks references itself
// (for errors that name the objects) and the foreign keys stand behind it.
// API keys, and the console's credentials and sessions (Store is also a
// rolecall.Credentials), have tables of their own: they are not
// authorization data, so they log no change and are in no snapshot.
// storetest.Run states the semantics every Store shares.
package sqlite
