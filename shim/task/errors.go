package task

import (
	"errors"
	"fmt"

	"github.com/slrt/slrt/runtime/container"
	"github.com/slrt/slrt/shim/internal/ttrpc"
)

// Errors the service returns itself; mapped with the engine's below.
var (
	errNotFound         = errors.New("not found")
	errAlreadyExists    = errors.New("already exists")
	errInvalid          = errors.New("invalid argument")
	errPrecondition     = errors.New("failed precondition")
	errNotImplemented   = errors.New("not implemented")
	errPermissionDenied = errors.New("permission denied")
)

// toStatus maps an error to the ttrpc status code containerd turns back
// into its errdefs (errdefs.FromGRPC): this is the only place that does so.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	code := ttrpc.Unknown
	switch {
	case errors.Is(err, errNotFound), errors.Is(err, container.ErrNotExist):
		code = ttrpc.NotFound
	case errors.Is(err, errAlreadyExists), errors.Is(err, container.ErrExist):
		code = ttrpc.AlreadyExists
	case errors.Is(err, errInvalid), errors.Is(err, container.ErrInvalidID):
		code = ttrpc.InvalidArgument
	case errors.Is(err, errNotImplemented):
		code = ttrpc.Unimplemented
	case errors.Is(err, errPermissionDenied):
		code = ttrpc.PermissionDenied
	case errors.Is(err, errPrecondition), errors.Is(err, container.ErrNotRunning),
		errors.Is(err, container.ErrRunning), errors.Is(err, container.ErrNotCreated),
		errors.Is(err, container.ErrPaused), errors.Is(err, container.ErrNotPaused),
		errors.Is(err, container.ErrNoCgroup):
		code = ttrpc.FailedPrecondition
	}
	return &ttrpc.Error{Code: code, Message: err.Error()}
}

func notFound(what, id string) error { return fmt.Errorf("%s %q: %w", what, id, errNotFound) }
