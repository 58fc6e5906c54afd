package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/server"
	"github.com/rolecall/rolecall/sqlite"
	"github.com/rolecall/rolecall/transfer"
)

// exampleServer runs what `rolecall serve --model reinfer` would over the
// example organization acme (testdata/store/acme.jsonl) on a loopback
// port, and returns its address, an API key of ann's and a function that
// stops it.
func exampleServer() (addr, key string, stop func()) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rolecall-example")
	if err != nil {
		log.Fatal(err)
	}
	m, err := modelfile.Open("reinfer")
	if err != nil {
		log.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "acme.db"))
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open(filepath.Join("..", "testdata", "store", "acme.jsonl"))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, _, err := transfer.Import(ctx, st, f, transfer.Options{}); err != nil {
		log.Fatal(err)
	}
	k, token := server.NewKey("acme", "ann", "example", time.Now())
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error { return tx.CreateAPIKey(&k) }); err != nil {
		log.Fatal(err)
	}
	live, err := engine.Open(ctx, m, st, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	srv := server.New(server.Options{Live: live, Admin: admin.New(m, st, live, nil), Store: st})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), token, func() {
		srv.Shutdown(ctx)
		st.Close()
		os.RemoveAll(dir)
	}
}

// A check over gRPC: may bob view the source "mail"?
func Example() {
	addr, key, stop := exampleServer()
	defer stop()

	c := client.New(addr, key, client.WithGRPC())
	defer c.Close()
	d, rev, err := c.Check(context.Background(), client.Question{Subject: "bob", Permission: "view_sources",
		Target: rolecall.ResourceTarget("source", "mail")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("allowed:", d.Allowed, "at revision", rev)
	// Output: allowed: true at revision 1
}

// Why bob may not administer the source, and what would let him.
func ExampleClient_Explain() {
	addr, key, stop := exampleServer()
	defer stop()

	c := client.New(addr, key) // Connect over HTTP/1.1 or HTTP/2
	d, _, err := c.Explain(context.Background(), client.Question{Subject: "bob", Permission: "sources_admin",
		Target: rolecall.ResourceTarget("source", "mail")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("allowed:", d.Allowed)
	for _, need := range d.Explanation.Missing {
		for _, r := range need.AnyOf {
			fmt.Println("missing:", r.Permission, "on", r.On)
			for _, role := range r.Roles {
				fmt.Println("  a role that has it:", role.Role)
			}
		}
	}
	// Output:
	// allowed: false
	// missing: sources_admin on source mail
}

// Every source bob may view, a page at a time.
func ExampleClient_LookupResources() {
	addr, key, stop := exampleServer()
	defer stop()

	c := client.New(addr, key, client.WithGRPC())
	defer c.Close()
	page := rolecall.Page{Limit: 100}
	for {
		ids, next, err := c.LookupResources(context.Background(), "bob", "view_sources", "source", "", page, client.Consistency{})
		if err != nil {
			log.Fatal(err)
		}
		for _, id := range ids {
			fmt.Println(id)
		}
		if next == "" {
			break
		}
		page.After = next
	}
	// Output:
	// invoices
	// mail
}

// A read at least as fresh as a write: the write's revision goes with the
// next question, whichever replica answers it.
func ExampleClient_Do() {
	addr, key, stop := exampleServer()
	defer stop()

	ctx := context.Background()
	c := client.New(addr, key, client.WithGRPC())
	defer c.Close()
	done, err := c.Do(ctx, client.Act{Act: "grant_permissions", User: "bob", Scope: "claims", Permissions: []string{"view_sensitive_data"}})
	if err != nil {
		log.Fatal(err)
	}
	d, _, err := c.Check(ctx, client.Question{Subject: "bob", Permission: "view_sensitive_data", Target: rolecall.ScopeTarget("claims"),
		Consistency: client.Consistency{AtLeastAsFresh: done.Revision}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob views sensitive data in claims:", d.Allowed)
	// Output: bob views sensitive data in claims: true
}
