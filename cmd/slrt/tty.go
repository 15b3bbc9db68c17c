package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/terminal"
)

// consolePair is the in-process replacement for --console-socket, used when
// `run` or `exec` has a terminal and nobody else takes the master: the
// engine hands `remote` to the init, which sends the master back to `local`.
type consolePair struct {
	local, remote *os.File
}

func newConsolePair() (*consolePair, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("console socketpair: %w", err)
	}
	return &consolePair{os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console-init")}, nil
}

func (p *consolePair) close() {
	if p != nil {
		p.local.Close()
		p.remote.Close()
	}
}

// master takes the pty master: the engine's copy when it received it itself,
// else the one the init sent to our end of the pair.
func (p *consolePair) master(fromEngine *os.File) (*os.File, error) {
	p.remote.Close()
	if fromEngine != nil {
		return fromEngine, nil
	}
	return terminal.RecvMaster(p.local)
}

// ttyRelay copies between our stdio and the container's pty master, with
// our terminal (when stdin is one) in raw mode so keys reach the container
// unprocessed.
type ttyRelay struct {
	master  *os.File
	restore func()
	done    chan struct{}
}

func startRelay(master *os.File) *ttyRelay {
	r := &ttyRelay{master: master, restore: func() {}, done: make(chan struct{})}
	if old, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		raw := *old
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if unix.IoctlSetTermios(0, unix.TCSETS, &raw) == nil {
			r.restore = func() { unix.IoctlSetTermios(0, unix.TCSETS, old) }
		}
		r.resize()
	}
	go io.Copy(master, os.Stdin)
	go func() {
		// Ends with EIO once every holder of the slave has exited.
		io.Copy(os.Stdout, master)
		close(r.done)
	}()
	return r
}

// resize gives the container's terminal our terminal's size (at start and
// on SIGWINCH).
func (r *ttyRelay) resize() {
	if r == nil {
		return
	}
	if rows, cols, err := terminal.Size(os.Stdin); err == nil {
		terminal.Resize(r.master, rows, cols)
	}
}

// finish waits briefly for the output still buffered in the pty, then puts
// our terminal back.
func (r *ttyRelay) finish() {
	if r == nil {
		return
	}
	select {
	case <-r.done:
	case <-time.After(time.Second):
	}
	r.restore()
	r.master.Close()
}
