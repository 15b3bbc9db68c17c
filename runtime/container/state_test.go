package container

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLoadSpec checks what Load reads of a container's saved config.json:
// the hooks at once, the rest only when needed, and that a damaged file
// still fails with an error naming it.
func TestLoadSpec(t *testing.T) {
	const state = `{"ociVersion":"1.0.2","id":"c","status":"created","pid":0,"bundle":"/b","created":"2026-01-01T00:00:00Z","rootfs":"/b/rootfs","owner":0}`
	tests := []struct {
		name     string
		config   string
		loadErr  string // Load fails with this in its error
		specErr  string // else Spec fails with this
		hooks    int    // else: poststart hooks
		hostname string
	}{
		{name: "hooks and hostname", config: `{"ociVersion":"1.0.2","hostname":"h","hooks":{"poststart":[{"path":"/bin/true"}]},"linux":{"namespaces":[{"type":"pid"}]}}`, hooks: 1, hostname: "h"},
		{name: "no hooks", config: `{"ociVersion":"1.0.2","hostname":"x"}`, hostname: "x"},
		{name: "not JSON", config: `{"ociVersion":`, loadErr: "decode "},
		{name: "trailing garbage", config: `{"ociVersion":"1.0.2"} x`, loadErr: "decode "},
		{name: "bad hooks", config: `{"hooks":{"poststart":"nope"}}`, loadErr: "decode "},
		{name: "bad field elsewhere", config: `{"hostname":5}`, specErr: "config.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "c")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(state), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, specFile), []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(root, "c")
			if tt.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.loadErr) || !strings.Contains(err.Error(), specFile) {
					t.Fatalf("Load: got %v, want an error with %q naming %s", err, tt.loadErr, specFile)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.spec != nil {
				t.Error("Load decoded the whole spec; only the hooks are needed")
			}
			if h := c.specHooks(); (h == nil && tt.hooks > 0) || (h != nil && len(h.Poststart) != tt.hooks) {
				t.Errorf("hooks: got %+v, want %d poststart", h, tt.hooks)
			}
			s, err := c.Spec()
			if tt.specErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.specErr) {
					t.Fatalf("Spec: got %v, want an error with %q", err, tt.specErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Spec: %v", err)
			}
			if s.Hostname != tt.hostname {
				t.Errorf("hostname %q, want %q", s.Hostname, tt.hostname)
			}
			if h := c.specHooks(); (h == nil) != (tt.hooks == 0) {
				t.Errorf("hooks after Spec: %+v", h)
			}
		})
	}
}

// TestValidIDAndProcNS checks the two hand-written matchers against the
// regexps they replaced, over every string of up to 4 characters from an
// alphabet with each class in it, and a few paths.
func TestValidIDAndProcNS(t *testing.T) {
	idRE := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)
	const alpha = "aZ9_.+-/ é"
	var gen func(s string, n int)
	gen = func(s string, n int) {
		if got, want := validID(s), idRE.MatchString(s); got != want {
			t.Fatalf("validID(%q) = %v, want %v", s, got, want)
		}
		if n > 0 {
			for _, c := range alpha {
				gen(s+string(c), n-1)
			}
		}
	}
	gen("", 4)

	nsRE := regexp.MustCompile(`^/proc/([1-9][0-9]*)/ns/user$`)
	for _, p := range []string{
		"/proc/1/ns/user", "/proc/123456/ns/user", "/proc/0/ns/user", "/proc/01/ns/user",
		"/proc//ns/user", "/proc/1a/ns/user", "/proc/1/ns/net", "/proc/1/ns/user/", "proc/1/ns/user",
		"/proc/self/ns/user", "/run/netns/x", "/proc/1/ns/user\n", "/proc/999999999/ns/user",
	} {
		want := 0
		if m := nsRE.FindStringSubmatch(p); m != nil {
			want, _ = strconv.Atoi(m[1])
		}
		if got := procNSPid(p); got != want {
			t.Errorf("procNSPid(%q) = %d, want %d", p, got, want)
		}
	}
}
