package terminal

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAttach runs Attach in a child (it calls setsid, which a test process
// must not do to itself) and reads what the child prints through the pty.
func TestAttach(t *testing.T) {
	if os.Getenv("SLRT_TERMINAL_ATTACH_CHILD") == "1" {
		attachChild()
		return
	}
	if _, err := os.Stat(MasterName); err != nil {
		t.Skipf("no %s: %v", MasterName, err)
	}
	send, recv := socketpair(t)
	slave, err := Setup(int(send.Fd()), 24, 80)
	if err != nil {
		t.Fatal(err)
	}
	master, err := RecvMaster(recv)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^TestAttach$")
	cmd.Env = append(os.Environ(), "SLRT_TERMINAL_ATTACH_CHILD=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{slave} // fd 3
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "attach:") {
				lines <- l
				return
			}
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "attach: ok" {
			t.Errorf("child said %q (stderr: %s)", l, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Error("no answer from the child through the pty")
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// attachChild attaches fd 3 and reports whether it became the controlling
// terminal of a new session on all three stdio fds.
func attachChild() {
	slave := os.NewFile(3, "slave")
	// After saying, wait for the parent to kill us: a pty whose slave is
	// closed can drop unread output on the master side (EIO).
	say := func(s string) {
		os.Stdout.WriteString("\nattach: " + s + "\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	if err := Attach(slave); err != nil {
		say(err.Error())
	}
	for fd := 0; fd < 3; fd++ {
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
			say("fd is not a terminal")
		}
	}
	sid, err := unix.IoctlGetInt(0, unix.TIOCGSID)
	if err != nil || sid != os.Getpid() {
		say("not the controlling terminal of our session")
	}
	say("ok")
}
