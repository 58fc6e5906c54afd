package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/internal/bench"
)

func benchCmd() *cobra.Command {
	var o bench.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench rbac-dp --addr ADDR --key OPERATOR_KEY [--scale PCT] [--warmup D] [--duration D] [--server-pid PID] [--json]",
		Short: "Run the reference workload rbac-dp against a server and print the peers' table",
		Long: `Runs the reference workload rbac-dp (273,100 relationships at full scale)
against a server on this machine: loads it through the API (an operator key
is needed), then closed-loop phases of checks at concurrency 1, 8 and 64 and
of lookups at 1 and 8, every answer compared with the generator's truth.
Start the server on an empty store with the workload's model:

  rolecall serve --store bench.db --model testdata/bench/rbacdp.yaml

Exits non-zero on any wrong answer or error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "rbac-dp" {
				return fmt.Errorf("unknown workload %q; the workload is rbac-dp", args[0])
			}
			if o.Key == "" {
				return fmt.Errorf("--key: give an operator key (rolecall key create --operator)")
			}
			out := cmd.OutOrStdout()
			progress := out
			if asJSON {
				progress = cmd.ErrOrStderr()
			}
			res, err := bench.Run(cmd.Context(), o, progress)
			if err != nil {
				return err
			}
			if asJSON {
				b, _ := json.Marshal(res)
				fmt.Fprintln(out, string(b))
			} else {
				fmt.Fprintln(out)
				res.Table(out)
			}
			if res.Wrong() {
				return fmt.Errorf("wrong answers or errors: see the phases above")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "http://127.0.0.1:7080", "the server (loopback only)")
	cmd.Flags().StringVar(&o.Key, "key", "", "an operator API key")
	cmd.Flags().IntVar(&o.Scale, "scale", 100, "percent of the full workload (same shape, fewer users, projects and resources)")
	cmd.Flags().DurationVar(&o.Warmup, "warmup", 3*time.Second, "warm-up of each phase")
	cmd.Flags().DurationVar(&o.Duration, "duration", 10*time.Second, "measured time of each phase")
	cmd.Flags().StringVar(&o.Protocol, "protocol", "grpc", "grpc (binary protobuf) or json (Connect's HTTP/JSON)")
	cmd.Flags().IntVar(&o.ServerPID, "server-pid", 0, "the server's process id, to report its CPU and RSS")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON line for the run")
	return cmd
}
