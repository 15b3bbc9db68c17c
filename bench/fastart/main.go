// Command fastart measures fast start in-process, as the shim pays it, side
// by side in one run with rounds interleaved:
//
//   - create+start of /bin/true (CRI's CreateContainer+StartContainer)
//     and on to its exit, the normal way and from a parked shell taken
//     from a fastart.Pool, full again before each round (its refill never
//     overlaps a timed operation), as a pod's pool is at steady state;
//   - start (up to the workload's execve, which is when Start returns) of
//     a pre-created container with no CPU hint, a CPU list, and "auto";
//   - create+start arriving as a new pool spawns its first shell (a
//     container created right after its pod): waiting for that shell
//     (fastart.Config.SpawnWait) against the normal path beside the spawn;
//   - memory of parked shells: VmRSS and PSS of each, next to a parked
//     pre-created container's init.
//
// It writes fastart.json for bench/report. Run it as root with -root on a
// tmpfs and -bundle a /bin/true bundle.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/bench/result"
	"github.com/slrt/slrt/fastart"
	"github.com/slrt/slrt/runtime/cgroups"
	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/runtime/spec"
)

type bench struct {
	root, bundle string
	cgParent     string
	devnull      *os.File
	pool         *fastart.Pool
}

func (b *bench) create(id string, sh *container.Shell) (*container.Container, error) {
	return container.Create(b.root, container.CreateOpts{
		ID: id, Bundle: b.bundle, Stdin: b.devnull, Stdout: b.devnull, Stderr: b.devnull, Shell: sh,
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// lifecycle times create (from a pool's shell when pooled) + start (what
// CRI's CreateContainer+StartContainer cost the shim), and on to the
// workload's exit, then deletes untimed.
func (b *bench) lifecycle(id string, pooled bool) (createStart, total float64, err error) {
	if pooled {
		if err := waitFull(b.pool); err != nil {
			return 0, 0, err
		}
	}
	t0 := time.Now()
	var sh *container.Shell
	if pooled {
		var err error
		if sh, err = b.pool.Take(mustSpec(b.bundle)); err != nil {
			return 0, 0, fmt.Errorf("take a shell: %w", err)
		}
	}
	c, err := b.create(id, sh)
	if err != nil {
		return 0, 0, err
	}
	defer c.Delete(true)
	if err := c.Start(nil); err != nil {
		return 0, 0, err
	}
	createStart = ms(time.Since(t0))
	st := c.Init().Wait()
	total = ms(time.Since(t0))
	if st.Code != 0 {
		return createStart, total, fmt.Errorf("container %s exited with %d", id, st.Code)
	}
	return createStart, total, c.Delete(false)
}

// firstShell times create+start of a container that arrives just as a new
// pool (size 1) begins spawning its first shell, from the pool's New: with
// wait, Take waits for that shell; without, the container is made the
// normal way while the spawn runs beside it. The create arrives at the
// spawn's start: the worst case for waiting.
func (b *bench) firstShell(id string, shellCfg container.ShellConfig, wait bool) (float64, error) {
	cfg := fastart.Config{Size: 1, Shell: shellCfg, Logf: func(string, ...any) {}}
	if wait {
		cfg.SpawnWait = time.Second
	}
	t0 := time.Now()
	p, err := fastart.New(cfg)
	if err != nil {
		return 0, err
	}
	defer p.Close()
	sh, err := p.Take(mustSpec(b.bundle))
	if wait && err != nil {
		return 0, fmt.Errorf("take the first shell: %w", err)
	}
	c, err := b.create(id, sh)
	if err != nil {
		return 0, err
	}
	defer c.Delete(true)
	if err := c.Start(nil); err != nil {
		return 0, err
	}
	d := ms(time.Since(t0))
	c.Init().Wait()
	return d, nil
}

// startTimed creates a container untimed and times Start alone: it returns
// once the init has reached execve, i.e. at the workload's first
// instruction. hint is resolved inside the timed span; for "auto" the
// shim samples /proc/stat at create, so this does too, and the start
// waits for whatever is left of fastart.AutoWindow.
func (b *bench) startTimed(id, hint string) (float64, error) {
	load, err := fastart.SampleLoad()
	if err != nil {
		return 0, err
	}
	c, err := b.create(id, nil)
	if err != nil {
		return 0, err
	}
	defer c.Delete(true)
	t0 := time.Now()
	var p *container.StartProcess
	if hint != "" {
		cpus, err := fastart.Affinity(hint, "", load)
		if err != nil {
			return 0, err
		}
		p = &container.StartProcess{CPUs: cpus}
	}
	if err := c.Start(p); err != nil {
		return 0, err
	}
	d := ms(time.Since(t0))
	c.Init().Wait()
	return d, nil
}

func mustSpec(bundle string) *specs.Spec {
	s, err := spec.Load(bundle)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

func waitFull(p *fastart.Pool) error {
	deadline := time.Now().Add(30 * time.Second)
	for p.Ready() < 1 {
		if time.Now().After(deadline) {
			return fmt.Errorf("the pool did not refill in 30s")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// memKiB reads VmRSS from /proc/PID/status and Pss from smaps_rollup.
func memKiB(pid int) (rss, pss float64, err error) {
	get := func(path, key string) (float64, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := bytes.Fields(sc.Bytes())
			if len(f) >= 2 && string(f[0]) == key {
				return strconv.ParseFloat(string(f[1]), 64)
			}
		}
		return 0, fmt.Errorf("%s: no %s", path, key)
	}
	if rss, err = get(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:"); err != nil {
		return
	}
	pss, err = get(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	return
}

// memory parks n shells and n pre-created containers and reads each one's
// memory once they have settled.
func (b *bench) memory(n int, o *result.FastStart) error {
	cfg := container.ShellConfigFor(mustSpec(b.bundle))
	cfg.CgroupParent = b.cgParent
	var shells []*container.Shell
	defer func() {
		for _, sh := range shells {
			sh.Destroy()
		}
	}()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		sh, err := container.NewShell(cfg)
		if err != nil {
			return err
		}
		o.ShellSpawnMs = append(o.ShellSpawnMs, ms(time.Since(t0)))
		shells = append(shells, sh)
	}
	var created []*container.Container
	defer func() {
		for _, c := range created {
			c.Delete(true)
		}
	}()
	for i := 0; i < n; i++ {
		c, err := b.create(fmt.Sprintf("parked-%d", i), nil)
		if err != nil {
			return err
		}
		created = append(created, c)
	}
	time.Sleep(500 * time.Millisecond) // let the inits' start-up settle
	for _, sh := range shells {
		rss, pss, err := memKiB(sh.Pid())
		if err != nil {
			return err
		}
		o.ShellRSS, o.ShellPSS = append(o.ShellRSS, rss), append(o.ShellPSS, pss)
	}
	for _, c := range created {
		rss, pss, err := memKiB(c.Init().Pid)
		if err != nil {
			return err
		}
		o.CreatedRSS, o.CreatedPSS = append(o.CreatedRSS, rss), append(o.CreatedPSS, pss)
	}
	return nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/fastart: ")
	runs := flag.Int("runs", 50, "rounds")
	root := flag.String("root", "", "state root, on a tmpfs (required)")
	bundle := flag.String("bundle", "", "bundle running /bin/true (required)")
	parked := flag.Int("parked", 8, "shells and pre-created containers parked for the memory figures")
	out := flag.String("out", "bench/results", "directory for fastart.json")
	cgParent := flag.String("cgroup-parent", cgroups.DefaultParent, "cgroup the shells wait in (\"\": the benchmark's own)")
	flag.Parse()
	if *root == "" || *bundle == "" {
		log.Fatal("-root and -bundle are required")
	}
	if err := os.MkdirAll(*root, 0o700); err != nil {
		log.Fatal(err)
	}
	dn, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		log.Fatal(err)
	}
	b := &bench{root: *root, bundle: *bundle, devnull: dn, cgParent: *cgParent}
	// The shells wait beside the containers' cgroups (the engine's default
	// parent, as the bundle names none), as a pod's wait in the pod's.
	shellCfg := container.ShellConfigFor(mustSpec(*bundle))
	shellCfg.CgroupParent = *cgParent
	b.pool, err = fastart.New(fastart.Config{Size: 1, Shell: shellCfg, Logf: log.Printf})
	if err != nil {
		log.Fatal(err)
	}
	o := result.FastStart{Run: result.Run{Started: time.Now(), LoadStart: result.ReadLoad(), Runs: *runs}}

	// Round -1 warms up (the init helper's memfd is sealed once per
	// process, as in the shim).
	for round := -1; round < *runs; round++ {
		id := fmt.Sprintf("fastart-%d", round+1)
		// No refill may run during a timed operation, the normal
		// path's included: start each round with the pool full.
		if err := waitFull(b.pool); err != nil {
			log.Fatal(err)
		}
		var rows []result.Sample
		// First, while the pool is full and no refill is due.
		for _, wait := range []bool{false, true} {
			label := "create+start during the first spawn, the normal way"
			if wait {
				label = "create+start during the first spawn, waiting for it"
			}
			d, err := b.firstShell(fmt.Sprintf("%s-first-%v", id, wait), shellCfg, wait)
			if err != nil {
				log.Fatalf("%s: %v", label, err)
			}
			rows = append(rows, result.Sample{Op: "first", Label: label, Round: round, WallMs: d})
		}
		for _, pooled := range []bool{false, true} {
			cs, total, err := b.lifecycle(fmt.Sprintf("%s-%v", id, pooled), pooled)
			if err != nil {
				log.Fatalf("lifecycle (shell %v): %v", pooled, err)
			}
			from := ""
			if pooled {
				from = " from a shell"
			}
			rows = append(rows,
				result.Sample{Op: "create", Label: "create+start" + from, Round: round, WallMs: cs},
				result.Sample{Op: "lifecycle", Label: "create+start+exit" + from, Round: round, WallMs: total})
		}
		for _, m := range []struct {
			op, label string
			f         func() (float64, error)
		}{
			{"start", "start", func() (float64, error) { return b.startTimed(id+"-0", "") }},
			{"start", "start, cpu-affinity 0", func() (float64, error) { return b.startTimed(id+"-l", "0") }},
			{"start", "start, cpu-affinity auto", func() (float64, error) { return b.startTimed(id+"-a", "auto") }},
		} {
			d, err := m.f()
			if err != nil {
				log.Fatalf("%s: %v", m.label, err)
			}
			rows = append(rows, result.Sample{Op: m.op, Label: m.label, Round: round, WallMs: d})
		}
		if round >= 0 {
			o.Samples = append(o.Samples, rows...)
		}
	}
	b.pool.Close()
	if err := b.memory(*parked, &o); err != nil {
		log.Fatal(err)
	}
	if ents, _ := os.ReadDir(*root); len(ents) > 0 {
		log.Fatalf("state left behind in %s: %d entries", *root, len(ents))
	}
	o.Finished, o.LoadEnd = time.Now(), result.ReadLoad()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := result.Save(filepath.Join(*out, "fastart.json"), &o); err != nil {
		log.Fatal(err)
	}
	w := func(op, l string) []float64 {
		return result.Select(o.Samples, op, l, func(s result.Sample) float64 { return s.WallMs })
	}
	for _, op := range []struct{ op, label string }{{"create", "create+start"}, {"lifecycle", "create+start+exit"}} {
		n, s := w(op.op, op.label), w(op.op, op.label+" from a shell")
		log.Printf("%s: normal p50 %.2f p99 %.2f ms, shell p50 %.2f p99 %.2f ms; median ratio %.2fx", op.label,
			result.Median(n), result.Quantile(n, 0.99), result.Median(s), result.Quantile(s, 0.99),
			result.Median(result.Ratios(o.Samples, op.op, op.label, op.label+" from a shell", func(s result.Sample) float64 { return s.WallMs })))
	}
	log.Printf("shell RSS median %.0f KiB, PSS %.0f KiB; parked created container RSS %.0f KiB, PSS %.0f KiB",
		result.Median(o.ShellRSS), result.Median(o.ShellPSS), result.Median(o.CreatedRSS), result.Median(o.CreatedPSS))
}
