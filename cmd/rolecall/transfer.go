package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/transfer"
)

func importCmd() *cobra.Command {
	var store, addr, key string
	var batch int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import [--store STORE | --addr ADDR --key KEY] FILE|-",
		Short: "Import an organization's data from JSON Lines",
		Long: `Reads JSON Lines ({"kind": ..., "value": {...}} a line, as export writes
them) and creates every object. Every line is checked before anything is
written: a bad line stops the import with its number, and nothing is
committed. Objects are then committed in batches, one transaction each.
STORE is a SQLite file (default ` + defaultStore + `) or a postgres:// URL.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			if addr != "" {
				return importRemote(cmd, addr, key, in, batch, asJSON)
			}
			s, err := openStore(cmd.Context(), store)
			if err != nil {
				return err
			}
			defer s.Close()
			opt := transfer.Options{Batch: batch}
			if isTerminal(cmd.ErrOrStderr()) {
				opt.Progress = func(done, total int) {
					fmt.Fprintf(cmd.ErrOrStderr(), "\rimported %d of %d objects (%d%%)", done, total, done*100/max(total, 1))
					if done == total {
						fmt.Fprintln(cmd.ErrOrStderr())
					}
				}
			}
			n, rev, err := transfer.Import(cmd.Context(), s, in, opt)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), transferred{n, rev})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d objects; the store is at revision %d\n", n, rev)
			return nil
		},
	}
	cmd.Flags().StringVar(&store, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	cmd.Flags().IntVar(&batch, "batch", transfer.DefaultBatch, "objects per transaction")
	cmd.Flags().StringVar(&addr, "addr", os.Getenv("ROLECALL_ADDR"), "import through the server at this address (an operator key); default $ROLECALL_ADDR")
	cmd.Flags().StringVar(&key, "key", os.Getenv("ROLECALL_KEY"), "the operator's API key for --addr; default $ROLECALL_KEY")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the count and the revision as JSON")
	return cmd
}

// importRemote sends JSON Lines to a server's ImportService, batch lines
// a request (each request all or nothing).
func importRemote(cmd *cobra.Command, addr, key string, in io.Reader, batch int, asJSON bool) error {
	if key == "" {
		return fmt.Errorf("--addr needs the operator's API key: --key or $ROLECALL_KEY")
	}
	c := client.New(addr, key)
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var lines []string
	total := 0
	var rev rolecall.Revision
	flush := func() error {
		if len(lines) == 0 {
			return nil
		}
		n, r, err := c.Import(cmd.Context(), lines)
		if err != nil {
			return fmt.Errorf("after %d objects: %w", total, err)
		}
		total, rev, lines = total+n, r, lines[:0]
		return nil
	}
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		lines = append(lines, sc.Text())
		if len(lines) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if asJSON {
		return printJSON(cmd.OutOrStdout(), transferred{total, rev})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "imported %d objects; the server is at revision %d\n", total, rev)
	return nil
}

func exportCmd() *cobra.Command {
	var store, org, addr, key string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "export [--store STORE | --addr ADDR --key KEY] [--org ORG] [FILE|-]",
		Short: "Export an organization's data (or everything) as JSON Lines",
		Long: `Writes an organization's data (its scopes and everything in them, and the
users who are its members), or everything, as JSON Lines in the order
import reads them, all read at one revision. FILE (default: standard
output) is written whole or not at all, readable by its owner only.
STORE is a SQLite file (default ` + defaultStore + `) or a postgres:// URL.

With --addr the server exports: an organization's key its own
organization, the operator's everything, or the organization --org names.
The count and the revision go to standard error (as JSON with --json).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if addr != "" && key == "" {
				return fmt.Errorf("--addr needs an API key: --key or $ROLECALL_KEY (rolecall key create makes one)")
			}
			file := ""
			if len(args) == 1 && args[0] != "-" {
				file = args[0]
			}
			var n int
			var rev rolecall.Revision
			err := writeWhole(cmd.OutOrStdout(), file, func(w io.Writer) (err error) {
				if addr != "" {
					n, rev, err = client.New(addr, key).Export(cmd.Context(), org, client.Consistency{}, w)
					return err
				}
				s, err := openStore(cmd.Context(), store)
				if err != nil {
					return err
				}
				defer s.Close()
				snap, err := s.Snapshot(cmd.Context())
				if err != nil {
					return err
				}
				rev = snap.Revision
				n, err = transfer.ExportSnapshot(snap, org, w)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.ErrOrStderr(), transferred{n, rev})
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d objects at revision %d\n", n, rev)
			return nil
		},
	}
	cmd.Flags().StringVar(&store, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	cmd.Flags().StringVar(&org, "org", "", "the organization to export (default: everything; with --addr, an organization's key exports its own)")
	cmd.Flags().StringVar(&addr, "addr", os.Getenv("ROLECALL_ADDR"), "export through the server at this address; default $ROLECALL_ADDR")
	cmd.Flags().StringVar(&key, "key", os.Getenv("ROLECALL_KEY"), "the API key for --addr (an organization's or the operator's); default $ROLECALL_KEY")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the count and the revision as JSON")
	return cmd
}

// transferred is what import and export print with --json.
type transferred struct {
	Objects  int               `json:"objects"`
	Revision rolecall.Revision `json:"revision"`
}

// writeWhole runs write on stdout when file is empty, and otherwise on a
// temporary file beside file that replaces it only once write succeeds: a
// failed export leaves no partial file, and an older file as it was.
func writeWhole(stdout io.Writer, file string, write func(io.Writer) error) error {
	if file == "" {
		return write(stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), file)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%w (%s was not written)", err, file)
	}
	return nil
}

// isTerminal reports whether w is a terminal (for progress output).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
