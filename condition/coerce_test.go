package condition_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/rolecall/rolecall/condition"
)

func TestCoerce(t *testing.T) {
	ts := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		t    condition.Type
		in   any
		want any
		ok   bool
	}{
		{condition.String, "x", "x", true},
		{condition.String, 3.0, 3.0, false},
		{condition.Bool, true, true, true},
		{condition.Bool, "true", "true", false},
		{condition.Int, 3.0, int64(3), true},
		{condition.Int, json.Number("42"), int64(42), true},
		{condition.Int, 3.5, 3.5, false},
		{condition.Int, int(7), int64(7), true},
		{condition.Int, "7", "7", false},
		{condition.Double, 2.5, 2.5, true},
		{condition.Double, int64(2), 2.0, true},
		{condition.Double, json.Number("0.25"), 0.25, true},
		{condition.StringList, []any{"a", "b"}, []string{"a", "b"}, true},
		{condition.StringList, []any{"a", 1.0}, []any{"a", 1.0}, false},
		{condition.StringList, []string{"a"}, []string{"a"}, true},
		{condition.Timestamp, "2026-11-24T09:30:00Z", ts, true},
		{condition.Timestamp, "yesterday", "yesterday", false},
		{condition.Timestamp, ts, ts, true},
		{condition.Int, nil, nil, true},
	} {
		got, ok := c.t.Coerce(c.in)
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s.Coerce(%#v) = %#v, %v; want %#v, %v", c.t, c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCoerceAttrs(t *testing.T) {
	types := map[string]condition.Type{"n": condition.Int, "s": condition.String, "l": condition.StringList}
	typeOf := func(name string) (condition.Type, bool) { t, ok := types[name]; return t, ok }

	native := map[string]any{"n": int64(1), "s": "x", "other": 2.5}
	if out, bad := condition.CoerceAttrs(native, typeOf); bad != "" || reflect.ValueOf(out).Pointer() != reflect.ValueOf(native).Pointer() {
		t.Errorf("native values: %v, %q; want the same map back", out, bad)
	}
	decoded := map[string]any{"n": 3.0, "l": []any{"a"}, "other": 2.5}
	out, bad := condition.CoerceAttrs(decoded, typeOf)
	if want := map[string]any{"n": int64(3), "l": []string{"a"}, "other": 2.5}; bad != "" || !reflect.DeepEqual(out, want) {
		t.Errorf("decoded values: %v, %q; want %v", out, bad, want)
	}
	if decoded["n"] != 3.0 {
		t.Error("the map given was changed")
	}
	out, bad = condition.CoerceAttrs(map[string]any{"s": 1.0, "n": "x", "l": 2.0}, typeOf)
	if bad != "l" || out["s"] != 1.0 {
		t.Errorf("wrong types: %v, %q; want bad = l (first by name), values kept", out, bad)
	}
}
