-- Audit queries and LastChange.
--
-- The audit table gains the event's actor, act, target and time (Unix
-- nanoseconds, as changes.at) as columns, so that Audit filters in SQL,
-- and indexes that list an organization's events with a given actor, act
-- or target newest first without reading the others. Existing rows are
-- filled in from their JSON value.
--
-- The change log gains an index on (kind, key, revision): LastChange reads
-- the newest change of one object.
--
-- The backfill uses SQLite's JSON and date functions; the rest keeps to
-- SQL that PostgreSQL also runs.

-- +goose Up

ALTER TABLE audit ADD COLUMN actor  TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN act    TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN target TEXT    NOT NULL DEFAULT '';
ALTER TABLE audit ADD COLUMN at     INTEGER NOT NULL DEFAULT 0;

-- The JSON time is Go's RFC 3339 with nanoseconds,
-- "2006-01-02T15:04:05.999999999Z07:00": the whole seconds come from the
-- date and time before the fraction with the zone (Z or ±hh:mm) after it,
-- the nanoseconds from the fraction's digits, padded to nine.
UPDATE audit SET
	actor  = coalesce(json_extract(value, '$.actor'), ''),
	act    = coalesce(json_extract(value, '$.act'), ''),
	target = coalesce(json_extract(value, '$.target'), '');
UPDATE audit SET at =
	CAST(strftime('%s', substr(j.s, 1, 19) || j.zone) AS INTEGER) * 1000000000
	+ CASE WHEN substr(j.s, 20, 1) = '.'
		THEN CAST(substr(substr(j.s, 21, length(j.s) - 20 - length(j.zone)) || '000000000', 1, 9) AS INTEGER)
		ELSE 0 END
FROM (
	SELECT key, s, CASE WHEN substr(s, -1) = 'Z' THEN 'Z' ELSE substr(s, -6) END AS zone
	FROM (SELECT key, json_extract(value, '$.at') AS s FROM audit WHERE json_type(value, '$.at') = 'text')
) AS j
WHERE audit.key = j.key;

CREATE INDEX audit_actor ON audit (org, actor, revision, seq);
CREATE INDEX audit_act ON audit (org, act, revision, seq);
CREATE INDEX audit_target ON audit (org, target, revision, seq);

CREATE INDEX changes_object ON changes (kind, key, revision);

-- +goose Down
DROP INDEX changes_object;
DROP INDEX audit_target;
DROP INDEX audit_act;
DROP INDEX audit_actor;
ALTER TABLE audit DROP COLUMN at;
ALTER TABLE audit DROP COLUMN target;
ALTER TABLE audit DROP COLUMN act;
ALTER TABLE audit DROP COLUMN actor;
