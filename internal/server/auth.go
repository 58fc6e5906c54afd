package server

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect/v2"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/engine"
)

// An API key is written "rck_<id>.<secret>": the id finds the stored key,
// whose hash must be the secret's.
const keyPrefix = "rck_"

// NewKey makes a key for an organization's user (org and user given) or
// for the operator (both empty), and returns the stored form and the
// token to hand out, once: the store keeps only the secret's hash.
func NewKey(org, user, name string, now time.Time) (rolecall.APIKey, string) {
	id := strings.ToLower(rand.Text()[:12])
	secret := make([]byte, 32)
	rand.Read(secret)
	s := base64.RawURLEncoding.EncodeToString(secret)
	h := sha256.Sum256([]byte(s))
	return rolecall.APIKey{ID: id, Org: org, User: user, Name: name, Hash: h[:], Created: now.UTC()},
		keyPrefix + id + "." + s
}

// Principal is who calls: an organization's key, acting as its user, or
// the operator's.
type Principal struct {
	Key      string
	Org      string
	User     string
	Operator bool
}

type principalKey struct{}

// withPrincipal names the caller in ctx, and on the call's trace span.
func withPrincipal(ctx context.Context, p Principal) context.Context {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attribute.String("rolecall.key", p.Key), attribute.String("rolecall.org", p.Org), attribute.Bool("rolecall.operator", p.Operator))
	}
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller of a call authenticated by Handler.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

var errUnauthenticated = connect.NewError(connect.CodeUnauthenticated,
	`give an API key: header "Authorization: Bearer rck_..." (rolecall key create makes one)`)

// authenticate checks a bearer token against the store.
func authenticate(ctx context.Context, keys rolecall.Reader, header string) (Principal, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return Principal{}, errUnauthenticated
	}
	id, secret, ok := strings.Cut(strings.TrimPrefix(token, keyPrefix), ".")
	if !ok || !strings.HasPrefix(token, keyPrefix) {
		return Principal{}, errUnauthenticated
	}
	k, found, err := keys.APIKey(ctx, id)
	if err != nil {
		return Principal{}, toStatus(err)
	}
	h := sha256.Sum256([]byte(secret))
	if !found || subtle.ConstantTimeCompare(h[:], k.Hash) != 1 {
		return Principal{}, connect.NewError(connect.CodeUnauthenticated, "the API key is not valid")
	}
	if !k.Revoked.IsZero() {
		return Principal{}, connect.NewError(connect.CodeUnauthenticated, "the API key was revoked on "+k.Revoked.Format(time.DateOnly))
	}
	return Principal{Key: k.ID, Org: k.Org, User: k.User, Operator: k.Org == ""}, nil
}

// keyTTL is how long a verified key is trusted without reading the store
// again: a revocation takes effect within it.
const keyTTL = 2 * time.Second

// keyCache remembers verified tokens for keyTTL, so a call does not read
// the store to authenticate.
type keyCache struct {
	keys rolecall.Reader
	m    sync.Map // token -> cachedKey
}

type cachedKey struct {
	p     Principal
	until time.Time
}

func (c *keyCache) authenticate(ctx context.Context, header string) (Principal, error) {
	if v, ok := c.m.Load(header); ok {
		if ck := v.(cachedKey); time.Now().Before(ck.until) {
			return ck.p, nil
		}
		c.m.Delete(header)
	}
	p, err := authenticate(ctx, c.keys, header)
	if err == nil {
		c.m.Store(header, cachedKey{p, time.Now().Add(keyTTL)})
	}
	return p, err
}

// authn is the interceptor that authenticates every call before its
// request is read. An organization's key works only while its user is a
// member of its organization.
func authn(cache *keyCache, live *engine.Live) connect.ServerInterceptor {
	return func(next connect.ServerFunc) connect.ServerFunc {
		return func(ctx context.Context, spec connect.Spec, stream connect.ServerStream) error {
			if strings.HasPrefix(spec.Procedure, "/grpc.reflection.") || strings.HasPrefix(spec.Procedure, "/grpc.health.") {
				return next(ctx, spec, stream) // the schema and the health are public
			}
			info, _ := connect.CallInfoForServerContext(ctx)
			p, err := cache.authenticate(ctx, info.RequestHeader().Get("Authorization"))
			if err != nil {
				return err
			}
			if err := served(live, p); err != nil {
				return err
			}
			if !p.Operator && !live.Engine().MemberOf(p.User, p.Org) {
				return connect.NewError(connect.CodeUnauthenticated, "the API key's user is no longer a member of "+p.Org)
			}
			return next(withPrincipal(ctx, p), spec, stream)
		}
	}
}

// served refuses the key of an organization this replica does not hold
// (serve --orgs names others): its calls belong on a replica that does,
// and answering them here would answer from no data.
func served(live *engine.Live, p Principal) error {
	if p.Operator || live.Holds(p.Org) {
		return nil
	}
	return connect.NewError(connect.CodeUnavailable, fmt.Sprintf("organization %s is not served by this replica, which serves only %s (serve --orgs); send its calls to a replica that serves it",
		p.Org, strings.Join(live.Orgs(), ", ")))
}

// inOrg refuses, as not found, what an organization's key asks about
// another organization.
func inOrg(ctx context.Context, org string, what string) error {
	p, _ := PrincipalFrom(ctx)
	if p.Operator || org == p.Org {
		return nil
	}
	return connect.NewError(connect.CodeNotFound, what+": no such object")
}

// httpAuthn authenticates plain HTTP routes (the AuthZEN API) like the
// interceptor does RPCs: 401 with WWW-Authenticate without a valid key.
func httpAuthn(cache *keyCache, live *engine.Live) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := cache.authenticate(r.Context(), r.Header.Get("Authorization"))
			if err == nil {
				if err := served(live, p); err != nil {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusServiceUnavailable)
					fmt.Fprintf(w, "{\"error\":%q}\n", err.(*connect.Error).Message())
					return
				}
			}
			if err == nil && !p.Operator && !live.Engine().MemberOf(p.User, p.Org) {
				err = errors.New("the API key's user is no longer a member of " + p.Org)
			}
			if err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="rolecall"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				msg := err.Error()
				var ce *connect.Error
				if errors.As(err, &ce) {
					msg = ce.Message()
				}
				fmt.Fprintf(w, "{\"error\":%q}\n", msg)
				return
			}
			next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
		})
	}
}
