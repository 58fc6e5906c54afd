package authzen

import (
	"context"
	"encoding/json"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
)

// pageReq is a search request's page.
type pageReq struct {
	Token string `json:"token"`
	Limit int    `json:"limit"`
}

// searchResponse is every search's answer; page comes first.
type searchResponse struct {
	Page    pageResp `json:"page"`
	Results []any    `json:"results"`
}

type pageResp struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
}

func respond(results []any, next string) searchResponse {
	if results == nil {
		results = []any{}
	}
	return searchResponse{Page: pageResp{NextToken: next, Count: len(results)}, Results: results}
}

func parseSearch(body map[string]json.RawMessage) (request, pageReq, error) {
	q, err := parseRequest(body)
	if err != nil {
		return q, pageReq{}, err
	}
	var p pageReq
	if _, err := field(body, "page", &p); err != nil {
		return q, p, err
	}
	if p.Limit < 0 {
		return q, p, badRequest("page.limit must not be negative")
	}
	return q, p, nil
}

func need(ok bool, msg string) error {
	if !ok {
		return badRequest(msg)
	}
	return nil
}

// searchSubject is POST /access/v1/search/subject: who may do the action
// on the resource (users; with type "group", the groups whose own roles
// give it).
func (a *api) searchSubject(ctx context.Context, e *engine.Engine, body map[string]json.RawMessage) (any, error) {
	q, p, err := parseSearch(body)
	if err != nil {
		return nil, err
	}
	if err := need(q.Subject != nil && q.Subject.Type != "", "subject needs the type searched for"); err != nil {
		return nil, err
	}
	if err := need(q.Action != nil && q.Action.Name != "", "action needs a name"); err != nil {
		return nil, err
	}
	if err := need(q.Resource != nil && q.Resource.Type != "" && q.Resource.ID != "", "resource needs a type and an id"); err != nil {
		return nil, err
	}
	_, resAttrs, err := statedAttrs(e, request{Resource: q.Resource})
	if err != nil {
		return nil, err
	}
	t, ok, err := a.target(ctx, e, q.Resource, resAttrs)
	if err != nil {
		return nil, err
	}
	if org, found := e.OrgOf(t); !ok || !found || !a.allowedOrg(ctx, org) {
		return respond(nil, ""), nil
	}
	res, err := e.LookupSubjects(engine.SubjectQuery{Permission: q.Action.Name, Target: t, Groups: q.Subject.Type == "group",
		Context: conditionContext(q), TargetAttrs: resAttrs, Page: rolecall.Page{After: p.Token, Limit: p.Limit}})
	if rolecall.KindOf(err) == rolecall.Invalid && p.Token != "" {
		return nil, badRequest(errMessage(err))
	}
	if err != nil {
		return respond(nil, ""), nil
	}
	var out []any
	switch q.Subject.Type {
	case "user":
		for _, u := range res.Users {
			out = append(out, Entity{Type: "user", ID: u})
		}
		return respond(out, res.Next), nil
	case "group":
		for _, g := range res.Groups {
			out = append(out, Entity{Type: "group", ID: g})
		}
	}
	return respond(out, ""), nil
}

// searchResource is POST /access/v1/search/resource: the resources of a
// type the subject may do the action on.
func (a *api) searchResource(ctx context.Context, e *engine.Engine, body map[string]json.RawMessage) (any, error) {
	q, p, err := parseSearch(body)
	if err != nil {
		return nil, err
	}
	if err := need(q.Subject != nil && q.Subject.Type != "" && q.Subject.ID != "", "subject needs a type and an id"); err != nil {
		return nil, err
	}
	if err := need(q.Action != nil && q.Action.Name != "", "action needs a name"); err != nil {
		return nil, err
	}
	if err := need(q.Resource != nil && q.Resource.Type != "", "resource needs the type searched for"); err != nil {
		return nil, err
	}
	if _, ok := e.Model().Resource(q.Resource.Type); !ok || q.Subject.Type != "user" {
		return respond(nil, ""), nil
	}
	subAttrs, _, err := statedAttrs(e, request{Subject: q.Subject})
	if err != nil {
		return nil, err
	}
	in := ""
	if mine, all := a.scope(ctx); !all {
		if !e.MemberOf(q.Subject.ID, mine) {
			return respond(nil, ""), nil
		}
		in = mine
	}
	ids, next, err := e.LookupResources(engine.ResourceQuery{Subject: q.Subject.ID, Permission: q.Action.Name, Type: q.Resource.Type, In: in,
		Context: conditionContext(q), SubjectAttrs: subAttrs, Page: rolecall.Page{After: p.Token, Limit: p.Limit}})
	if rolecall.KindOf(err) == rolecall.Invalid && p.Token != "" {
		return nil, badRequest(errMessage(err))
	}
	if err != nil {
		return respond(nil, ""), nil
	}
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = Entity{Type: q.Resource.Type, ID: id}
	}
	return respond(out, next), nil
}

// searchAction is POST /access/v1/search/action: what the subject may do
// on the resource, permissions and actions of the model.
func (a *api) searchAction(ctx context.Context, e *engine.Engine, body map[string]json.RawMessage) (any, error) {
	q, _, err := parseSearch(body)
	if err != nil {
		return nil, err
	}
	if err := need(q.Subject != nil && q.Subject.Type != "" && q.Subject.ID != "", "subject needs a type and an id"); err != nil {
		return nil, err
	}
	if err := need(q.Resource != nil && q.Resource.Type != "" && q.Resource.ID != "", "resource needs a type and an id"); err != nil {
		return nil, err
	}
	var out []any
	m := e.Model()
	var names []string
	for _, p := range m.Perms {
		names = append(names, p.ID)
	}
	for _, act := range m.Actions {
		names = append(names, act.ID)
	}
	r, denied, err := a.question(ctx, e, q)
	if err != nil {
		return nil, err
	}
	if denied != nil {
		return respond(nil, ""), nil
	}
	for _, name := range names {
		r.Permission = name
		if check(e, r).Decision {
			out = append(out, Action{Name: name})
		}
	}
	return respond(out, ""), nil
}
