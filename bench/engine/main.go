// Command engine measures what the shim pays per container when it drives
// slrt's engine (runtime/container) in one long-lived process: create +
// start + exit (+ delete) of /bin/true, and start of a pre-created
// container, plain and with a replacement process (fast start). It writes
// engine.json for bench/report: ms per operation, heap allocations, CPU and
// page faults of this process plus the inits it reaped.
//
// Run it as root, with -root on a tmpfs and -bundle a /bin/true bundle
// (bench/bench.sh passes the one bench/oci made).
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	goruntime "runtime"
	"syscall"
	"time"

	"github.com/slrt/slrt/bench/result"
	"github.com/slrt/slrt/runtime/container"
)

// output is engine.json.
type output struct {
	result.Run
	Samples []result.Sample `json:"samples"`
}

// usage is a point-in-time reading of everything an operation costs.
type usage struct {
	t              time.Time
	self, children syscall.Rusage
	mem            goruntime.MemStats
}

func read() usage {
	var u usage
	// MemStats first: ReadMemStats stops the world, which must not
	// fall inside the timed region.
	goruntime.ReadMemStats(&u.mem)
	syscall.Getrusage(syscall.RUSAGE_SELF, &u.self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &u.children)
	u.t = time.Now()
	return u
}

func ms(tv syscall.Timeval) float64 { return float64(tv.Sec)*1000 + float64(tv.Usec)/1000 }

// since is the sample from a to now.
func since(a usage) result.Sample {
	end := time.Now()
	var b usage
	syscall.Getrusage(syscall.RUSAGE_SELF, &b.self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &b.children)
	goruntime.ReadMemStats(&b.mem)
	return result.Sample{
		WallMs: float64(end.Sub(a.t).Microseconds()) / 1000,
		UserMs: ms(b.self.Utime) - ms(a.self.Utime) + ms(b.children.Utime) - ms(a.children.Utime),
		SysMs:  ms(b.self.Stime) - ms(a.self.Stime) + ms(b.children.Stime) - ms(a.children.Stime),
		MinFlt: b.self.Minflt - a.self.Minflt + b.children.Minflt - a.children.Minflt,
		MajFlt: b.self.Majflt - a.self.Majflt + b.children.Majflt - a.children.Majflt,
		// Allocation counters are exact; GC and other goroutines of
		// this process (none here) would be the only noise.
		Mallocs:    b.mem.Mallocs - a.mem.Mallocs,
		AllocBytes: b.mem.TotalAlloc - a.mem.TotalAlloc,
	}
}

type engine struct {
	root, bundle string
	devnull      *os.File
}

func (e *engine) create(id string) (*container.Container, error) {
	return container.Create(e.root, container.CreateOpts{
		ID: id, Bundle: e.bundle, Stdin: e.devnull, Stdout: e.devnull, Stderr: e.devnull,
	})
}

// lifecycle times create, start and the workload's exit as one span, then
// delete: "create+start+exit" is the goal's unit, "+delete" the whole cost.
func (e *engine) lifecycle(id string) (span, del result.Sample, err error) {
	a := read()
	c, err := e.create(id)
	if err != nil {
		return span, del, err
	}
	if err = c.Start(nil); err != nil {
		c.Delete(true)
		return span, del, err
	}
	st := c.Init().Wait()
	span = since(a)
	if st.Code != 0 {
		c.Delete(true)
		return span, del, fmt.Errorf("container %s exited with %d", id, st.Code)
	}
	a = read()
	err = c.Delete(false)
	del = since(a)
	return span, del, err
}

// startParked creates a container untimed, then times Start up to the
// workload's exit; with p it starts the replacement process instead.
func (e *engine) startParked(id string, p *container.StartProcess) (result.Sample, error) {
	c, err := e.create(id)
	if err != nil {
		return result.Sample{}, err
	}
	defer c.Delete(true)
	a := read()
	if err := c.Start(p); err != nil {
		return result.Sample{}, err
	}
	st := c.Init().Wait()
	s := since(a)
	if st.Code != 0 {
		return s, fmt.Errorf("container %s exited with %d", id, st.Code)
	}
	return s, nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/engine: ")
	runs := flag.Int("runs", 50, "rounds")
	root := flag.String("root", "", "state root, on a tmpfs (required)")
	bundle := flag.String("bundle", "", "bundle running /bin/true (required)")
	out := flag.String("out", "bench/results", "directory for engine.json")
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
	e := &engine{root: *root, bundle: *bundle, devnull: dn}
	o := output{Run: result.Run{Started: time.Now(), LoadStart: result.ReadLoad(), Runs: *runs}}
	fast := &container.StartProcess{Args: []string{"/bin/true"}}

	// Round -1 warms up: the first Create seals the init helper's memfd
	// once per process, which the shim also pays only once.
	for round := -1; round < *runs; round++ {
		id := fmt.Sprintf("engine-%d", round+1)
		span, del, err := e.lifecycle(id + "-l")
		if err != nil {
			log.Fatal(err)
		}
		st, err := e.startParked(id+"-s", nil)
		if err != nil {
			log.Fatal(err)
		}
		fs, err := e.startParked(id+"-p", fast)
		if err != nil {
			log.Fatal(err)
		}
		if round < 0 {
			continue
		}
		for _, s := range []struct {
			op, label string
			s         result.Sample
		}{
			{"lifecycle", "create+start+exit", span},
			{"lifecycle", "delete", del},
			{"start", "start+exit", st},
			{"start", "start --process+exit", fs},
		} {
			s.s.Op, s.s.Label, s.s.Round = s.op, s.label, round
			o.Samples = append(o.Samples, s.s)
		}
	}
	if ents, _ := os.ReadDir(*root); len(ents) > 0 {
		log.Fatalf("state left behind in %s: %d entries", *root, len(ents))
	}
	o.Finished, o.LoadEnd = time.Now(), result.ReadLoad()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	if err := result.Save(filepath.Join(*out, "engine.json"), &o); err != nil {
		log.Fatal(err)
	}
}
