package testutil

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ServeFGAC runs `slrt fgac serve` (slrt is the binary) with policyText
// on socket until the test ends, as the chart's DaemonSet runs it on a
// node: the policy file it is given (the ConfigMap's) is published to
// policyPath, the path the runtime reads. It returns once the agent
// serves and has published the policy, failing the test if that takes
// longer than ready. At the end of the test the agent gets SIGTERM, must
// exit cleanly and must have removed the published policy; its log goes
// to the test log when the test failed.
func ServeFGAC(t *testing.T, slrt, policyText, policyPath, socket string, ready time.Duration) {
	t.Helper()
	for _, d := range []string{filepath.Dir(policyPath), filepath.Dir(socket)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(t.TempDir(), "configmap.json")
	if err := os.WriteFile(src, []byte(policyText), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(slrt, "fgac", "serve", "--policy", src, "--socket", socket, "--publish-policy", policyPath)
	logR, logW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logW
	if err := cmd.Start(); err != nil {
		logR.Close()
		logW.Close()
		t.Fatal(err)
	}
	logW.Close()
	serving, logged := make(chan struct{}), make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(logR)
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "serving policy") {
				close(serving)
			}
		}
		io.Copy(io.Discard, logR)
		logR.Close()
		logged <- all.String()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("slrt fgac serve: %v", err)
		}
		if _, err := os.Stat(policyPath); !os.IsNotExist(err) {
			t.Errorf("the published policy %s is still there after the agent exited: %v", policyPath, err)
		}
		if log := <-logged; t.Failed() {
			t.Logf("agent log:\n%s", log)
		}
	})
	select {
	case <-serving:
	case <-time.After(ready):
		t.Fatal("slrt fgac serve did not start serving")
	}
	if b, err := os.ReadFile(policyPath); err != nil || string(b) != policyText {
		t.Fatalf("published policy %q, %v; want the served one", b, err)
	}
}
