package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/fgac/policy"
)

var scratch = map[string]string{policy.ProfileAnnotation: "scratch"}

// TestCallerGone: the caller is killed after the agent decided and before
// it acts; the second ID_VALID check sees it, and nothing is mounted.
// (A reused pid cannot fool the agent either: everything it opens about
// the caller goes through the /proc/PID directory fd opened before the
// first ID_VALID, which names the dead process, not the number.)
func TestCallerGone(t *testing.T) {
	e := newEnv(t)
	killed := 0
	testHookBeforeAct = func(pid, _ int) {
		killed = pid
		unix.Kill(pid, unix.SIGKILL)
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			st, err := os.ReadFile(filepathJoin("/proc", pid, "stat"))
			if err != nil || strings.Contains(string(st), ") Z ") {
				return
			}
		}
	}
	t.Cleanup(func() { testHookBeforeAct = nil })
	b := e.bundle(340000, scratch, e.withProfile, "fgacprobe mount /mnt/a; echo rc=$?; grep -c ' /mnt/a ' /proc/self/mountinfo")
	out := e.run("fgac-gone", b)
	wantLines(t, "container", out, "rc=137\n0\n")
	// No answer goes to a dead caller: the log line may come after the
	// container is gone.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(e.logText(), "caller gone") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if killed == 0 || !strings.Contains(e.logText(), "caller gone") || strings.Contains(e.logText(), "mounted") {
		t.Errorf("killed pid %d; agent log:\n%s", killed, e.logText())
	}
}

func filepathJoin(dir string, pid int, name string) string {
	return filepath.Join(dir, sprintf("%d", pid), name)
}

// TestTOCTOU: a second thread of the caller rewrites the target path
// (/mnt/a, allowed, and /opt/a, not allowed) while the agent handles the
// mount. The agent decides and acts on its one copy, so a mount never
// lands on /opt/a, whatever the interleaving.
func TestTOCTOU(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(350000, scratch, e.withProfile, "fgacprobe race 300")
	out := e.run("fgac-race", b)
	wantLines(t, "container", out, "violations=0\n", "other=0 ")
	if strings.Contains(out, "race ok=0 ") {
		t.Errorf("no mount succeeded, the race proved nothing: %s", out)
	}
	t.Logf("%s", strings.TrimSpace(out))
}

// TestBindAndHostname: a read-only bind of the allow-listed host
// directory, under the name the policy gives it, and nothing else; an
// allowed hostname in the container's own UTS namespace, and no other.
func TestBindAndHostname(t *testing.T) {
	e := newEnv(t)
	b := e.bundle(360000, scratch, e.withProfile,
		"fgacprobe bind /host /mnt/b; cat /mnt/b/hello; touch /mnt/b/x; echo touch-rc=$?; "+
			"fgacprobe bind /etc /mnt/a; fgacprobe bind /host /mnt/a; umount /mnt/b && echo umounted; "+
			"hostname fgac-one && hostname; hostname other; echo hostname-rc=$?")
	host, _ := os.Hostname()
	out := e.run("fgac-bind", b)
	wantLines(t, "container", out, "bind /mnt/b 0\n", "hello from the host\n", "Read-only file system", "touch-rc=1\n",
		"bind /mnt/a 1\nbind /mnt/a 1\n", "umounted\n", "fgac-one\n", "hostname-rc=1\n")
	if now, _ := os.Hostname(); now != host {
		t.Errorf("the host's hostname changed to %s", now)
	}
}

// TestShutdownAnswersPending: SIGTERM's Shutdown while one notification
// is being handled and another waits: the first completes, the second is
// answered EPERM, and later notified syscalls fail (ENOSYS, from the
// kernel once the fd is closed) instead of blocking the container.
func TestShutdownAnswersPending(t *testing.T) {
	e := newEnv(t)
	first := true
	testHookBeforeAct = func(_, fd int) {
		if !first {
			return
		}
		first = false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if _, ready := pollOnce(fd); ready {
				break
			}
		}
		e.a.Shutdown()
	}
	t.Cleanup(func() { testHookBeforeAct = nil })
	b := e.bundle(370000, scratch, e.withProfile,
		"fgacprobe mount /mnt/a & fgacprobe mount /mnt/b & wait; echo after; fgacprobe mount /mnt/b")
	out := e.run("fgac-shutdown", b)
	first2, _, _ := strings.Cut(out, "after\n")
	if strings.Count(first2, " 0\n") != 1 || strings.Count(first2, " 1\n") != 1 || !strings.HasSuffix(out, "after\nmount /mnt/b 38\n") {
		t.Errorf("want one mount done, one EPERM, then ENOSYS:\n%s", out)
	}
	if !strings.Contains(e.logText(), "shutting down: syscall") {
		t.Errorf("agent log:\n%s", e.logText())
	}
}

// TestPolicyFiles: a malformed policy stops the agent from starting, with
// the line and field; at reload it leaves the running policy in force,
// and the log says why.
func TestPolicyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fgac.json")
	good := strings.ReplaceAll(testPolicy, "@BIND@", "/srv")
	bad := strings.Replace(good, `"maxSize": "16M"`, `"maxSize": "16Q"`, 1)
	os.WriteFile(path, []byte(bad), 0o600)
	if _, err := New(path); err == nil || !strings.Contains(err.Error(), path+":8: profiles[0].rules[0].mount.maxSize:") {
		t.Errorf("New with a bad policy: %v", err)
	}
	os.WriteFile(path, []byte(good), 0o600)
	a, err := New(path)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	a.Logf = func(f string, args ...any) { log.WriteString(sprintf(f, args...) + "\n") }
	old := a.Policy()
	os.WriteFile(path, []byte(`{"profiles": [`), 0o600)
	if err := a.Reload(); err == nil || a.Policy() != old || !strings.Contains(log.String(), "keeping the current policy") {
		t.Errorf("reload of a truncated policy: %v, policy kept %v, log %q", err, a.Policy() == old, log.String())
	}
	os.WriteFile(path, []byte(strings.Replace(good, `"scratch"`, `"renamed"`, 1)), 0o600)
	if err := a.Reload(); err != nil || a.Policy().Profile("renamed") == nil {
		t.Errorf("reload of a good policy: %v", err)
	}
}
