package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/slrt/slrt/bench/result"
)

// runtime is one OCI runtime CLI with its own state root.
type runtime struct {
	Name string `json:"name"`
	Bin  string `json:"bin"`
	Root string `json:"root"`
	// Version is the first line of `--version`.
	Version string `json:"version"`
	// FastStart is true when `start --process FILE` is supported.
	FastStart bool `json:"fastStart"`
}

func (r *runtime) args(a ...string) []string {
	return append([]string{"--root", r.Root}, a...)
}

// runner execs commands with the container's stdio on a file, never a pipe:
// a parked init holding a pipe's write end would keep the caller waiting
// until the container exits.
type runner struct {
	devnull *os.File
	log     *os.File
}

func newRunner(logPath string) (*runner, error) {
	dn, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	lf, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &runner{devnull: dn, log: lf}, nil
}

// measure runs bin args once and returns its wall time and the rusage of it
// and the children it reaped (wait4 reports the process's own usage plus
// that of its waited-for descendants; ru_maxrss is the largest of them).
func (r *runner) measure(bin string, args ...string) (result.Sample, error) {
	r.log.Truncate(0)
	r.log.Seek(0, 0)
	cmd := exec.Command(bin, args...)
	cmd.Stdin = r.devnull
	cmd.Stdout = r.log
	cmd.Stderr = r.log
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return result.Sample{}, fmt.Errorf("%s %s: %v: %s", bin, strings.Join(args, " "), err, r.output())
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	s := result.Sample{WallMs: float64(wall.Microseconds()) / 1000}
	if ru != nil {
		s.UserMs = tvMs(ru.Utime)
		s.SysMs = tvMs(ru.Stime)
		s.MaxRSS = ru.Maxrss
		s.MinFlt = ru.Minflt
		s.MajFlt = ru.Majflt
		s.Written = ru.Oublock * 512
	}
	return s, nil
}

// do runs a preparation or clean-up command that is not timed.
func (r *runner) do(bin string, args ...string) error {
	_, err := r.measure(bin, args...)
	return err
}

// output returns what the last command printed, for error messages.
func (r *runner) output() string {
	r.log.Seek(0, 0)
	var b bytes.Buffer
	b.ReadFrom(r.log)
	return strings.TrimSpace(b.String())
}

func tvMs(tv syscall.Timeval) float64 {
	return float64(tv.Sec)*1000 + float64(tv.Usec)/1000
}

// statePid asks the runtime for the init pid of container id.
func (r *runner) statePid(rt *runtime, id string) (int, error) {
	out, err := exec.Command(rt.Bin, rt.args("state", id)...).Output()
	if err != nil {
		return 0, fmt.Errorf("%s state %s: %w", rt.Name, id, err)
	}
	var st struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.Pid <= 0 {
		return 0, fmt.Errorf("%s state %s: no pid in %q", rt.Name, id, out)
	}
	return st.Pid, nil
}

// version is the first line of `bin --version`.
func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}
