package process

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

// The init-side functions change the credentials of the whole process, so
// they are tested in a child: the test binary re-executes itself with
// childEnv set, applies the plan from planEnv the way slrt-init does, and
// the parent reads what the workload saw.
const (
	childEnv = "SLRT_PROCESS_TEST_CHILD"
	planEnv  = "SLRT_PROCESS_TEST_PLAN"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	code := m.Run()
	if procrun.bin != "" {
		os.RemoveAll(filepath.Dir(procrun.bin))
	}
	os.Exit(code)
}

func child(mode string) int {
	runtime.LockOSThread() // as slrt-init: every step and execve on one thread
	var pp channel.ProcessPlan
	if err := json.Unmarshal([]byte(os.Getenv(planEnv)), &pp); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR: decode plan:", err)
		return 3
	}
	err := Prepare(&pp)
	if mode == "prepare" {
		if err != nil {
			fmt.Println("ERROR:", err)
		} else {
			fmt.Println("OK")
		}
		return 0
	}
	if dir, ok := strings.CutPrefix(mode, "run-newcwd="); ok {
		pp.Cwd = dir // as a fast-start request does, after Prepare
	}
	if err == nil {
		err = Finish(&pp)
	}
	if err == nil {
		prio, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0)
		if errno == 0 {
			fmt.Fprintf(os.Stderr, "ioprio=%d\n", prio)
		}
		err = Exec(&pp)
	}
	fmt.Fprintln(os.Stderr, "ERROR:", err)
	return 3
}

// runFunc runs the init-side steps on pp in a child process and returns
// what the child (and the workload it became) wrote.
type runFunc func(t *testing.T, mode string, pp *channel.ProcessPlan) (stdout, stderr string, err error)

// forEachInit runs f with each implementation of the init-side steps: this
// package's ("go": the test binary re-executed) and the C init's ("c":
// cmd/slrt-init-c through its test driver test/procrun.c, which gets the
// plan as slrt-init does, a wire message on fd 3). They must behave alike.
func forEachInit(t *testing.T, f func(t *testing.T, run runFunc)) {
	t.Run("go", func(t *testing.T) { f(t, runGoChild) })
	t.Run("c", func(t *testing.T) { f(t, runCChild) })
}

func runGoChild(t *testing.T, mode string, pp *channel.ProcessPlan) (stdout, stderr string, err error) {
	t.Helper()
	b, err := json.Marshal(pp)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+mode, planEnv+"="+string(b))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

var procrun struct {
	once sync.Once
	bin  string
	err  error
}

// buildProcrun compiles test/procrun.c with the C init's process side, as
// the C init is built (musl, static), once per test binary.
func buildProcrun(t *testing.T) string {
	t.Helper()
	cc, err := exec.LookPath("musl-gcc")
	if err != nil {
		t.Skip("musl-gcc not found (Debian: musl-tools, see .ci/deps)")
	}
	procrun.once.Do(func() {
		dir, err := os.MkdirTemp("", "procrun")
		if err != nil {
			procrun.err = err
			return
		}
		src := filepath.Join("..", "..", "cmd", "slrt-init-c")
		procrun.bin = filepath.Join(dir, "procrun")
		args := []string{"-std=gnu11", "-static", "-Os", "-Wall", "-Wextra", "-Werror", "-o", procrun.bin,
			filepath.Join(src, "test", "procrun.c")}
		for _, f := range []string{"process.c", "procfs.c", "caps.c", "cpus.c", "lsm.c", "seccomp.c", "err.c", "wire.c"} {
			args = append(args, filepath.Join(src, f))
		}
		if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
			procrun.err = fmt.Errorf("build the C process driver: %v\n%s", err, out)
		}
	})
	if procrun.err != nil {
		t.Fatal(procrun.err)
	}
	return procrun.bin
}

func runCChild(t *testing.T, mode string, pp *channel.ProcessPlan) (stdout, stderr string, err error) {
	t.Helper()
	bin := buildProcrun(t)
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(sp[0]), "sync"), os.NewFile(uintptr(sp[1]), "sync-child")
	defer ours.Close()
	defer theirs.Close()
	// Queued before the child starts: it reads it as slrt-init reads its plan.
	if err := channel.Send(int(ours.Fd()), &channel.Message{Kind: channel.KindPlan, Plan: &channel.Plan{Proc: *pp}}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, mode)
	cmd.ExtraFiles = []*os.File{theirs}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the plan switches users and drops capabilities")
	}
}

// sections splits the workload's output at its "==name" marker lines.
func sections(out string) map[string]string {
	m := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if s, ok := strings.CutPrefix(line, "=="); ok {
			name = strings.TrimSpace(s)
			continue
		}
		m[name] += line
	}
	return m
}

func statusField(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return "<missing>"
}

func TestInitAppliesPlan(t *testing.T) {
	needRoot(t)
	forEachInit(t, testInitAppliesPlan)
}

func testInitAppliesPlan(t *testing.T, run runFunc) {
	var allowed unix.CPUSet
	if err := unix.SchedGetaffinity(0, &allowed); err != nil {
		t.Fatal(err)
	}
	cpu := 0
	for !allowed.IsSet(cpu) {
		cpu++
	}
	kill, nbs, chown := uint64(1<<unix.CAP_KILL), uint64(1<<unix.CAP_NET_BIND_SERVICE), uint64(1<<unix.CAP_CHOWN)
	umask := uint32(0o027)
	oom := 500
	script := `echo ==pwd; pwd; echo ==umask; umask; echo ==oom; cat /proc/self/oom_score_adj
echo ==status; cat /proc/self/status; echo ==limits; cat /proc/self/limits; echo ==stat; cat /proc/self/stat`
	pp := &channel.ProcessPlan{
		Args: []string{"sh", "-c", script},
		Env:  []string{"PATH=/usr/bin:/bin"},
		// Root-only (0700): the workload user cannot enter it, yet starts
		// there because Prepare entered it as root.
		Cwd:            t.TempDir(),
		UID:            65534,
		GID:            65534,
		AdditionalGids: []uint32{100, 65534},
		Umask:          &umask,
		Caps: &channel.Caps{
			Bounding: kill | nbs | chown, Effective: kill | nbs, Permitted: kill | nbs,
			Inheritable: kill | nbs, Ambient: kill | nbs,
		},
		NoNewPrivileges: true,
		Rlimits: []channel.Rlimit{
			{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: 256, Hard: 512},
			{Resource: unix.RLIMIT_CORE, Name: "RLIMIT_CORE", Soft: 0, Hard: 0},
		},
		OOMScoreAdj: &oom,
		Scheduler:   &channel.Scheduler{Policy: unix.SCHED_BATCH, Nice: 5},
		IOPrio:      &channel.IOPrio{Class: 2, Priority: 6},
		CPUs:        strconv.Itoa(cpu),
	}
	out, errOut, err := run(t, "run", pp)
	if err != nil {
		t.Fatalf("child: %v\nstderr: %s\nstdout: %s", err, errOut, out)
	}
	s := sections(out)
	status := s["status"]
	checks := []struct{ what, got, want string }{
		{"pwd", strings.TrimSpace(s["pwd"]), pp.Cwd},
		{"umask", strings.TrimSpace(s["umask"]), "0027"},
		{"oom_score_adj", strings.TrimSpace(s["oom"]), "500"},
		{"Uid", statusField(status, "Uid"), "65534\t65534\t65534\t65534"},
		{"Gid", statusField(status, "Gid"), "65534\t65534\t65534\t65534"},
		{"Groups", statusField(status, "Groups"), "100 65534"},
		{"CapInh", statusField(status, "CapInh"), fmt.Sprintf("%016x", kill|nbs)},
		// Not root after execve: permitted and effective come from ambient.
		{"CapPrm", statusField(status, "CapPrm"), fmt.Sprintf("%016x", kill|nbs)},
		{"CapEff", statusField(status, "CapEff"), fmt.Sprintf("%016x", kill|nbs)},
		{"CapBnd", statusField(status, "CapBnd"), fmt.Sprintf("%016x", kill|nbs|chown)},
		{"CapAmb", statusField(status, "CapAmb"), fmt.Sprintf("%016x", kill|nbs)},
		{"NoNewPrivs", statusField(status, "NoNewPrivs"), "1"},
		{"Cpus_allowed_list", statusField(status, "Cpus_allowed_list"), strconv.Itoa(cpu)},
		{"ioprio", strings.TrimSpace(errOut), fmt.Sprintf("ioprio=%d", 2<<ioprioClassShift|6)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	for _, want := range []string{
		`Max open files\s+256\s+512\s+files`,
		`Max core file size\s+0\s+0\s+bytes`,
	} {
		if !matchLine(s["limits"], want) {
			t.Errorf("/proc/self/limits has no line matching %q:\n%s", want, s["limits"])
		}
	}
	// /proc/PID/stat: fields after the ")" of comm start at field 3 (state);
	// field 19 is nice, 41 the policy.
	stat := s["stat"]
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(fields) < 39 || fields[19-3] != "5" || fields[41-3] != strconv.Itoa(unix.SCHED_BATCH) {
		t.Errorf("stat nice/policy wrong, want 5/%d: %s", unix.SCHED_BATCH, stat)
	}
}

func matchLine(text, re string) bool {
	for _, line := range strings.Split(text, "\n") {
		if regexp.MustCompile(re).MatchString(line) {
			return true
		}
	}
	return false
}

func TestInitErrors(t *testing.T) {
	needRoot(t)
	forEachInit(t, testInitErrors)
}

func testInitErrors(t *testing.T, run runFunc) {
	root0700 := t.TempDir()
	tests := []struct {
		name string
		pp   channel.ProcessPlan
		want string
	}{
		{"missing binary", channel.ProcessPlan{Args: []string{"no-such-program"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: "/", Caps: &channel.Caps{}},
			`exec: "no-such-program": executable file not found in $PATH`},
		{"missing cwd", channel.ProcessPlan{Args: []string{"sh"}, Cwd: "/no/such/dir"},
			`chdir to process.cwd "/no/such/dir": no such file or directory`},
		{"cwd changed after Prepare, denied to the user", channel.ProcessPlan{Args: []string{"sh"}, Cwd: "/", UID: 65534, GID: 65534, Caps: &channel.Caps{}},
			`chdir to process.cwd "` + root0700 + `": permission denied`},
		{"bad affinity", channel.ProcessPlan{Args: []string{"sh"}, Cwd: "/", CPUs: "1023"},
			"sched_setaffinity cpus 1023: invalid argument"},
		{"inheritable outside the bounding set", channel.ProcessPlan{Args: []string{"sh"}, Cwd: "/", Caps: &channel.Caps{
			Bounding: 1 << unix.CAP_KILL, Permitted: 1 << unix.CAP_KILL, Inheritable: 1 << unix.CAP_SYS_ADMIN}},
			"capset effective=0x0 permitted=0x20 inheritable=0x200000: operation not permitted (permitted must stay within the current permitted set, inheritable within the bounding set"},
		{"bad cpu list", channel.ProcessPlan{Args: []string{"sh"}, Cwd: "/", CPUs: "1-0"},
			`cpu list "1-0": range "1-0" ends before it starts`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := "run"
			if strings.HasPrefix(tt.name, "cwd changed") {
				mode = "run-newcwd=" + root0700
			}
			out, errOut, err := run(t, mode, &tt.pp)
			if err == nil {
				t.Fatalf("child succeeded: %s", out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.want)
			}
		})
	}
}

// Raising limits and lowering oom_score_adj need CAP_SYS_RESOURCE, which
// this machine's root lacks and CI's root has: either outcome is right, but
// a refusal must say why.
func TestInitPrepareRefusalsExplained(t *testing.T) {
	needRoot(t)
	forEachInit(t, testInitPrepareRefusalsExplained)
}

func testInitPrepareRefusalsExplained(t *testing.T, run runFunc) {
	var cur unix.Rlimit
	if err := unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &cur); err != nil {
		t.Fatal(err)
	}
	low := -1000
	tests := []struct {
		name string
		pp   channel.ProcessPlan
		hint string
	}{
		{"raise rlimit", channel.ProcessPlan{Cwd: "/", Rlimits: []channel.Rlimit{
			{Resource: unix.RLIMIT_NOFILE, Name: "RLIMIT_NOFILE", Soft: cur.Max + 1, Hard: cur.Max + 1},
		}}, "setrlimit RLIMIT_NOFILE"},
		{"lower oom_score_adj", channel.ProcessPlan{Cwd: "/", OOMScoreAdj: &low}, "oom_score_adj"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := run(t, "prepare", &tt.pp)
			if err != nil {
				t.Fatalf("child: %v: %s", err, errOut)
			}
			out = strings.TrimSpace(out)
			if out == "OK" {
				t.Logf("allowed here (CAP_SYS_RESOURCE present)")
				return
			}
			if !strings.Contains(out, tt.hint) || !strings.Contains(out, "CAP_SYS_RESOURCE") {
				t.Errorf("refusal %q does not name the operation and CAP_SYS_RESOURCE", out)
			}
			t.Logf("refused as expected here: %s", out)
		})
	}
}
