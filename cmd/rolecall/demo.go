package main

import (
	"fmt"
	"regexp"

	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/scenario"
	"github.com/spf13/cobra"
)

func demoCmd() *cobra.Command {
	var file, only string
	cmd := &cobra.Command{
		Use:   "demo [PRESET]",
		Short: "Walk through a preset at work: checks on its demo organization, explained",
		Long: `Builds the demo organization of a preset (the fixture of its scenario file,
scenario/presets/PRESET.yaml) and runs the preset's access cases, printing
each check with its explanation: the path that granted access, or what is
missing and which roles or grants would give it, and where. PRESET is one of
` + fmt.Sprint(model.Presets()) + ` (default reinfer).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			preset := "reinfer"
			if len(args) == 1 {
				preset = args[0]
			}
			if _, err := model.Preset(preset); err != nil {
				return err
			}
			opt := scenario.Options{Model: preset, Narrate: true}
			if only != "" {
				re, err := regexp.Compile(only)
				if err != nil {
					return fmt.Errorf("--case %q is not a valid regular expression: %v", only, err)
				}
				opt.Run = re
			}
			var s *scenario.Suite
			var err error
			if file == "" {
				file = "scenario/presets/" + preset + ".yaml (embedded)"
				data, err := scenario.PresetFile(preset)
				if err != nil {
					return err
				}
				s, err = scenario.Parse(file, data, opt)
				if err != nil {
					return err
				}
			} else if s, err = scenario.Load(file, opt); err != nil {
				return err
			}
			m := s.Model
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d permissions in %d categories, %d roles, %d actions; demo data from %s\n",
				m.Name, len(m.Perms), len(m.Categories), len(m.Roles), len(m.Actions), file)
			sum, err := s.Run(out, opt)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\n%d cases shown\n", sum.Passed+sum.Failed)
			if sum.Failed > 0 {
				fmt.Fprintf(out, "%d cases did not come out as their file expects; run `rolecall scenarios %s` for details\n", sum.Failed, file)
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "scenario file holding the demo data and cases (default: the preset's own, built in)")
	cmd.Flags().StringVar(&only, "case", "", "show only the cases whose id matches this regular expression")
	return cmd
}
