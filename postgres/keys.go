package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rolecall/rolecall"
)

// This file holds API keys: credentials, not authorization data. Their
// writes are checked like other objects' but log no change, so they do not
// advance the revision on their own (see update), and they are in no
// snapshot. They live in the api_keys table (migrations/00003_api_keys.sql).

// kindAPIKey names API keys in messages. It is not a kind of stored object:
// API keys have no place in the change log, Get, Find or Delete.
const kindAPIKey rolecall.ObjectKind = "api key"

// CreateAPIKey stores a key, with a new ID when it has none.
func (t *tx) CreateAPIKey(k *rolecall.APIKey) error {
	const op = "postgres.CreateAPIKey"
	if err := t.usable(op); err != nil {
		return err
	}
	if k == nil {
		return rolecall.E(op, rolecall.Invalid, string(kindAPIKey), "no API key given")
	}
	n := *k
	if n.ID == "" {
		n.ID = newID()
	}
	o := &object{kind: kindAPIKey, key: n.ID, org: n.Org}
	invalid := func(msg string) error { return rolecall.E(op, rolecall.Invalid, name(o.kind, o.key), msg) }
	switch {
	case n.Org != "" && n.User == "":
		return invalid(fmt.Sprintf("is a key of organization %q but has no user; an organization's key acts as one of its users", n.Org))
	case n.Org == "" && n.User != "":
		return invalid(fmt.Sprintf("is an operator's key (it has no organization) but has user %q; give it the user's organization, or no user", n.User))
	case len(n.Hash) == 0:
		return invalid("has no hash of its secret")
	}
	if n.Org != "" {
		if err := needOrg(t, op, o, n.Org); err != nil {
			return err
		}
		if _, err := need(t, op, o, rolecall.ObjUser, n.User); err != nil {
			return err
		}
	}
	// ON CONFLICT DO NOTHING rather than a failing insert, as in create:
	// a failed statement would abort the whole transaction.
	tag, err := t.tx.Exec(t.ctx, `INSERT INTO api_keys (id, org, user_id, name, hash, created, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		n.ID, n.Org, n.User, n.Name, n.Hash, n.Created.Round(time.Microsecond), nullTime(n.Revoked))
	if err != nil {
		return t.fail(op, name(o.kind, o.key), err)
	}
	if tag.RowsAffected() == 0 {
		return rolecall.E(op, rolecall.Conflict, name(o.kind, o.key), "already exists")
	}
	t.keys = true
	k.ID = n.ID
	return nil
}

// RevokeAPIKey marks a key revoked at a time (the transaction's when at is
// zero), unless it is revoked already.
func (t *tx) RevokeAPIKey(id string, at time.Time) error {
	const op = "postgres.RevokeAPIKey"
	if err := t.usable(op); err != nil {
		return err
	}
	if at.IsZero() {
		at = t.at
	}
	tag, err := t.tx.Exec(t.ctx, `UPDATE api_keys SET revoked = COALESCE(revoked, $2) WHERE id = $1`,
		id, at.Round(time.Microsecond))
	if err != nil {
		return t.fail(op, name(kindAPIKey, id), err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(op, kindAPIKey, id)
	}
	t.keys = true
	return nil
}

// nullTime turns the zero time into NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Round(time.Microsecond)
}

const apiKeyCols = `SELECT id, org, user_id, name, hash, created, revoked FROM api_keys `

// APIKey reads a key by ID.
func (s *Store) APIKey(ctx context.Context, id string) (rolecall.APIKey, bool, error) {
	const op = "postgres.APIKey"
	rows, err := s.pool.Query(ctx, apiKeyCols+`WHERE id = $1`, id)
	if err != nil {
		return rolecall.APIKey{}, false, dbErr(op, name(kindAPIKey, id), err)
	}
	k, err := pgx.CollectExactlyOneRow(rows, scanAPIKey)
	if errors.Is(err, pgx.ErrNoRows) {
		return rolecall.APIKey{}, false, nil
	}
	if err != nil {
		return rolecall.APIKey{}, false, dbErr(op, name(kindAPIKey, id), err)
	}
	return k, true, nil
}

// APIKeys lists an organization's keys ("" for the operator's), revoked
// ones included, in byte order of their IDs whatever the database's
// collation.
func (s *Store) APIKeys(ctx context.Context, org string) ([]rolecall.APIKey, error) {
	const op = "postgres.APIKeys"
	rows, err := s.pool.Query(ctx, apiKeyCols+`WHERE org = $1 ORDER BY id COLLATE "C"`, org)
	if err != nil {
		return nil, dbErr(op, "", err)
	}
	ks, err := pgx.CollectRows(rows, scanAPIKey)
	if err != nil {
		return nil, dbErr(op, "", err)
	}
	return ks, nil
}

func scanAPIKey(row pgx.CollectableRow) (rolecall.APIKey, error) {
	var (
		k       rolecall.APIKey
		revoked *time.Time
	)
	if err := row.Scan(&k.ID, &k.Org, &k.User, &k.Name, &k.Hash, &k.Created, &revoked); err != nil {
		return rolecall.APIKey{}, err
	}
	k.Created = k.Created.UTC()
	if revoked != nil {
		k.Revoked = revoked.UTC()
	}
	return k, nil
}
