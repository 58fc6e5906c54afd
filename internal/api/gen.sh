#!/usr/bin/env bash
# Regenerates the Go code of the API from internal/api/proto. Needs protoc
# (Debian: protobuf-compiler libprotobuf-dev); the Go plugins are tools of
# this module (go.mod `tool` lines). The output is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/" google.golang.org/protobuf/cmd/protoc-gen-go connectrpc.com/connect/v2/cmd/protoc-gen-connect-go
PATH="$bin:$PATH" protoc -I internal/api/proto -I /usr/include \
  --go_out=internal/api --go_opt=module=github.com/rolecall/rolecall/internal/api \
  --connect-go_out=internal/api --connect-go_opt=module=github.com/rolecall/rolecall/internal/api \
  internal/api/proto/rolecall/v1/*.proto
