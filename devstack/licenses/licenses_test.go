package licenses

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// Notices as a project puts them in its license file; the classifier knows
// the wording of each.
const (
	gplNotice = `Copyright (C) 2026 Example Authors

This program is free software: you can redistribute it and/or modify
it under the terms of the GNU General Public License as published by
the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.
`
	agplNotice = `Copyright (C) 2026 Example Authors

This program is free software: you can redistribute it and/or modify
it under the terms of the GNU Affero General Public License as published
by the Free Software Foundation, either version 3 of the License, or
(at your option) any later version.
`
	ownTerms = "Copyright 2026 Example Authors. All rights reserved. Use is permitted on Tuesdays only.\n"
)

// repoLicense is the repository's own LICENSE: Apache-2.0.
const repoLicense = "../../LICENSE"

// TestCheck builds a program that links fake modules served by a file
// proxy into a module cache of its own, then checks the binary: each module
// with a license off the list fails, the others pass.
func TestCheck(t *testing.T) {
	apache, err := os.ReadFile(repoLicense)
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]map[string]string{ // module path -> license files
		"example.com/permissive": {"LICENSE": string(apache)},
		"example.com/copyleft":   {"COPYING": gplNotice},
		"example.com/affero":     {"LICENSE.md": agplNotice},
		"example.com/dual":       {"LICENSE-APACHE": string(apache), "LICENSE-GPL": gplNotice},
		"example.com/custom":     {"LICENSE": ownTerms},
		"example.com/unlicensed": {},
	}
	bin, cfg := buildWithDeps(t, deps)

	mods, err := Check(cfg, []string{bin})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		licenses []string
		problem  string // a part of Module.Problem; empty: passes
	}{
		"std":                    {[]string{"BSD-3-Clause"}, ""},
		"example.com/app":        {[]string{"Apache-2.0"}, ""},
		"example.com/permissive": {[]string{"Apache-2.0"}, ""},
		"example.com/copyleft":   {[]string{"GPL-3.0-or-later"}, "COPYING: GPL-3.0-or-later is not allowed"},
		"example.com/affero":     {[]string{"AGPL-3.0-or-later"}, "AGPL-3.0-or-later is not allowed"},
		"example.com/dual":       {[]string{"Apache-2.0", "GPL-3.0-or-later"}, "LICENSE-GPL: GPL-3.0-or-later is not allowed"},
		"example.com/custom":     {nil, "unknown license"},
		"example.com/unlicensed": {nil, "no license file"},
	}
	var got []string
	for _, m := range mods {
		got = append(got, m.Path)
		w, ok := want[m.Path]
		if !ok {
			t.Errorf("unexpected module %s", m.Path)
			continue
		}
		t.Run(m.Path, func(t *testing.T) {
			if !slices.Equal(m.Licenses, w.licenses) {
				t.Errorf("licenses %v, want %v", m.Licenses, w.licenses)
			}
			if w.problem == "" && m.Problem != "" || !strings.Contains(m.Problem, w.problem) {
				t.Errorf("problem %q, want %q", m.Problem, w.problem)
			}
			if !slices.Equal(m.Binaries, []string{"app"}) {
				t.Errorf("binaries %v", m.Binaries)
			}
		})
	}
	if len(got) != len(want) || got[0] != "std" || !slices.IsSorted(got[1:]) {
		t.Errorf("modules %v: want std, then the %d others sorted", got, len(want)-1)
	}
}

// TestRun: the command prints every module and fails on a license off the
// list; with that license allowed it passes.
func TestRun(t *testing.T) {
	bin, cfg := buildWithDeps(t, map[string]map[string]string{"example.com/copyleft": {"COPYING": gplNotice}})
	args := []string{"-license", cfg.Local, "-modcache", cfg.ModCache, "-goroot", cfg.GoRoot}
	var out bytes.Buffer
	err := Run(append(args, bin), &out)
	if err == nil || !strings.Contains(err.Error(), "example.com/copyleft v1.0.0: COPYING: GPL-3.0-or-later is not allowed") {
		t.Errorf("err = %v", err)
	}
	for _, want := range []string{"example.com/copyleft  v1.0.0", "GPL-3.0-or-later", "example.com/app", "std"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	allow := strings.Join(append(DefaultAllowed, "GPL-3.0-or-later"), ",")
	if err := Run(append(args, "-allow", allow, bin), &out); err != nil {
		t.Errorf("with GPL allowed: %v\n%s", err, out.String())
	}

	out.Reset()
	args[1] = filepath.Join(t.TempDir(), "LICENSE") // the repository lost its license
	if err := Run(append(args, "-allow", allow, bin), &out); err == nil || !strings.Contains(err.Error(), "example.com/app (devel): no license file") {
		t.Errorf("without a LICENSE: %v", err)
	}
}

// buildWithDeps builds example.com/app, which imports every module of deps
// (path -> its license files, each module at v1.0.0). The modules come
// from a file proxy into a module cache of the test's own. The returned
// Config points there, the app's license being the repository's.
func buildWithDeps(t *testing.T, deps map[string]map[string]string) (string, Config) {
	t.Helper()
	dir := t.TempDir()
	proxy, modCache, app := filepath.Join(dir, "proxy"), filepath.Join(dir, "modcache"), filepath.Join(dir, "app")
	gomod := "module example.com/app\n\ngo 1.22\n\nrequire (\n"
	mainGo := "package main\n\nimport (\n"
	calls := ""
	for path, licenses := range deps {
		name := filepath.Base(path)
		files := map[string]string{
			"go.mod":     "module " + path + "\n\ngo 1.22\n",
			name + ".go": "package " + name + "\n\nfunc Name() string { return \"" + name + "\" }\n",
		}
		for f, text := range licenses {
			files[f] = text
		}
		writeProxyModule(t, proxy, filepath.Join(dir, "src", name), module.Version{Path: path, Version: "v1.0.0"}, files)
		gomod += "\t" + path + " v1.0.0\n"
		mainGo += "\t\"" + path + "\"\n"
		calls += "\tprintln(" + name + ".Name())\n"
	}
	writeFiles(t, app, map[string]string{
		"go.mod":  gomod + ")\n",
		"main.go": mainGo + ")\n\nfunc main() {\n" + calls + "}\n",
	})

	bin := filepath.Join(dir, "bin", "app")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = app
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=file://"+filepath.ToSlash(proxy), "GOMODCACHE="+modCache,
		"GOFLAGS=-mod=mod -modcacherw", "GOSUMDB=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	goRoot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	return bin, Config{
		ModCache: modCache, GoRoot: strings.TrimSpace(string(goRoot)), Local: repoLicense, Allowed: DefaultAllowed,
	}
}

// writeProxyModule lays out module m in GOPROXY's file protocol.
func writeProxyModule(t *testing.T, proxy, src string, m module.Version, files map[string]string) {
	t.Helper()
	writeFiles(t, src, files)
	var z bytes.Buffer
	if err := zip.CreateFromDir(&z, m, src); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Join(proxy, m.Path, "@v"), map[string]string{
		"list":              m.Version + "\n",
		m.Version + ".info": `{"Version":"` + m.Version + `"}`,
		m.Version + ".mod":  files["go.mod"],
		m.Version + ".zip":  z.String(),
	})
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
