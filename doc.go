// Package rolecall is the vocabulary of rolecall, a roles-and-permissions
// service for data platforms: scope nodes (organizations, workspaces,
// projects, inboxes), users and their memberships, groups and teams,
// resources, role bindings, offers of access between organizations, and the
// decisions and explanations the engine returns.
//
// The package holds plain data types and the Error type only; it imports
// nothing outside the standard library. The model package compiles a model
// file, the engine package answers checks over these types, and the storage
// and transport packages at the edges read and write them.
package rolecall
