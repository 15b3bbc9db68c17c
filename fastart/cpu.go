package fastart

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/process"
)

// AutoWindow is the shortest time "auto" watches /proc/stat over: long
// enough for a few scheduler ticks (4 ms at HZ=250).
const AutoWindow = 20 * time.Millisecond

// LoadSample is a reading of /proc/stat that "auto" measures load from
// up to the start. Taken at create, the window is the time between create
// and start, and a start that comes AutoWindow or more later waits for
// nothing.
type LoadSample struct {
	stat []byte
	at   time.Time
}

// MaxLoadAge bounds the window "auto" looks at: the load of the last
// second says where to run now; an older sample is taken again.
const MaxLoadAge = time.Second

// SampleLoad reads /proc/stat now.
func SampleLoad() (*LoadSample, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("read CPU load: %w", err)
	}
	return &LoadSample{stat: b, at: time.Now()}, nil
}

// Affinity resolves a CPU hint against the CPUs the container may use
// (linux.resources.cpu.cpus, the kubelet CPU manager's choice; empty =
// every online CPU). hint is a CPU list or "auto"; empty keeps allowed
// as it is ("" = inherit). A list not inside allowed is refused naming
// both sets, so the workload never runs outside what the node gave it.
// "auto" measures from since (nil: from now), waiting until AutoWindow
// has passed.
func Affinity(hint, allowed string, since *LoadSample) (string, error) {
	if hint == "" {
		return "", nil
	}
	var allow unix.CPUSet
	if allowed != "" {
		var err error
		if allow, err = process.ParseCPUs(allowed); err != nil {
			return "", fmt.Errorf("linux.resources.cpu.cpus %q: %w", allowed, err)
		}
	} else if err := unix.SchedGetaffinity(0, &allow); err != nil {
		return "", fmt.Errorf("read the runtime's CPU affinity: %w", err)
	}
	if hint == "auto" {
		var err error
		if since == nil || time.Since(since.at) > MaxLoadAge {
			if since, err = SampleLoad(); err != nil {
				return "", err
			}
		}
		if wait := AutoWindow - time.Since(since.at); wait > 0 {
			time.Sleep(wait)
		}
		now, err := SampleLoad()
		if err != nil {
			return "", err
		}
		cpu, err := leastLoaded(since.stat, now.stat, allow)
		if err != nil {
			return "", err
		}
		return strconv.Itoa(cpu), nil
	}
	want, err := process.ParseCPUs(hint)
	if err != nil {
		return "", fmt.Errorf("CPU list %q: %w", hint, err)
	}
	for c := 0; c < maxCPU; c++ {
		if want.IsSet(c) && !allow.IsSet(c) {
			return "", fmt.Errorf("CPUs %s are not all within the container's cpuset %s", process.FormatCPUs(want), process.FormatCPUs(allow))
		}
	}
	return process.FormatCPUs(want), nil
}

// maxCPU is how many CPUs a unix.CPUSet holds (64-bit words).
const maxCPU = len(unix.CPUSet{}) * 64

// cpuTimes parses the per-CPU lines of /proc/stat into busy and total
// jiffies by CPU number.
func cpuTimes(stat []byte) (busy, total map[int]uint64, err error) {
	busy, total = map[int]uint64{}, map[int]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(stat))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 5 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			return nil, nil, fmt.Errorf("/proc/stat: bad line %q", sc.Text())
		}
		var sum, idle uint64
		for i, v := range f[1:] {
			x, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, nil, fmt.Errorf("/proc/stat: bad line %q", sc.Text())
			}
			// guest and guest_nice (fields 9, 10) are already in user.
			if i >= 8 {
				break
			}
			sum += x
			if i == 3 || i == 4 { // idle, iowait
				idle += x
			}
		}
		busy[n], total[n] = sum-idle, sum
	}
	return busy, total, sc.Err()
}

// leastLoaded picks, among allowed CPUs online in both samples, the one
// busy for the smallest share of the window (the lowest number on a tie,
// so the choice is stable on an idle machine).
func leastLoaded(before, after []byte, allowed unix.CPUSet) (int, error) {
	b0, t0, err := cpuTimes(before)
	if err != nil {
		return -1, err
	}
	b1, t1, err := cpuTimes(after)
	if err != nil {
		return -1, err
	}
	best, bestLoad := -1, 2.0
	for cpu := 0; cpu < maxCPU; cpu++ {
		if !allowed.IsSet(cpu) {
			continue
		}
		_, ok0 := t0[cpu]
		_, ok1 := t1[cpu]
		if !ok0 || !ok1 {
			continue
		}
		load := 0.0
		if dt := t1[cpu] - t0[cpu]; dt > 0 {
			load = float64(b1[cpu]-b0[cpu]) / float64(dt)
		}
		if load < bestLoad {
			best, bestLoad = cpu, load
		}
	}
	if best < 0 {
		return -1, fmt.Errorf("no online CPU in %s", process.FormatCPUs(allowed))
	}
	return best, nil
}
