package task

import (
	"context"

	"github.com/slrt/slrt/shim/internal/ttrpc"
)

// Register serves the task API v3 and, under its own name, v2. The two
// .proto files differ only in their package, so the v3 messages decode v2
// requests byte for byte (v2_test checks every message field by field);
// one implementation serves both and the v2 code is not linked.
func (s *Service) Register(srv *ttrpc.Server) {
	methods := map[string]ttrpc.Method{
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
	}
	srv.Register("containerd.task.v3.Task", methods)
	srv.Register("containerd.task.v2.Task", methods)
}

// method adapts a typed handler to ttrpc's untyped method signature, and
// gives its error the status code containerd expects (toStatus), so no
// handler maps its own.
func method[Req any, PReq interface {
	*Req
	ttrpc.Unmarshaler
}, Resp ttrpc.Message](f func(context.Context, PReq) (Resp, error)) ttrpc.Method {
	return func(ctx context.Context, unmarshal func(ttrpc.Unmarshaler) error) (ttrpc.Message, error) {
		req := PReq(new(Req))
		if err := unmarshal(req); err != nil {
			return nil, err
		}
		resp, err := f(ctx, req)
		if err != nil {
			return nil, toStatus(err)
		}
		return resp, nil
	}
}
