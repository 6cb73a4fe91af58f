// Package licenses lists the licenses of every module Go binaries link and
// fails when one is not on an allow-list. The modules come from the build
// information the linker writes into each binary (what `go version -m`
// prints: only modules with a package in the binary), their license files
// from the module cache, and the license of each file from
// github.com/google/licensecheck, the classifier pkg.go.dev uses. A module
// fails when it has no license file, when a file matches a license not on
// the list (GPL, AGPL, LGPL...), or when a file is mostly text the
// classifier does not recognise. Modules built from the work tree (version
// "(devel)", or replaced by a local directory) are this repository's own:
// its LICENSE file stands for them. `make test` runs it on bin/:
//
//	go run ./devstack/cmd/devstack licenses bin/trainer bin/predictor
package licenses

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/google/licensecheck"
	"golang.org/x/mod/module"
)

// DefaultAllowed are permissive licenses: code under them may be linked
// into binaries we distribute under Apache-2.0 without further obligations
// than keeping their notices.
var DefaultAllowed = []string{"Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MIT"}

// minCoverage is the share of a license file's words, in percent, that
// must match known licenses; below it the file holds terms of its own.
const minCoverage = 75

// Config says where license files are and which licenses pass.
type Config struct {
	ModCache string   // the module cache (go env GOMODCACHE)
	GoRoot   string   // the toolchain, for the standard library's license (go env GOROOT)
	Local    string   // license file of the modules built from the work tree
	Allowed  []string // SPDX identifiers
}

// Module is one module linked into at least one of the binaries.
type Module struct {
	Path     string
	Version  string
	Files    []string // its license files
	Licenses []string // SPDX identifiers found in them, sorted
	Binaries []string // base names of the binaries that link it
	Problem  string   // why it does not pass; empty when it does
}

// Check reads the build information of each binary and classifies the
// license files of every module they link, the standard library first.
// An error means a binary or a license file could not be read; a license
// that does not pass is reported in Module.Problem.
func Check(cfg Config, binaries []string) ([]Module, error) {
	type source struct {
		m     *Module
		dir   string // the module's root; empty for local modules
		local bool
	}
	var order []string
	byKey := map[string]*source{}
	add := func(path, version, dir string, local bool, binary string) {
		key := path + "@" + version
		s, ok := byKey[key]
		if !ok {
			s = &source{m: &Module{Path: path, Version: version}, dir: dir, local: local}
			byKey[key] = s
			order = append(order, key)
		}
		if !slices.Contains(s.m.Binaries, binary) {
			s.m.Binaries = append(s.m.Binaries, binary)
		}
	}
	for _, bin := range binaries {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("read build information of %s: %w", bin, err)
		}
		name := filepath.Base(bin)
		add("std", info.GoVersion, cfg.GoRoot, false, name)
		for i, m := range append([]*debug.Module{&info.Main}, info.Deps...) {
			switch {
			case m.Path == "":
				// a binary built from files, not a module
			case isLocal(m, i == 0):
				add(m.Path, "(devel)", "", true, name)
			case m.Replace != nil:
				dir, err := cacheDir(cfg.ModCache, m.Replace.Path, m.Replace.Version)
				if err != nil {
					return nil, err
				}
				add(m.Path, m.Version+" => "+m.Replace.Path+" "+m.Replace.Version, dir, false, name)
			default:
				dir, err := cacheDir(cfg.ModCache, m.Path, m.Version)
				if err != nil {
					return nil, err
				}
				add(m.Path, m.Version, dir, false, name)
			}
		}
	}
	if len(order) == 0 {
		return nil, nil
	}
	mods := make([]Module, 0, len(order))
	for _, key := range order {
		s := byKey[key]
		files := []string{cfg.Local}
		if !s.local {
			var err error
			if files, err = licenseFiles(s.dir); err != nil {
				return nil, err
			}
		}
		if err := classify(s.m, files, cfg.Allowed); err != nil {
			return nil, err
		}
		mods = append(mods, *s.m)
	}
	slices.SortStableFunc(mods[1:], func(a, b Module) int { return strings.Compare(a.Path, b.Path) })
	return mods, nil
}

// isLocal tells whether a module was built from the work tree: the main
// module unless `go install path@version` built it (then it has a checksum;
// a local build may carry a pseudo-version from VCS stamping), the other
// modules of a workspace, and replacements by a directory.
func isLocal(m *debug.Module, main bool) bool {
	if m.Replace != nil {
		return m.Replace.Version == ""
	}
	return m.Version == "(devel)" || m.Version == "" || main && m.Sum == ""
}

func cacheDir(modCache, path, version string) (string, error) {
	p, err := module.EscapePath(path)
	if err != nil {
		return "", fmt.Errorf("module %s: %w", path, err)
	}
	v, err := module.EscapeVersion(version)
	if err != nil {
		return "", fmt.Errorf("module %s@%s: %w", path, version, err)
	}
	dir := filepath.Join(modCache, filepath.FromSlash(p)+"@"+v)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("module %s@%s is not in the module cache (go mod download %[1]s@%[2]s): %w", path, version, err)
	}
	return dir, nil
}

// licenseFiles are the regular files in the module's root whose names say
// they hold a license: LICENSE, LICENSE.md, LICENCE-MIT, COPYING, MIT-LICENSE...
func licenseFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read module %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		n := strings.ToUpper(e.Name())
		if !e.Type().IsRegular() || strings.HasSuffix(n, ".GO") {
			continue
		}
		if strings.HasPrefix(n, "LICEN") || strings.HasPrefix(n, "COPYING") || strings.HasPrefix(n, "UNLICENSE") ||
			strings.Contains(n, "-LICEN") || strings.Contains(n, "_LICEN") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// classify fills m.Files, m.Licenses and m.Problem. Every license a file
// matches must be allowed: a file that concatenates licenses usually means
// all of them apply.
func classify(m *Module, files []string, allowed []string) error {
	var problems []string
	for _, f := range files {
		text, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read license of %s: %w", m.Path, err)
		}
		m.Files = append(m.Files, f)
		cov := licensecheck.Scan(text)
		if cov.Percent < minCoverage {
			problems = append(problems, fmt.Sprintf("%s: unknown license (%.0f%% of the text matches a known one)", filepath.Base(f), cov.Percent))
		}
		for _, match := range cov.Match {
			if !slices.Contains(m.Licenses, match.ID) {
				m.Licenses = append(m.Licenses, match.ID)
			}
			if !slices.Contains(allowed, match.ID) {
				problems = append(problems, fmt.Sprintf("%s: %s is not allowed", filepath.Base(f), match.ID))
			}
		}
	}
	slices.Sort(m.Licenses)
	if len(m.Files) == 0 {
		problems = append(problems, "no license file")
	}
	m.Problem = strings.Join(slices.Compact(problems), "; ")
	return nil
}

// Run parses the command line (flags, then binaries), prints every module
// with its licenses and the binaries that link it, and fails when a module
// does not pass.
func Run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("licenses", flag.ContinueOnError)
	local := fs.String("license", "LICENSE", "license file of the modules built from the work tree")
	allow := fs.String("allow", strings.Join(DefaultAllowed, ","), "allowed licenses, SPDX identifiers")
	modCache := fs.String("modcache", "", "module cache (default: go env GOMODCACHE)")
	goRoot := fs.String("goroot", "", "Go toolchain, for the standard library's license (default: go env GOROOT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("usage: licenses [flags] binary")
	}
	for _, v := range []struct {
		flag *string
		env  string
	}{{modCache, "GOMODCACHE"}, {goRoot, "GOROOT"}} {
		if *v.flag != "" {
			continue
		}
		b, err := exec.Command("go", "env", v.env).Output()
		if err != nil {
			return fmt.Errorf("go env %s: %w", v.env, err)
		}
		*v.flag = string(bytes.TrimSpace(b))
	}
	cfg := Config{ModCache: *modCache, GoRoot: *goRoot, Local: *local, Allowed: strings.Split(*allow, ",")}
	mods, err := Check(cfg, fs.Args())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tVERSION\tLICENSE\tLINKED BY")
	var failed []string
	for _, m := range mods {
		lic := strings.Join(m.Licenses, ", ")
		if lic == "" {
			lic = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Path, m.Version, lic, strings.Join(m.Binaries, " "))
		if m.Problem != "" {
			failed = append(failed, fmt.Sprintf("%s %s: %s", m.Path, m.Version, m.Problem))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d modules fail the license check (allowed: %s):\n  %s",
			len(failed), len(mods), *allow, strings.Join(failed, "\n  "))
	}
	fmt.Fprintf(out, "%d modules, every license allowed (%s)\n", len(mods), *allow)
	return nil
}
