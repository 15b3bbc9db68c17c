package main

// Integration tests: they run the built binary ($SLRT_BIN, default
// build/slrt) against real busybox bundles and, where runc is installed,
// run the same steps with runc and expect the same exit codes and output
// shapes. Run them with SLRT_BIN=/usr/bin/runc to check the tests
// themselves against the reference.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slrt/slrt/internal/testutil"
)

// runtime is one runc-compatible binary with its own state root.
type runtime struct {
	name string
	bin  string
	root string
}

type result struct {
	stdout, stderr string
	code           int
}

// cmd runs the runtime with --root and args; stdin is empty. Output goes
// to files, not pipes: a container started by create or run -d inherits
// them and keeps them open, and a pipe would make Wait hang until it exits.
func (r *runtime) cmd(t *testing.T, args ...string) result {
	t.Helper()
	full := append([]string{"--root", r.root}, args...)
	c := exec.Command(r.bin, full...)
	outF, errF := tempFile(t), tempFile(t)
	c.Stdout, c.Stderr = outF, errF
	c.WaitDelay = time.Second
	done := make(chan error, 1)
	if err := c.Start(); err != nil {
		t.Fatalf("%s %v: %v", r.name, full, err)
	}
	go func() { done <- c.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		c.Process.Kill()
		<-done
		t.Fatalf("%s %v: still running after 20s", r.name, full)
	}
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s %v: %v", r.name, full, err)
		}
		code = ee.ExitCode()
	}
	return result{readBack(t, outF), readBack(t, errF), code}
}

func tempFile(t *testing.T) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readBack(t *testing.T, f *os.File) string {
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ok runs a command that must succeed and returns its stdout.
func (r *runtime) ok(t *testing.T, args ...string) string {
	t.Helper()
	res := r.cmd(t, args...)
	if res.code != 0 {
		t.Fatalf("%s %s: exit %d, stderr: %s", r.name, strings.Join(args, " "), res.code, res.stderr)
	}
	return res.stdout
}

// fails runs a command that must fail with code.
func (r *runtime) fails(t *testing.T, code int, args ...string) result {
	t.Helper()
	res := r.cmd(t, args...)
	if res.code != code {
		t.Errorf("%s %s: exit %d, want %d (stderr: %q)", r.name, strings.Join(args, " "), res.code, code, res.stderr)
	}
	return res
}

// state returns the parsed `state` output.
func (r *runtime) state(t *testing.T, id string) map[string]any {
	t.Helper()
	var m map[string]any
	out := r.ok(t, "state", id)
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%s state %s: %v in %q", r.name, id, err, out)
	}
	return m
}

// waitStatus polls until the container reaches status want.
func (r *runtime) waitStatus(t *testing.T, id, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := r.state(t, id)
		if st["status"] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: container %s is %v, want %s", r.name, id, st["status"], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var ids atomic.Int64

// newID gives each container a unique id, also across runtimes, so a
// leftover of one run can never be mistaken for another's.
func newID(t *testing.T) string {
	n := strings.NewReplacer("/", "-", "_", "-").Replace(strings.ToLower(t.Name()))
	if len(n) > 40 {
		n = n[len(n)-40:]
	}
	return strings.Trim(n, "-") + "-" + strconv.FormatInt(ids.Add(1), 10)
}

// track deletes the container when the test ends, whatever happened.
func (r *runtime) track(t *testing.T, id string) {
	t.Cleanup(func() {
		exec.Command(r.bin, "--root", r.root, "delete", "-f", id).Run()
	})
}

// subjectBin is the binary under test, or "" when it is not built.
func subjectBin() string {
	if b := os.Getenv("SLRT_BIN"); b != "" {
		return b
	}
	b, _ := filepath.Abs("../../build/slrt")
	return b
}

// runtimes returns the binary under test and, when runc is installed and is
// not itself the subject, runc: each test runs its steps against both.
func runtimes(t *testing.T) []*runtime {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: runs containers")
	}
	bin := subjectBin()
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no binary to test at %s (build it with `make build` or set SLRT_BIN): %v", bin, err)
	}
	testutil.RequireRoot(t)
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no /bin/busybox to build a rootfs from")
	}
	rts := []*runtime{{name: "subject", bin: bin, root: stateDir(t)}}
	if runc, err := exec.LookPath("runc"); err == nil && !sameFile(runc, bin) {
		rts = append(rts, &runtime{name: "runc", bin: runc, root: stateDir(t)})
	}
	return rts
}

// stateDir is a fresh --root; nothing may be left in it when the test ends.
func stateDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "state")
	testutil.Leaks(t, dir)
	return dir
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// bundle makes a busybox bundle whose config.json comes from the runtime's
// own `spec` command, with terminal off and the given process args.
func (r *runtime) bundle(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "sleep", "true", "false", "echo", "cat", "ls", "kill", "ps", "id"} {
		if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
			t.Fatal(err)
		}
	}
	c := exec.Command(r.bin, "spec")
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s spec: %v: %s", r.name, err, out)
	}
	path := filepath.Join(dir, "config.json")
	var spec map[string]any
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("%s spec wrote invalid JSON: %v", r.name, err)
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	list := make([]any, len(args))
	for i, a := range args {
		list[i] = a
	}
	proc["args"] = list
	out, _ := json.MarshalIndent(spec, "", "\t")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// each runs f as a subtest per runtime.
func each(t *testing.T, f func(t *testing.T, r *runtime)) {
	for _, r := range runtimes(t) {
		t.Run(r.name, func(t *testing.T) { f(t, r) })
	}
}
