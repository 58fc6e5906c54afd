-- The store's schema: one table per kind of object, each with its key, its
-- organization, its JSON value and the columns its references need; the
-- change log; the head revision; the audit log.
--
-- Keep to SQL that PostgreSQL also runs: the PostgreSQL store follows the
-- same layout.

-- +goose Up

-- head holds one row: the latest committed revision.
CREATE TABLE head (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	revision INTEGER NOT NULL
);
INSERT INTO head (id, revision) VALUES (1, 0);

-- changes is the change log: every object created, replaced or deleted, in
-- (revision, seq) order. value is the object's JSON after the change, NULL
-- for a deletion; at is the commit time in Unix nanoseconds.
CREATE TABLE changes (
	revision INTEGER NOT NULL,
	seq      INTEGER NOT NULL,
	org      TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	key      TEXT    NOT NULL,
	deleted  INTEGER NOT NULL,
	value    TEXT,
	at       INTEGER NOT NULL,
	PRIMARY KEY (revision, seq)
);

CREATE TABLE scopes (
	key    TEXT PRIMARY KEY,
	org    TEXT NOT NULL,
	parent TEXT REFERENCES scopes (key),
	value  TEXT NOT NULL
);
CREATE INDEX scopes_parent ON scopes (parent);

CREATE TABLE users (
	key   TEXT PRIMARY KEY,
	org   TEXT NOT NULL,
	value TEXT NOT NULL
);

CREATE TABLE memberships (
	key     TEXT PRIMARY KEY,
	org     TEXT NOT NULL,
	user_id TEXT NOT NULL REFERENCES users (key),
	scope   TEXT NOT NULL REFERENCES scopes (key),
	value   TEXT NOT NULL
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_scope ON memberships (scope);

CREATE TABLE groups (
	key   TEXT PRIMARY KEY,
	org   TEXT NOT NULL,
	scope TEXT NOT NULL REFERENCES scopes (key),
	value TEXT NOT NULL
);
CREATE INDEX groups_scope ON groups (scope);

CREATE TABLE group_members (
	key      TEXT PRIMARY KEY,
	org      TEXT NOT NULL,
	group_id TEXT NOT NULL REFERENCES groups (key),
	user_id  TEXT NOT NULL REFERENCES users (key),
	value    TEXT NOT NULL
);
CREATE INDEX group_members_group ON group_members (group_id);
CREATE INDEX group_members_user ON group_members (user_id);

-- A resource lives in a scope or under a parent resource.
CREATE TABLE resources (
	key    TEXT PRIMARY KEY,
	org    TEXT NOT NULL,
	scope  TEXT REFERENCES scopes (key),
	parent TEXT REFERENCES resources (key),
	value  TEXT NOT NULL
);
CREATE INDEX resources_scope ON resources (scope);
CREATE INDEX resources_parent ON resources (parent);

-- The groups a resource is assigned to and the resources it is built from.
CREATE TABLE resource_groups (
	resource TEXT NOT NULL REFERENCES resources (key),
	group_id TEXT NOT NULL REFERENCES groups (key),
	PRIMARY KEY (resource, group_id)
);
CREATE INDEX resource_groups_group ON resource_groups (group_id);

CREATE TABLE resource_inputs (
	resource TEXT NOT NULL REFERENCES resources (key),
	input    TEXT NOT NULL REFERENCES resources (key),
	PRIMARY KEY (resource, input)
);
CREATE INDEX resource_inputs_input ON resource_inputs (input);

-- A custom role's org is the organization that owns it; scope, when set, a
-- node below it that owns the role instead.
CREATE TABLE roles (
	key   TEXT PRIMARY KEY,
	org   TEXT NOT NULL REFERENCES scopes (key),
	scope TEXT REFERENCES scopes (key),
	value TEXT NOT NULL
);
CREATE INDEX roles_org ON roles (org);
CREATE INDEX roles_scope ON roles (scope);

-- A binding's subject is a user or a group; it sits at a scope or on a
-- resource.
CREATE TABLE bindings (
	key      TEXT PRIMARY KEY,
	org      TEXT NOT NULL,
	user_id  TEXT REFERENCES users (key),
	group_id TEXT REFERENCES groups (key),
	scope    TEXT REFERENCES scopes (key),
	resource TEXT REFERENCES resources (key),
	value    TEXT NOT NULL
);
CREATE INDEX bindings_user ON bindings (user_id);
CREATE INDEX bindings_group ON bindings (group_id);
CREATE INDEX bindings_scope ON bindings (scope);
CREATE INDEX bindings_resource ON bindings (resource);

CREATE TABLE offers (
	key       TEXT PRIMARY KEY,
	org       TEXT NOT NULL,
	resource  TEXT NOT NULL REFERENCES resources (key),
	recipient TEXT NOT NULL REFERENCES users (key),
	value     TEXT NOT NULL
);
CREATE INDEX offers_resource ON offers (resource);
CREATE INDEX offers_recipient ON offers (recipient);

CREATE TABLE invitations (
	key   TEXT PRIMARY KEY,
	org   TEXT NOT NULL,
	scope TEXT NOT NULL REFERENCES scopes (key),
	value TEXT NOT NULL
);
CREATE INDEX invitations_scope ON invitations (scope);

CREATE TABLE domains (
	key   TEXT PRIMARY KEY,
	org   TEXT NOT NULL REFERENCES scopes (key),
	value TEXT NOT NULL
);
CREATE INDEX domains_org ON domains (org);

-- audit is the audit log, listed per organization newest first: by
-- revision, then by the event's place (seq) in its revision's changes.
CREATE TABLE audit (
	key      TEXT PRIMARY KEY,
	org      TEXT NOT NULL,
	revision INTEGER NOT NULL,
	seq      INTEGER NOT NULL,
	value    TEXT NOT NULL
);
CREATE INDEX audit_org ON audit (org, revision, seq);

-- +goose Down
DROP TABLE audit;
DROP TABLE domains;
DROP TABLE invitations;
DROP TABLE offers;
DROP TABLE bindings;
DROP TABLE roles;
DROP TABLE resource_inputs;
DROP TABLE resource_groups;
DROP TABLE resources;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE scopes;
DROP TABLE changes;
DROP TABLE head;
