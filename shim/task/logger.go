package task

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Timeouts of a binary:// logger: how long it may take to say it is ready,
// and how long it may keep draining once the process has exited before it
// is asked (SIGTERM), then made (SIGKILL), to go.
var (
	loggerReadyTimeout = 10 * time.Second
	loggerDrainTimeout = 5 * time.Second
)

// logger is a containerd "binary" log driver (binary:///path?arg=v&env.K=V):
// a program that gets the process's stdout and stderr as the read ends of
// two pipes on fds 3 and 4, and a pipe on fd 5 it writes to or closes once
// it is ready; CONTAINER_ID and CONTAINER_NAMESPACE in its environment,
// query parameters as arguments (key, then value when not empty) except
// env.K=V, which are environment variables. This is the contract containerd's
// logging drivers are written against.
type logger struct {
	cmd        *exec.Cmd
	outW, errW *os.File // the process's stdout and stderr
	exited     chan struct{}
}

// loggerCmd builds the command line and environment from the URI.
func loggerCmd(u *url.URL, id, namespace string) (*exec.Cmd, error) {
	if u.Path == "" {
		return nil, fmt.Errorf("log URI %q names no binary: %w", u.String(), errInvalid)
	}
	var args, env []string
	for k, vs := range u.Query() {
		if name, ok := strings.CutPrefix(k, "env."); ok {
			if len(vs) > 0 && name != "CONTAINER_ID" && name != "CONTAINER_NAMESPACE" {
				env = append(env, name+"="+vs[0])
			}
			continue
		}
		args = append(args, k)
		if len(vs) > 0 && vs[0] != "" {
			args = append(args, vs[0])
		}
	}
	cmd := exec.Command(u.Path, args...)
	cmd.Env = append([]string{"CONTAINER_ID=" + id, "CONTAINER_NAMESPACE=" + namespace}, env...)
	return cmd, nil
}

// startLogger starts the logging binary and waits until it is ready. The
// reaper tracks it from its fork, so only our cmd.Wait reaps it.
func startLogger(r *reaper, u *url.URL, id, namespace string) (_ *logger, retErr error) {
	cmd, err := loggerCmd(u, id, namespace)
	if err != nil {
		return nil, err
	}
	var fs [6]*os.File // out r/w, err r/w, ready r/w
	for i := 0; i < 6; i += 2 {
		if fs[i], fs[i+1], err = os.Pipe(); err != nil {
			break
		}
	}
	outR, outW, errR, errW, readyR, readyW := fs[0], fs[1], fs[2], fs[3], fs[4], fs[5]
	defer func() {
		// The logger has its own copies of the read ends and of readyW;
		// outW and errW are the process's, unless we fail.
		for i, f := range fs {
			if f != nil && (retErr != nil || (i != 1 && i != 3)) {
				f.Close()
			}
		}
	}()
	if err != nil {
		return nil, fmt.Errorf("logger pipes: %w", err)
	}
	cmd.ExtraFiles = []*os.File{outR, errR, readyW}
	if err := r.spawn(func() (int, error) {
		if err := cmd.Start(); err != nil {
			return 0, err
		}
		return cmd.Process.Pid, nil
	}); err != nil {
		return nil, fmt.Errorf("start logging binary %s: %w", cmd.Path, err)
	}
	l := &logger{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		r.untrack(cmd.Process.Pid)
		close(l.exited)
	}()
	defer func() {
		if retErr != nil {
			cmd.Process.Kill()
			<-l.exited
		}
	}()
	readyW.Close() // our copy: the logger's exit must end the read below
	readyR.SetReadDeadline(time.Now().Add(loggerReadyTimeout))
	if _, err := readyR.Read(make([]byte, 1)); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("logging binary %s not ready: %w", cmd.Path, err)
	}
	l.outW, l.errW = outW, errW
	return l, nil
}

// finish lets the logger drain what the process wrote (it sees end of file
// when the last writer closes), then asks it to stop, then kills it. It
// runs in the background: a logger never delays an exit event.
func (l *logger) finish() {
	if l == nil {
		return
	}
	l.outW.Close()
	l.errW.Close()
	go func() {
		for _, sig := range []os.Signal{unix.SIGTERM, unix.SIGKILL} {
			select {
			case <-l.exited:
				return
			case <-time.After(loggerDrainTimeout):
			}
			if err := l.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
				log.Printf("logging binary %s: %v", l.cmd.Path, err)
			}
		}
	}()
}

func (l *logger) stdout() *os.File {
	if l == nil {
		return nil
	}
	return l.outW
}

func (l *logger) stderr() *os.File {
	if l == nil {
		return nil
	}
	return l.errW
}
