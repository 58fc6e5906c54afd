package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestTracing: off without an endpoint; with one, spans reach an OTLP/HTTP
// collector when serve stops.
func TestTracing(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tp, stop, err := tracing(t.Context(), "")
	if err != nil || tp != nil {
		t.Fatalf("no endpoint: %v, %v; want tracing off", tp, err)
	}
	stop(t.Context())

	var got atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			got.Add(1)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	tp, stop, err = tracing(t.Context(), collector.URL)
	if err != nil || tp == nil {
		t.Fatalf("with an endpoint: %v, %v", tp, err)
	}
	_, span := tp.Tracer("test").Start(t.Context(), "a call")
	span.End()
	if err := stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got.Load() == 0 {
		t.Fatal("the collector received no spans")
	}
	if _, _, err := tracing(t.Context(), "127.0.0.1:4318"); err == nil {
		t.Fatal("an endpoint without a scheme was accepted")
	}
}
