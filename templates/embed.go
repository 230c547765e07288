// Package templates holds the defaults shipped inside the binary: the reply
// rules (rules.yaml), the example menu (menu.json) and the admin page
// (admin.html). The rules and the menu can be overridden by a file on disk;
// these are what a fresh install runs with.
package templates

import "embed"

// RulesFile is the name of the shipped reply rules inside FS.
const RulesFile = "rules.yaml"

// AdminFile is the admin page's html/template inside FS; it defines the
// templates "login" and "admin" (see handlers/admin).
const AdminFile = "admin.html"

// FS holds the shipped defaults, read-only.
//
//go:embed *.yaml *.json *.html
var FS embed.FS
