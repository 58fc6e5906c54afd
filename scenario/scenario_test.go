package scenario_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/scenario"
)

// TestPresetScenarios runs the scenario file of every preset: every access
// case must pass.
func TestPresetScenarios(t *testing.T) {
	files, _ := filepath.Glob("presets/*.yaml")
	if len(files) < 4 {
		t.Fatalf("found %d scenario files, want one per preset", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := scenario.Load(f, scenario.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			sum, err := s.Run(&out, scenario.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Failed > 0 || sum.Passed == 0 {
				t.Fatalf("%d passed, %d failed:\n%s", sum.Passed, sum.Failed, out.String())
			}
		})
	}
}

const fixture = `preset: reinfer
fixture:
  scopes:
    - {id: acme, level: tenant}
    - {id: A, level: project, parent: acme}
  users: [alice, bob]
  members:
    - {user: alice, scope: A}
  resources:
    - {type: source, id: A/inbox, scope: A}
  bindings:
    - {user: alice, permissions: [sources_admin], scope: A}
cases:
`

// TestBadInput: a scenario naming something that does not exist is
// rejected with file:line and the name, and nothing runs.
func TestBadInput(t *testing.T) {
	for _, tt := range []struct {
		name, cases, want string
	}{
		{"unknown user", `  - id: X1
    steps:
      - check: {subject: zoe, action: source.view, on: "source:A/inbox"}
        expect: ALLOWED
`, "bad.yaml:16:26: step 1: zoe: no such user"},
		{"unknown permission", `  - id: X1
    steps:
      - check: {subject: alice, permission: view_sourcez, on: "source:A/inbox"}
        expect: ALLOWED
`, "bad.yaml:16:45: step 1: view_sourcez: no permission or action of that name in model reinfer"},
		{"unknown resource", `  - id: X1
    steps:
      - check: {subject: alice, action: source.view, on: "source:A/outbox"}
        expect: ALLOWED
`, "bad.yaml:16:58: step 1: source:A/outbox: no such resource"},
		{"unknown scope in given", `  - id: X1
    given:
      members: [{user: bob, scope: Z}]
    steps:
      - check: {subject: alice, action: source.view, on: "source:A/inbox"}
        expect: ALLOWED
`, "membership bob@Z: unknown user or scope"},
		{"unknown key", `  - id: X1
    steps:
      - check: {subject: alice, action: source.view, on: "source:A/inbox"}
        expcet: ALLOWED
`, `bad.yaml:17:9: unknown field "expcet" in step; did you mean "expect"?`},
		{"bad verdict", `  - id: X1
    steps:
      - check: {subject: alice, action: source.view, on: "source:A/inbox"}
        expect: YES
`, "expect: give ALLOWED or DENIED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			s, err := scenario.Parse("bad.yaml", []byte(fixture+tt.cases), scenario.Options{})
			if err == nil {
				_, err = s.Run(&out, scenario.Options{})
			}
			if err == nil {
				t.Fatalf("no error; want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error:\n%v\nwant it to contain %q", err, tt.want)
			}
			if out.Len() > 0 {
				t.Fatalf("something ran despite the error:\n%s", out.String())
			}
		})
	}
}

// TestFailureReport: a case whose expectation is wrong is reported with its
// id, the step, what was expected, what came back and the explanation.
func TestFailureReport(t *testing.T) {
	src := fixture + `  - id: X1
    title: wrong on purpose
    steps:
      - check: {subject: alice, action: source.view, on: "source:A/inbox"}
        expect: DENIED
      - check: {subject: bob, action: source.view, on: "source:A/inbox"}
        expect: DENIED
        explain: [view_sources, project A]
        missing: [view_sources]
  - id: X2
    steps:
      - act: {actor: bob, do: add_member, user: alice, scope: A}
        expect: ACCEPTED
  - id: X3
    steps:
      - act: {actor: alice, do: update_settings, scope: A}
        expect: ACCEPTED
`
	s, err := scenario.Parse("f.yaml", []byte(src), scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := s.Run(&out, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Passed != 0 || sum.Failed != 2 || len(sum.Skipped) != 1 || sum.Skipped[0] != "X3" {
		t.Fatalf("summary %+v, want 0 passed, 2 failed, X3 skipped (its act is not built yet)", sum)
	}
	for _, want := range []string{"FAIL X1 wrong on purpose", "step 1: check alice source.view", "expected DENIED, got ALLOWED",
		"sources_admin ⇒ view_sensitive_data ⇒ view_sources",
		"FAIL X2", "step 1: act bob add_member", "expected ACCEPTED, got REFUSED", "no such tenant or project"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "step 2") {
		t.Errorf("step 2 met its expectations but is reported:\n%s", out.String())
	}
}
