package task

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/slrt/slrt/runtime/container"
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
	code := codes.Unknown
	switch {
	case errors.Is(err, errNotFound), errors.Is(err, container.ErrNotExist):
		code = codes.NotFound
	case errors.Is(err, errAlreadyExists), errors.Is(err, container.ErrExist):
		code = codes.AlreadyExists
	case errors.Is(err, errInvalid), errors.Is(err, container.ErrInvalidID):
		code = codes.InvalidArgument
	case errors.Is(err, errNotImplemented):
		code = codes.Unimplemented
	case errors.Is(err, errPermissionDenied):
		code = codes.PermissionDenied
	case errors.Is(err, errPrecondition), errors.Is(err, container.ErrNotRunning),
		errors.Is(err, container.ErrRunning), errors.Is(err, container.ErrNotCreated),
		errors.Is(err, container.ErrPaused), errors.Is(err, container.ErrNotPaused),
		errors.Is(err, container.ErrNoCgroup):
		code = codes.FailedPrecondition
	}
	return status.Error(code, err.Error())
}

func notFound(what, id string) error { return fmt.Errorf("%s %q: %w", what, id, errNotFound) }
