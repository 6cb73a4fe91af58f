package mutation

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// operators lists the replacements tried for each operator: boundaries
// (< and <=), negations (== and !=, < and >=), arithmetic, logic, and
// increments; the same classes as go-gremlins, plus && and ||.
var operators = map[token.Token][]token.Token{
	token.LSS:  {token.LEQ, token.GEQ},
	token.LEQ:  {token.LSS, token.GTR},
	token.GTR:  {token.GEQ, token.LEQ},
	token.GEQ:  {token.GTR, token.LSS},
	token.EQL:  {token.NEQ},
	token.NEQ:  {token.EQL},
	token.ADD:  {token.SUB},
	token.SUB:  {token.ADD},
	token.MUL:  {token.QUO},
	token.QUO:  {token.MUL},
	token.REM:  {token.MUL},
	token.LAND: {token.LOR},
	token.LOR:  {token.LAND},
	token.INC:  {token.DEC},
	token.DEC:  {token.INC},

	token.ADD_ASSIGN: {token.SUB_ASSIGN},
	token.SUB_ASSIGN: {token.ADD_ASSIGN},
	token.MUL_ASSIGN: {token.QUO_ASSIGN},
	token.QUO_ASSIGN: {token.MUL_ASSIGN},
}

// Site is one operator mutation in a file.
type Site struct {
	File      string // absolute path
	Line, Col int
	From, To  string // the operator and its replacement ("" removes it)
	Src       []byte // the whole mutated file
	// AnchorLine and AnchorCol are where coverage is read: the operator
	// itself, or the switch of a case expression, which no cover block
	// holds.
	AnchorLine, AnchorCol int
}

func (s Site) String() string {
	to := s.To
	if to == "" {
		to = "(removed)"
	}
	return fmt.Sprintf("%s:%d:%d %s -> %s", filepath.Base(s.File), s.Line, s.Col, s.From, to)
}

// Operators loads the package pattern (relative to dir) with its types
// and returns every operator mutation of its non-test, non-generated
// files. Mutations that cannot compile, such as - between strings, are
// left out.
func Operators(dir, pattern string) (importPath, pkgDir string, sites []Site, err error) {
	cfg := &packages.Config{Dir: dir, Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
		packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo}
	pkgs, err := packages.Load(cfg, pattern)
	if err != nil {
		return "", "", nil, fmt.Errorf("load %s: %w", pattern, err)
	}
	if len(pkgs) != 1 {
		return "", "", nil, fmt.Errorf("load %s: %d packages, want one", pattern, len(pkgs))
	}
	p := pkgs[0]
	if len(p.Errors) > 0 {
		return "", "", nil, fmt.Errorf("load %s: %v", pattern, p.Errors[0])
	}
	for i, f := range p.Syntax {
		path := p.CompiledGoFiles[i]
		if ast.IsGenerated(f) || strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return "", "", nil, err
		}
		sites = append(sites, fileSites(p.Fset, p.TypesInfo, f, path, src)...)
	}
	return p.PkgPath, filepath.Dir(p.CompiledGoFiles[0]), sites, nil
}

func fileSites(fset *token.FileSet, info *types.Info, f *ast.File, path string, src []byte) []Site {
	var sites []Site
	// Case expressions run when their switch does.
	type span struct{ from, to, anchor token.Pos }
	var cases []span
	ast.Inspect(f, func(n ast.Node) bool {
		var body *ast.BlockStmt
		switch n := n.(type) {
		case *ast.SwitchStmt:
			body = n.Body
		case *ast.TypeSwitchStmt:
			body = n.Body
		default:
			return true
		}
		for _, c := range body.List {
			if cc, ok := c.(*ast.CaseClause); ok && len(cc.List) > 0 {
				cases = append(cases, span{cc.List[0].Pos(), cc.List[len(cc.List)-1].End(), n.Pos()})
			}
		}
		return true
	})
	anchor := func(pos token.Pos) token.Pos {
		best := span{from: token.NoPos, anchor: pos}
		for _, s := range cases {
			if s.from <= pos && pos < s.to && s.from >= best.from {
				best = s
			}
		}
		return best.anchor
	}
	add := func(pos token.Pos, from token.Token, to string) {
		p, a := fset.Position(pos), fset.Position(anchor(pos))
		s := Site{File: path, Line: p.Line, Col: p.Column, From: from.String(), To: to, AnchorLine: a.Line, AnchorCol: a.Column}
		s.Src = make([]byte, 0, len(src)+2)
		s.Src = append(s.Src, src[:p.Offset]...)
		s.Src = append(s.Src, to...)
		s.Src = append(s.Src, src[p.Offset+len(s.From):]...)
		sites = append(sites, s)
	}
	isString := func(e ast.Expr) bool {
		t := info.TypeOf(e)
		b, ok := t.(*types.Basic)
		if !ok && t != nil {
			b, ok = t.Underlying().(*types.Basic)
		}
		return ok && b.Info()&types.IsString != 0
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			if (n.Op == token.ADD) && isString(n.X) {
				return true
			}
			for _, to := range operators[n.Op] {
				add(n.OpPos, n.Op, to.String())
			}
		case *ast.AssignStmt:
			if n.Tok == token.ADD_ASSIGN && isString(n.Lhs[0]) {
				return true
			}
			for _, to := range operators[n.Tok] {
				add(n.TokPos, n.Tok, to.String())
			}
		case *ast.IncDecStmt:
			for _, to := range operators[n.Tok] {
				add(n.TokPos, n.Tok, to.String())
			}
		case *ast.UnaryExpr:
			if n.Op == token.SUB || n.Op == token.NOT {
				add(n.OpPos, n.Op, "")
			}
		}
		return true
	})
	return sites
}
