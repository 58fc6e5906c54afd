package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/rolecall/rolecall/internal/server"
)

// TestTracing: with a tracer, every request is a span named by method and
// path, carrying the caller's key and organization; a rejected key still
// leaves its span.
func TestTracing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ts, _ := start(t, func(o *server.Options) { o.Tracer = tp })
	post := func(path, token, body string) int {
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("/rolecall.v1.AuthzService/Check", tokens["ann"], `{"subject":"bob","permission":"view_sources","target":{"resource":{"type":"source","id":"mail"}}}`); code != 200 {
		t.Fatalf("Check: %d", code)
	}
	if code := post("/access/v1/evaluation", tokens["ann"], `{"subject":{"type":"user","id":"bob"},"action":{"name":"view_sources"},"resource":{"type":"source","id":"mail"}}`); code != 200 {
		t.Fatalf("evaluation: %d", code)
	}
	if code := post("/access/v1/evaluation", "rck_bad.key", `{}`); code != 401 {
		t.Fatalf("a bad key: %d", code)
	}
	spans := exp.GetSpans()
	want := []string{"POST /rolecall.v1.AuthzService/Check", "POST /access/v1/evaluation", "POST /access/v1/evaluation"}
	if len(spans) != len(want) {
		t.Fatalf("%d spans, want %d: %v", len(spans), len(want), spans.Snapshots())
	}
	for i, s := range spans {
		if s.Name != want[i] {
			t.Errorf("span %d: %q, want %q", i, s.Name, want[i])
		}
		org := ""
		for _, a := range s.Attributes {
			if a.Key == "rolecall.org" {
				org = a.Value.AsString()
			}
		}
		if wantOrg := map[bool]string{true: "acme", false: ""}[i < 2]; org != wantOrg {
			t.Errorf("span %s: rolecall.org %q, want %q", s.Name, org, wantOrg)
		}
	}
}
