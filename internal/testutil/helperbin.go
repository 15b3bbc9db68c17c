package testutil

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var helpers struct {
	sync.Mutex
	built map[string][]byte
}

// StaticHelper builds the Go program in pkgDir (e.g. "./testdata/sysno")
// statically, once per test process, and returns the binary's bytes, for
// tests that copy a helper into a container's rootfs. The build directory
// is removed at once: nothing is left in the system's temp dir.
func StaticHelper(t testing.TB, pkgDir string) []byte {
	t.Helper()
	helpers.Lock()
	defer helpers.Unlock()
	if b, ok := helpers.built[pkgDir]; ok {
		return b
	}
	dir, err := os.MkdirTemp("", "slrt-helper-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "bin")
	cmd := exec.Command("go", "build", "-o", out, pkgDir)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v", pkgDir, errors.Join(err, errors.New(string(msg))))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if helpers.built == nil {
		helpers.built = map[string][]byte{}
	}
	helpers.built[pkgDir] = b
	return b
}
