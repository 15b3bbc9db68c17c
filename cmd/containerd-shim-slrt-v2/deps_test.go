package main

import (
	"os/exec"
	"testing"
)

// TestCheckDeps keeps containerd/api and gRPC out of ./cmd (DESIGN §3).
func TestCheckDeps(t *testing.T) {
	out, err := exec.Command("../../hack/check-deps.sh").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}
