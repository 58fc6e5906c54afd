package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/client"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/model"
)

// storeFlags are the flags of commands that read a store in-process, or
// call a server with --addr.
type storeFlags struct {
	store   string
	model   string
	addr    string
	key     string
	atLeast uint64
	wait    time.Duration
	json    bool
	// orgs, when set (serve --orgs), are the only organizations the
	// index holds.
	orgs []string
}

func (f *storeFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.store, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	cmd.Flags().StringVar(&f.model, "model", "", "the model: a preset name or a model file (required without --addr)")
	cmd.Flags().StringVar(&f.addr, "addr", os.Getenv("ROLECALL_ADDR"), "call the server at this address (http://host:port) instead of reading a store; default $ROLECALL_ADDR")
	cmd.Flags().StringVar(&f.key, "key", os.Getenv("ROLECALL_KEY"), "the API key for --addr; default $ROLECALL_KEY")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON instead of text")
}

// remote returns a client of the server --addr names, or nil.
func (f *storeFlags) remote() (*client.Client, error) {
	if f.addr == "" {
		return nil, nil
	}
	if f.key == "" {
		return nil, fmt.Errorf("--addr needs an API key: --key or $ROLECALL_KEY (rolecall key create makes one)")
	}
	return client.New(f.addr, f.key), nil
}

// remoteTarget reads a target without a model: "type:id" is a resource,
// anything else a scope.
func remoteTarget(s string) rolecall.Target {
	if typ, id, ok := strings.Cut(s, ":"); ok && typ != "" && id != "" {
		return rolecall.ResourceTarget(typ, id)
	}
	return rolecall.ScopeTarget(s)
}

// addFresh adds the flags of commands that answer access questions.
func (f *storeFlags) addFresh(cmd *cobra.Command) {
	f.add(cmd)
	f.wait = 5 * time.Second
	cmd.Flags().Uint64Var(&f.atLeast, "at-least", 0, "answer from data at least as fresh as this revision (a write's token)")
	cmd.Flags().DurationVar(&f.wait, "wait", 5*time.Second, "how long --at-least may wait for that revision")
}

// open opens the model, the store and the live index over it. Cursors
// printed by one run are accepted by the next on the same store: their key
// derives from the store's name (the command line has no secret to keep; a
// server configures its own).
func (f *storeFlags) open(ctx context.Context) (*model.Model, rolecall.Store, *engine.Live, error) {
	if f.model == "" {
		return nil, nil, nil, fmt.Errorf("--model is required: a preset (reinfer, labelbox, infosum, inbox) or a model file")
	}
	m, err := modelfile.Open(f.model)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStore(ctx, f.store)
	if err != nil {
		return nil, nil, nil, err
	}
	key := sha256.Sum256([]byte("rolecall cursors " + f.store))
	live, err := engine.Open(ctx, m, st, engine.Options{CursorKey: key[:], Orgs: f.orgs})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return m, st, live, nil
}

// engine returns the engine over the store, at least as fresh as
// --at-least.
func (f *storeFlags) engine(ctx context.Context) (*engine.Engine, func(), error) {
	_, st, live, err := f.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, f.wait)
	defer cancel()
	e, err := live.AtLeast(wctx, rolecall.Revision(f.atLeast))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return e, func() { st.Close() }, nil
}

// parseTarget reads a target: "type:id" when type is a resource type of
// the model, else a scope id.
func parseTarget(e *engine.Engine, s string) rolecall.Target {
	if typ, id, ok := strings.Cut(s, ":"); ok {
		if _, isType := e.Model().Resource(typ); isType {
			return rolecall.ResourceTarget(typ, id)
		}
	}
	return rolecall.ScopeTarget(s)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func checkCmd(explain bool) *cobra.Command {
	var f storeFlags
	name, short := "check", "May USER do PERMISSION (or an action) on TARGET? Exits 0 if allowed, 3 if denied"
	if explain {
		name, short = "explain", "Why USER may or may not do PERMISSION on TARGET, and what would grant it"
	}
	cmd := &cobra.Command{
		Use:   name + " --model M [--store S] USER PERMISSION TARGET",
		Short: short,
		Long: short + `.

TARGET is a resource written type:id (dataset:claims) or a scope id (acme).
The data is read from the store; --at-least REV waits until the answer
reflects revision REV (the revision a write returned).`,
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d rolecall.Decision
			var rev rolecall.Revision
			c, err := f.remote()
			switch {
			case err != nil:
				return err
			case c != nil:
				q := client.Question{Subject: args[0], Permission: args[1], Target: remoteTarget(args[2]),
					Consistency: client.Consistency{AtLeastAsFresh: rolecall.Revision(f.atLeast)}}
				if explain {
					d, rev, err = c.Explain(cmd.Context(), q)
				} else {
					d, rev, err = c.Check(cmd.Context(), q)
				}
			default:
				e, done, err := f.engine(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				req := engine.Request{Subject: args[0], Permission: args[1], Target: parseTarget(e, args[2])}
				if explain {
					d, err = e.Explain(req)
				} else {
					d, err = e.Check(req)
				}
				if err != nil {
					return err
				}
				rev = e.Revision
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch {
			case f.json:
				if err := printJSON(out, struct {
					rolecall.Decision
					Revision rolecall.Revision `json:"revision"`
				}{d, rev}); err != nil {
					return err
				}
			case explain && d.Explanation != nil:
				fmt.Fprint(out, d.Explanation.String())
			default:
				verdict := "denied"
				if d.Allowed {
					verdict = "allowed"
				}
				fmt.Fprintf(out, "%s (revision %d)\n", verdict, rev)
			}
			if !d.Allowed && !explain {
				return exitError{3}
			}
			return nil
		},
	}
	f.addFresh(cmd)
	return cmd
}

func effectiveCmd() *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "effective --model M [--store S] USER TARGET",
		Short: "Every permission USER holds on TARGET, each with the path that gives it",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if c, err := f.remote(); err != nil {
				return err
			} else if c != nil {
				eff, _, err := c.Effective(cmd.Context(), args[0], remoteTarget(args[1]), client.Consistency{AtLeastAsFresh: rolecall.Revision(f.atLeast)})
				if err != nil {
					return err
				}
				if f.json {
					return printJSON(out, eff)
				}
				for _, p := range slices.Sorted(maps.Keys(eff)) {
					fmt.Fprintf(out, "%s\n", p)
					for _, path := range eff[p] {
						fmt.Fprintf(out, "  %s\n", path)
					}
				}
				return nil
			}
			e, done, err := f.engine(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			eff, err := e.Effective(args[0], parseTarget(e, args[1]), nil)
			if err != nil {
				return err
			}
			if f.json {
				return printJSON(out, eff)
			}
			for _, x := range eff {
				fmt.Fprintf(out, "%s\n", x.Permission)
				for _, p := range x.Paths {
					fmt.Fprintf(out, "  %s\n", p)
				}
			}
			return nil
		},
	}
	f.addFresh(cmd)
	return cmd
}

func lookupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lookup", Short: "List the resources a user may act on, or who may act on a target"}
	var rf storeFlags
	var in, after string
	var limit int
	res := &cobra.Command{
		Use:   "resources --model M [--store S] USER PERMISSION TYPE",
		Short: "The resources of TYPE on which USER may do PERMISSION (or an action), in a stable order",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := rf.remote(); err != nil {
				return err
			} else if c != nil {
				ids, next, err := c.LookupResources(cmd.Context(), args[0], args[1], args[2], in, rolecall.Page{After: after, Limit: limit},
					client.Consistency{AtLeastAsFresh: rolecall.Revision(rf.atLeast)})
				if err != nil {
					return err
				}
				return printPage(cmd.OutOrStdout(), rf.json, ids, nil, next, 0)
			}
			e, done, err := rf.engine(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			ids, next, err := e.LookupResources(engine.ResourceQuery{Subject: args[0], Permission: args[1], Type: args[2], In: in,
				Page: rolecall.Page{After: after, Limit: limit}})
			if err != nil {
				return err
			}
			return printPage(cmd.OutOrStdout(), rf.json, ids, nil, next, e.Revision)
		},
	}
	rf.addFresh(res)
	res.Flags().StringVar(&in, "in", "", "only resources at or below this scope")
	res.Flags().IntVar(&limit, "limit", 0, "at most this many ids, with a cursor for the rest (0: all)")
	res.Flags().StringVar(&after, "after", "", "the cursor a previous page printed")

	var sf storeFlags
	var groups bool
	var safter string
	var slimit int
	sub := &cobra.Command{
		Use:   "subjects --model M [--store S] PERMISSION TARGET",
		Short: "The users (and with --groups, the groups) who may do PERMISSION on TARGET",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := sf.remote(); err != nil {
				return err
			} else if c != nil {
				users, gs, next, err := c.LookupSubjects(cmd.Context(), args[0], remoteTarget(args[1]), groups, rolecall.Page{After: safter, Limit: slimit},
					client.Consistency{AtLeastAsFresh: rolecall.Revision(sf.atLeast)})
				if err != nil {
					return err
				}
				return printPage(cmd.OutOrStdout(), sf.json, users, gs, next, 0)
			}
			e, done, err := sf.engine(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			r, err := e.LookupSubjects(engine.SubjectQuery{Permission: args[0], Target: parseTarget(e, args[1]), Groups: groups,
				Page: rolecall.Page{After: safter, Limit: slimit}})
			if err != nil {
				return err
			}
			return printPage(cmd.OutOrStdout(), sf.json, r.Users, r.Groups, r.Next, e.Revision)
		},
	}
	sf.addFresh(sub)
	sub.Flags().BoolVar(&groups, "groups", false, "also list the groups whose own bindings grant it")
	sub.Flags().IntVar(&slimit, "limit", 0, "at most this many users, with a cursor for the rest (0: all)")
	sub.Flags().StringVar(&safter, "after", "", "the cursor a previous page printed")
	cmd.AddCommand(res, sub)
	return cmd
}

func printPage(w io.Writer, asJSON bool, ids, groups []string, next string, rev rolecall.Revision) error {
	if asJSON {
		return printJSON(w, struct {
			IDs      []string          `json:"ids"`
			Groups   []string          `json:"groups,omitempty"`
			Next     string            `json:"next,omitempty"`
			Revision rolecall.Revision `json:"revision"`
		}{ids, groups, next, rev})
	}
	for _, id := range ids {
		fmt.Fprintln(w, id)
	}
	for _, g := range groups {
		fmt.Fprintln(w, "group", g)
	}
	if next != "" {
		fmt.Fprintf(w, "more: --after %s\n", next)
	}
	return nil
}

func deleteCmd() *cobra.Command {
	var store string
	var fl rolecall.Filter
	var kind string
	cmd := &cobra.Command{
		Use:   "delete --kind KIND [--org O] [--scope S] [--type T] [--user U] [--group G] [--store S]",
		Short: "Delete every object of a kind that the filter selects, in one transaction",
		Long: `Deletes every object of --kind (scope, membership, group, group_member,
resource, role, binding, offer, invitation, domain) that all the given
filters select, in one transaction: all of them or, if anything else still
uses one of them, none. --scope selects what is in that scope or below it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl.Kind = rolecall.ObjectKind(kind)
			st, err := openStore(cmd.Context(), store)
			if err != nil {
				return err
			}
			defer st.Close()
			var n int
			rev, err := st.Update(cmd.Context(), func(tx rolecall.Tx) error {
				var err error
				n, err = tx.DeleteWhere(fl)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %d objects at revision %d\n", n, rev)
			return nil
		},
	}
	cmd.Flags().StringVar(&store, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	cmd.Flags().StringVar(&kind, "kind", "", "the kind of object to delete (required)")
	cmd.Flags().StringVar(&fl.Org, "org", "", "only objects of this organization")
	cmd.Flags().StringVar(&fl.Scope, "scope", "", "only objects in this scope or below it")
	cmd.Flags().StringVar(&fl.Type, "type", "", "only resources of this type (and bindings and offers on them)")
	cmd.Flags().StringVar(&fl.User, "user", "", "only memberships, group members, bindings and offers of this user")
	cmd.Flags().StringVar(&fl.Group, "group", "", "only members and bindings of this group")
	return cmd
}

func moveCmd() *cobra.Command {
	var store, to, under string
	cmd := &cobra.Command{
		Use:   "move [--store S] (scope ID --to PARENT | resource TYPE:ID (--to SCOPE | --under TYPE:ID))",
		Short: "Move a scope or a resource, with everything below it, in one transaction",
		Long: `Moves a scope under another parent, or a resource to another scope or under
another resource, possibly into another organization: everything below it
moves along in the same transaction, so grants inherited from the old place
end and the new place's begin at one revision.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var op func(rolecall.Tx) error
			switch args[0] {
			case "scope":
				if to == "" || under != "" {
					return fmt.Errorf("move scope takes --to PARENT")
				}
				op = func(tx rolecall.Tx) error { return tx.MoveScope(args[1], to) }
			case "resource":
				ref, err := rolecall.ParseResourceRef(args[1])
				if err != nil {
					return err
				}
				var parent *rolecall.ResourceRef
				if under != "" {
					p, err := rolecall.ParseResourceRef(under)
					if err != nil {
						return err
					}
					parent = &p
				}
				op = func(tx rolecall.Tx) error { return tx.MoveResource(ref, to, parent) }
			default:
				return fmt.Errorf("move what? %q: say scope or resource", args[0])
			}
			st, err := openStore(cmd.Context(), store)
			if err != nil {
				return err
			}
			defer st.Close()
			rev, err := st.Update(cmd.Context(), op)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "moved at revision %d\n", rev)
			return nil
		},
	}
	cmd.Flags().StringVar(&store, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	cmd.Flags().StringVar(&to, "to", "", "the new parent scope (for a scope) or the new scope (for a resource)")
	cmd.Flags().StringVar(&under, "under", "", "the new parent resource, TYPE:ID")
	return cmd
}
