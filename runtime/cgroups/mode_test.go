package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseProcCgroup(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		v1         map[string]string
		unified    string
		err        string
	}{
		{
			name:    "hybrid",
			file:    "9:name=systemd:/\n4:memory:/a/b\n1:cpu,cpuacct:/c\n0::/u\n",
			v1:      map[string]string{"name=systemd": "/", "memory": "/a/b", "cpu": "/c", "cpuacct": "/c"},
			unified: "/u",
		},
		{name: "unified", file: "0::/user.slice/x\n", v1: map[string]string{}, unified: "/user.slice/x"},
		{name: "legacy", file: "2:pids:/p\n", v1: map[string]string{"pids": "/p"}},
		{name: "colon in path", file: "0::/a:b\n", v1: map[string]string{}, unified: "/a:b"},
		{name: "malformed", file: "garbage\n", err: `malformed line "garbage"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "cgroup")
			if err := os.WriteFile(p, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			v1, unified, err := parseProcCgroup(p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v1, tt.v1) || unified != tt.unified {
				t.Errorf("got %v %q, want %v %q", v1, unified, tt.v1, tt.unified)
			}
		})
	}
}

// TestLoadMissing: a cgroup that is gone loads as os.ErrNotExist, which
// the engine takes as "no cgroup to manage".
func TestLoadMissing(t *testing.T) {
	requireCgroups(t)
	_, err := Load("/slrt-no-such-cgroup/c", false)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "/slrt-no-such-cgroup/c") {
		t.Errorf("Load of a missing cgroup: %v", err)
	}
}
