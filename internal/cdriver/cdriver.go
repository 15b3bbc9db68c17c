// Package cdriver builds the test drivers of slrt-init's C parts
// (cmd/slrt-init/test/*.c): small programs that run one part of the init
// (the wire decoder, the rootfs steps, the process steps, the console) on
// input a Go test gives them, so the Go tests check the C code directly.
// They are compiled as the Makefile compiles the init: musl, static,
// warnings as errors.
package cdriver

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Build compiles cmd/slrt-init/test/NAME.c with srcs (file names in
// cmd/slrt-init) into dir/NAME and returns that path. The test is skipped
// when musl-gcc is missing (Debian: musl-tools, which .ci/deps installs);
// a failed compile fails it.
func Build(t testing.TB, dir, name string, srcs ...string) string {
	t.Helper()
	cc, err := exec.LookPath("musl-gcc")
	if err != nil {
		t.Skip("musl-gcc not found (Debian: musl-tools, see .ci/deps)")
	}
	src, err := initSource()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	args := []string{"-std=gnu11", "-static", "-Os", "-Wall", "-Wextra", "-Werror", "-o", bin,
		filepath.Join(src, "test", name+".c")}
	for _, f := range srcs {
		args = append(args, filepath.Join(src, f))
	}
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("build the C driver %s: %v\n%s", name, err, out)
	}
	return bin
}

// initSource finds cmd/slrt-init from the test's working directory (its
// package's folder), walking up to the module's root.
func initSource() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "cmd", "slrt-init"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cdriver: no go.mod above the test's folder")
		}
		dir = parent
	}
}
