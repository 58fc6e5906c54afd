package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/internal/console"
	"github.com/rolecall/rolecall/internal/demo"
	"github.com/rolecall/rolecall/internal/server"
)

func serveCmd() *cobra.Command {
	var f storeFlags
	var addr, baseURL, config, otlp string
	var seed, noConsole, profiling bool
	var follow, grace time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--store S] [--model M]",
		Short: "Serve the API: gRPC, gRPC-Web and HTTP/JSON on one port",
		Long: `Serves the API on one port: gRPC, gRPC-Web and Connect (HTTP/JSON POST to
/rolecall.v1.AuthzService/Check, ...), and GET /healthz. With no flags it runs
on the embedded SQLite file ` + defaultStore + ` and the reinfer preset. The index
follows the store's change log, so writes by other processes show up within
--follow. Several replicas may serve one PostgreSQL store: each builds its
index from the database, then follows the change log; a read with a
revision token waits until this replica has applied it, or fails as
unavailable. --orgs makes a replica hold only some organizations (a router
sends each organization's calls to the replicas that hold it; see
docs/scaling.md). GET /healthz and /metrics report the index's revision and
its lag behind the store. Every call needs an API key (rolecall key
create). On SIGINT or SIGTERM it stops accepting calls, finishes the ones
in flight (up to --grace), and exits.

Every flag may also come from the environment (ROLECALL_STORE for --store,
ROLECALL_BASE_URL for --base-url) or from a YAML file (--config or
ROLECALL_CONFIG) whose keys are the flags' names; the command line wins over
the environment, which wins over the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := configure(cmd); err != nil {
				return err
			}
			if f.model == "" {
				f.model = "reinfer"
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if seed {
				if err := seedDemo(ctx, cmd, &f); err != nil {
					return err
				}
			}
			m, st, live, err := f.open(ctx)
			if err != nil {
				return err
			}
			for _, o := range f.orgs {
				if !slices.Contains(live.Engine().Tenants(), o) {
					fmt.Fprintf(cmd.ErrOrStderr(), "note: --orgs names %s, which the store does not hold yet; its data will be served once written\n", o)
				}
			}
			defer st.Close()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			tp, stopTracing, err := tracing(ctx, otlp)
			if err != nil {
				return err
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := stopTracing(sctx); err != nil {
					log.Error("flushing traces", "error", err)
				}
			}()
			go live.Follow(ctx, follow, func(err error) { log.Error("following the store", "error", err) })

			adm := admin.New(m, st, live, nil)
			var ui http.Handler
			if cs, ok := st.(rolecall.Credentials); ok && !noConsole {
				c, err := console.New(console.Options{Live: live, Admin: adm, Creds: cs, Log: log, Secure: strings.HasPrefix(baseURL, "https://"), PublicURL: baseURL})
				if err != nil {
					return err
				}
				ui = c
				go expireSessions(ctx, cs, log)
			}
			srv := server.New(server.Options{Live: live, Admin: adm, Store: st, Log: log, BaseURL: baseURL, Tracer: tp, Console: ui, Profiling: profiling})
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			held := ""
			if len(f.orgs) > 0 {
				held = ", organizations " + strings.Join(live.Orgs(), ", ")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving model %s from %s on http://%s (revision %d%s)\n", live.Engine().Model().ID, storeName(f.store), ln.Addr(), live.Revision(), held)
			if ui != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "console: http://%s/\n", ln.Addr())
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return fmt.Errorf("shutting down: %w", err)
			}
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&f.store, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	cmd.Flags().StringVar(&f.model, "model", "", "the model: a preset name or a model file (default reinfer)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:7080", "where to listen")
	cmd.Flags().BoolVar(&noConsole, "no-console", false, "serve the API only, without the web console at /")
	cmd.Flags().BoolVar(&profiling, "pprof", false, "serve Go's runtime profiles at /debug/pprof/ without a key (only where the port is not reachable from outside)")
	cmd.Flags().BoolVar(&seed, "demo", false, "seed the preset's demo organization into an empty store, and print API keys to try it with")
	cmd.Flags().DurationVar(&follow, "follow", 20*time.Millisecond, "how often to read the store's change log for writes by other processes (replicas)")
	cmd.Flags().StringSliceVar(&f.orgs, "orgs", nil, "hold and serve only these organizations (comma-separated ids); keys of others are refused as unavailable (default: every organization)")
	cmd.Flags().StringVar(&baseURL, "base-url", "", "the public base URL, behind a TLS proxy: announced by the AuthZEN metadata and used in the console's invitation links (default: each request's own)")
	cmd.Flags().StringVar(&otlp, "otlp-endpoint", "", "export a trace span per request over OTLP/HTTP to this URL (http://127.0.0.1:4318); the OTEL_EXPORTER_OTLP_* variables work too (default: no tracing)")
	cmd.Flags().StringVar(&config, "config", "", "a YAML file of settings, keyed by flag name")
	cmd.Flags().DurationVar(&grace, "grace", 10*time.Second, "how long in-flight calls may take to finish on shutdown")
	return cmd
}

// expireSessions deletes expired console sessions every hour.
func expireSessions(ctx context.Context, cs rolecall.Credentials, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := cs.DeleteExpiredSessions(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Error("deleting expired console sessions", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// storeName names the store for people to read: a database URL without its
// password.
func storeName(s string) string {
	if s == "" {
		return defaultStore
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// seedDemo writes the preset's demo organization (the fixture of its
// scenario file) into an empty store, and prints an operator key and a key
// for each organization's first member, once.
func seedDemo(ctx context.Context, cmd *cobra.Command, f *storeFlags) error {
	st, err := openStore(ctx, f.store)
	if err != nil {
		return err
	}
	defer st.Close()
	head, err := st.Head(ctx)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if head > 0 {
		fmt.Fprintf(out, "the store is at revision %d already; --demo seeds only an empty store\n", head)
		return nil
	}
	d, n, err := demo.Seed(ctx, st, f.model)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded the %s demo: %d objects\n", f.model, n)
	op, token := server.NewKey("", "", "demo operator", time.Now())
	keys := []struct {
		k     rolecall.APIKey
		token string
	}{{op, token}}
	seen := map[string]bool{}
	for _, ms := range d.Memberships {
		org := orgOf(d, ms.Scope)
		if seen[org] {
			continue
		}
		seen[org] = true
		k, t := server.NewKey(org, ms.User, "demo", time.Now())
		keys = append(keys, struct {
			k     rolecall.APIKey
			token string
		}{k, t})
	}
	if _, err := st.Update(ctx, func(tx rolecall.Tx) error {
		for i := range keys {
			if err := tx.CreateAPIKey(&keys[i].k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range keys {
		who := "the operator"
		if k.k.Org != "" {
			who = k.k.User + " in " + k.k.Org
		}
		fmt.Fprintf(out, "key for %s: %s\n", who, k.token)
	}
	// console passwords for the same people: the operator signs in as
	// "operator"
	if cs, ok := st.(rolecall.Credentials); ok {
		for _, k := range keys {
			pw := rand.Text()[:16]
			if err := cs.SetCredential(ctx, rolecall.Credential{User: k.k.User, Password: console.HashPassword(pw), Updated: time.Now().UTC()}); err != nil {
				return err
			}
			login := console.OperatorLogin
			if k.k.User != "" {
				login = k.k.User
			}
			fmt.Fprintf(out, "console sign-in: %s / %s\n", login, pw)
		}
	}
	fmt.Fprintln(out, "keep them now: they are not shown again")
	return nil
}

// orgOf walks a scope up to its organization in the data.
func orgOf(d *rolecall.Snapshot, scope string) string {
	parent := map[string]string{}
	for _, s := range d.Scopes {
		parent[s.ID] = s.Parent
	}
	for parent[scope] != "" {
		scope = parent[scope]
	}
	return scope
}
