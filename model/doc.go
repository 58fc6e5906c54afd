// Package model parses, validates and compiles rolecall model files.
//
// A model file (YAML) describes one product's access model: the scope
// levels and which one is the tenant, resource types (home scope or parent,
// owner, group assignment, inputs from other resources, attributes, field
// classes, implicit grants), the permission catalog (categories, flags,
// implications, intrinsic qualifiers), named qualifiers written in CEL,
// built-in and template roles, membership and group policies, direct
// grants, the custom-role policy, plans, actions with requirement trees and
// preconditions, offers of access between organizations, and the admin acts
// and rules. docs/model.md is the reference.
//
// Parse and Load report every problem of a file at once, each positioned at
// file:line:column with the offending name and what to do. A compiled Model
// is plain, immutable data: permissions are numbered, every permission set
// is a Bits closed under implication, requirement trees and conditions are
// compiled once. Four presets are embedded: reinfer, labelbox, infosum and
// inbox.
package model
