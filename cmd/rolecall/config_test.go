package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestConfigure: the command line wins over the environment, which wins
// over the config file; a key of the file that is no flag, and a value a
// flag refuses, are errors naming them.
func TestConfigure(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "store: from-file.db\naddr: 127.0.0.1:9000\nfollow: 1s\nbase-url: https://file.example\n")
	var store, addr, base, config string
	var follow time.Duration
	newCmd := func() *cobra.Command {
		store, addr, base, config, follow = "", "", "", "", 0
		c := &cobra.Command{Use: "serve", RunE: func(cmd *cobra.Command, _ []string) error { return configure(cmd) }}
		c.Flags().StringVar(&store, "store", "", "")
		c.Flags().StringVar(&addr, "addr", "127.0.0.1:7080", "")
		c.Flags().StringVar(&base, "base-url", "", "")
		c.Flags().StringVar(&config, "config", "", "")
		c.Flags().DurationVar(&follow, "follow", 200*time.Millisecond, "")
		return c
	}
	run := func(args ...string) error {
		c := newCmd()
		c.SetArgs(args)
		c.SilenceUsage, c.SilenceErrors = true, true
		return c.Execute()
	}

	t.Setenv("ROLECALL_ADDR", "127.0.0.1:8000")
	t.Setenv("ROLECALL_BASE_URL", "https://env.example")
	if err := run("--config", good, "--base-url", "https://flag.example"); err != nil {
		t.Fatal(err)
	}
	if store != "from-file.db" || addr != "127.0.0.1:8000" || base != "https://flag.example" || follow != time.Second {
		t.Fatalf("store %q addr %q base %q follow %v: want the file's store and follow, the environment's addr, the flag's base URL", store, addr, base, follow)
	}

	t.Setenv("ROLECALL_CONFIG", good)
	if err := run(); err != nil || store != "from-file.db" {
		t.Fatalf("ROLECALL_CONFIG: %v, store %q", err, store)
	}
	os.Unsetenv("ROLECALL_CONFIG")

	for _, c := range []struct{ file, want string }{
		{write("unknown.yaml", "stroe: x.db\n"), `"stroe" is not a setting of rolecall serve`},
		{write("bad.yaml", "follow: soon\n"), `follow "soon"`},
		{filepath.Join(dir, "missing.yaml"), "missing.yaml"},
		{write("broken.yaml", "store: [\n"), "broken.yaml"},
	} {
		err := run("--config", c.file)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--config %s: %v, want an error saying %s", filepath.Base(c.file), err, c.want)
		}
	}
	t.Setenv("ROLECALL_FOLLOW", "never")
	if err := run(); err == nil || !strings.Contains(err.Error(), "ROLECALL_FOLLOW") {
		t.Errorf("a bad environment value: %v, want an error naming ROLECALL_FOLLOW", err)
	}
}
