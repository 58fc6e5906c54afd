package main

import (
	"context"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/postgres"
	"github.com/rolecall/rolecall/sqlite"
)

// defaultStore is the embedded SQLite file used when --store is not given.
const defaultStore = "rolecall.db"

// openStore opens the store a --store value names: a postgres:// or
// postgresql:// URL, or a SQLite file path (optionally written sqlite:PATH).
func openStore(ctx context.Context, spec string) (rolecall.Store, error) {
	switch {
	case spec == "":
		return sqlite.Open(defaultStore)
	case strings.HasPrefix(spec, "postgres://"), strings.HasPrefix(spec, "postgresql://"):
		return postgres.Open(ctx, spec)
	default:
		return sqlite.Open(strings.TrimPrefix(spec, "sqlite:"))
	}
}
