package process

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/seccomp/loader"
)

// runC runs the driver and returns its one-line answer.
func runC(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// TestCParity checks that the C init parses CPU lists, finds programs and
// tells a seccomp listener the state as the Go code does, with the same
// error texts, since the engine's users see those from whichever init runs.
func TestCParity(t *testing.T) {
	bin := buildProcrun(t)

	t.Run("cpus", func(t *testing.T) {
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
			if got := runC(t, bin, "cpus", list); got != want {
				t.Errorf("cpus %q:\nC  %q\nGo %q", list, got, want)
			}
		}
	})

	t.Run("lookup", func(t *testing.T) {
		dir := t.TempDir()
		for _, f := range []struct {
			rel  string
			mode os.FileMode
		}{{"a/tool", 0o755}, {"b/tool", 0o755}, {"a/plain", 0o644}, {"b/plain", 0o755}} {
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
		for _, tt := range []struct {
			args0 string
			env   []string
		}{
			{"tool", []string{"PATH=" + a + ":" + b}},
			{"tool", []string{"PATH=" + a, "PATH=" + b}},
			{"tool", []string{"PATH=" + a + "//./"}},
			{"tool", []string{"PATH=" + a + "/../b"}},
			{"plain", []string{"PATH=" + a + ":" + b}},
			{"sub", []string{"PATH=" + a}},
			{"foo", []string{"PATH=" + a + ":" + b}},
			{"tool", []string{"HOME=/"}},
			{"tool", []string{"PATH="}},
			{"tool", []string{"PATH=:" + b}},
			{a + "/tool", nil},
			{a + "/nope", nil},
			{a + "/sub", nil},
			{a + "/dangling", nil},
			{"", nil},
		} {
			want := "error: "
			if got, err := Lookup(tt.args0, tt.env); err != nil {
				want += err.Error()
			} else {
				want = got
			}
			args := append([]string{"lookup", tt.args0}, tt.env...)
			if got := runC(t, bin, args...); got != want {
				t.Errorf("lookup %q %q:\nC  %q\nGo %q", tt.args0, tt.env, got, want)
			}
		}
	})

	t.Run("seccomp state", func(t *testing.T) {
		for _, state := range []string{
			`{"ociVersion":"1.2.0","pid":7}`, " {\n\"pid\": 1 }\n", "{}", "{ }", "[]", "x", "{",
		} {
			want := "error: "
			if msg, err := goSeccompState(t, state); err != nil {
				want += err.Error()
			} else {
				want = msg
			}
			if got := runC(t, bin, "seccomp-state", state); got != want {
				t.Errorf("seccomp-state %q:\nC  %q\nGo %q", state, got, want)
			}
		}
	})
}

// goSeccompState is the message loader.SendState sends for state.
func goSeccompState(t *testing.T, state string) (string, error) {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sp[0])
	defer unix.Close(sp[1])
	if err := loader.SendState(sp[0], []byte(state), sp[0]); err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(sp[1], buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
		if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	return string(buf[:n]), nil
}
