package container_test

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/internal/testutil"
	"github.com/slrt/slrt/runtime/container"
)

// defaultProfile is a Docker-like allow-list (359 syscalls, default
// ERRNO(EPERM), x86_64+x86+x32) shared with the seccomp package's tests.
func defaultProfile(t *testing.T) *specs.LinuxSeccomp {
	t.Helper()
	b, err := os.ReadFile("../seccomp/testdata/default.json")
	if err != nil {
		t.Fatal(err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// addSysno copies the static testdata/sysno helper into the bundle's
// rootfs as /bin/sysno.
func addSysno(t *testing.T, bundle string) {
	t.Helper()
	b := testutil.StaticHelper(t, "./testdata/sysno")
	if err := os.WriteFile(filepath.Join(bundle, "rootfs/bin/sysno"), b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestSeccompErrnoRet: mkdir fails with the profile's errno, everything
// else works, and the process runs in filter mode.
func TestSeccompErrnoRet(t *testing.T) {
	e := newEnv(t)
	b := bundleWith(t, func(s *specs.Spec) {
		s.Root.Readonly = false
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno},
		}}
	}, "sh", "-c", "mkdir /tmp/a; echo rc=$?; touch /tmp/b && echo touched; ls -d /tmp/a; grep Seccomp: /proc/self/status")
	res := e.run("errnoret", b, nil)
	for _, want := range []string{"Operation not permitted", "rc=1\n", "touched\n", "Seccomp:\t2\n"} {
		if !strings.Contains(res.out, want) {
			t.Errorf("output lacks %q:\n%s", want, res.out)
		}
	}
}

// TestSeccompAllowList runs the Docker-like profile (default ERRNO) with
// and without no_new_privs (the filter is then loaded before the
// capabilities are dropped) and checks the ENOSYS stub from inside.
func TestSeccompAllowList(t *testing.T) {
	const (
		getpid    = "39"
		getppid   = "110" // taken out of the allow-list below
		statmount = "457" // newer than anything the profile names
		beyond    = "1000"
	)
	for _, nnp := range []bool{true, false} {
		name := "no_new_privs"
		if !nnp {
			name = "privs"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			b := bundleWith(t, func(s *specs.Spec) {
				s.Process.NoNewPrivileges = nnp
				s.Process.User = specs.User{UID: 1000, GID: 1000}
				p := defaultProfile(t)
				names := p.Syscalls[0].Names
				for i, n := range names {
					if n == "getppid" {
						p.Syscalls[0].Names = append(names[:i:i], names[i+1:]...)
						break
					}
				}
				s.Linux.Seccomp = p
			}, "sh", "-c", "echo hi; grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; sysno "+
				strings.Join([]string{getpid, getppid, statmount, beyond}, " "))
			addSysno(t, b)
			res := e.run("allowlist-"+name, b, nil)
			nnpLine := "NoNewPrivs:\t0\n"
			if nnp {
				nnpLine = "NoNewPrivs:\t1\n"
			}
			for _, want := range []string{"hi\n", "Seccomp:\t2\n", nnpLine,
				getpid + " 0\n", getppid + " 1\n", statmount + " 38\n", beyond + " 38\n"} {
				if !strings.Contains(res.out, want) {
					t.Errorf("output lacks %q:\n%s", want, res.out)
				}
			}
			if res.status.Code != 0 {
				t.Errorf("exit = %+v", res.status)
			}
		})
	}
}

// TestSeccompBadProfile: Create fails naming the field, and leaves nothing
// behind (the leak check).
func TestSeccompBadProfile(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		s    *specs.LinuxSeccomp
		want string
	}{
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{"SCMP_ARCH_PDP11"}}, "linux.seccomp.architectures[0]"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}},
			"linux.seccomp.syscalls[0]: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerPath: "/nonexistent/agent.sock",
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}, "linux.seccomp.listenerPath"},
	} {
		b := bundleWith(t, func(s *specs.Spec) { s.Linux.Seccomp = tc.s }, "true")
		_, err := container.Create(e.root, container.CreateOpts{ID: "badseccomp", Bundle: b})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("create: err = %v, want one naming %q", err, tc.want)
		}
	}
}

// notifyListener is a minimal seccomp agent: it accepts connections on a
// unix socket, decodes the ContainerProcessState that comes with the
// notify fd, and answers every notified syscall with success (doing
// nothing).
type notifyListener struct {
	t      *testing.T
	path   string
	l      *net.UnixListener
	states chan specs.ContainerProcessState
	wg     sync.WaitGroup
	stop   chan struct{}

	mu       sync.Mutex
	answered []string
}

func newNotifyListener(t *testing.T) *notifyListener {
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	nl := &notifyListener{t: t, path: path, l: l, states: make(chan specs.ContainerProcessState, 4), stop: make(chan struct{})}
	nl.wg.Add(1)
	go nl.accept()
	t.Cleanup(func() {
		close(nl.stop)
		l.Close()
		nl.wg.Wait()
	})
	return nl
}

func (nl *notifyListener) accept() {
	defer nl.wg.Done()
	for {
		conn, err := nl.l.AcceptUnix()
		if err != nil {
			return
		}
		nl.wg.Add(1)
		go nl.serve(conn)
	}
}

func (nl *notifyListener) serve(conn *net.UnixConn) {
	defer nl.wg.Done()
	defer conn.Close()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		nl.t.Errorf("listener: read: %v", err)
		return
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		nl.t.Errorf("listener: want one control message, got %d (%v)", len(msgs), err)
		return
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		nl.t.Errorf("listener: want one fd, got %v (%v)", fds, err)
		return
	}
	fd := fds[0]
	defer unix.Close(fd)
	var st specs.ContainerProcessState
	if err := json.Unmarshal(buf[:n], &st); err != nil {
		nl.t.Errorf("listener: decode %q: %v", buf[:n], err)
		return
	}
	nl.states <- st
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, 100); err != nil && err != unix.EINTR {
			return
		}
		select {
		case <-nl.stop:
			return
		default:
		}
		if pfd[0].Revents&unix.POLLHUP != 0 {
			return // no process uses the filter any more
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			continue
		}
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if err != nil {
			continue // e.g. the caller was killed meanwhile
		}
		name, _ := req.Data.Syscall.GetNameByArch(req.Data.Arch)
		nl.mu.Lock()
		nl.answered = append(nl.answered, name)
		nl.mu.Unlock()
		// Success without doing anything: the container sees mkdir
		// succeed, and no directory appears.
		_ = libseccomp.NotifRespond(libseccomp.ScmpFd(fd), &libseccomp.ScmpNotifResp{ID: req.ID})
	}
}

func (nl *notifyListener) state(t *testing.T) specs.ContainerProcessState {
	t.Helper()
	select {
	case st := <-nl.states:
		return st
	case <-time.After(10 * time.Second):
		t.Fatal("the listener got no ContainerProcessState")
	}
	return specs.ContainerProcessState{}
}

// TestSeccompNotify: the container's init and an exec'd process each send
// their ContainerProcessState and notify fd to the listener, which answers
// their mkdir.
func TestSeccompNotify(t *testing.T) {
	e := newEnv(t)
	nl := newNotifyListener(t)
	const script = "mkdir /tmp/n && echo mkdir-ok; ls -d /tmp/n 2>/dev/null || echo absent; exec sleep 1000"
	b := bundleWith(t, func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow, ListenerPath: nl.path, ListenerMetadata: "agent-meta",
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
		}
	}, "sh", "-c", script)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := container.Create(e.root, container.CreateOpts{ID: "notify", Bundle: b, Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { c.Delete(true) })
	if err := c.Start(nil); err != nil {
		t.Fatalf("start: %v", err)
	}
	check := func(st specs.ContainerProcessState, pid int, status specs.ContainerState) {
		t.Helper()
		if st.Version != specs.Version || len(st.Fds) != 1 || st.Fds[0] != "seccompFd" || st.Pid != pid ||
			st.Metadata != "agent-meta" || st.State.ID != "notify" || st.State.Status != status ||
			st.State.Pid != c.Init().Pid || st.State.Bundle != b {
			t.Errorf("ContainerProcessState = %+v, want pid %d, status %s, init pid %d", st, pid, status, c.Init().Pid)
		}
	}
	check(nl.state(t), c.Init().Pid, specs.StateCreating)

	// The init's output ends with exec sleep: read what came before.
	out := make([]byte, 0, 256)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(out), "absent\n") && !strings.Contains(string(out), "/tmp/n\n") && time.Now().Before(deadline) {
		buf := make([]byte, 256)
		r.SetReadDeadline(deadline)
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	if string(out) != "mkdir-ok\nabsent\n" {
		t.Errorf("init output = %q, want mkdir to succeed without a directory appearing", out)
	}

	er, ew, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Exec(container.ExecOpts{
		Process: &specs.Process{Args: []string{"sh", "-c", "mkdir /tmp/e && echo exec-mkdir-ok; ls -d /tmp/e 2>/dev/null || echo absent"}, Env: []string{"PATH=/bin"}},
		Stdout:  ew, Stderr: ew,
	})
	ew.Close()
	if err != nil {
		er.Close()
		t.Fatalf("exec: %v", err)
	}
	check(nl.state(t), p.Pid, specs.StateRunning)
	eout, _ := io.ReadAll(er)
	er.Close()
	if st := p.Wait(); st.Code != 0 || string(eout) != "exec-mkdir-ok\nabsent\n" {
		t.Errorf("exec: %+v, output %q", st, eout)
	}
	if err := c.Kill(unix.SIGKILL, false); err != nil {
		t.Fatal(err)
	}
	c.Init().Wait()
	if err := c.Delete(false); err != nil {
		t.Fatal(err)
	}
	nl.mu.Lock()
	defer nl.mu.Unlock()
	if len(nl.answered) < 2 {
		t.Errorf("listener answered %q, want the init's and the exec's mkdir", nl.answered)
	}
}
