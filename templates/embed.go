// Package templates holds the defaults shipped inside the binary: the reply
// rules (rules.yaml) and the example menu (menu.json). Each can be
// overridden by a file on disk; these are what a fresh install runs with.
package templates

import "embed"

// RulesFile is the name of the shipped reply rules inside FS.
const RulesFile = "rules.yaml"

// FS holds the shipped defaults, read-only.
//
//go:embed *.yaml *.json
var FS embed.FS
