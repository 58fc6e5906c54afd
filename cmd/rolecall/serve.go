package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/internal/server"
)

func serveCmd() *cobra.Command {
	var f storeFlags
	var addr string
	var follow, grace time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--store S] [--model M]",
		Short: "Serve the API: gRPC, gRPC-Web and HTTP/JSON on one port",
		Long: `Serves the API on one port: gRPC, gRPC-Web and Connect (HTTP/JSON POST to
/rolecall.v1.AuthzService/Check, ...), and GET /healthz. With no flags it runs
on the embedded SQLite file ` + defaultStore + ` and the reinfer preset. The index
follows the store's change log, so writes by other processes show up within
--follow. Every call needs an API key (rolecall key create). On SIGINT or SIGTERM it stops accepting calls, finishes the ones in
flight (up to --grace), and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.model == "" {
				f.model = "reinfer"
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m, st, live, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			go live.Follow(ctx, follow, func(err error) { log.Error("following the store", "error", err) })

			protocols := new(http.Protocols)
			protocols.SetHTTP1(true)
			protocols.SetUnencryptedHTTP2(true) // gRPC clients without TLS
			srv := &http.Server{Handler: server.Handler(server.Options{Live: live, Admin: admin.New(m, st, live, nil), Keys: st, Log: log}), Protocols: protocols,
				ReadHeaderTimeout: 10 * time.Second}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "serving model %s from %s on http://%s (revision %d)\n", live.Engine().Model().ID, storeName(f.store), ln.Addr(), live.Revision())
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
	cmd.Flags().DurationVar(&follow, "follow", 200*time.Millisecond, "how often to look for writes by other processes")
	cmd.Flags().DurationVar(&grace, "grace", 10*time.Second, "how long in-flight calls may take to finish on shutdown")
	return cmd
}

func storeName(s string) string {
	if s == "" {
		return defaultStore
	}
	return s
}
