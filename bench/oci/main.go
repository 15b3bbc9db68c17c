// Command oci benchmarks OCI runtime CLIs side by side — slrt, runc and crun
// on one bundle: latency of run, create and start (and slrt's
// `start --process`), CPU, peak RSS, page faults, binary sizes, memory of a
// parked pre-created container and bytes written to storage per lifecycle.
// It writes oci.json for bench/report.
//
// Run it as root inside the mount namespace bench/bench.sh prepares (crun
// 1.8.1 refuses hybrid-cgroup hosts otherwise), with -scratch on a tmpfs.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"github.com/slrt/slrt/bench/bundle"
	"github.com/slrt/slrt/bench/result"
)

// output is oci.json.
type output struct {
	result.Run
	Machine  machine         `json:"machine"`
	Runtimes []*runtime      `json:"runtimes"`
	Samples  []result.Sample `json:"samples"`
	Binaries []binary        `json:"binaries"`
	Parked   []parked        `json:"parked"`
	Writes   []writes        `json:"writes"`
}

type bench struct {
	runs        int
	bundle      string
	processFile string
	diskRoot    string
	runtimes    []*runtime
	r           *runner
	verbose     bool
	// gap is the idle time before each timed command (see latency).
	gap time.Duration
}

func (b *bench) logf(format string, a ...any) {
	if b.verbose {
		log.Printf(format, a...)
	}
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/oci: ")
	var (
		runs     = flag.Int("runs", 20, "rounds per operation")
		ioRuns   = flag.Int("io-runs", 5, "lifecycles per storage measurement")
		out      = flag.String("out", "bench/results", "directory for oci.json")
		image    = flag.String("image", "build/busybox", "busybox image (rootfs/, config.json)")
		scratch  = flag.String("scratch", "", "scratch directory on a tmpfs: bundle and state roots (required)")
		diskRoot = flag.String("disk-root", "", "state root base on persistent storage, for the storage comparison (empty: skip)")
		slrt     = flag.String("slrt", "build/slrt", "slrt binary")
		initBin  = flag.String("init", "runtime/inithelper/bin/slrt-init", "slrt-init binary (sizes only)")
		nsenter  = flag.String("nsenter", "runtime/inithelper/bin/slrt-nsenter", "slrt-nsenter helper (sizes only, when it exists)")
		shim     = flag.String("shim", "build/containerd-shim-slrt-v2", "slrt shim binary (sizes only, when it exists)")
		instBin  = flag.String("installer", "build/slrt-installer", "slrt-installer binary, shipped only in the chart's image (sizes only, when it exists)")
		peers    = flag.String("peers", "runc,crun", "peer runtimes, looked up in $PATH")
		parkedN  = flag.Int("parked", 10, "containers parked at once for the shared-PSS figure")
		gap      = flag.Duration("gap", 100*time.Millisecond, "idle time before each timed command, so none pays or is spared another's cgroup migration cost")
	)
	flag.Parse()
	if *scratch == "" {
		log.Fatal("-scratch is required")
	}
	if err := os.MkdirAll(*scratch, 0o755); err != nil {
		log.Fatal(err)
	}
	if !isTmpfs(*scratch) {
		log.Printf("warning: %s is not a tmpfs: state writes will reach the disk", *scratch)
	}
	o := output{Run: result.Run{Started: time.Now(), LoadStart: result.ReadLoad(), Runs: *runs}, Machine: describeMachine()}

	b := &bench{runs: *runs, diskRoot: *diskRoot, verbose: true, gap: *gap}
	var err error
	if b.bundle, err = bundle.Make(*image, filepath.Join(*scratch, "bundle"), []string{"/bin/true"}); err != nil {
		log.Fatal(err)
	}
	b.processFile = filepath.Join(*scratch, "process.json")
	if err := os.WriteFile(b.processFile, []byte(`{"args":["/bin/true"]}`+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if b.r, err = newRunner(filepath.Join(*scratch, "command.log")); err != nil {
		log.Fatal(err)
	}
	slrtBin, err := filepath.Abs(*slrt)
	if err != nil {
		log.Fatal(err)
	}
	b.runtimes = append(b.runtimes, &runtime{Name: "slrt", Bin: slrtBin, FastStart: true})
	for _, p := range strings.Split(*peers, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		bin, err := exec.LookPath(p)
		if err != nil {
			log.Fatalf("peer %s: %v", p, err)
		}
		b.runtimes = append(b.runtimes, &runtime{Name: p, Bin: bin})
	}
	for _, rt := range b.runtimes {
		rt.Root = filepath.Join(*scratch, "state", rt.Name)
		rt.Version = version(rt.Bin)
		if err := os.MkdirAll(rt.Root, 0o700); err != nil {
			log.Fatal(err)
		}
	}
	o.Runtimes = b.runtimes

	if o.Samples, err = b.latency(); err != nil {
		log.Fatal(err)
	}

	bins := [][2]string{{"slrt", slrtBin}, {"slrt-init", *initBin}, {"slrt-nsenter", *nsenter}, {"containerd-shim-slrt-v2", *shim}, {"slrt-installer", *instBin}}
	for _, rt := range b.runtimes[1:] {
		bins = append(bins, [2]string{rt.Name, rt.Bin})
	}
	for _, nb := range bins {
		if _, err := os.Stat(nb[1]); err != nil && (nb[0] == "containerd-shim-slrt-v2" || nb[0] == "slrt-nsenter" || nb[0] == "slrt-installer") {
			continue // optional: sized when make has built them
		}
		s, err := sizeOf(nb[0], nb[1])
		if err != nil {
			log.Fatal(err)
		}
		o.Binaries = append(o.Binaries, s)
	}
	b.logf("sizes: %d binaries", len(o.Binaries))

	for _, rt := range b.runtimes {
		for _, n := range []int{1, *parkedN} {
			p, err := b.parkedMemory(rt, n)
			if err != nil {
				log.Fatal(err)
			}
			o.Parked = append(o.Parked, p)
		}
	}
	b.logf("parked memory: done")

	if o.Writes, err = b.storage(*ioRuns); err != nil {
		log.Fatal(err)
	}
	b.logf("storage writes: done")

	o.Finished, o.LoadEnd = time.Now(), result.ReadLoad()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := result.Save(filepath.Join(*out, "oci.json"), &o); err != nil {
		log.Fatal(err)
	}
	leftovers(b.runtimes)
}

// leftovers fails the run when a runtime kept state for a container the
// benchmark deleted: an error, not noise.
func leftovers(rts []*runtime) {
	for _, rt := range rts {
		ents, _ := os.ReadDir(rt.Root)
		if len(ents) > 0 {
			log.Fatalf("%s left state behind in %s: %d entries", rt.Name, rt.Root, len(ents))
		}
	}
}

const tmpfsMagic = 0x01021994

func isTmpfs(dir string) bool {
	var st syscall.Statfs_t
	return syscall.Statfs(dir, &st) == nil && st.Type == tmpfsMagic
}

// machine describes where the numbers were taken.
type machine struct {
	Kernel  string `json:"kernel"`
	CPU     string `json:"cpu"`
	CPUs    int    `json:"cpus"`
	MemKiB  int64  `json:"memKiB"`
	OS      string `json:"os"`
	Cgroups string `json:"cgroups"`
	RunFS   string `json:"runFs"` // is /run a tmpfs (the runtimes' default state roots live there)
	Go      string `json:"go"`
}

func describeMachine() machine {
	m := machine{CPUs: goruntime.NumCPU(), Go: goruntime.Version()}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = cstr(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		fmt.Sscanf(string(b), "MemTotal: %d kB", &m.MemKiB)
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	switch {
	case exists("/sys/fs/cgroup/cgroup.controllers"):
		m.Cgroups = "v2 (unified)"
	case exists("/sys/fs/cgroup/unified"):
		m.Cgroups = "hybrid (v1 controllers + cgroup2 at /sys/fs/cgroup/unified)"
	default:
		m.Cgroups = "v1 (legacy)"
	}
	m.RunFS = "disk (not a tmpfs)"
	if isTmpfs("/run") {
		m.RunFS = "tmpfs"
	}
	return m
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func cstr(b []int8) string {
	var s []byte
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}
