package process

import (
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/slrt/slrt/runtime/channel"
)

var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

func planIOPrio(p *specs.LinuxIOPriority) (*channel.IOPrio, error) {
	if p == nil {
		return nil, nil
	}
	class, ok := ioprioClasses[p.Class]
	if !ok {
		return nil, fmt.Errorf("process.ioPriority.class: unknown class %q", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return nil, fmt.Errorf("process.ioPriority.priority: %d is outside 0..7", p.Priority)
	}
	return &channel.IOPrio{Class: class, Priority: p.Priority}, nil
}
