package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix starts the environment variables that set a command's flags:
// ROLECALL_STORE for --store, ROLECALL_BASE_URL for --base-url.
const envPrefix = "ROLECALL_"

// configure fills the flags of cmd that the command line leaves unset from
// the environment (ROLECALL_<FLAG>, dashes as underscores) and then from
// the YAML file --config names (or ROLECALL_CONFIG), whose keys are flag
// names: the command line wins over the environment, which wins over the
// file. A key of the file that is no flag, or a value a flag refuses, is an
// error naming it.
func configure(cmd *cobra.Command) error {
	fs := cmd.Flags()
	k := koanf.New(".")
	path, _ := fs.GetString("config")
	if path == "" {
		path = os.Getenv(envPrefix + "CONFIG")
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return fmt.Errorf("config file %s: %w", path, err)
		}
		for _, key := range k.Keys() {
			if fs.Lookup(key) == nil || key == "config" {
				return fmt.Errorf("config file %s: %q is not a setting of rolecall %s; the settings are its flags: %s", path, key, cmd.Name(), strings.Join(flagNames(fs), ", "))
			}
		}
	}
	fromEnv := koanf.New(".")
	if err := fromEnv.Load(env.Provider(".", env.Opt{Prefix: envPrefix, TransformFunc: func(key, v string) (string, any) {
		return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, envPrefix)), "_", "-"), v
	}}), nil); err != nil {
		return err
	}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "config" || f.Name == "help" {
			return
		}
		src, val := "", ""
		switch {
		case fromEnv.Exists(f.Name):
			src, val = "environment variable "+envPrefix+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_")), fromEnv.String(f.Name)
		case k.Exists(f.Name):
			src = "config file " + path
			if l := k.Strings(f.Name); len(l) > 0 && strings.HasSuffix(f.Value.Type(), "Slice") {
				val = strings.Join(l, ",")
			} else {
				val = k.String(f.Name)
			}
		default:
			return
		}
		if e := f.Value.Set(val); e != nil {
			err = fmt.Errorf("%s: %s %q: %v", src, f.Name, val, e)
		}
	})
	return err
}

func flagNames(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" && f.Name != "help" {
			out = append(out, f.Name)
		}
	})
	slices.Sort(out)
	return out
}
