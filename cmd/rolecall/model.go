package main

import (
	"fmt"

	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/model"
	"github.com/spf13/cobra"
)

func modelCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "model", Short: "Check and show model files"}
	check := &cobra.Command{
		Use:   "check FILE...",
		Short: "Validate model files; every problem is printed as file:line:column",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			failed := false
			for _, a := range args {
				m, err := modelfile.Open(a)
				if err != nil {
					failed = true
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (model %s: %d levels, %d permissions, %d roles, %d actions)\n",
					a, m.ID, len(m.Levels), len(m.Perms), len(m.Roles), len(m.Actions))
			}
			if failed {
				return exitError{1}
			}
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show FILE|PRESET",
		Short: "Print the catalog by category and what each role grants after closure",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := modelfile.Open(args[0])
			if err != nil {
				return err
			}
			m.Show(cmd.OutOrStdout())
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "presets",
		Short: "List the embedded preset models",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			for _, p := range model.Presets() {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
		},
	}
	cmd.AddCommand(check, show, list)
	return cmd
}
