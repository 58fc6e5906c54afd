package scenario_test

import (
	"io"
	"testing"

	"github.com/rolecall/rolecall/scenario"
)

// FuzzScenario: whatever the file says, loading and running it returns a
// result or an error, never a panic.
func FuzzScenario(f *testing.F) {
	// Small seeds keep each execution fast; the preset files are run by
	// TestPresetScenarios.
	for _, c := range []string{
		"  - id: X\n    steps:\n      - check: {subject: alice, action: source.view, on: \"source:A/inbox\"}\n        expect: ALLOWED\n        explain: [sources_admin]\n",
		"  - id: X\n    given:\n      members: [{user: bob, scope: A, join: true}]\n    steps:\n      - lookup: {subject: bob, action: source.view, type: source, in: A}\n        expect: [A/inbox]\n      - effective: {subject: bob, on: A}\n        includes: [view_sources]\n",
		"  - id: X\n    steps:\n      - set: {resource: \"source:A/inbox\", attrs: {x: 1}}\n      - check: {subject: bob, permission: view_sources, on: {new: source, scope: A}}\n        expect: DENIED\n        missing: [view_sources]\n      - flags: {permission: view_sources}\n        expect: [default_member]\n",
	} {
		f.Add([]byte(fixture + c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := scenario.Parse("fuzz.yaml", data, scenario.Options{})
		if err != nil {
			return
		}
		if len(data) > 16<<10 {
			return // large inputs only slow the search down
		}
		_, _ = s.Run(io.Discard, scenario.Options{})
	})
}
