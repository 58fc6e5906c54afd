// Package postgres is rolecall's Store on PostgreSQL, for several replicas
// sharing one database. It keeps to the SQL that CockroachDB also speaks:
// no LISTEN/NOTIFY, no advisory locks, and every write transaction is
// retried when the database reports a serialization failure (SQLSTATE
// 40001) or a deadlock (40P01).
//
// Open applies the embedded migrations (migrations/*.sql, with goose) and
// returns a Store backed by a pgx connection pool.
//
// Each kind of object has its own table: its key, its organization, the
// object as JSON, and the columns its references are checked by. Every
// write also appends a row to the change log (changes), which replicas
// follow by revision. Writers serialize on the one row of the head table:
// a transaction's first statement increments the head revision and so both
// takes the transaction's revision and holds the row until commit. Commit
// order is therefore revision order, and a reader of the change log never
// sees revision n+1 while n is still to commit. API keys, credentials
// rather than authorization data, have a table (api_keys) but no change:
// a transaction that writes only keys commits them with the head row put
// back, so the revision does not advance. The console's credentials and
// sessions (Store is also a rolecall.Credentials) are kept the same way,
// in tables of their own (credentials, sessions), but written outside
// Update, without the head row.
//
// Store is also a rolecall.Loader: Load writes a whole snapshot of objects
// (an import, the first load of an organization) in one transaction, with
// the checks and the change log of the equivalent Update, but with one
// COPY per table instead of round trips per object.
package postgres
