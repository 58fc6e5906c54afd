package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/rolecall/rolecall/scenario"
	"github.com/spf13/cobra"
)

func scenariosCmd() *cobra.Command {
	var preset, run string
	var verbose, explain bool
	cmd := &cobra.Command{
		Use:   "scenarios [--preset P] FILE...",
		Short: "Run scenario files; ends with the line `N passed, M failed`",
		Long: `Runs access scenarios written as data (see docs/scenarios.md) and prints, for
each failure, the case id, the step, what was expected and what came back.
Act steps run through the admin layer, on a store of each case's own.
Exits 1 on any failure.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt := scenario.Options{Model: preset, Verbose: verbose, Explain: explain}
			if run != "" {
				re, err := regexp.Compile(run)
				if err != nil {
					return fmt.Errorf("--run %q is not a valid regular expression: %v", run, err)
				}
				opt.Run = re
			}
			out := cmd.OutOrStdout()
			var total scenario.Summary
			for _, f := range args {
				s, err := scenario.Load(f, opt)
				if err != nil {
					return err
				}
				sum, err := s.Run(out, opt)
				if err != nil {
					return err
				}
				total.Passed += sum.Passed
				total.Failed += sum.Failed
				total.Skipped = append(total.Skipped, sum.Skipped...)
			}
			if len(total.Skipped) > 0 {
				fmt.Fprintf(out, "%d skipped: need admin acts not built yet (%s)\n", len(total.Skipped), strings.Join(total.Skipped, ", "))
			}
			fmt.Fprintf(out, "%d passed, %d failed\n", total.Passed, total.Failed)
			if total.Failed > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&preset, "preset", "", "run against this preset or model file instead of the file's own")
	cmd.Flags().StringVar(&run, "run", "", "run only the cases whose id matches this regular expression")
	cmd.Flags().BoolVar(&explain, "explain", false, "print the explanation of every check")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print every case, not only failures")
	return cmd
}
