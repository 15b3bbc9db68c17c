package container

import "errors"

// Sentinel errors callers branch on (the CLI maps them to messages and exit
// codes, the shim to errdefs).
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrExist      = errors.New("container already exists")
	ErrNotRunning = errors.New("container is not running")
	ErrRunning    = errors.New("container is running")
	ErrNotCreated = errors.New("container is not in the created state")
	ErrPaused     = errors.New("container is paused")
	ErrNotPaused  = errors.New("container is not paused")
	ErrInvalidID  = errors.New("invalid container id")
	ErrNoCgroup   = errors.New("container has no cgroup (rootless)")
)
