package bench_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/internal/bench"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// serve starts a server on an empty SQLite store, as the benchmark's
// instructions do, and returns its address and an operator key.
func serve(t *testing.T) (string, string) {
	t.Helper()
	w := testenv.Open(t, "testdata/bench/rbacdp.yaml", "")
	_, token := w.Key(t, "", "")
	return testenv.Serve(t, server.Handler(w.Options()), false).URL, token
}

// TestRunSmall runs the protocol end to end on a 1% workload, over gRPC and
// over HTTP/JSON: everything loads through the API and every answer is
// right.
func TestRunSmall(t *testing.T) {
	ctx := context.Background()
	for _, protocol := range []string{"", "json"} {
		addr, token := serve(t)
		res, err := bench.Run(ctx, bench.Options{Addr: addr, Key: token, Scale: 1, Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond, Protocol: protocol}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.Wrong() || len(res.Phases) != 5 || res.Objects == 0 || res.Protocol != map[string]string{"": "grpc", "json": "json"}[protocol] {
			t.Fatalf("result %+v", res)
		}
		for _, ph := range res.Phases {
			if ph.Requests == 0 {
				t.Errorf("%s: phase %s made no requests", res.Protocol, ph.Name)
			}
		}
	}
	addr, token := serve(t)
	if _, err := bench.Run(ctx, bench.Options{Addr: addr, Key: token, Protocol: "smoke"}, io.Discard); err == nil || !strings.Contains(err.Error(), "smoke") {
		t.Errorf("an unknown protocol: %v", err)
	}
	if _, err := bench.Run(ctx, bench.Options{Addr: "http://10.1.2.3:7080", Key: token}, io.Discard); err == nil {
		t.Error("a non-loopback address was accepted")
	}
}
