// Package authzen serves the OpenID AuthZEN Authorization API 1.0 over the
// engine: access evaluation, batch evaluations with their semantics,
// subject, resource and action search, and the PDP metadata.
//
// Mapping: a subject of type "user" is a rolecall user (other subject types
// are denied, or find nothing); an action's name is a permission or an
// action of the model; a resource's type is a resource type of the model,
// or a level of its scope tree (its id then names a scope node). The
// request's context, and the entities' properties (as context.subject,
// context.resource and context.action), are what conditions read as
// context.x.
package authzen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/condition"
	"github.com/rolecall/rolecall/engine"
)

// Scope says which organization a caller may ask about: all of them
// (operator), or one.
type Scope func(ctx context.Context) (org string, all bool)

// Options configure the handler.
type Options struct {
	Live *engine.Live
	// Scope tells each call's organization; nil means every organization.
	Scope Scope
	// BaseURL is the PDP's public base URL, for the metadata (default: the
	// request's scheme and host).
	BaseURL string
}

// Paths of the API.
const (
	EvaluationPath     = "/access/v1/evaluation"
	EvaluationsPath    = "/access/v1/evaluations"
	SearchSubjectPath  = "/access/v1/search/subject"
	SearchResourcePath = "/access/v1/search/resource"
	SearchActionPath   = "/access/v1/search/action"
	MetadataPath       = "/.well-known/authzen-configuration"
)

// Mount registers the API's routes on mux, each wrapped by wrap (the
// caller's authentication), except the metadata, which is public.
func Mount(mux *http.ServeMux, o Options, wrap func(http.Handler) http.Handler) {
	a := &api{o: o}
	mux.Handle("POST "+EvaluationPath, wrap(a.handle(a.evaluation)))
	mux.Handle("POST "+EvaluationsPath, wrap(a.handle(a.evaluations)))
	mux.Handle("POST "+SearchSubjectPath, wrap(a.handle(a.searchSubject)))
	mux.Handle("POST "+SearchResourcePath, wrap(a.handle(a.searchResource)))
	mux.Handle("POST "+SearchActionPath, wrap(a.handle(a.searchAction)))
	mux.HandleFunc("GET "+MetadataPath, a.metadata)
}

type api struct{ o Options }

// Entity is a subject or a resource.
type Entity struct {
	Type       string         `json:"type"`
	ID         string         `json:"id,omitempty"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Action is an action.
type Action struct {
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// Decision is one evaluation's answer.
type Decision struct {
	Decision bool           `json:"decision"`
	Context  map[string]any `json:"context,omitempty"`
}

// badRequest is a request the API refuses whole (HTTP 400).
type badRequest string

func (b badRequest) Error() string { return string(b) }

// handle decodes a JSON body (400 on anything malformed), runs f, and
// writes its answer; it echoes X-Request-ID.
func (a *api) handle(f func(ctx context.Context, e *engine.Engine, body map[string]json.RawMessage) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Request-ID"); id != "" {
			w.Header().Set("X-Request-ID", id)
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, http.StatusBadRequest, "send the request as Content-Type: application/json")
			return
		}
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
		if err != nil {
			writeError(w, http.StatusBadRequest, "the body could not be read: "+err.Error())
			return
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(b, &body); err != nil || body == nil {
			writeError(w, http.StatusBadRequest, "the body is not a JSON object")
			return
		}
		out, err := f(r.Context(), a.o.Live.Engine(), body)
		var br badRequest
		switch {
		case errors.As(err, &br):
			writeError(w, http.StatusBadRequest, br.Error())
			return
		case err != nil:
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// field decodes one top-level field into v; absent is not an error.
func field(body map[string]json.RawMessage, name string, v any) (bool, error) {
	raw, ok := body[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, badRequest(fmt.Sprintf("%q is not what the API expects: %v", name, err))
	}
	return true, nil
}

// request is one evaluation's parts.
type request struct {
	Subject  *Entity
	Action   *Action
	Resource *Entity
	Context  map[string]any
}

func (q request) complete() string {
	switch {
	case q.Subject == nil || q.Subject.Type == "" || q.Subject.ID == "":
		return "subject needs a type and an id"
	case q.Action == nil || q.Action.Name == "":
		return "action needs a name"
	case q.Resource == nil || q.Resource.Type == "" || q.Resource.ID == "":
		return "resource needs a type and an id"
	}
	return ""
}

func parseRequest(body map[string]json.RawMessage) (request, error) {
	var q request
	for _, f := range []struct {
		name string
		v    any
	}{{"subject", &q.Subject}, {"action", &q.Action}, {"resource", &q.Resource}, {"context", &q.Context}} {
		if _, err := field(body, f.name, f.v); err != nil {
			return q, err
		}
	}
	return q, nil
}

// target maps a resource onto the engine: a resource type of the model, or
// a level (a scope node). A resource of an external type the store does
// not hold is the resource the request describes: a proposed one, in the
// scope its properties name or else the caller's organization, with the
// owner, parent and groups its properties give and attrs as attributes.
// ok is false when the type is neither; err is a bad description.
func (a *api) target(ctx context.Context, e *engine.Engine, r *Entity, attrs map[string]any) (t rolecall.Target, ok bool, err error) {
	m := e.Model()
	if _, ok := m.Level(r.Type); ok {
		return rolecall.ScopeTarget(r.ID), true, nil
	}
	rt, ok := m.Resource(r.Type)
	if !ok {
		return t, false, nil
	}
	t = rolecall.ResourceTarget(r.Type, r.ID)
	if _, stored := e.OrgOf(t); stored || !rt.External {
		return t, true, nil
	}
	p := &rolecall.Resource{Type: r.Type, ID: r.ID, Attrs: attrs}
	str := func(name string) (string, error) {
		v, ok := r.Properties[name]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", badRequest(fmt.Sprintf("resource.properties.%s: a string is expected", name))
		}
		return s, nil
	}
	if p.Owner, err = str("owner"); err != nil {
		return t, true, err
	}
	if rt.Parent != nil {
		id, err := str("parent")
		if err != nil || id == "" {
			return t, true, badRequest(fmt.Sprintf("resource.properties.parent: a %s lives under a %s; give the parent's id", rt.ID, rt.Parent.ID))
		}
		p.Parent = &rolecall.ResourceRef{Type: rt.Parent.ID, ID: id}
	} else {
		if p.Scope, err = str("scope"); err != nil {
			return t, true, err
		}
		if p.Scope == "" {
			mine, all := a.scope(ctx)
			if all {
				return t, true, badRequest(fmt.Sprintf("resource.properties.scope: name the %s the %s lives in (the caller's key belongs to no one organization)", rt.Level.ID, rt.ID))
			}
			p.Scope = mine
		}
	}
	if g, ok := r.Properties["groups"]; ok {
		l, ok := condition.StringList.Coerce(g)
		if !ok {
			return t, true, badRequest("resource.properties.groups: a list of group ids is expected")
		}
		p.Groups = l.([]string)
	}
	return rolecall.Target{Proposed: p}, true, nil
}

// stated returns an entity's properties as attributes, those the model
// declares (by typeOf) in their declared types; the others mean nothing to
// conditions here (they read them in context). A declared one of the wrong
// type is a bad request naming it.
func stated(where string, props map[string]any, typeOf func(string) (condition.Type, bool)) (map[string]any, error) {
	out, bad := condition.CoerceAttrs(props, typeOf)
	if bad != "" {
		t, _ := typeOf(bad)
		b, _ := json.Marshal(props[bad])
		return nil, badRequest(fmt.Sprintf("%s.properties.%s: the model declares it a %s, and %s is not one", where, bad, t, b))
	}
	return out, nil
}

// statedAttrs returns the attributes the subject's and the resource's
// properties state (either entity may be nil).
func statedAttrs(e *engine.Engine, q request) (sub, res map[string]any, err error) {
	env := e.Model().Env
	if q.Subject != nil {
		if sub, err = stated("subject", q.Subject.Properties, env.SubjectAttr); err != nil {
			return nil, nil, err
		}
	}
	if q.Resource != nil {
		if res, err = stated("resource", q.Resource.Properties, env.ResourceAttr); err != nil {
			return nil, nil, err
		}
	}
	return sub, res, nil
}

// conditionContext is what conditions read: the request's context, and
// the entities' properties.
func conditionContext(q request) map[string]any {
	c := map[string]any{}
	for k, v := range q.Context {
		c[k] = v
	}
	if q.Subject != nil && q.Subject.Properties != nil {
		c["subject"] = q.Subject.Properties
	}
	if q.Resource != nil && q.Resource.Properties != nil {
		c["resource"] = q.Resource.Properties
	}
	if q.Action != nil && q.Action.Properties != nil {
		c["action"] = q.Action.Properties
	}
	return c
}

// allowedOrg reports whether the caller may ask about org.
func (a *api) allowedOrg(ctx context.Context, org string) bool {
	if a.o.Scope == nil {
		return true
	}
	mine, all := a.o.Scope(ctx)
	return all || org == mine
}

// failure is the denial of an evaluation that could not be made, with why
// in its context.
func failure(status int, msg string) Decision {
	return Decision{Context: map[string]any{"error": map[string]any{"status": status, "message": msg}}}
}

// decide answers one complete request. What it cannot answer (an unknown
// subject or resource) is a denial with the reason in its context; a
// request it cannot read (a property of the wrong type) is an error.
func (a *api) decide(ctx context.Context, e *engine.Engine, q request) (Decision, error) {
	r, denied, err := a.question(ctx, e, q)
	if err != nil {
		return Decision{}, err
	}
	if denied != nil {
		return *denied, nil
	}
	r.Permission = q.Action.Name
	return check(e, r), nil
}

// question maps a request's subject and resource onto the engine: the
// engine's request without its permission, or the denial of a subject or
// resource it cannot answer about (nil when it can), or the error of a
// request it cannot read.
func (a *api) question(ctx context.Context, e *engine.Engine, q request) (engine.Request, *Decision, error) {
	deny := func(status int, msg string) (engine.Request, *Decision, error) {
		d := failure(status, msg)
		return engine.Request{}, &d, nil
	}
	if q.Subject.Type != "user" {
		return deny(404, "subjects are users: type \"user\"")
	}
	subAttrs, resAttrs, err := statedAttrs(e, q)
	if err != nil {
		return engine.Request{}, nil, err
	}
	t, ok, err := a.target(ctx, e, q.Resource, resAttrs)
	if err != nil {
		return engine.Request{}, nil, err
	}
	if !ok {
		return deny(404, "no resource type or level "+q.Resource.Type)
	}
	if org, ok := e.OrgOf(t); !ok || !a.allowedOrg(ctx, org) {
		return deny(404, "no such "+q.Resource.Type)
	}
	if mine, all := a.scope(ctx); !all && !e.MemberOf(q.Subject.ID, mine) {
		return deny(404, "no such subject")
	}
	return engine.Request{Subject: q.Subject.ID, Target: t, Context: conditionContext(q), SubjectAttrs: subAttrs, TargetAttrs: resAttrs}, nil, nil
}

// check answers the engine's request; an error is a denial saying why.
func check(e *engine.Engine, r engine.Request) Decision {
	d, err := e.Check(r)
	if err != nil {
		status := 400
		if rolecall.KindOf(err) == rolecall.NotFound {
			status = 404
		}
		return failure(status, errMessage(err))
	}
	return Decision{Decision: d.Allowed}
}

func (a *api) scope(ctx context.Context) (string, bool) {
	if a.o.Scope == nil {
		return "", true
	}
	return a.o.Scope(ctx)
}

func errMessage(err error) string {
	var re *rolecall.Error
	if errors.As(err, &re) {
		return re.Msg
	}
	return err.Error()
}

// evaluation is POST /access/v1/evaluation.
func (a *api) evaluation(ctx context.Context, e *engine.Engine, body map[string]json.RawMessage) (any, error) {
	q, err := parseRequest(body)
	if err != nil {
		return nil, err
	}
	if msg := q.complete(); msg != "" {
		return nil, badRequest(msg)
	}
	d, err := a.decide(ctx, e, q)
	if err != nil {
		return nil, err
	}
	d.Context = nil // a single evaluation answers with the decision alone
	return d, nil
}

// evaluations is POST /access/v1/evaluations: top-level keys are defaults
// each item replaces whole; options.evaluations_semantic is execute_all
// (the default), deny_on_first_deny or permit_on_first_permit.
func (a *api) evaluations(ctx context.Context, e *engine.Engine, body map[string]json.RawMessage) (any, error) {
	def, err := parseRequest(body)
	if err != nil {
		return nil, err
	}
	var items []map[string]json.RawMessage
	if _, err := field(body, "evaluations", &items); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return a.evaluation(ctx, e, body)
	}
	var opts struct {
		Semantic string `json:"evaluations_semantic"`
	}
	if _, err := field(body, "options", &opts); err != nil {
		return nil, err
	}
	switch opts.Semantic {
	case "", "execute_all", "deny_on_first_deny", "permit_on_first_permit":
	default:
		return nil, badRequest(fmt.Sprintf("options.evaluations_semantic %q: use execute_all, deny_on_first_deny or permit_on_first_permit", opts.Semantic))
	}
	out := []Decision{}
	for _, it := range items {
		// an item's key replaces the default whole (decoded afresh, never
		// into the default)
		q, err := parseRequest(it)
		if err != nil {
			return nil, err
		}
		if _, ok := it["subject"]; !ok {
			q.Subject = def.Subject
		}
		if _, ok := it["action"]; !ok {
			q.Action = def.Action
		}
		if _, ok := it["resource"]; !ok {
			q.Resource = def.Resource
		}
		if _, ok := it["context"]; !ok {
			q.Context = def.Context
		}
		var d Decision
		if msg := q.complete(); msg != "" {
			err = badRequest(msg)
		} else {
			d, err = a.decide(ctx, e, q)
		}
		if err != nil {
			d = failure(400, err.Error())
		}
		out = append(out, d)
		if opts.Semantic == "deny_on_first_deny" && !d.Decision || opts.Semantic == "permit_on_first_permit" && d.Decision {
			break
		}
	}
	return map[string]any{"evaluations": out}, nil
}

// metadata is GET /.well-known/authzen-configuration.
func (a *api) metadata(w http.ResponseWriter, r *http.Request) {
	base := a.o.BaseURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	base = strings.TrimSuffix(base, "/")
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"policy_decision_point":       base,
		"access_evaluation_endpoint":  base + EvaluationPath,
		"access_evaluations_endpoint": base + EvaluationsPath,
		"search_subject_endpoint":     base + SearchSubjectPath,
		"search_resource_endpoint":    base + SearchResourcePath,
		"search_action_endpoint":      base + SearchActionPath,
	})
}
