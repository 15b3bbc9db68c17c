package process

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runC runs procrun's pure modes in dir and returns its one-line answer
// (the result, or "error: " and the message).
func runC(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(buildProcrun(t), args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("procrun %q: %v", args, err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// TestCCPUs: the init parses a CPU list (process.cpus, a start request's
// "cpus") as ParseCPUs does for the engine, with the same error texts.
func TestCCPUs(t *testing.T) {
	for _, list := range []string{
		"0", "0-3", "0-2,5", " 1 , 3-4 \n", "7,1-2,1", "1023", "0-1023",
		"", " ", "1,", ",1", "a", "-1", "+1", "1-", "3-1", "1-2-3", "1024",
		"99999999999", "1 2", "0x1",
	} {
		want := "error: "
		if set, err := ParseCPUs(list); err != nil {
			want += err.Error()
		} else {
			want = FormatCPUs(set)
		}
		if got := runC(t, "", "cpus", list); got != want {
			t.Errorf("cpus %q:\nC  %q\nGo %q", list, got, want)
		}
	}
}

// TestCLookup: the init finds the workload's program as a shell would: a
// name with a slash as it is, any other in the PATH of its env (the last
// PATH= wins, an empty element is the cwd), with os/exec's error texts.
func TestCLookup(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct {
		rel  string
		mode os.FileMode
	}{{"a/tool", 0o755}, {"b/tool", 0o755}, {"a/plain", 0o644}, {"b/plain", 0o755}, {"here", 0o755}} {
		p := filepath.Join(dir, f.rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "a/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent", filepath.Join(dir, "a/dangling")); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	notFound := func(name string) string { return `error: exec: "` + name + `": executable file not found in $PATH` }
	tests := []struct {
		name  string
		args0 string
		env   []string
		want  string
	}{
		{"first dir wins", "tool", []string{"PATH=" + a + ":" + b}, a + "/tool"},
		{"last PATH wins", "tool", []string{"PATH=" + a, "PATH=" + b}, b + "/tool"},
		{"dir cleaned", "tool", []string{"PATH=" + a + "//./"}, a + "/tool"},
		{"dotdot folded", "tool", []string{"PATH=" + a + "/../b"}, b + "/tool"},
		{"skips non-executable", "plain", []string{"PATH=" + a + ":" + b}, b + "/plain"},
		{"skips directories", "sub", []string{"PATH=" + a}, notFound("sub")},
		{"not found", "foo", []string{"PATH=" + a + ":" + b}, notFound("foo")},
		{"no PATH", "tool", []string{"HOME=/"}, notFound("tool")},
		{"empty PATH", "tool", []string{"PATH="}, notFound("tool")},
		{"empty element is the cwd", "here", []string{"PATH=/nonexistent::"}, "./here"},
		{"slash used as is", a + "/tool", nil, a + "/tool"},
		{"slash missing", a + "/nope", nil, `error: exec: "` + a + `/nope": stat ` + a + `/nope: no such file or directory`},
		{"slash directory", a + "/sub", nil, `error: exec: "` + a + `/sub": ` + a + `/sub: is a directory`},
		{"dangling symlink", a + "/dangling", nil, `error: exec: "` + a + `/dangling": stat ` + a + `/dangling: no such file or directory`},
		{"empty", "", nil, `error: exec: "": empty program name`},
	}
	if os.Geteuid() != 0 {
		// root may execute any file with one x bit; others need their own.
		tests = append(tests, struct {
			name  string
			args0 string
			env   []string
			want  string
		}{"slash not executable", a + "/plain", nil, `error: exec: "` + a + `/plain": access ` + a + `/plain: permission denied`})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"lookup", tt.args0}, tt.env...)
			if got := runC(t, dir, args...); got != tt.want {
				t.Errorf("lookup %q %q:\ngot  %q\nwant %q", tt.args0, tt.env, got, tt.want)
			}
		})
	}
}

// TestCSeccompState: a seccomp listener gets the ContainerProcessState with
// "fds":["seccompFd"] first, naming the fd that rides with the message
// (runtime-spec config-linux.md#seccomp).
func TestCSeccompState(t *testing.T) {
	for _, tt := range []struct{ state, want string }{
		{`{"ociVersion":"1.2.0","pid":7}`, `{"fds":["seccompFd"],"ociVersion":"1.2.0","pid":7}`},
		{" {\n\"pid\": 1 }\n", "{\"fds\":[\"seccompFd\"],\n\"pid\": 1 }"},
		{"{}", `{"fds":["seccompFd"]}`},
		{"{ }", `{"fds":["seccompFd"] }`},
		{"[]", "error: seccomp listener state is not a JSON object"},
		{"x", "error: seccomp listener state is not a JSON object"},
		{"{", "error: seccomp listener state is not a JSON object"},
	} {
		if got := runC(t, "", "seccomp-state", tt.state); got != tt.want {
			t.Errorf("seccomp-state %q:\ngot  %q\nwant %q", tt.state, got, tt.want)
		}
	}
}
