package main

import (
	"errors"
	"fmt"

	"github.com/slrt/slrt/runtime/container"
)

// runc's texts for the errors its callers match on. containerd's shim and
// podman look for "does not exist" and "not running" in runc's output (and
// the log file) to tell a gone container from a real failure, so these stay
// word for word runc's.
const (
	msgNotExist   = "container does not exist"
	msgExist      = "container with given ID already exists"
	msgNotRunning = "container not running"
	msgNotPaused  = "container not paused"
)

// describe turns an engine error into the message runc prints for the same
// situation; errors runc has no special text for keep the engine's wording.
func describe(err error) error {
	switch {
	case errors.Is(err, container.ErrNotExist):
		return errors.New(msgNotExist)
	case errors.Is(err, container.ErrExist):
		return errors.New(msgExist)
	case errors.Is(err, container.ErrNotRunning):
		return errors.New(msgNotRunning)
	case errors.Is(err, container.ErrNotPaused):
		return errors.New(msgNotPaused)
	}
	return err
}

// load opens container id, with runc's message when it is not there.
func load(g *globals, id string) (*container.Container, error) {
	c, err := container.Load(g.root, id)
	if err != nil {
		return nil, describe(err)
	}
	return c, nil
}

// status is the container's current status; a container whose state cannot
// be read counts as stopped, which is what runc's callers assume then.
func status(c *container.Container) container.Status {
	st, err := c.State()
	if err != nil {
		return container.Stopped
	}
	return st.Status
}

// startError explains why a container cannot start, in runc's words.
func startError(s container.Status) error {
	switch s {
	case container.Running:
		return errors.New("cannot start an already running container")
	case container.Stopped:
		return errors.New("cannot start a container that has stopped")
	}
	return fmt.Errorf("cannot start a container in the %s state", s)
}
