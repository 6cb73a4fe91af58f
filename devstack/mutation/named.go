package mutation

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
)

// Named is a hand-written mutation: a plausible bug, such as a check
// removed or two steps swapped, that the named tests must catch.
type Named struct {
	Name string
	// File is relative to the repository root. Old must occur in it
	// exactly once; it is replaced by New.
	File     string
	Old, New string
	// Tests are the go test patterns that should fail; Run optionally
	// narrows them.
	Tests []string
	Run   string
}

// Mutant applies the mutation to the file under root. It fails when Old
// does not occur exactly once, or the result does not parse: the source
// moved on and the mutation must be rewritten.
func (n Named) Mutant(root string) (*Mutant, error) {
	path := filepath.Join(root, filepath.FromSlash(n.File))
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mutation %q: %w", n.Name, err)
	}
	if c := bytes.Count(src, []byte(n.Old)); c != 1 {
		return nil, fmt.Errorf("mutation %q: the code to change occurs %d times in %s, want once", n.Name, c, n.File)
	}
	out := bytes.Replace(src, []byte(n.Old), []byte(n.New), 1)
	if _, err := parser.ParseFile(token.NewFileSet(), path, out, parser.SkipObjectResolution); err != nil {
		return nil, fmt.Errorf("mutation %q: the mutated file does not parse: %w", n.Name, err)
	}
	return &Mutant{Target: "named", ID: n.Name, File: path, Src: out, Tests: n.Tests, Run: n.Run}, nil
}
