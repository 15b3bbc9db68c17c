package main

import (
	"fmt"
	"time"

	"github.com/slrt/slrt/bench/result"
)

// contender is one way of doing an operation: a runtime, and for start
// whether it uses slrt's fast-start primitive (`start --process FILE`).
type contender struct {
	label   string
	rt      *runtime
	process string // file for start --process, or ""
}

// op is one timed CLI operation with its untimed preparation and clean-up.
type op struct {
	name    string
	prepare func(c contender, id string) error
	timed   func(c contender, id string) []string
	cleanup func(c contender, id string) error
}

func (b *bench) ops() []op {
	create := func(c contender, id string) error {
		return b.r.do(c.rt.Bin, c.rt.args("create", "--bundle", b.bundle, id)...)
	}
	remove := func(c contender, id string) error {
		return b.r.do(c.rt.Bin, c.rt.args("delete", "--force", id)...)
	}
	none := func(contender, string) error { return nil }
	return []op{
		{
			// run = create + start + wait + delete in one command.
			name:    "run",
			prepare: none,
			timed: func(c contender, id string) []string {
				return c.rt.args("run", "--bundle", b.bundle, id)
			},
			cleanup: none,
		},
		{
			name:    "create",
			prepare: none,
			timed: func(c contender, id string) []string {
				return c.rt.args("create", "--bundle", b.bundle, id)
			},
			cleanup: remove,
		},
		{
			// start of a pre-created container: returns once the
			// workload has been exec'd, as the shim's Start does.
			name:    "start",
			prepare: create,
			timed: func(c contender, id string) []string {
				if c.process != "" {
					return c.rt.args("start", "--process", c.process, id)
				}
				return c.rt.args("start", id)
			},
			cleanup: remove,
		},
	}
}

// contenders of an operation: every runtime, and for start also the
// fast-start form of the runtimes that have it.
func (b *bench) contenders(o op) []contender {
	var cs []contender
	for _, rt := range b.runtimes {
		cs = append(cs, contender{label: rt.Name, rt: rt})
		if o.name == "start" && rt.FastStart {
			cs = append(cs, contender{label: rt.Name + " --process", rt: rt, process: b.processFile})
		}
	}
	return cs
}

// latency runs every operation in rounds. Each round runs every contender
// once, back to back (A B C, then B C A, ...: interleaved, and rotated so no
// runtime always follows the same one), so a per-round ratio compares runs
// made under the same load. One untimed warm-up round comes first.
func (b *bench) latency() ([]result.Sample, error) {
	var out []result.Sample
	for _, o := range b.ops() {
		cs := b.contenders(o)
		for round := -1; round < b.runs; round++ {
			for k := range cs {
				c := cs[(k+max(round, 0))%len(cs)]
				id := fmt.Sprintf("bench-%s-%d", o.name, round+1)
				if err := o.prepare(c, id); err != nil {
					return nil, err
				}
				// Moving a process with cgroup.procs waits for an RCU
				// grace period (0.2-34 ms here) unless another move
				// happened just before: back to back, each runtime's
				// create would pre-pay the next one's. Idle first, as on
				// a node where containers start seconds apart.
				time.Sleep(b.gap)
				s, err := b.r.measure(c.rt.Bin, o.timed(c, id)...)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", o.name, err)
				}
				if err := o.cleanup(c, id); err != nil {
					return nil, err
				}
				if round < 0 {
					continue
				}
				s.Op, s.Label, s.Round = o.name, c.label, round
				out = append(out, s)
			}
		}
		b.logf("%s: %d rounds of %d", o.name, b.runs, len(cs))
	}
	return out, nil
}
