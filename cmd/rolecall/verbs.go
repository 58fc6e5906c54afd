package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/client"
)

// verb is a subcommand that performs one admin act: its positional
// arguments fill the request's fields in order; flags fill the others.
type verb struct {
	use   string   // "add USER SCOPE"
	short string   // what it does
	act   string   // the admin act
	args  []string // request fields the positional arguments fill, in order
	flags []string // request fields also settable with --field
}

// verbGroups are the command line's subcommands for admin acts, by noun.
var verbGroups = []struct {
	noun, short string
	verbs       []verb
}{
	{"member", "Add and remove members, set their default role", []verb{
		{"add USER SCOPE", "Make USER a member of SCOPE (with --role, a role there)", "add_member", []string{"user", "scope"}, []string{"role"}},
		{"remove USER SCOPE", "End USER's membership of SCOPE and the roles held there", "remove_member", []string{"user", "scope"}, nil},
		{"default-role USER SCOPE ROLE", "Set the default role USER carries at SCOPE", "set_default_role", []string{"user", "scope", "role"}, nil},
		{"create USER", "Create a user (with --email, --scope)", "create_user", []string{"user"}, []string{"email", "name", "scope"}},
		{"delete USER", "Delete a user entirely", "delete_user", []string{"user"}, nil},
	}},
	{"role", "Bind roles, grant permissions, manage custom roles", []verb{
		{"bind USER ROLE SCOPE", `Bind ROLE to USER at SCOPE ("*": every node of the organization)`, "bind_role", []string{"user", "role", "scope"}, []string{"org"}},
		{"unbind USER ROLE SCOPE", "Take ROLE at SCOPE from USER", "unbind_role", []string{"user", "role", "scope"}, []string{"org"}},
		{"grant USER SCOPE PERMISSIONS", "Grant permissions (comma-separated) directly, where the model allows", "grant_permissions", []string{"user", "scope", "permissions"}, nil},
		{"revoke USER SCOPE PERMISSIONS", "Take directly granted permissions back", "revoke_permissions", []string{"user", "scope", "permissions"}, nil},
		{"create ROLE PERMISSIONS", "Create a custom role (with --org or --scope, --name)", "create_custom_role", []string{"role", "permissions"}, []string{"org", "scope", "name"}},
		{"update ROLE", "Change a custom role (--add-permissions, --remove-permissions, --name)", "update_custom_role", []string{"role"}, []string{"org", "scope", "name", "add_permissions", "remove_permissions"}},
		{"delete ROLE", "Delete a custom role no binding uses", "delete_custom_role", []string{"role"}, []string{"org", "scope"}},
	}},
	{"group", "Create groups and teams, manage their members and places", []verb{
		{"create GROUP SCOPE", "Create a group in SCOPE", "create_group", []string{"group", "scope"}, []string{"name"}},
		{"rename GROUP NAME", "Rename a group", "rename_group", []string{"group", "name"}, nil},
		{"delete GROUP", "Delete a group, its memberships and roles", "delete_group", []string{"group"}, nil},
		{"add GROUP USER", "Put USER in GROUP", "add_group_member", []string{"group", "user"}, nil},
		{"remove GROUP USER", "Take USER out of GROUP", "remove_group_member", []string{"group", "user"}, nil},
		{"bind GROUP SCOPE", "Give GROUP a role at SCOPE (--role; without, members' default roles)", "bind_group", []string{"group", "scope"}, []string{"role"}},
		{"unbind GROUP SCOPE", "Take GROUP's roles at SCOPE away", "unbind_group", []string{"group", "scope"}, nil},
		{"assign GROUP RESOURCE", "Assign a resource (type:id) to GROUP", "assign_resource_group", []string{"group", "resource"}, nil},
	}},
	{"invite", "Invite people to a scope", []verb{
		{"send EMAIL SCOPE", "Invite EMAIL to SCOPE (with --role)", "invite", []string{"email", "scope"}, []string{"role"}},
		{"resend EMAIL SCOPE", "Renew a pending invitation", "resend_invitation", []string{"email", "scope"}, nil},
		{"revoke EMAIL SCOPE", "Revoke a pending invitation", "revoke_invitation", []string{"email", "scope"}, nil},
		{"accept EMAIL SCOPE", "Accept an invitation (as the invited user)", "accept_invitation", []string{"email", "scope"}, nil},
		{"join TOKEN", "Accept an invitation by its link's token (for the invitee; an account is made for the address when it has none, named --name)", "accept_invitation", []string{"token"}, []string{"name"}},
	}},
	{"offer", "Offers of access between organizations", []verb{
		{"send OFFER KIND RESOURCE RECIPIENT", "Offer access to a resource (type:id) to a user of another organization", "send", []string{"offer", "kind", "resource", "recipient"}, nil},
		{"accept OFFER", "Accept an offer made to you", "accept", []string{"offer"}, []string{"private_id"}},
		{"reject OFFER", "Reject an offer made to you", "reject", []string{"offer"}, nil},
		{"revoke OFFER", "Revoke an offer you made", "revoke", []string{"offer"}, nil},
		{"surrender OFFER", "Give up an offer you accepted", "surrender", []string{"offer"}, nil},
	}},
}

func verbCmds() []*cobra.Command {
	var out []*cobra.Command
	for _, g := range verbGroups {
		noun := &cobra.Command{Use: g.noun, Short: g.short}
		for _, v := range g.verbs {
			noun.AddCommand(verbCmd(v))
		}
		if g.noun == "member" {
			noun.AddCommand(memberListCmd())
		}
		out = append(out, noun)
	}
	return out
}

// memberListCmd lists the members the actor may see.
func memberListCmd() *cobra.Command {
	var f storeFlags
	var who actorFlags
	var search, after string
	var limit int
	cmd := &cobra.Command{
		Use:   "list ORG [--search TEXT]",
		Short: "List the members of ORG you may see, with their scopes and groups",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ms []client.Member
			var next string
			err := f.adminCall(cmd.Context(), &who, func(c *client.Client) (err error) {
				ms, next, err = c.Members(cmd.Context(), args[0], search, after, limit)
				return err
			}, func(svc *admin.Service, a admin.Actor) error {
				got, n, err := svc.Members(cmd.Context(), a, admin.MemberQuery{Org: args[0], Search: search, After: after, Limit: limit})
				for _, m := range got {
					ms = append(ms, client.Member{ID: m.ID, Name: m.Name, Email: m.Email, Scopes: m.Scopes, Groups: m.Groups})
				}
				next = n
				return err
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				return printJSON(out, struct {
					Members []client.Member `json:"members"`
					Next    string          `json:"next,omitempty"`
				}{ms, next})
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tEMAIL\tSCOPES\tGROUPS")
			for _, m := range ms {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Name, m.Email, strings.Join(m.Scopes, ","), strings.Join(m.Groups, ","))
			}
			tw.Flush()
			if next != "" {
				fmt.Fprintf(out, "more: --after %s\n", next)
			}
			return nil
		},
	}
	f.add(cmd)
	who.add(cmd)
	cmd.Flags().StringVar(&search, "search", "", "only members whose id, name or email contains this")
	cmd.Flags().StringVar(&after, "after", "", "start after this member id")
	cmd.Flags().IntVar(&limit, "limit", 0, "members per page (default 50)")
	return cmd
}

func verbCmd(v verb) *cobra.Command {
	var f storeFlags
	var who actorFlags
	vals := map[string]*string{}
	cmd := &cobra.Command{
		Use:   v.use,
		Short: v.short,
		Long: v.short + ` (the admin act ` + v.act + `), authorized and audited like every act:
on a server with --addr and --key, or in-process on a store with --model and
--as USER or --operator.`,
		Args: cobra.ExactArgs(len(v.args)),
		RunE: func(cmd *cobra.Command, args []string) error {
			kv := []string{}
			for i, field := range v.args {
				kv = append(kv, field+"="+args[i])
			}
			for field, p := range vals {
				if *p != "" {
					kv = append(kv, field+"="+*p)
				}
			}
			req, err := parseRequest(v.act, kv)
			if err != nil {
				return err
			}
			return runAct(cmd, &f, &who, req)
		},
	}
	f.add(cmd)
	who.add(cmd)
	for _, field := range v.flags {
		vals[field] = new(string)
		cmd.Flags().StringVar(vals[field], strings.ReplaceAll(field, "_", "-"), "", "the act's "+field)
	}
	return cmd
}
