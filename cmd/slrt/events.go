package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/slrt/slrt/runtime/cgroups"
	"github.com/slrt/slrt/runtime/container"
)

var eventsCommand = &command{
	name:  "events",
	args:  "<container-id>",
	short: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
	nargs: 1,
	setup: func(fs *flag.FlagSet, g *globals) func([]string) error {
		var interval time.Duration
		var once bool
		fs.DurationVar(&interval, "interval", 5*time.Second, "set the stats collection interval")
		boolFlag(fs, &once, "stats", "display the container's stats then exit")
		return func(args []string) error {
			if interval <= 0 {
				return errors.New("duration interval must be greater than 0")
			}
			c, err := load(g, args[0])
			if err != nil {
				return err
			}
			if s := status(c); s == container.Stopped || s == container.Creating {
				return fmt.Errorf("container with id %s is not running", args[0])
			}
			cg, err := cgroupOf(c)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(os.Stdout)
			if once {
				return emitStats(enc, c.ID(), cg)
			}
			return streamEvents(enc, c, cg, interval)
		}
	},
}

// cgroupOf opens the container's cgroup from its recorded state.
func cgroupOf(c *container.Container) (*cgroups.Manager, error) {
	st, err := c.State()
	if err != nil {
		return nil, describe(err)
	}
	if st.CgroupPath == "" {
		return nil, fmt.Errorf("container %s has no cgroup", st.ID)
	}
	return cgroups.Load(st.CgroupPath, st.Systemd)
}

func emitStats(enc *json.Encoder, id string, cg *cgroups.Manager) error {
	s, err := cg.Stats()
	if err != nil {
		return fmt.Errorf("stats of container %s: %w", id, err)
	}
	return enc.Encode(event{Type: "stats", ID: id, Data: convertStats(s)})
}

// streamEvents prints stats every interval and an "oom" event for each OOM
// kill, until the container stops (runc keeps going until killed; ending
// with the container is what a supervisor reading the stream wants).
func streamEvents(enc *json.Encoder, c *container.Container, cg *cgroups.Manager, interval time.Duration) error {
	var ooms <-chan struct{}
	if ch, stop, err := cg.OOMEvents(); err == nil {
		ooms = ch
		defer stop()
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := emitStats(enc, c.ID(), cg); err != nil {
			if status(c) == container.Stopped {
				return nil
			}
			return err
		}
		if err := waitTick(enc, c, ooms, tick.C); err != nil {
			return err
		}
		if status(c) == container.Stopped {
			return nil
		}
	}
}

// waitTick reports OOM kills until the next tick. A closed OOM channel means
// the cgroup is gone; the caller then sees the container stopped.
func waitTick(enc *json.Encoder, c *container.Container, ooms <-chan struct{}, tick <-chan time.Time) error {
	for {
		select {
		case _, ok := <-ooms:
			if !ok {
				ooms = nil
				continue
			}
			if err := enc.Encode(event{Type: "oom", ID: c.ID()}); err != nil {
				return err
			}
		case <-tick:
			return nil
		}
	}
}
