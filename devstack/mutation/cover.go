package mutation

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Coverage tells which source positions the tests ran.
type Coverage struct {
	blocks map[string][]block // by absolute file path
}

type block struct{ l0, c0, l1, c1 int }

// Covered reports whether a test ran the statement holding line:col.
func (c *Coverage) Covered(file string, line, col int) bool {
	for _, b := range c.blocks[file] {
		after := line > b.l0 || line == b.l0 && col >= b.c0
		before := line < b.l1 || line == b.l1 && col <= b.c1
		if after && before {
			return true
		}
	}
	return false
}

// Cover runs the tests once (in root) with a cover profile of importPath,
// whose files are in pkgDir, and says how long they took. Failing tests
// are an error: mutants of a broken suite say nothing.
func Cover(ctx context.Context, root, importPath, pkgDir string, tests []string, timeout time.Duration) (*Coverage, time.Duration, error) {
	f, err := os.CreateTemp("", "mutation-cover-")
	if err != nil {
		return nil, 0, err
	}
	profile := f.Name()
	_ = f.Close()
	defer os.Remove(profile)
	args := append([]string{"test", "-count=1", "-timeout", timeout.String(), "-coverpkg", importPath, "-coverprofile", profile}, tests...)
	start := time.Now()
	if out, err := goTest(ctx, root, timeout+time.Minute, "", args); err != nil {
		return nil, 0, fmt.Errorf("tests fail without any mutation: %w\n%s", err, out)
	}
	elapsed := time.Since(start)
	cov, err := parseProfile(profile, importPath, pkgDir)
	return cov, elapsed, err
}

// parseProfile reads a cover profile: "mode: set", then lines of
// "importpath/file.go:l0.c0,l1.c1 statements count".
func parseProfile(path, importPath, pkgDir string) (*Coverage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &Coverage{blocks: map[string][]block{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "mode:") || line == "" {
			continue
		}
		var name string
		var b block
		var stmts, count int
		colon := strings.LastIndex(line, ":")
		if colon < 0 {
			return nil, fmt.Errorf("cover profile: bad line %q", line)
		}
		name = line[:colon]
		if _, err := fmt.Sscanf(line[colon+1:], "%d.%d,%d.%d %d %d", &b.l0, &b.c0, &b.l1, &b.c1, &stmts, &count); err != nil {
			return nil, fmt.Errorf("cover profile: bad line %q: %w", line, err)
		}
		if count == 0 {
			continue
		}
		file := filepath.Join(pkgDir, strings.TrimPrefix(name, importPath+"/"))
		c.blocks[file] = append(c.blocks[file], b)
	}
	return c, sc.Err()
}
