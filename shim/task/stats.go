package task

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/slrt/slrt/runtime/cgroups"
)

// metricsAny wraps the engine's cgroup stats in the Any the CRI decodes:
// containerd/cgroups' io.containerd.cgroups.v1.Metrics or …v2.Metrics,
// named without a type.googleapis.com/ prefix, as containerd's typeurl does.
func metricsAny(st any) (*anypb.Any, error) {
	s, ok := st.(*cgroups.Stats)
	if !ok || s == nil {
		return nil, fmt.Errorf("stats: unexpected type %T", st)
	}
	var m proto.Message
	switch {
	case s.V2 != nil:
		m = s.V2
	case s.V1 != nil:
		m = s.V1
	default:
		return nil, fmt.Errorf("stats: no metrics")
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metrics: %w", err)
	}
	return &anypb.Any{TypeUrl: string(proto.MessageName(m)), Value: b}, nil
}
