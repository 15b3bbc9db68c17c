package process

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string, mode os.FileMode) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	mk("a/tool", 0o755)
	mk("b/tool", 0o755)
	mk("a/plain", 0o644)
	mk("b/plain", 0o755)
	if err := os.MkdirAll(filepath.Join(dir, "a/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args0   string
		env     []string
		want    string
		wantErr string
	}{
		{"first dir wins", "tool", []string{"PATH=" + a + ":" + b}, a + "/tool", ""},
		{"last PATH wins", "tool", []string{"PATH=" + a, "PATH=" + b}, b + "/tool", ""},
		{"skips non-executable", "plain", []string{"PATH=" + a + ":" + b}, b + "/plain", ""},
		{"skips directories", "sub", []string{"PATH=" + a}, "", `exec: "sub": executable file not found in $PATH`},
		{"not found", "foo", []string{"PATH=" + a + ":" + b}, "", `exec: "foo": executable file not found in $PATH`},
		{"no PATH", "tool", []string{"HOME=/"}, "", `exec: "tool": executable file not found in $PATH`},
		{"slash used as is", a + "/tool", nil, a + "/tool", ""},
		{"slash missing", a + "/nope", nil, "", "no such file or directory"},
		{"slash directory", a + "/sub", nil, "", "is a directory"},
		{"empty", "", nil, "", "empty program name"},
	}
	if os.Geteuid() != 0 {
		// root may execute any file with one x bit; others need their own.
		tests = append(tests, struct {
			name    string
			args0   string
			env     []string
			want    string
			wantErr string
		}{"slash not executable", a + "/plain", nil, "", "permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Lookup(tt.args0, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Lookup = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Lookup = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := Lookup("foo", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("not-found error %v does not wrap ErrNotFound", err)
	}
}

func TestLookupEmptyPathElementIsCwd(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "here"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got, err := Lookup("here", []string{"PATH=/nonexistent::"})
	if err != nil || got != "./here" {
		t.Errorf("Lookup = %q, %v; want ./here", got, err)
	}
}
