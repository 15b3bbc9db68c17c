package fastart

import (
	"strings"
	"testing"
	"time"

	"github.com/slrt/slrt/runtime/process"
)

func TestLeastLoaded(t *testing.T) {
	// Four CPUs; over the window cpu0 is busy 90%, cpu1 50%, cpu2 10%,
	// cpu3 idle (user nice system idle iowait irq softirq steal guest guest_nice).
	before := "cpu  0 0 0 0 0 0 0 0 0 0\n" +
		"cpu0 100 0 0 100 0 0 0 0 50 0\ncpu1 100 0 0 100 0 0 0 0 0 0\n" +
		"cpu2 100 0 0 100 0 0 0 0 0 0\ncpu3 100 0 0 100 0 0 0 0 0 0\nintr 1 2 3\n"
	after := "cpu  0 0 0 0 0 0 0 0 0 0\n" +
		"cpu0 190 0 0 110 0 0 0 0 90 0\ncpu1 150 0 0 150 0 0 0 0 0 0\n" +
		"cpu2 105 0 5 190 0 0 0 0 0 0\ncpu3 100 0 0 200 0 0 0 0 0 0\n"
	offline3 := strings.Replace(after, "cpu3 100 0 0 200 0 0 0 0 0 0\n", "", 1)
	for _, tc := range []struct {
		allowed string
		after   string
		want    int
		err     string
	}{
		{"0-3", after, 3, ""},
		{"0-2", after, 2, ""},
		{"0,1", after, 1, ""},
		{"0-3", offline3, 2, ""}, // cpu3 went offline during the window
		{"3", offline3, -1, "no online CPU in 3"},
		{"0-3", before, 0, ""}, // no time passed: all equal, lowest wins
	} {
		allow, err := process.ParseCPUs(tc.allowed)
		if err != nil {
			t.Fatal(err)
		}
		got, err := leastLoaded([]byte(before), []byte(tc.after), allow)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("allowed %s: err = %v, want %q", tc.allowed, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("allowed %s: got %d, %v; want %d", tc.allowed, got, err, tc.want)
		}
	}
	if _, _, err := cpuTimes([]byte("cpuX 1 2 3 4 5\n")); err == nil {
		t.Error("a bad /proc/stat line was accepted")
	}
}

// TestAffinityAutoSince: a sample older than AutoWindow costs no wait.
func TestAffinityAutoSince(t *testing.T) {
	s, err := SampleLoad()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(AutoWindow)
	t0 := time.Now()
	if _, err := Affinity("auto", "", s); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d >= AutoWindow {
		t.Logf("auto with an old sample took %s (a loaded machine?)", d)
	}
	t0 = time.Now()
	if _, err := Affinity("auto", "", nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < AutoWindow {
		t.Errorf("auto without a sample took %s, less than the %s window", d, AutoWindow)
	}
}

func TestAffinity(t *testing.T) {
	for _, tc := range []struct {
		hint, allowed, want, err string
	}{
		{"", "0-1", "", ""},
		{"1", "0-1", "1", ""},
		{"0-1", "0,1", "0-1", ""},
		{"2-3", "0-1", "", "CPUs 2-3 are not all within the container's cpuset 0-1"},
		{"1-2", "1", "", "CPUs 1-2 are not all within the container's cpuset 1"},
		{"x", "0", "", `CPU list "x"`},
		{"0", "bogus", "", `linux.resources.cpu.cpus "bogus"`},
		{"auto", "0", "0", ""},
	} {
		got, err := Affinity(tc.hint, tc.allowed, nil)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Affinity(%q, %q): err = %v, want %q", tc.hint, tc.allowed, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Affinity(%q, %q) = %q, %v; want %q", tc.hint, tc.allowed, got, err, tc.want)
		}
	}
}
