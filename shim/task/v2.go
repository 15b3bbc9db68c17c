package task

import (
	"context"

	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/proto"

	taskapi "github.com/slrt/slrt/shim/internal/api/runtime/task/v3"
)

// Register serves the task API v3 and, under its own name, v2. The two
// .proto files differ only in their package, so the v3 messages decode v2
// requests byte for byte (v2_test checks every message field by field);
// one implementation serves both and the v2 code is not linked.
func (s *Service) Register(srv *ttrpc.Server) {
	taskapi.RegisterTTRPCTaskService(srv, s)
	srv.RegisterService("containerd.task.v2.Task", &ttrpc.ServiceDesc{Methods: map[string]ttrpc.Method{
		"State":      method(s.State),
		"Create":     method(s.Create),
		"Start":      method(s.Start),
		"Delete":     method(s.Delete),
		"Pids":       method(s.Pids),
		"Pause":      method(s.Pause),
		"Resume":     method(s.Resume),
		"Checkpoint": method(s.Checkpoint),
		"Kill":       method(s.Kill),
		"Exec":       method(s.Exec),
		"ResizePty":  method(s.ResizePty),
		"CloseIO":    method(s.CloseIO),
		"Update":     method(s.Update),
		"Wait":       method(s.Wait),
		"Stats":      method(s.Stats),
		"Connect":    method(s.Connect),
		"Shutdown":   method(s.Shutdown),
	}})
}

// method adapts a typed handler to ttrpc's untyped method signature.
func method[Req any, PReq interface {
	*Req
	proto.Message
}, Resp proto.Message](f func(context.Context, PReq) (Resp, error)) ttrpc.Method {
	return func(ctx context.Context, unmarshal func(any) error) (any, error) {
		req := PReq(new(Req))
		if err := unmarshal(req); err != nil {
			return nil, err
		}
		return f(ctx, req)
	}
}
