package main

import (
	"strings"
	"testing"

	"github.com/slrt/slrt/runtime/process"
)

// FuzzStartProcess feeds `slrt start --process` files to their parser:
// it must never panic, and what it accepts must be a request the init can
// act on (checked again here, independently of the parser's own code).
// Seeds: the table of TestParseStartProcess and testdata/fuzz.
func FuzzStartProcess(f *testing.F) {
	for _, s := range []string{
		`{"args":["a","b"],"env":["X=1"],"cwd":"/w","cpus":"2-3"}`,
		`{"args":["a"],"cpu":3}`, `{"cpu":1,"cpus":"2"}`, `{"cpus":"0-3,7,9-11"}`, `{}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseStartProcess(b)
		if err != nil {
			return
		}
		if p == nil {
			t.Fatal("no error and no process")
		}
		if len(p.Args) > 0 && p.Args[0] == "" {
			t.Errorf("accepted an empty args[0]")
		}
		for _, s := range append(append([]string{p.Cwd}, p.Args...), p.Env...) {
			if strings.IndexByte(s, 0) >= 0 {
				t.Errorf("accepted a NUL byte in %q", s)
			}
		}
		if p.Cwd != "" && !strings.HasPrefix(p.Cwd, "/") {
			t.Errorf("accepted a relative cwd %q", p.Cwd)
		}
		if p.CPUs != "" {
			set, err := process.ParseCPUs(p.CPUs)
			if err != nil || set.Count() == 0 {
				t.Errorf("accepted cpus %q: %v", p.CPUs, err)
			}
		}
	})
}
