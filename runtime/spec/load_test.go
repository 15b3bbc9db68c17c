package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoad(t *testing.T) {
	good := `{"ociVersion": "1.0.2-dev", "process": {"args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}}`
	s, err := Load(writeConfig(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.0.2-dev" || s.Process.Args[0] != "sh" || s.Root.Path != "rootfs" {
		t.Errorf("Load = %+v", s)
	}

	tests := []struct {
		name, body, want string
	}{
		{"syntax", "{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {\"path\": \"rootfs\",}\n}",
			"line 3, column 29 (byte offset 55): invalid character '}'"},
		{"truncated", `{"ociVersion": "1.0.0"`, "unexpected end of JSON input"},
		{"wrong type", "{\"ociVersion\": \"1.0.0\",\n\"process\": {\"args\": \"sh\"}}",
			"line 2, column 24 (byte offset 47): json: cannot unmarshal string into Go struct field"},
		{"bad version", `{"ociVersion": "2.0.0"}`, `unsupported ociVersion "2.0.0"`},
		{"no version", `{}`, `unsupported ociVersion ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, tt.body)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, "config.json")) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil || !strings.HasPrefix(err.Error(), "config.json not found in bundle "+dir) {
		t.Fatalf("error = %v", err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap ErrNotExist", err)
	}
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		v  string
		ok bool
	}{
		{"1.0.0", true},
		{"1.0.2-dev", true},
		{"1.2.0", true},
		{"1.3.0", true},
		{"1.0.0-rc5+dev", true},
		{"1.1.0+build.7", true},
		{"1.99.0", true},
		{"", false},
		{"1", false},
		{"1.0", false},
		{"1.0.0.0", false},
		{"v1.0.0", false},
		{"0.5.0", false},
		{"2.0.0", false},
		{"01.0.0", false},
		{"1.0.0-", false},
		{"1.x.0", false},
		{"1.0.-1", false},
	}
	for _, tt := range tests {
		err := CheckVersion(tt.v)
		if (err == nil) != tt.ok {
			t.Errorf("CheckVersion(%q) = %v, want ok=%v", tt.v, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrUnsupportedVersion) {
			t.Errorf("CheckVersion(%q) error does not wrap ErrUnsupportedVersion", tt.v)
		}
	}
}
