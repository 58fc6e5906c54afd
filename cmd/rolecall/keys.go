package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/internal/server"
)

func keyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Create, list and revoke API keys"}
	var store, org, user, name string
	var operator bool
	create := &cobra.Command{
		Use:   "create [--store S] (--org ORG --user USER | --operator) [--name NAME]",
		Short: "Create an API key and print it, once: only its hash is stored",
		Long: `Creates an API key. An organization's key (--org and --user) acts as that
user and reaches nothing of another organization; the operator's key
(--operator) acts as the platform operator. The key is printed once; the
store keeps only its hash.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if operator == (org != "") {
				return fmt.Errorf("give --org ORG --user USER for an organization's key, or --operator")
			}
			st, err := openStore(cmd.Context(), store)
			if err != nil {
				return err
			}
			defer st.Close()
			k, token := server.NewKey(org, user, name, time.Now())
			if _, err := st.Update(cmd.Context(), func(tx rolecall.Tx) error { return tx.CreateAPIKey(&k) }); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), token)
			fmt.Fprintf(cmd.ErrOrStderr(), "key %s created; keep it now, it is not shown again\n", k.ID)
			return nil
		},
	}
	create.Flags().StringVar(&store, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	create.Flags().StringVar(&org, "org", "", "the organization the key acts in")
	create.Flags().StringVar(&user, "user", "", "the user the key acts as")
	create.Flags().StringVar(&name, "name", "", "what the key is for")
	create.Flags().BoolVar(&operator, "operator", false, "a key of the platform operator")

	var lstore, lorg string
	list := &cobra.Command{
		Use:   "list [--store S] [--org ORG]",
		Short: "List an organization's keys (or the operator's, without --org)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), lstore)
			if err != nil {
				return err
			}
			defer st.Close()
			ks, err := st.APIKeys(cmd.Context(), lorg)
			if err != nil {
				return err
			}
			for _, k := range ks {
				state := "active"
				if !k.Revoked.IsZero() {
					state = "revoked " + k.Revoked.Format(time.DateOnly)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %-10s %-20s %s  %s\n", k.ID, k.User, k.Name, k.Created.Format(time.DateOnly), state)
			}
			return nil
		},
	}
	list.Flags().StringVar(&lstore, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	list.Flags().StringVar(&lorg, "org", "", "the organization")

	var rstore string
	revoke := &cobra.Command{
		Use:   "revoke [--store S] ID",
		Short: "Revoke a key: calls with it are refused from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), rstore)
			if err != nil {
				return err
			}
			defer st.Close()
			if _, err := st.Update(cmd.Context(), func(tx rolecall.Tx) error { return tx.RevokeAPIKey(args[0], time.Now()) }); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s revoked\n", args[0])
			return nil
		},
	}
	revoke.Flags().StringVar(&rstore, "store", "", "SQLite file path or postgres:// URL (default "+defaultStore+")")
	cmd.AddCommand(create, list, revoke)
	return cmd
}
