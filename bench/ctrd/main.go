// Command ctrd benchmarks slrt at the containerd level, side by side with
// containerd's runc shim driving runc and crun: the latency of
// `ctr run --rm IMAGE /bin/true` with io.containerd.slrt.v2, with
// io.containerd.runc.v2 and runc, and with io.containerd.runc.v2 and crun
// (BinaryName), interleaved round by round; and the memory (RSS and PSS,
// summed over the shims) of one and of ten running pods per shim, and of
// one pod's shim after a burst of execs into it. It writes ctrd.json for
// bench/report.
//
// -slrt-shim-b adds a second slrt shim (label "slrt-b"), run by its
// absolute path as the runtime (containerd 2.x execs such a runtime name
// directly): an A/B of two builds of the shim in the same run, for latency
// and memory alike.
//
// Run it as root inside the mount namespace of the private containerd that
// bench/bench.sh starts with test/e2e/containerd.sh (ctr's fifos and the
// shims' sockets live in that namespace's /run), with the image imported.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slrt/slrt/bench/result"
)

// output is ctrd.json.
type output struct {
	result.Run
	Containerd string          `json:"containerd"`
	Image      string          `json:"image"`
	Runtimes   []*runtime      `json:"runtimes"`
	Samples    []result.Sample `json:"samples"`
	Shims      []shimMemory    `json:"shims"`
}

// runtime is one way of running a container through containerd.
type runtime struct {
	Label   string   `json:"label"`
	Runtime string   `json:"runtime"` // containerd runtime type
	Binary  string   `json:"binary"`  // the OCI runtime the runc shim runs ("" for slrt)
	Shim    string   `json:"shim"`    // the shim binary's file name
	Version string   `json:"version"` // the shim's (and binary's) version
	args    []string // ctr run flags
	exe     string   // the shim binary's resolved path: its processes are counted by it
}

// shimMemory is the memory of every shim of one runtime with Pods running
// pods (one container each, one shim per pod as ctr runs them).
type shimMemory struct {
	Label   string `json:"label"`
	Pods    int    `json:"pods"`
	Execs   int    `json:"execs,omitempty"` // execs run in the first pod before the measurement
	Shims   int    `json:"shims"`
	RssKiB  int64  `json:"rssKiB"`
	PssKiB  int64  `json:"pssKiB"`
	AnonKiB int64  `json:"anonKiB"` // anonymous memory: the heap, stacks; the rest is the binary's pages
	// MemfdKiB is the pages of the memfds the shims hold open (slrt's
	// sealed copy of slrt-init, one per shim): shmem that no smaps of the
	// shim shows, since it never maps them, yet memory the node spends per
	// pod.
	MemfdKiB int64 `json:"memfdKiB"`
}

type bench struct {
	ctr     []string // ctr and its global flags
	image   string
	devnull *os.File
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/ctrd: ")
	var (
		runs      = flag.Int("runs", 20, "rounds of ctr run --rm")
		pods      = flag.String("pods", "1,10", "pod counts at which shim memory is measured")
		out       = flag.String("out", "bench/results", "directory for ctrd.json")
		ctrBin    = flag.String("ctr", "ctr", "ctr binary")
		address   = flag.String("address", "", "containerd's socket (required)")
		namespace = flag.String("namespace", "slrt-bench", "containerd namespace")
		image     = flag.String("image", "localhost/slrt/busybox:latest", "image with /bin/true and /bin/sleep, imported")
		slrtShim  = flag.String("slrt-shim", "build/containerd-shim-slrt-v2", "the slrt shim containerd runs (for its version)")
		runcShim  = flag.String("runc-shim", "", "the runc shim containerd runs (for its version)")
		slrtShimB = flag.String("slrt-shim-b", "", "a second slrt shim to compare with the first in the same run (label \"slrt-b\")")
		execs     = flag.Int("execs", 50, "execs of /bin/true into one pod before measuring its shim again (0: none)")
		peers     = flag.String("peers", "runc,crun", "OCI runtimes for the runc shim, looked up in $PATH")
		version   = flag.String("containerd-version", "unknown", "containerd's version, for the report")
		crunWrap  = flag.String("crun-wrapper", "", "crun-oci10 (bench/crun-oci10/crun-oci10.c): the runc shim runs crun through it (crun 1.8.1 refuses containerd 2.x's ociVersion 1.2)")
	)
	flag.Parse()
	if *address == "" {
		log.Fatal("-address is required")
	}
	dn, err := os.Open(os.DevNull)
	if err != nil {
		log.Fatal(err)
	}
	b := &bench{ctr: []string{*ctrBin, "--address", *address, "--namespace", *namespace}, image: *image, devnull: dn}
	o := output{Containerd: *version, Image: *image}
	o.Started, o.LoadStart, o.Runs = time.Now(), result.ReadLoad(), *runs
	o.Runtimes = append(o.Runtimes, &runtime{Label: "slrt", Runtime: "io.containerd.slrt.v2", Shim: "containerd-shim-slrt-v2",
		Version: "shim " + firstLine(*slrtShim, "-v"), args: []string{"--runtime", "io.containerd.slrt.v2"}, exe: resolve(*slrtShim)})
	if *slrtShimB != "" {
		b := resolve(*slrtShimB)
		if !filepath.IsAbs(b) || b == o.Runtimes[0].exe {
			log.Fatalf("-slrt-shim-b %s: want another shim binary than -slrt-shim's, as an absolute path", *slrtShimB)
		}
		o.Runtimes = append(o.Runtimes, &runtime{Label: "slrt-b", Runtime: b, Shim: filepath.Base(b),
			Version: "shim " + firstLine(b, "-v"), args: []string{"--runtime", b}, exe: b})
	}
	for _, p := range strings.Split(*peers, ",") {
		bin, err := exec.LookPath(p)
		if err != nil {
			log.Fatalf("peer %s: %v", p, err)
		}
		rt := &runtime{Label: p, Runtime: "io.containerd.runc.v2", Binary: bin, Shim: "containerd-shim-runc-v2",
			Version: "shim " + firstLine(*runcShim, "-v") + "; " + firstLine(bin, "--version"), exe: resolve(*runcShim)}
		if p == "crun" && *crunWrap != "" {
			bin = *crunWrap
			rt.Binary += " through " + filepath.Base(bin)
		}
		rt.args = []string{"--runtime", "io.containerd.runc.v2", "--runc-binary", bin}
		o.Runtimes = append(o.Runtimes, rt)
	}
	defer b.cleanup()

	// One untimed round first: page cache, snapshots, the shims' first exec.
	for round := 0; round <= *runs; round++ {
		for _, rt := range o.Runtimes {
			id := fmt.Sprintf("bench-%s-%d", rt.Label, round)
			s, err := b.measure(append(append([]string{"run", "--rm"}, rt.args...), b.image, id, "/bin/true")...)
			if err != nil {
				log.Fatalf("%s: %v", rt.Label, err)
			}
			if round == 0 {
				continue
			}
			s.Op, s.Label, s.Round = "ctr run", rt.Label, round
			o.Samples = append(o.Samples, s)
		}
	}

	var counts []int
	for _, p := range strings.Split(*pods, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || (len(counts) > 0 && n <= counts[len(counts)-1]) {
			log.Fatalf("-pods %q: want increasing counts", *pods)
		}
		counts = append(counts, n)
	}
	// The runc shim's memory does not depend on which OCI runtime it runs:
	// runc only, beside slrt (and slrt B).
	for _, rt := range o.Runtimes {
		if rt.Label == "crun" {
			continue
		}
		mem, err := b.shimMemory(rt, counts, *execs)
		if err != nil {
			log.Fatalf("%s: %v", rt.Label, err)
		}
		o.Shims = append(o.Shims, mem...)
	}

	o.Finished, o.LoadEnd = time.Now(), result.ReadLoad()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := result.Save(filepath.Join(*out, "ctrd.json"), &o); err != nil {
		log.Fatal(err)
	}
}

// measure runs ctr with args and returns its wall time and the rusage of
// ctr itself (the shims and containers are containerd's children, not
// ctr's: their cost shows in the wall time only).
func (b *bench) measure(args ...string) (result.Sample, error) {
	cmd := exec.Command(b.ctr[0], append(b.ctr[1:], args...)...)
	var outBuf bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = b.devnull, &outBuf, &outBuf
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return result.Sample{}, fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(outBuf.String()))
	}
	s := result.Sample{WallMs: float64(wall.Microseconds()) / 1000}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.UserMs = float64(ru.Utime.Sec)*1000 + float64(ru.Utime.Usec)/1000
		s.SysMs = float64(ru.Stime.Sec)*1000 + float64(ru.Stime.Usec)/1000
		s.MaxRSS, s.MinFlt, s.MajFlt = ru.Maxrss, ru.Minflt, ru.Majflt
	}
	return s, nil
}

func (b *bench) do(args ...string) error {
	_, err := b.measure(args...)
	return err
}

// shimMemory starts pods (detached `sleep`, one shim each) of rt up to each
// count in turn and sums the RSS and PSS of rt's shims at each; after the
// first count it also runs execs execs of /bin/true into the first pod (as
// a probe would) and measures again. Then it removes them.
func (b *bench) shimMemory(rt *runtime, counts []int, execs int) ([]shimMemory, error) {
	var out []shimMemory
	var ids []string
	defer func() {
		for _, id := range ids {
			b.remove(id)
		}
	}()
	for _, n := range counts {
		for len(ids) < n {
			id := fmt.Sprintf("bench-mem-%s-%d", rt.Label, len(ids))
			if err := b.do(append(append([]string{"run", "-d"}, rt.args...), b.image, id, "sleep", "3600")...); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		time.Sleep(2 * time.Second) // let the shims settle after their start
		m, err := shimsOf(rt.exe)
		if err != nil {
			return nil, err
		}
		m.Label, m.Pods = rt.Label, n
		if m.Shims != n {
			return nil, fmt.Errorf("%d pods, but %d %s processes", n, m.Shims, rt.exe)
		}
		out = append(out, m)
		if len(out) > 1 || execs == 0 {
			continue
		}
		for i := 0; i < execs; i++ {
			if err := b.do("tasks", "exec", "--exec-id", fmt.Sprintf("bench-exec-%d", i), ids[0], "/bin/true"); err != nil {
				return nil, err
			}
		}
		time.Sleep(2 * time.Second)
		if m, err = shimsOf(rt.exe); err != nil {
			return nil, err
		}
		m.Label, m.Pods, m.Execs = rt.Label, n, execs
		out = append(out, m)
	}
	return out, nil
}

// resolve is path with its symlinks resolved (what /proc/PID/exe shows),
// or path itself when that fails.
func resolve(path string) string {
	if path == "" {
		return ""
	}
	if p, err := filepath.EvalSymlinks(path); err == nil {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
	}
	return path
}

// remove kills and deletes a detached container and its task.
func (b *bench) remove(id string) {
	b.do("tasks", "kill", "-s", "SIGKILL", id)
	for i := 0; i < 50; i++ {
		if b.do("tasks", "delete", id) == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.do("containers", "delete", id); err != nil {
		log.Printf("remove %s: %v", id, err)
	}
}

// cleanup removes whatever bench-* containers a failed run left.
func (b *bench) cleanup() {
	out, err := exec.Command(b.ctr[0], append(b.ctr[1:], "containers", "ls", "-q")...).Output()
	if err != nil {
		return
	}
	for _, id := range strings.Fields(string(out)) {
		if strings.HasPrefix(id, "bench-") {
			b.remove(id)
		}
	}
}

// shimsOf sums Rss, Pss and Anonymous (smaps_rollup) of the processes
// running the binary at path exe in this mount namespace (containerd's).
func shimsOf(exePath string) (shimMemory, error) {
	var m shimMemory
	own, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return m, err
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		exe, err := os.Readlink(d + "/exe")
		if err != nil || strings.TrimSuffix(exe, " (deleted)") != exePath {
			continue
		}
		if ns, _ := os.Readlink(d + "/ns/mnt"); ns != own {
			continue // another containerd's shims
		}
		rollup, err := os.ReadFile(d + "/smaps_rollup")
		if err != nil {
			continue // exited meanwhile
		}
		m.Shims++
		m.MemfdKiB += memfds(d)
		for _, l := range strings.Split(string(rollup), "\n") {
			f := strings.Fields(l)
			if len(f) != 3 {
				continue
			}
			v, _ := strconv.ParseInt(f[1], 10, 64)
			switch f[0] {
			case "Rss:":
				m.RssKiB += v
			case "Pss:":
				m.PssKiB += v
			case "Anonymous:":
				m.AnonKiB += v
			}
		}
	}
	return m, nil
}

// memfds sums the pages of the distinct memfds process dir (/proc/PID)
// holds open, in KiB.
func memfds(dir string) int64 {
	fds, _ := filepath.Glob(dir + "/fd/*")
	seen := map[uint64]bool{}
	var kib int64
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err != nil || !strings.HasPrefix(l, "/memfd:") {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(fd, &st) != nil || seen[st.Ino] {
			continue
		}
		seen[st.Ino] = true
		kib += st.Blocks * 512 / 1024 // the pages it holds, not its size
	}
	return kib
}

// firstLine is the first line of `bin args...` that names a version (the
// shims print their name on a line of their own first), or "unknown".
func firstLine(bin string, args ...string) string {
	if bin == "" {
		return "unknown"
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown (" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.Contains(strings.ToLower(l), "version") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	return strings.TrimSpace(lines[0])
}
