// Package scenario loads and runs scenario files: access cases for one
// model written as data (a fixture, then cases made of ordered steps, each
// with its expectation). docs/scenarios.md is the format's reference.
//
// Load reads a file strictly and checks every name it uses (users, scopes,
// resources, roles, permissions and actions) before anything runs; an error
// names the file, the line and the name. Run evaluates each case against a
// fresh engine built from the fixture and the case's own additions, and
// reports passes, failures (with what was expected and what came back) and
// the cases skipped because they need the admin layer.
package scenario
