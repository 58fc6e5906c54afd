-- The store's schema: one table per kind of object, the change log, and
-- the head revision. Every object table has the object's key (see the Key
-- methods in store.go), the organization it belongs to ('' for users), the
-- object itself as JSON, and the columns its references are checked and
-- looked up by. The change log and the audit log keep JSON as text, byte
-- for byte as written: jsonb would reorder the keys of the JSON that
-- callers put in audit events (Before, After). The store checks references itself, inside the transaction
-- that serializes every writer on the head row, so it can name the object
-- that refers to what a caller tries to delete.

-- +goose Up
CREATE TABLE head (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    revision bigint  NOT NULL
);
INSERT INTO head (one, revision) VALUES (true, 0);

CREATE TABLE changes (
    revision bigint      NOT NULL,
    seq      integer     NOT NULL,
    org      text        NOT NULL,
    kind     text        NOT NULL,
    key      text        NOT NULL,
    deleted  boolean     NOT NULL,
    value    text,
    at       timestamptz NOT NULL,
    PRIMARY KEY (revision, seq)
);

CREATE TABLE scopes (
    key    text PRIMARY KEY,
    org    text  NOT NULL,
    parent text,
    obj    jsonb NOT NULL
);
CREATE INDEX scopes_parent ON scopes (parent);

CREATE TABLE users (
    key text PRIMARY KEY,
    org text  NOT NULL DEFAULT '',
    obj jsonb NOT NULL
);

CREATE TABLE memberships (
    key     text PRIMARY KEY,
    org     text  NOT NULL,
    user_id text  NOT NULL,
    scope   text  NOT NULL,
    obj     jsonb NOT NULL
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_scope ON memberships (scope);

CREATE TABLE groups (
    key   text PRIMARY KEY,
    org   text  NOT NULL,
    scope text  NOT NULL,
    obj   jsonb NOT NULL
);
CREATE INDEX groups_scope ON groups (scope);

CREATE TABLE group_members (
    key      text PRIMARY KEY,
    org      text  NOT NULL,
    group_id text  NOT NULL,
    user_id  text  NOT NULL,
    obj      jsonb NOT NULL
);
CREATE INDEX group_members_group ON group_members (group_id);
CREATE INDEX group_members_user ON group_members (user_id);

-- groups and inputs hold the keys of the resource's groups and of its
-- inputs (of every relation).
CREATE TABLE resources (
    key    text PRIMARY KEY,
    org    text   NOT NULL,
    scope  text,
    parent text,
    groups text[] NOT NULL,
    inputs text[] NOT NULL,
    obj    jsonb  NOT NULL
);
CREATE INDEX resources_scope ON resources (scope);
CREATE INDEX resources_parent ON resources (parent);
CREATE INDEX resources_groups ON resources USING GIN (groups);
CREATE INDEX resources_inputs ON resources USING GIN (inputs);

CREATE TABLE roles (
    key   text PRIMARY KEY,
    org   text  NOT NULL,
    scope text,
    obj   jsonb NOT NULL
);
CREATE INDEX roles_org ON roles (org);
CREATE INDEX roles_scope ON roles (scope);

CREATE TABLE bindings (
    key           text PRIMARY KEY,
    org           text  NOT NULL,
    subject_user  text,
    subject_group text,
    scope         text,
    resource      text,
    obj           jsonb NOT NULL
);
CREATE INDEX bindings_subject_user ON bindings (subject_user);
CREATE INDEX bindings_subject_group ON bindings (subject_group);
CREATE INDEX bindings_scope ON bindings (scope);
CREATE INDEX bindings_resource ON bindings (resource);

CREATE TABLE offers (
    key       text PRIMARY KEY,
    org       text  NOT NULL,
    resource  text  NOT NULL,
    recipient text  NOT NULL,
    obj       jsonb NOT NULL
);
CREATE INDEX offers_resource ON offers (resource);
CREATE INDEX offers_recipient ON offers (recipient);

CREATE TABLE invitations (
    key   text PRIMARY KEY,
    org   text  NOT NULL,
    scope text  NOT NULL,
    obj   jsonb NOT NULL
);
CREATE INDEX invitations_scope ON invitations (scope);

CREATE TABLE domains (
    key text PRIMARY KEY,
    org text  NOT NULL,
    obj jsonb NOT NULL
);
CREATE INDEX domains_org ON domains (org);

-- Audit events are listed per organization, newest first: by the revision
-- and position of the change that appended them.
CREATE TABLE audit (
    key      text PRIMARY KEY,
    org      text   NOT NULL,
    revision bigint  NOT NULL,
    seq      integer NOT NULL,
    obj      text    NOT NULL
);
CREATE INDEX audit_org ON audit (org, revision DESC, seq DESC);

-- +goose Down
DROP TABLE audit, domains, invitations, offers, bindings, roles, resources,
    group_members, groups, memberships, users, scopes, changes, head;
