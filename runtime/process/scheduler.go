package process

import (
	"errors"
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
)

var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther: unix.SCHED_NORMAL,
	specs.SchedFIFO:  unix.SCHED_FIFO,
	specs.SchedRR:    unix.SCHED_RR,
	specs.SchedBatch: unix.SCHED_BATCH,
	// SCHED_ISO (4) was reserved but never merged: mainline kernels refuse
	// it with EINVAL at sched_setattr. It is accepted here because the spec
	// names it and some patched kernels have it.
	specs.SchedISO:      4,
	specs.SchedIdle:     unix.SCHED_IDLE,
	specs.SchedDeadline: unix.SCHED_DEADLINE,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

// planScheduler checks process.scheduler against sched(7)'s rules, so a bad
// value is reported with its field name rather than as EINVAL from the init.
func planScheduler(s *specs.Scheduler) (*channel.Scheduler, error) {
	if s == nil {
		return nil, nil
	}
	if s.Policy == "" {
		return nil, errors.New("process.scheduler.policy: required")
	}
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		return nil, fmt.Errorf("process.scheduler.policy: unknown policy %q", s.Policy)
	}
	out := &channel.Scheduler{Policy: policy, Nice: s.Nice, Runtime: s.Runtime, Deadline: s.Deadline, Period: s.Period}
	if s.Nice < -20 || s.Nice > 19 {
		return nil, fmt.Errorf("process.scheduler.nice: %d is outside -20..19", s.Nice)
	}
	if s.Priority < 0 {
		return nil, fmt.Errorf("process.scheduler.priority: %d is negative", s.Priority)
	}
	out.Priority = uint32(s.Priority)
	realtime := s.Policy == specs.SchedFIFO || s.Policy == specs.SchedRR
	switch {
	case realtime && (s.Priority < 1 || s.Priority > 99):
		return nil, fmt.Errorf("process.scheduler.priority: %d is outside 1..99 for %s", s.Priority, s.Policy)
	case !realtime && s.Priority != 0:
		return nil, fmt.Errorf("process.scheduler.priority: must be 0 for %s (only SCHED_FIFO and SCHED_RR have priorities), got %d", s.Policy, s.Priority)
	}
	if s.Policy == specs.SchedDeadline {
		// sched_setattr(2): runtime <= deadline <= period, period 0 = deadline.
		period := s.Period
		if period == 0 {
			period = s.Deadline
		}
		if s.Runtime == 0 || s.Runtime > s.Deadline || s.Deadline > period {
			return nil, fmt.Errorf("process.scheduler: SCHED_DEADLINE needs 0 < runtime (%d) <= deadline (%d) <= period (%d)", s.Runtime, s.Deadline, s.Period)
		}
	} else if s.Runtime != 0 || s.Deadline != 0 || s.Period != 0 {
		return nil, fmt.Errorf("process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE, not %s", s.Policy)
	}
	for i, f := range s.Flags {
		bit, ok := schedFlags[f]
		if !ok {
			return nil, fmt.Errorf("process.scheduler.flags[%d]: unknown flag %q", i, f)
		}
		out.Flags |= bit
	}
	return out, nil
}
