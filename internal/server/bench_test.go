package server_test

import (
	"context"
	"net"
	"testing"

	"github.com/rolecall/rolecall"
	rc "github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/internal/testenv"
)

// BenchmarkCheckGRPC: one check over gRPC on loopback, as `rolecall serve`
// answers it (server.New on a listener: the split, grpc-go's transport)
// and the Go client calls it (client.WithGRPC), one connection, client and
// server in this process; run with -cpu to set the concurrency. The CPU of
// both sides is what a check costs on one machine.
func BenchmarkCheckGRPC(b *testing.B) {
	w := testenv.OpenAcme(b)
	_, token := w.Key(b, "acme", "ann")
	srv := server.New(w.Options())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown(context.Background()) })
	c := rc.New("http://"+ln.Addr().String(), token, rc.WithGRPC())
	defer c.Close()
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
