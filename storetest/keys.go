package storetest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rolecall/rolecall"
)

// testAPIKeys: keys are created, read back, listed and revoked; they are
// checked like other objects, and stay out of the change log.
func testAPIKeys(t *testing.T, open func(*testing.T) rolecall.Store) {
	s, _, _ := seed(t, open)
	before := head(t, s)
	k1 := rolecall.APIKey{ID: "k1", Org: "acme", User: "ann", Name: "ci", Hash: []byte{1, 2, 3}, Created: t0}
	k2 := rolecall.APIKey{Org: "acme", User: "bob", Hash: []byte{4}, Created: t0}
	op := rolecall.APIKey{ID: "root", Hash: []byte{9}, Created: t0}
	update(t, s, func(tx rolecall.Tx) error {
		for _, k := range []*rolecall.APIKey{&k1, &k2, &op} {
			if err := tx.CreateAPIKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	if k2.ID == "" {
		t.Fatal("CreateAPIKey gave a key without an ID")
	}
	got, found, err := s.APIKey(t.Context(), "k1")
	if err != nil || !found || got.Org != "acme" || got.User != "ann" || got.Name != "ci" || !bytes.Equal(got.Hash, k1.Hash) || !got.Created.Equal(t0) {
		t.Fatalf("APIKey(k1) = %+v, %v, %v", got, found, err)
	}
	if _, found, err := s.APIKey(t.Context(), "nope"); found || err != nil {
		t.Fatalf("APIKey(nope) = %v, %v; want not found", found, err)
	}
	list := func(org string) []string {
		ks, err := s.APIKeys(t.Context(), org)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.ID)
		}
		return ids
	}
	if got, want := list("acme"), []string{"k1", k2.ID}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("APIKeys(acme) = %v, want %v", got, want)
	}
	if got := list(""); !slices.Equal(got, []string{"root"}) {
		t.Errorf("APIKeys(operator) = %v, want [root]", got)
	}
	for _, tc := range []struct {
		name string
		k    rolecall.APIKey
		kind rolecall.Kind
	}{
		{"duplicate id", rolecall.APIKey{ID: "k1", Org: "acme", User: "ann", Hash: []byte{1}}, rolecall.Conflict},
		{"unknown organization", rolecall.APIKey{Org: "initech", User: "ann", Hash: []byte{1}}, rolecall.FailedPrecondition},
		{"not an organization", rolecall.APIKey{Org: "w1", User: "ann", Hash: []byte{1}}, rolecall.Invalid},
		{"unknown user", rolecall.APIKey{Org: "acme", User: "zed", Hash: []byte{1}}, rolecall.FailedPrecondition},
		{"organization key without user", rolecall.APIKey{Org: "acme", Hash: []byte{1}}, rolecall.Invalid},
		{"operator key with a user", rolecall.APIKey{User: "ann", Hash: []byte{1}}, rolecall.Invalid},
		{"no hash", rolecall.APIKey{Org: "acme", User: "ann"}, rolecall.Invalid},
	} {
		_, err := s.Update(t.Context(), func(tx rolecall.Tx) error { return tx.CreateAPIKey(&tc.k) })
		wantErr(t, tc.name, err, tc.kind)
	}
	update(t, s, func(tx rolecall.Tx) error { return tx.RevokeAPIKey("k1", t1) })
	update(t, s, func(tx rolecall.Tx) error { return tx.RevokeAPIKey("k1", t1.Add(1)) })
	if got, _, _ := s.APIKey(t.Context(), "k1"); !got.Revoked.Equal(t1) {
		t.Errorf("revoked at %v, want %v (the first revocation)", got.Revoked, t1)
	}
	_, err = s.Update(t.Context(), func(tx rolecall.Tx) error { return tx.RevokeAPIKey("nope", t1) })
	wantErr(t, "revoking an unknown key", err, rolecall.NotFound)
	for _, c := range allChanges(t, s, before) {
		t.Errorf("an API key write logged a change: %s %s", c.Kind, c.Key)
	}
	if h := head(t, s); h != before {
		t.Errorf("API key writes moved the head from %d to %d", before, h)
	}
	if snap := snapshot(t, s); snap.Revision != before {
		t.Errorf("snapshot at %d after API key writes, want %d", snap.Revision, before)
	}
}
