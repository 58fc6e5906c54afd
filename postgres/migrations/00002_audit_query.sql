-- Audit queries and LastChange. Audit events get the columns they are
-- selected by (actor, act, target, at), copied from the event's JSON, and
-- an index for each filter that keeps an organization's events in listing
-- order (newest first), so that a page of a filtered listing reads about a
-- page of rows. The change log gets an index by object, so that the last
-- change to one object is one index lookup.
--
-- CockroachDB cannot fill a column in the transaction that adds it, so
-- this migration runs statement by statement, and every statement can run
-- again should one fail half way.

-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE audit ADD COLUMN IF NOT EXISTS actor text NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN IF NOT EXISTS act text NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN IF NOT EXISTS target text NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN IF NOT EXISTS at timestamptz;

UPDATE audit SET
    actor  = COALESCE(obj::jsonb ->> 'actor', ''),
    act    = COALESCE(obj::jsonb ->> 'act', ''),
    target = COALESCE(obj::jsonb ->> 'target', ''),
    at     = (obj::jsonb ->> 'at')::timestamptz
WHERE at IS NULL;
ALTER TABLE audit ALTER COLUMN at SET NOT NULL;

CREATE INDEX IF NOT EXISTS audit_actor ON audit (org, actor, revision DESC, seq DESC);
CREATE INDEX IF NOT EXISTS audit_act ON audit (org, act, revision DESC, seq DESC);
CREATE INDEX IF NOT EXISTS audit_target ON audit (org, target, revision DESC, seq DESC);
CREATE INDEX IF NOT EXISTS audit_at ON audit (org, at);

CREATE INDEX IF NOT EXISTS changes_object ON changes (kind, key, revision);

-- +goose Down
DROP INDEX IF EXISTS changes_object;
DROP INDEX IF EXISTS audit_at;
DROP INDEX IF EXISTS audit_target;
DROP INDEX IF EXISTS audit_act;
DROP INDEX IF EXISTS audit_actor;
ALTER TABLE audit DROP COLUMN IF EXISTS at;
ALTER TABLE audit DROP COLUMN IF EXISTS target;
ALTER TABLE audit DROP COLUMN IF EXISTS act;
ALTER TABLE audit DROP COLUMN IF EXISTS actor;
