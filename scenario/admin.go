package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/admin"
	"github.com/rolecall/rolecall/engine"
	"github.com/rolecall/rolecall/internal/yamlx"
	"github.com/rolecall/rolecall/sqlite"
	"github.com/rolecall/rolecall/transfer"
)

// actDoc is an act step: who acts, the act, and its arguments.
type actDoc struct {
	Actor             str      `yaml:"actor"`
	Do                str      `yaml:"do"`
	Org               string   `yaml:"org"`
	Scope             string   `yaml:"scope"`
	Level             string   `yaml:"level"`
	Parent            string   `yaml:"parent"`
	Name              string   `yaml:"name"`
	User              string   `yaml:"user"`
	Email             string   `yaml:"email"`
	Group             string   `yaml:"group"`
	Role              string   `yaml:"role"`
	Domain            string   `yaml:"domain"`
	Resource          string   `yaml:"resource"`
	Permissions       []string `yaml:"permissions"`
	AddPermissions    []string `yaml:"add_permissions"`
	RemovePermissions []string `yaml:"remove_permissions"`
	Offer             string   `yaml:"offer"`
	Kind              string   `yaml:"kind"`
	Recipient         string   `yaml:"recipient"`
	PrivateID         string   `yaml:"private_id"`
	yamlx.Pos
}

// adminRun is a case run through the admin layer: a store of its own
// holding the case's world, the live index following it, and the service.
type adminRun struct {
	dir  string
	st   rolecall.Store
	live *engine.Live
	svc  *admin.Service
}

func (a *adminRun) close() {
	a.st.Close()
	os.RemoveAll(a.dir)
}

// startAdmin writes the case's world into a fresh SQLite store and opens
// the admin layer over it.
func (s *Suite) startAdmin(d *engine.Data) (*adminRun, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rolecall-scenario-")
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(filepath.Join(dir, "case.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	a := &adminRun{dir: dir, st: st}
	var buf bytes.Buffer
	if _, err := transfer.ExportSnapshot(d, "", &buf); err != nil {
		a.close()
		return nil, err
	}
	if _, _, err := transfer.Import(ctx, st, &buf, transfer.Options{}); err != nil {
		a.close()
		return nil, err
	}
	if a.live, err = engine.Open(ctx, s.Model, st, engine.Options{}); err != nil {
		a.close()
		return nil, err
	}
	a.svc = admin.New(s.Model, st, a.live, nil)
	return a, nil
}

// actsAvailable reports whether the admin layer performs every act of a
// case; a case with an act it does not perform yet is skipped.
func actsAvailable(c *caseDoc) (missing []string) {
	for _, st := range c.Steps {
		if st.Act != nil && !admin.Available(st.Act.Do.V) {
			missing = append(missing, st.Act.Do.V)
		}
	}
	return missing
}

// act runs an act step and compares the outcome with the expectation.
func (s *Suite) act(a *adminRun, st *stepDoc, label string, opt Options, out io.Writer) (fails []string, problems rolecall.Errors) {
	doc := st.Act
	want, err := s.verdict(&st.Pos, st.Expect, "ACCEPTED", "REFUSED")
	if err != nil {
		return nil, rolecall.Errors{err}
	}
	actor := admin.Actor{User: doc.Actor.V}
	if doc.Actor.V == "operator" {
		actor = admin.Actor{Operator: true}
	}
	req := admin.Request{Act: doc.Do.V, Org: doc.Org, Scope: doc.Scope, Level: doc.Level, Name: doc.Name,
		User: doc.User, Email: doc.Email, Group: doc.Group, Role: doc.Role, Domain: doc.Domain,
		Permissions: doc.Permissions, AddPermissions: doc.AddPermissions, RemovePermissions: doc.RemovePermissions,
		Offer: doc.Offer, Kind: doc.Kind, Recipient: doc.Recipient, PrivateID: doc.PrivateID}
	if doc.Do.V == "create_scope" { // scope: the new node under parent, or the parent of the one named name
		if doc.Parent != "" {
			req.Scope, req.New = doc.Parent, doc.Scope
		} else {
			req.New = doc.Name
		}
	}
	if doc.Resource != "" {
		ref, err := rolecall.ParseResourceRef(doc.Resource)
		if err != nil {
			return nil, rolecall.Errors{s.at(doc.Pos, "%s: resource: %v", label, err)}
		}
		req.Resource = &ref
	}
	res, err := a.svc.Do(context.Background(), actor, req)
	got, text := "ACCEPTED", ""
	if err != nil {
		var re *rolecall.Error
		if !errors.As(err, &re) || re.Kind == rolecall.Internal || re.Kind == rolecall.KindOther {
			return nil, rolecall.Errors{s.at(st.Pos, "%s: %s: %v", label, doc.Do.V, err)}
		}
		got, text = "REFUSED", err.Error()
	}
	if opt.Narrate {
		fmt.Fprintf(out, "  %s: %s %s", got, actor, doc.Do.V)
		if text != "" {
			fmt.Fprintf(out, ": %s", text)
		}
		fmt.Fprintln(out)
	}
	what := fmt.Sprintf("%s: act %s %s", label, actor, doc.Do.V)
	var msgs []string
	if got != want {
		msgs = append(msgs, fmt.Sprintf("expected %s, got %s %s", want, got, text))
	}
	lower := strings.ToLower(text)
	for _, f := range st.Refusal {
		if !strings.Contains(lower, strings.ToLower(f.V)) {
			msgs = append(msgs, fmt.Sprintf("the refusal does not mention %q: %s", f.V, text))
		}
	}
	warnings := strings.ToLower(strings.Join(res.Warnings, "\n"))
	for _, f := range st.Warning {
		if !strings.Contains(warnings, strings.ToLower(f.V)) {
			msgs = append(msgs, fmt.Sprintf("no warning mentions %q (warnings: %q)", f.V, res.Warnings))
		}
	}
	if len(msgs) > 0 {
		fails = append(fails, what+"\n  "+strings.Join(msgs, "\n  "))
	}
	return fails, nil
}
