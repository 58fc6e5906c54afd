package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/modelfile"
	"github.com/rolecall/rolecall/internal/yamlx"
	"github.com/rolecall/rolecall/model"
	"go.yaml.in/yaml/v3"
)

// Suite is a loaded scenario file.
type Suite struct {
	Path  string
	Model *model.Model
	doc   fileDoc
}

// Options adjust how a file is loaded and run.
type Options struct {
	// Model, when set, replaces the file's own preset or model: a preset
	// name or a model file path.
	Model string
	// Run, when set, runs only the cases whose id it matches.
	Run *regexp.Regexp
	// Verbose prints every case, not only failures.
	Verbose bool
	// Explain prints the explanation of every check.
	Explain bool
	// Narrate prints each case's title and the answer of each of its steps,
	// so a file reads as a walk through the model.
	Narrate bool
}

// Load reads a scenario file and its model.
func Load(path string, opt Options) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &rolecall.Error{Op: "scenario.Load", Kind: rolecall.NotFound, Name: path, Msg: "cannot read the scenario file", Err: err}
	}
	return Parse(path, data, opt)
}

// Parse reads a scenario file from memory; path names it in errors and
// anchors a relative `model:` path.
func Parse(path string, data []byte, opt Options) (*Suite, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, rolecall.E("scenario.Load", rolecall.Invalid, path, "YAML syntax: "+strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 {
		return nil, rolecall.E("scenario.Load", rolecall.Invalid, path, "the scenario file is empty; start with `preset:` and `cases:`")
	}
	d := &yamlx.Decoder{File: path, Names: docNames}
	s := &Suite{Path: path}
	d.Into(root.Content[0], &s.doc)
	if len(d.Errs) > 0 {
		return nil, fileErrors(d.Errs)
	}
	src := opt.Model
	switch {
	case src != "":
	case s.doc.Model.V != "":
		src = s.doc.Model.V
		if !filepath.IsAbs(src) {
			src = filepath.Join(filepath.Dir(path), src)
		}
	case s.doc.Preset.V != "":
		src = s.doc.Preset.V
	default:
		return nil, rolecall.E("scenario.Load", rolecall.Invalid, path, "the file names no model; add `preset: <name>` or `model: <path>`")
	}
	m, err := modelfile.Open(src)
	if err != nil {
		return nil, err
	}
	s.Model = m
	return s, nil
}

var docNames = map[reflect.Type]string{
	reflect.TypeFor[fileDoc](): "the scenario file", reflect.TypeFor[fixtureDoc](): "fixture", reflect.TypeFor[caseDoc](): "case", reflect.TypeFor[stepDoc](): "step",
	reflect.TypeFor[checkDoc](): "check", reflect.TypeFor[lookupDoc](): "lookup", reflect.TypeFor[setDoc](): "set", reflect.TypeFor[bindingDoc](): "binding",
	reflect.TypeFor[resourceDoc](): "resource", reflect.TypeFor[memberDoc](): "member", reflect.TypeFor[groupDoc](): "group", reflect.TypeFor[roleDoc](): "role",
	reflect.TypeFor[offerDoc](): "offer", reflect.TypeFor[scopeDoc](): "scope", reflect.TypeFor[userDoc](): "user", reflect.TypeFor[flagsDoc](): "flags",
}

func fileErrors(es []*yamlx.Error) error {
	out := make(rolecall.Errors, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Summary counts the outcome of a run.
type Summary struct {
	Passed, Failed int
	Skipped        []string // ids of cases that need the admin layer
}

// Run runs the cases and writes failures (and, verbose, passes) to w. It
// returns an error, and runs nothing, when the file names something that
// does not exist; every such problem is listed at file:line.
func (s *Suite) Run(w io.Writer, opt Options) (Summary, error) {
	var sum Summary
	base := &world{}
	base.apply(&s.doc.Fixture)
	if _, _, err := s.build(base, s.doc.Fixture.Pos, "fixture"); err != nil {
		return sum, err
	}
	var problems rolecall.Errors
	var out bytes.Buffer
	for ci := range s.doc.Cases {
		c := &s.doc.Cases[ci]
		if c.ID.V == "" {
			problems = append(problems, s.at(c.Pos, "a case without an id; add `id:`"))
			continue
		}
		if opt.Run != nil && !opt.Run.MatchString(c.ID.V) {
			continue
		}
		if needsAdmin(c) && len(actsAvailable(c)) > 0 {
			sum.Skipped = append(sum.Skipped, c.ID.V)
			continue
		}
		fails, errs := s.runCase(base, c, opt, &out)
		problems = append(problems, errs...)
		switch {
		case len(errs) > 0:
		case len(fails) > 0:
			sum.Failed++
			fmt.Fprintf(&out, "FAIL %s %s\n", c.ID.V, c.Title)
			for _, f := range fails {
				fmt.Fprintf(&out, "%s\n", indent(f, "    "))
			}
		default:
			sum.Passed++
			if opt.Verbose {
				fmt.Fprintf(&out, "PASS %s %s\n", c.ID.V, c.Title)
			}
		}
	}
	if len(problems) > 0 {
		return Summary{}, problems
	}
	_, err := w.Write(out.Bytes())
	return sum, err
}

func needsAdmin(c *caseDoc) bool {
	for _, st := range c.Steps {
		if st.Act != nil {
			return true
		}
	}
	return false
}

func (s *Suite) at(p yamlx.Pos, format string, args ...any) error {
	return &yamlx.Error{File: s.Path, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// locate turns an error from building or querying into one positioned in
// the file.
func (s *Suite) locate(p yamlx.Pos, where string, err error) rolecall.Errors {
	var out rolecall.Errors
	var es rolecall.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			out = append(out, s.locate(p, where, e)...)
		}
		return out
	}
	var pe *posError
	if errors.As(err, &pe) {
		return rolecall.Errors{s.at(pe.Pos, "%s", pe.msg)}
	}
	return rolecall.Errors{s.at(p, "%s: %v", where, err)}
}

func (s *Suite) build(w *world, p yamlx.Pos, where string) (*engine.Engine, *engine.Data, error) {
	d, err := w.data(s.Model)
	if err != nil {
		return nil, nil, s.locate(p, where, err)
	}
	e, err := engine.New(s.Model, d)
	if err != nil {
		return nil, nil, s.locate(p, where, err)
	}
	return e, d, nil
}

// runCase runs one case; it returns the failures (expectations not met)
// and the problems (names that do not exist, malformed steps).
func (s *Suite) runCase(base *world, c *caseDoc, opt Options, out io.Writer) (fails []string, problems rolecall.Errors) {
	w := base.clone()
	w.apply(c.Given)
	pos := c.Pos
	if c.Given != nil {
		pos = c.Given.Pos
	}
	e, d, err := s.build(w, pos, "case "+c.ID.V)
	if err != nil {
		return nil, rolecall.Errors{err}
	}
	var adm *adminRun
	if needsAdmin(c) {
		if adm, err = s.startAdmin(d); err != nil {
			return nil, s.locate(pos, "case "+c.ID.V, err)
		}
		defer adm.close()
		e = adm.live.Engine()
	}
	if len(c.Steps) == 0 {
		return nil, rolecall.Errors{s.at(c.Pos, "case %s has no steps", c.ID.V)}
	}
	if opt.Narrate {
		fmt.Fprintf(out, "\n== %s %s\n", c.ID.V, c.Title)
	}
	for si := range c.Steps {
		st := &c.Steps[si]
		label := fmt.Sprintf("step %d", si+1)
		switch {
		case st.Act != nil:
			f, p := s.act(adm, st, label, opt, out)
			fails, problems = append(fails, f...), append(problems, p...)
			e = adm.live.Engine()
		case st.Set != nil && adm != nil:
			problems = append(problems, s.at(st.Pos, "%s: a case with acts changes its data through them; give `set` data in `given` instead", label))
			return
		case st.Set != nil:
			if opt.Narrate {
				fmt.Fprintf(out, "  SET: %s\n", describeSet(st.Set))
			}
			if st.Set.Resource.V != "" {
				if err := w.patch(st.Set.Resource, st.Set.Attrs); err != nil {
					problems = append(problems, s.locate(st.Pos, label, err)...)
					return
				}
			}
			w.apply(&st.Set.Fixture)
			e, _, err = s.build(w, st.Pos, "case "+c.ID.V+" "+label)
			if err != nil {
				return nil, rolecall.Errors{err}
			}
		case st.Check != nil:
			f, p := s.check(e, st, label, c.ID.V, opt, out)
			fails, problems = append(fails, f...), append(problems, p...)
		case st.Effective != nil:
			f, p := s.effective(e, st, label, opt, out)
			fails, problems = append(fails, f...), append(problems, p...)
		case st.Lookup != nil:
			f, p := s.lookup(e, st, label, opt, out)
			fails, problems = append(fails, f...), append(problems, p...)
		case st.Flags != nil:
			flags, err := e.Flags(st.Flags.Permission.V)
			if err != nil {
				problems = append(problems, s.locate(st.Flags.Permission.Pos, label, err)...)
				continue
			}
			want, err := s.list(st)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			if !sameSet(want, flags) {
				fails = append(fails, fmt.Sprintf("%s: flags of %s: expected %v, got %v", label, st.Flags.Permission.V, want, flags))
			}
		default:
			problems = append(problems, s.at(st.Pos, "%s: a step needs one of check, effective, lookup, set, flags or act", label))
		}
	}
	return fails, problems
}

func (s *Suite) verdict(st *yamlx.Pos, n *yaml.Node, allowed ...string) (string, error) {
	if n == nil || n.Kind != yaml.ScalarNode || !slices.Contains(allowed, n.Value) {
		return "", s.at(*st, "expect: give %s", strings.Join(allowed, " or "))
	}
	return n.Value, nil
}

func (s *Suite) list(st *stepDoc) ([]string, error) {
	if st.Expect == nil {
		return nil, nil
	}
	var l yamlx.List
	d := &yamlx.Decoder{File: s.Path}
	l.DecodeNode(d, st.Expect)
	if len(d.Errs) > 0 {
		return nil, d.Errs[0]
	}
	return strs(l), nil
}

func (s *Suite) request(e *engine.Engine, c *checkDoc) (engine.Request, error) {
	perm := c.Action
	if perm.V == "" {
		perm = c.Permission
	}
	if c.Subject.V == "" || perm.V == "" {
		return engine.Request{}, s.at(c.Pos, "a check names a subject and an action or permission")
	}
	t, err := target(s.Model, &c.On, c.Item)
	if err != nil {
		return engine.Request{}, s.locate(c.Pos, "on", err)
	}
	return engine.Request{Subject: c.Subject.V, Permission: perm.V, Target: t, Context: c.Context}, nil
}

func (s *Suite) check(e *engine.Engine, st *stepDoc, label, id string, opt Options, out io.Writer) (fails []string, problems rolecall.Errors) {
	req, err := s.request(e, st.Check)
	if err != nil {
		return nil, s.locate(st.Pos, label, err)
	}
	want, err := s.verdict(&st.Pos, st.Expect, "ALLOWED", "DENIED")
	if err != nil {
		return nil, rolecall.Errors{err}
	}
	d, err := e.Explain(req)
	if err != nil {
		return nil, s.locate(blame(st.Check, err), label, err)
	}
	got := "DENIED"
	if d.Allowed {
		got = "ALLOWED"
	}
	text := d.Explanation.String()
	switch {
	case opt.Narrate:
		fmt.Fprintf(out, "%s", indent(strings.TrimRight(text, "\n"), "  "))
		fmt.Fprintln(out)
	case opt.Explain:
		fmt.Fprintf(out, "%s %s\n%s", id, label, indent(text, "  "))
		fmt.Fprintln(out)
	}
	what := fmt.Sprintf("%s: check %s %s on %s", label, req.Subject, req.Permission, req.Target)
	var msgs []string
	if got != want {
		msgs = append(msgs, fmt.Sprintf("expected %s, got %s", want, got))
	}
	lower := strings.ToLower(text)
	for _, f := range st.Explain {
		if !strings.Contains(lower, strings.ToLower(f.V)) {
			msgs = append(msgs, fmt.Sprintf("the explanation does not mention %q", f.V))
		}
	}
	for _, f := range st.NotExplain {
		if strings.Contains(lower, strings.ToLower(f.V)) {
			msgs = append(msgs, fmt.Sprintf("the explanation mentions %q", f.V))
		}
	}
	if st.Withheld != nil && !sameSet(strs(*st.Withheld), d.Withheld) {
		msgs = append(msgs, fmt.Sprintf("withheld fields: expected %v, got %v", strs(*st.Withheld), d.Withheld))
	}
	if st.Missing != nil {
		var miss []string
		for _, n := range d.Explanation.Missing {
			for _, r := range n.AnyOf {
				if !slices.Contains(miss, r.Permission) {
					miss = append(miss, r.Permission)
				}
			}
		}
		if !sameSet(strs(*st.Missing), miss) {
			msgs = append(msgs, fmt.Sprintf("missing: expected %v, got %v", strs(*st.Missing), miss))
		}
	}
	if len(msgs) > 0 {
		fails = append(fails, what+"\n  "+strings.Join(msgs, "\n  ")+"\n  explanation:\n"+indent(strings.TrimRight(text, "\n"), "    "))
	}
	return fails, nil
}

func (s *Suite) effective(e *engine.Engine, st *stepDoc, label string, opt Options, out io.Writer) (fails []string, problems rolecall.Errors) {
	c := st.Effective
	if c.Subject.V == "" {
		return nil, rolecall.Errors{s.at(c.Pos, "effective names a subject and a target (on)")}
	}
	t, err := target(s.Model, &c.On, c.Item)
	if err != nil {
		return nil, s.locate(c.Pos, label, err)
	}
	eff, err := e.Effective(c.Subject.V, t, c.Context)
	if err != nil {
		return nil, s.locate(c.Pos, label, err)
	}
	var got []string
	for _, x := range eff {
		got = append(got, x.Permission)
	}
	if opt.Narrate {
		fmt.Fprintf(out, "  EFFECTIVE: %s on %s: %s\n", c.Subject.V, t, listOrNone(got))
	}
	what := fmt.Sprintf("%s: effective %s on %s", label, c.Subject.V, t)
	if st.Expect != nil {
		want, err := s.list(st)
		if err != nil {
			return nil, rolecall.Errors{err}
		}
		if !sameSet(want, got) {
			fails = append(fails, fmt.Sprintf("%s: expected %v, got %v", what, want, got))
		}
	}
	for _, p := range st.Includes {
		if !slices.Contains(got, p.V) {
			fails = append(fails, fmt.Sprintf("%s: expected it to include %s; got %v", what, p.V, got))
		}
	}
	for _, p := range st.Excludes {
		if slices.Contains(got, p.V) {
			fails = append(fails, fmt.Sprintf("%s: expected it to exclude %s; got %v", what, p.V, got))
		}
	}
	return fails, nil
}

func (s *Suite) lookup(e *engine.Engine, st *stepDoc, label string, opt Options, out io.Writer) (fails []string, problems rolecall.Errors) {
	l := st.Lookup
	perm := l.Action
	if perm.V == "" {
		perm = l.Permission
	}
	if l.Subject.V == "" || perm.V == "" || l.Type.V == "" {
		return nil, rolecall.Errors{s.at(l.Pos, "lookup names a subject, an action or permission, and a resource type")}
	}
	got, _, err := e.LookupResources(engine.ResourceQuery{Subject: l.Subject.V, Permission: perm.V, Type: l.Type.V, In: l.In.V, Context: l.Context})
	if err != nil {
		return nil, s.locate(l.Pos, label, err)
	}
	want, err := s.list(st)
	if err != nil {
		return nil, rolecall.Errors{err}
	}
	if opt.Narrate {
		in := ""
		if l.In.V != "" {
			in = " in " + l.In.V
		}
		fmt.Fprintf(out, "  LOOKUP: %s may %s on %s%s: %s\n", l.Subject.V, perm.V, l.Type.V, in, listOrNone(got))
	}
	if !slices.Equal(want, got) && !(len(want) == 0 && len(got) == 0) {
		fails = append(fails, fmt.Sprintf("%s: lookup %s %s %s in %q: expected %v, got %v", label, l.Subject.V, perm.V, l.Type.V, l.In.V, want, got))
	}
	return fails, nil
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	x, y = slices.Compact(x), slices.Compact(y)
	return slices.Equal(x, y)
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

// Worlds returns the engine data each case starts from (the fixture plus
// the case's given), by case id, for cases that need no admin act.
func (s *Suite) Worlds() (map[string]*engine.Data, error) {
	base := &world{}
	base.apply(&s.doc.Fixture)
	out := map[string]*engine.Data{}
	for i := range s.doc.Cases {
		c := &s.doc.Cases[i]
		if needsAdmin(c) {
			continue
		}
		w := base.clone()
		w.apply(c.Given)
		d, err := w.data(s.Model)
		if err != nil {
			return nil, s.locate(c.Pos, "case "+c.ID.V, err)
		}
		out[c.ID.V] = d
	}
	return out, nil
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ", ")
}

func describeSet(s *setDoc) string {
	if s.Resource.V != "" {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(s.Attrs)) {
			kv = append(kv, fmt.Sprintf("%s=%v", k, s.Attrs[k]))
		}
		return s.Resource.V + " " + strings.Join(kv, " ")
	}
	return "the fixture changes"
}

// blame returns the position in a check of the name an error is about.
func blame(c *checkDoc, err error) yamlx.Pos {
	var re *rolecall.Error
	if !errors.As(err, &re) {
		return c.Pos
	}
	switch re.Name {
	case c.Subject.V:
		return c.Subject.Pos
	case c.Action.V, c.Permission.V:
		if c.Action.V != "" {
			return c.Action.Pos
		}
		return c.Permission.Pos
	case c.Item.V:
		return c.Item.Pos
	}
	return c.On.Pos
}
