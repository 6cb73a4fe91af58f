package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatalogApplies keeps the catalog honest as the code moves: every
// named mutation still changes exactly one place and parses, and names
// test packages that exist. A failure here means rewriting the mutation
// for the new code, not deleting it.
func TestCatalogApplies(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, n := range catalog {
		if names[n.Name] {
			t.Errorf("two mutations named %q", n.Name)
		}
		names[n.Name] = true
		if n.Func == "" {
			t.Errorf("%s: no Func: name the function the mutation changes", n.Name)
		}
		if _, err := n.Mutant(root); err != nil {
			t.Error(err)
		}
		for _, pkg := range n.Tests {
			if _, err := os.Stat(filepath.Join(root, strings.TrimPrefix(pkg, "./"))); err != nil {
				t.Errorf("%s: test package %s: %v", n.Name, pkg, err)
			}
		}
	}
	for _, tg := range targets {
		if _, err := os.Stat(filepath.Join(root, strings.TrimPrefix(tg.pkg, "./"))); err != nil {
			t.Errorf("target %s: %v", tg.name, err)
		}
	}
}
