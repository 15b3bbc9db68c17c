package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slrt/slrt/runtime/container"
)

func TestParseStartProcess(t *testing.T) {
	tests := []struct {
		in      string
		want    container.StartProcess
		wantErr bool
	}{
		{`{"args":["a","b"],"env":["X=1"],"cwd":"/w","cpus":"2-3"}`, container.StartProcess{Args: []string{"a", "b"}, Env: []string{"X=1"}, Cwd: "/w", CPUs: "2-3"}, false},
		{`{"args":["a"],"cpu":3}`, container.StartProcess{Args: []string{"a"}, CPUs: "3"}, false},
		{`{"cpu":0}`, container.StartProcess{CPUs: "0"}, false},
		{`{"cpu":1,"cpus":"2"}`, container.StartProcess{}, true},
		{`{"cpu":-1}`, container.StartProcess{}, true},
		{`{"args":`, container.StartProcess{}, true},
		{`{"args":[""]}`, container.StartProcess{}, true},
		{`{"args":["a\u0000b"]}`, container.StartProcess{}, true},
		{`{"env":["NOEQUALS"]}`, container.StartProcess{}, true},
		{`{"cwd":"rel"}`, container.StartProcess{}, true},
		{`{"cpus":"3-1"}`, container.StartProcess{}, true},
	}
	for _, tt := range tests {
		got, err := parseStartProcess([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("parseStartProcess(%s): error %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("parseStartProcess(%s) = %+v, want %+v", tt.in, *got, tt.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1024", 1024, false},
		{"512m", 512 << 20, false},
		{"1g", 1 << 30, false},
		{"1GiB", 1 << 30, false},
		{"64k", 64 << 10, false},
		{"64KB", 64 << 10, false},
		{"-1", -1, false},
		{"-2", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && *got != tt.want) {
			t.Errorf("parseBytes(%q) = %v, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestResourcesFromFlags(t *testing.T) {
	r, err := resourcesFromFlags(map[string]string{
		"memory": "256m", "cpu-quota": "50000", "cpu-period": "100000",
		"cpu-share": "512", "cpuset-cpus": "1-2", "pids-limit": "64",
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(r)
	want := `{"memory":{"limit":268435456},"cpu":{"shares":512,"quota":50000,"period":100000,"cpus":"1-2"},"pids":{"limit":64}}`
	if string(got) != want {
		t.Errorf("resources = %s\nwant        %s", got, want)
	}
	if r, _ := resourcesFromFlags(nil); r.CPU != nil || r.Memory != nil || r.Pids != nil {
		t.Errorf("no flags changed something: %+v", r)
	}
	if _, err := resourcesFromFlags(map[string]string{"cpu-quota": "x"}); err == nil {
		t.Error("bad number accepted")
	}
}

func TestParseUser(t *testing.T) {
	tests := []struct {
		in      string
		uid     uint32
		gid     int64
		wantErr bool
	}{
		{"1000", 1000, -1, false},
		{"1000:100", 1000, 100, false},
		{"0:0", 0, 0, false},
		{"root", 0, 0, true},
		{"1:x", 0, 0, true},
	}
	for _, tt := range tests {
		uid, gid, err := parseUser(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && (uid != tt.uid || gid != tt.gid)) {
			t.Errorf("parseUser(%q) = %d, %d, %v", tt.in, uid, gid, err)
		}
	}
}

// TestLogFormats pins the log line formats callers parse: containerd's shim
// and podman decode the JSON form's "msg".
func TestLogFormats(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		path := filepath.Join(t.TempDir(), "log")
		var stderr bytes.Buffer
		l, err := openLog(path, format, false, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		l.fatal(`container "x" does not exist`)
		l.close()
		if stderr.String() != "container \"x\" does not exist\n" {
			t.Errorf("%s: stderr = %q", format, stderr.String())
		}
		b, _ := os.ReadFile(path)
		line := strings.TrimSuffix(string(b), "\n")
		switch format {
		case "json":
			var e map[string]string
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("json log line %q: %v", line, err)
			}
			if e["level"] != "error" || e["msg"] != `container "x" does not exist` || e["time"] == "" || len(e) != 3 {
				t.Errorf("json log entry = %v", e)
			}
			if !strings.HasPrefix(line, `{"level":"error","msg":`) {
				t.Errorf("json log keys not in logrus order: %s", line)
			}
		case "text":
			if !strings.Contains(line, `level=error msg="container \"x\" does not exist"`) || !strings.HasPrefix(line, `time="`) {
				t.Errorf("text log line = %s", line)
			}
		}
	}
	if _, err := openLog("", "xml", false, &bytes.Buffer{}); err == nil {
		t.Error("unknown log format accepted")
	}
}

// TestUsageErrors checks argument counting and unknown commands without
// touching any container.
func TestUsageErrors(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--version"}, 0, "slrt version "},
		{[]string{"-v"}, 0, "spec: 1.3.0"},
		{[]string{"--help"}, 0, "COMMANDS:"},
		{[]string{"state"}, 1, ""},
		{[]string{"state", "a", "b"}, 1, ""},
		{[]string{"kill", "a", "KILL", "extra"}, 1, ""},
		{[]string{"frobnicate"}, 3, ""},
		{[]string{"--log-format", "xml", "list"}, 1, ""},
		{[]string{"list", "--format", "yaml"}, 1, ""},
		{[]string{"list", "-q"}, 0, ""},
		{[]string{"state", "--help"}, 0, "slrt state"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		argv := append([]string{"--root", root}, tt.args...)
		if code := run(argv, &stdout, &stderr); code != tt.code {
			t.Errorf("slrt %v: exit %d, want %d (stderr %q)", tt.args, code, tt.code, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.out) {
			t.Errorf("slrt %v: stdout %q does not contain %q", tt.args, stdout.String(), tt.out)
		}
	}
}
