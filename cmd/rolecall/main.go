// Command rolecall runs the rolecall engine from the terminal: it checks and
// shows model files, runs scenario files, and explains checks on demo data.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/rolecall/rolecall"
	"github.com/spf13/cobra"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the command line with args and returns the exit code; tests call
// it directly.
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		var es rolecall.Errors
		if errors.As(err, &es) {
			for _, e := range es {
				fmt.Fprintln(stderr, e)
			}
			return 1
		}
		fmt.Fprintln(stderr, "rolecall:", err)
		return 1
	}
	return 0
}

// newRoot builds the command tree, writing to stdout and stderr.
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "rolecall",
		Short:         "Roles and permissions for data platforms",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(modelCmd(), scenariosCmd(), demoCmd(), importCmd(), exportCmd(),
		checkCmd(false), checkCmd(true), effectiveCmd(), lookupCmd(), deleteCmd(), moveCmd(),
		actCmd(), auditCmd(), serveCmd(), keyCmd(), benchCmd())
	root.AddCommand(verbCmds()...)
	return root
}
