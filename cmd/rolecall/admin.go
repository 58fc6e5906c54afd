package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/client"
)

// actorFlags say who acts.
type actorFlags struct {
	as       string
	operator bool
}

func (f *actorFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.as, "as", "", "the user who acts")
	cmd.Flags().BoolVar(&f.operator, "operator", false, "act as the platform operator")
}

func (f *actorFlags) actor() (admin.Actor, error) {
	switch {
	case f.operator && f.as != "":
		return admin.Actor{}, fmt.Errorf("give --as USER or --operator, not both")
	case f.operator:
		return admin.Actor{Operator: true}, nil
	case f.as != "":
		return admin.Actor{User: f.as}, nil
	}
	return admin.Actor{}, fmt.Errorf("say who acts: --as USER, or --operator")
}

// adminCall runs remote against the server --addr names, or else local
// against the admin layer over the store, acting as who.
func (f *storeFlags) adminCall(ctx context.Context, who *actorFlags, remote func(*client.Client) error, local func(*admin.Service, admin.Actor) error) error {
	c, err := f.remote()
	if err != nil {
		return err
	}
	if c != nil {
		return remote(c)
	}
	a, err := who.actor()
	if err != nil {
		return err
	}
	m, st, live, err := f.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return local(admin.New(m, st, live, nil), a)
}

// parseRequest reads an act's arguments written key=value.
func parseRequest(act string, args []string) (admin.Request, error) {
	r := admin.Request{Act: act}
	list := func(v string) []string { return strings.Split(v, ",") }
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return r, fmt.Errorf("argument %q: write key=value, e.g. user=bob", a)
		}
		var err error
		switch k {
		case "org":
			r.Org = v
		case "scope":
			r.Scope = v
		case "level":
			r.Level = v
		case "name":
			r.Name = v
		case "new":
			r.New = v
		case "user":
			r.User = v
		case "email":
			r.Email = v
		case "group":
			r.Group = v
		case "role":
			r.Role = v
		case "domain":
			r.Domain = v
		case "offer":
			r.Offer = v
		case "kind":
			r.Kind = v
		case "recipient":
			r.Recipient = v
		case "private_id":
			r.PrivateID = v
		case "permissions":
			r.Permissions = list(v)
		case "add_permissions":
			r.AddPermissions = list(v)
		case "remove_permissions":
			r.RemovePermissions = list(v)
		case "resource":
			var ref rolecall.ResourceRef
			ref, err = rolecall.ParseResourceRef(v)
			r.Resource = &ref
		case "not_before":
			r.NotBefore, err = time.Parse(time.RFC3339, v)
		case "not_after":
			r.NotAfter, err = time.Parse(time.RFC3339, v)
		case "token":
			r.Token = v
		case "base":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 64)
			r.Base = rolecall.Revision(n)
		default:
			return r, fmt.Errorf("argument %q: unknown key %q; keys are org, scope, level, name, new, user, email, group, role, domain, resource, permissions, add_permissions, remove_permissions, offer, kind, recipient, private_id, not_before, not_after, base, token", a, k)
		}
		if err != nil {
			return r, fmt.Errorf("argument %q: %v", a, err)
		}
	}
	return r, nil
}

func printResult(cmd *cobra.Command, asJSON bool, res admin.Result) error {
	out := cmd.OutOrStdout()
	if asJSON {
		return printJSON(out, res)
	}
	fmt.Fprintf(out, "accepted at revision %d\n", res.Revision)
	if res.Link != "" {
		fmt.Fprintf(out, "invitation link token (shown once; give it to the invitee, who accepts with `rolecall invite join TOKEN`): %s\n", res.Link)
	}
	if res.User != "" {
		fmt.Fprintf(out, "joined as user %s\n", res.User)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	return nil
}

// runAct performs an act on a server (--addr) or in-process on a store.
func runAct(cmd *cobra.Command, f *storeFlags, who *actorFlags, req admin.Request) error {
	var res admin.Result
	err := f.adminCall(cmd.Context(), who, func(c *client.Client) error {
		done, err := c.Do(cmd.Context(), client.Act{Act: req.Act, Org: req.Org, Scope: req.Scope, Level: req.Level, Name: req.Name,
			New: req.New, User: req.User, Email: req.Email, Group: req.Group, Role: req.Role, Domain: req.Domain, Offer: req.Offer,
			Kind: req.Kind, Recipient: req.Recipient, PrivateID: req.PrivateID, Resource: req.Resource, Permissions: req.Permissions,
			AddPermissions: req.AddPermissions, RemovePermissions: req.RemovePermissions, NotBefore: req.NotBefore,
			NotAfter: req.NotAfter, Base: req.Base, Token: req.Token})
		res = admin.Result{Revision: done.Revision, Warnings: done.Warnings, Audit: done.Audit, Link: done.Link, User: done.User}
		return err
	}, func(svc *admin.Service, a admin.Actor) (err error) {
		res, err = svc.Do(cmd.Context(), a, req)
		return err
	})
	if err != nil {
		return err
	}
	return printResult(cmd, f.json, res)
}

func actCmd() *cobra.Command {
	var f storeFlags
	var who actorFlags
	cmd := &cobra.Command{
		Use:   "act (--model M [--store S] (--as USER | --operator) | --addr A --key K) ACT [key=value...]",
		Short: "Perform an admin act (bind_role, grant_permissions, invite, ...), authorized and audited",
		Long: `Performs one admin act through the admin layer: the act is authorized by the
engine against the actor's own rights, checked against the model's admin
rules, committed with its audit event, and applied to the index. A refusal
names the rule and what to do instead, and writes nothing.

Arguments are key=value: org, scope ("*" for every node of the organization),
level, name, new, user, email, group, role, domain, resource (type:id),
permissions (comma-separated), add_permissions, remove_permissions, offer,
kind, recipient, private_id, not_before and not_after (RFC 3339), base (the
revision an edit is based on).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := parseRequest(args[0], args[1:])
			if err != nil {
				return err
			}
			return runAct(cmd, &f, &who, req)
		},
	}
	f.add(cmd)
	who.add(cmd)
	return cmd
}

func auditCmd() *cobra.Command {
	var f storeFlags
	var who actorFlags
	var q rolecall.AuditQuery
	var since, until string
	cmd := &cobra.Command{
		Use:   "audit --model M [--store S] (--as USER | --operator) --org ORG [--actor A] [--act X] [--target T] [--since T] [--until T]",
		Short: "List an organization's audit log, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			for _, t := range []struct {
				s string
				v *time.Time
			}{{since, &q.Since}, {until, &q.Until}} {
				if t.s != "" {
					if *t.v, err = time.Parse(time.RFC3339, t.s); err != nil {
						return fmt.Errorf("%q is not a time written like 2026-11-23T10:00:00Z", t.s)
					}
				}
			}
			var evs []rolecall.AuditEvent
			var next string
			err = f.adminCall(cmd.Context(), &who, func(c *client.Client) (err error) {
				evs, next, err = c.Audit(cmd.Context(), q)
				return err
			}, func(svc *admin.Service, a admin.Actor) (err error) {
				evs, next, err = svc.Audit(cmd.Context(), a, q)
				return err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				return printJSON(out, struct {
					Events []rolecall.AuditEvent `json:"events"`
					Next   string                `json:"next,omitempty"`
				}{evs, next})
			}
			for _, e := range evs {
				fmt.Fprintf(out, "%s  r%-6d %-12s %-20s %s\n", e.At.Format(time.RFC3339), e.Revision, e.Actor, e.Act, e.Target)
				if e.Decision != "" {
					fmt.Fprintf(out, "    allowed by: %s\n", e.Decision)
				}
			}
			if next != "" {
				fmt.Fprintf(out, "more: --after %s\n", next)
			}
			return nil
		},
	}
	f.add(cmd)
	who.add(cmd)
	cmd.Flags().StringVar(&q.Org, "org", "", "the organization (required)")
	cmd.Flags().StringVar(&q.Actor, "actor", "", "only events of this actor")
	cmd.Flags().StringVar(&q.Act, "act", "", "only events of this act")
	cmd.Flags().StringVar(&q.Target, "target", "", `only events on this target, e.g. "binding b1"`)
	cmd.Flags().StringVar(&since, "since", "", "only events at or after this time (RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "only events before this time (RFC 3339)")
	cmd.Flags().IntVar(&q.Page.Limit, "limit", 0, "events per page (0: the store's default)")
	cmd.Flags().StringVar(&q.Page.After, "after", "", "the cursor a previous page printed")
	return cmd
}
