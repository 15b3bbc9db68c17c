package task

import (
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestAppendPids(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"", nil},
		{"12 345 ", []int{12, 345}},
		{"7", []int{7}},
		{" 1  2\n", []int{1, 2}},
	} {
		if got := appendPids(nil, []byte(tc.in)); !slices.Equal(got, tc.want) {
			t.Errorf("appendPids(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestReaperChildren: a child of this process shows in children, and as a
// zombie once it exited and before it is waited for; the buffers are
// reused across calls.
func TestReaperChildren(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Wait()
	var r reaper
	for i := 0; ; i++ {
		kids, err := r.children()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(kids, pid) {
			t.Fatalf("children %v: no %d", kids, pid)
		}
		if r.zombie(pid) {
			break
		}
		if i == 500 {
			t.Fatalf("%d never became a zombie", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r.zombie(1 << 30) {
		t.Error("a pid that does not exist is a zombie")
	}
	allocs := testing.AllocsPerRun(20, func() { r.children() })
	// the per-thread "TID/children" path strings only
	if limit := 40.0; allocs > limit {
		t.Errorf("children allocates %.0f times a call, want at most %.0f", allocs, limit)
	}
}
