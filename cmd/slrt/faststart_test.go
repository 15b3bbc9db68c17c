package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFastStartFlow is the embedded fast-start flow the README documents:
// `slrt create` at boot parks the container with a placeholder process,
// and `slrt start --process FILE` later runs the real one, with the seed's
// fast-startup.json form ({"args": [...], "cpu": N}). slrt only: runc has
// no --process.
func TestFastStartFlow(t *testing.T) {
	r := runtimes(t)[0]
	id := newID(t)
	bundle := r.bundle(t, "sleep", "100") // the placeholder, never run
	out := t.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs", "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	path := filepath.Join(bundle, "config.json")
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	spec["mounts"] = append(spec["mounts"].([]any), map[string]any{
		"destination": "/out", "type": "bind", "source": out, "options": []string{"rbind", "rw"},
	})
	raw, _ = json.Marshal(spec)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	r.track(t, id)

	r.ok(t, "create", "--bundle", bundle, id)
	if st := r.state(t, id); st["status"] != "created" {
		t.Fatalf("after create: %v", st)
	}
	proc := filepath.Join(t.TempDir(), "fast-startup.json")
	if err := os.WriteFile(proc, []byte(`{"args": ["sh", "-c", "echo $FOO > /out/o; cat /proc/self/status >> /out/o"], "env": ["PATH=/bin", "FOO=fast"], "cpu": 0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r.ok(t, "start", "--process", proc, id)
	r.waitStatus(t, id, "stopped")
	got, err := os.ReadFile(filepath.Join(out, "o"))
	if err != nil {
		t.Fatalf("the replacement process wrote nothing: %v", err)
	}
	for _, want := range []string{"fast\n", "Cpus_allowed_list:\t0\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "sleep") {
		t.Errorf("the placeholder ran")
	}
	r.ok(t, "delete", id)

	// A bad process file fails start and leaves the container created.
	id2 := newID(t)
	r.track(t, id2)
	r.ok(t, "create", "--bundle", bundle, id2)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"cpu": 1, "cpus": "0"}`), 0o644)
	if res := r.fails(t, 1, "start", "--process", bad, id2); !strings.Contains(res.stderr, `both "cpu" and "cpus"`) {
		t.Errorf("start with a bad process file: stderr %q", res.stderr)
	}
	if st := r.state(t, id2); st["status"] != "created" {
		t.Errorf("after a refused start: %v", st)
	}
	r.ok(t, "delete", id2)
}
