package main

import (
	"slices"
	"strings"

	"github.com/modelferry/modelferry/pkg/client"
)

// annotationRows are a run's name, tags and description for ferry run,
// each only when set.
func annotationRows(r client.Run) [][]string {
	var rows [][]string
	if r.Name != "" {
		rows = append(rows, []string{"name", r.Name})
	}
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		rows = append(rows, []string{"tag " + k, r.Tags[k]})
	}
	if d := strings.TrimSpace(r.Description); d != "" {
		first, _, more := strings.Cut(d, "\n")
		if more {
			first += " …"
		}
		rows = append(rows, []string{"description", first})
	}
	return rows
}
