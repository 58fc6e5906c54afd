package main

import "github.com/spf13/cobra"

func scenariosCmd() *cobra.Command { return &cobra.Command{Use: "scenarios", Hidden: true} }
func demoCmd() *cobra.Command      { return &cobra.Command{Use: "demo", Hidden: true} }
