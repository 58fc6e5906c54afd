package server_test

import (
	"net/http"
	"testing"

	"github.com/rolecall/rolecall"
	rc "github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// BenchmarkCheckGRPC: one check over gRPC on loopback (h2c, one
// connection), client and server in this process, run with -cpu to set the
// concurrency; the CPU of both sides is what a check costs on one machine.
func BenchmarkCheckGRPC(b *testing.B) {
	w := testenv.OpenAcme(b)
	_, token := w.Key(b, "acme", "ann")
	ts := testenv.Serve(b, server.Handler(w.Options()), false)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tp := new(http.Protocols)
	tp.SetUnencryptedHTTP2(true)
	tr.Protocols = tp
	c := rc.New(ts.URL, token, rc.WithHTTPClient(&http.Client{Transport: tr}), rc.WithGRPC())
	q := rc.Question{Subject: "bob", Permission: "view_sources", Target: rolecall.ResourceTarget("source", "mail")}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, _, err := c.Check(b.Context(), q)
			if err != nil || !d.Allowed {
				b.Fatal(d, err)
			}
		}
	})
}
