package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/slrt/slrt/bench/result"
)

// opFirst is the op of the first-instruction samples: from just before
// StartContainer to the clock the workload read in its _start.
const opFirst = "first instruction"

// stampVariants are the first-instruction pods: slrt's handler with the
// CPU hint, the same with fast start when it is measured, and each other
// handler without a hint (runc's placement is the kubelet's cpuset, so the
// reference does what a runc user can).
func stampVariants(handlers []string, image, cpus string, fast int) []*variant {
	hint := map[string]string{cpuAffinityKey: cpus}
	vs := []*variant{{Label: handlers[0] + ", cpu-affinity " + cpus, Handler: handlers[0], Annotations: hint, Image: image}}
	if fast > 0 {
		vs = append(vs, &variant{Label: handlers[0] + " fast-start, cpu-affinity " + cpus, Handler: handlers[0],
			Annotations: map[string]string{cpuAffinityKey: cpus, fastStartKey: strconv.Itoa(fast)}, Image: image, shells: fast})
	}
	for _, h := range handlers[1:] {
		vs = append(vs, &variant{Label: h + ", no hint", Handler: h, Image: image})
	}
	return vs
}

// pull makes the stamp image present in the CRI's image store (once; the
// busybox one is imported by containerd.sh).
func (b *bench) pull(image string) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.deadline)
	defer cancel()
	if _, err := b.img.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: image}}); err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	return nil
}

// stampPod runs one first-instruction pod: RunPodSandbox (untimed), then
// CreateContainer of the stamp image and StartContainer, timed from the
// clock read just before StartContainer to the stamp the workload
// printed. A hinted variant's workload must report exactly the hinted
// CPUs, or the round fails.
func (b *bench) stampPod(va *variant, round int) ([]result.Sample, error) {
	cfg, done, err := b.sandboxConfig(va)
	if err != nil {
		return nil, err
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), b.deadline)
	defer cancel()
	resp, err := b.rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: va.Handler})
	if err != nil {
		return nil, fmt.Errorf("RunPodSandbox: %w", err)
	}
	pod := resp.PodSandboxId
	defer b.removePod(pod)
	pool, err := b.poolOf(ctx, va, pod)
	if err != nil {
		return nil, err
	}
	var id string
	var before time.Time
	err = pool.fromShell(ctx, func() (string, error) {
		c, err := b.rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: pod,
			Config: containerConfig(cfg, va.Image, nil, 0), SandboxConfig: cfg})
		if err != nil {
			return "", fmt.Errorf("CreateContainer: %w", err)
		}
		id = c.ContainerId
		before = time.Now()
		if _, err := b.rt.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: id}); err != nil {
			return "", fmt.Errorf("StartContainer: %w", err)
		}
		return id, nil
	})
	if err != nil {
		return nil, err
	}
	if err := b.waitExited(ctx, pod); err != nil {
		return nil, err
	}
	stamp, cpus, err := readStamp(filepath.Join(cfg.LogDirectory, "app_0.log"))
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	if want := va.Annotations[cpuAffinityKey]; want != "" && cpus != want {
		return nil, fmt.Errorf("container %s: the workload ran on CPUs %q, the hint %s asked for %q", id, cpus, cpuAffinityKey, want)
	}
	d := stamp.Sub(before)
	if d <= 0 {
		return nil, fmt.Errorf("container %s: its first instruction at %s, before StartContainer was called at %s", id,
			stamp.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano))
	}
	return []result.Sample{{Op: opFirst, Label: va.Label, Round: round, WallMs: float64(d.Microseconds()) / 1000}}, nil
}

// readStamp reads the stamp line ("stamp SEC.NSEC cpus LIST") from a CRI
// log file ("TIME stdout F stamp ..."), waiting a little for containerd
// to have written it: the container's exit can be seen first.
func readStamp(path string) (time.Time, string, error) {
	var last error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		t, cpus, err := parseStampLog(path)
		if err == nil {
			return t, cpus, nil
		}
		last = err
	}
	return time.Time{}, "", last
}

func parseStampLog(path string) (time.Time, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t, cpus, ok := parseStamp(sc.Text()); ok {
			return t, cpus, nil
		}
	}
	return time.Time{}, "", fmt.Errorf("no stamp line in %s", path)
}

// parseStamp finds "stamp SEC.NSEC cpus LIST" in a log line.
func parseStamp(line string) (time.Time, string, bool) {
	i := strings.Index(line, "stamp ")
	if i < 0 {
		return time.Time{}, "", false
	}
	f := strings.Fields(line[i:])
	if len(f) != 4 || f[2] != "cpus" {
		return time.Time{}, "", false
	}
	sec, nsec, ok := strings.Cut(f[1], ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	n, err2 := strconv.ParseInt(nsec, 10, 64)
	if !ok || err1 != nil || err2 != nil || len(nsec) != 9 {
		return time.Time{}, "", false
	}
	return time.Unix(s, n), f[3], true
}
