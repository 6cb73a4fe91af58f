package mutation

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Named is a hand-written mutation: a plausible bug, such as a check
// removed or two steps swapped, that the named tests must catch.
type Named struct {
	Name string
	// File is relative to the repository root.
	File string
	// Func, when set, is the function ("load") or method ("Reloader.load")
	// whose body holds Old: the mutation finds it by the syntax tree, so
	// an edit elsewhere in the file, or the same code elsewhere, does not
	// break it.
	Func string
	// Old must occur exactly once (in Func, when set); it is replaced by
	// New. Old matches whatever the spacing: its words in order, with any
	// run of white space, line breaks included, between them.
	Old, New string
	// Tests are the go test patterns that should fail; Run optionally
	// narrows them.
	Tests []string
	Run   string
}

// Mutant applies the mutation to the file under root. It fails when Func
// is not in the file, Old does not occur exactly once, or the result does
// not parse: the source moved on and the mutation must be rewritten.
func (n Named) Mutant(root string) (*Mutant, error) {
	path := filepath.Join(root, filepath.FromSlash(n.File))
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mutation %q: %w", n.Name, err)
	}
	lo, hi := 0, len(src)
	if n.Func != "" {
		if lo, hi, err = funcRange(path, src, n.Func); err != nil {
			return nil, fmt.Errorf("mutation %q: %w", n.Name, err)
		}
	}
	where := n.File
	if n.Func != "" {
		where = n.File + " (" + n.Func + ")"
	}
	matches := spacing(n.Old).FindAllIndex(src[lo:hi], -1)
	if len(matches) != 1 {
		return nil, fmt.Errorf("mutation %q: the code to change occurs %d times in %s, want once", n.Name, len(matches), where)
	}
	start, end := lo+matches[0][0], lo+matches[0][1]
	out := make([]byte, 0, len(src)-(end-start)+len(n.New))
	out = append(append(append(out, src[:start]...), n.New...), src[end:]...)
	if _, err := parser.ParseFile(token.NewFileSet(), path, out, parser.SkipObjectResolution); err != nil {
		return nil, fmt.Errorf("mutation %q: the mutated file does not parse: %w", n.Name, err)
	}
	return &Mutant{Target: "named", ID: n.Name, File: path, Src: out, Tests: n.Tests, Run: n.Run}, nil
}

// spacing matches old's words in order with any white space between them.
func spacing(old string) *regexp.Regexp {
	words := strings.Fields(old)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

// funcRange is the byte range of the declaration of fn ("f" or "T.f") in
// the file.
func funcRange(path string, src []byte, fn string) (int, int, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return 0, 0, fmt.Errorf("parse %s: %w", path, err)
	}
	recv, name, isMethod := strings.Cut(fn, ".")
	if !isMethod {
		recv, name = "", fn
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != name || receiver(fd) != recv {
			continue
		}
		return fset.Position(fd.Pos()).Offset, fset.Position(fd.End()).Offset, nil
	}
	return 0, 0, fmt.Errorf("no func %s in %s", fn, path)
}

// receiver is the type name of fd's receiver, "" for a function.
func receiver(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
