// Package demo seeds a preset's demo organization (the fixture of its
// scenario file) into a store, for `rolecall serve --demo` and for tests
// that want a populated world.
package demo

import (
	"bytes"
	"context"
	"fmt"

	"github.com/rolecall/rolecall"
	"github.com/rolecall/rolecall/model"
	"github.com/rolecall/rolecall/scenario"
	"github.com/rolecall/rolecall/transfer"
)

// Fixture returns the demo data of a preset: the fixture of its scenario
// file.
func Fixture(preset string) (*rolecall.Snapshot, error) {
	src, err := scenario.PresetFile(preset)
	if err != nil {
		return nil, fmt.Errorf("a demo needs a preset with a demo organization (%v): %w", model.Presets(), err)
	}
	s, err := scenario.Parse(preset+".yaml", src, scenario.Options{Model: preset})
	if err != nil {
		return nil, err
	}
	return s.Fixture()
}

// Seed writes a preset's demo data into a store through an import, and
// returns the data and how many objects it wrote.
func Seed(ctx context.Context, st rolecall.Store, preset string) (*rolecall.Snapshot, int, error) {
	d, err := Fixture(preset)
	if err != nil {
		return nil, 0, err
	}
	var buf bytes.Buffer
	if _, err := transfer.ExportSnapshot(d, "", &buf); err != nil {
		return nil, 0, err
	}
	n, _, err := transfer.Import(ctx, st, &buf, transfer.Options{})
	return d, n, err
}
