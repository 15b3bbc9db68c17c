package task

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/terminal"
)

// stdio are the paths containerd gives for a process's streams: fifos it
// reads and writes, "file://" URIs, or "" for none.
type stdio struct {
	stdin, stdout, stderr string
	terminal              bool
}

// procIO is the shim's side of a process's streams. Output fifos go to the
// process directly (no copy, no goroutine per stream); stdin goes through a
// pipe the shim copies into, so CloseIO can close it; a terminal's master
// is relayed to the fifos.
type procIO struct {
	// child are the files given to the process; closed after spawn.
	childIn, childOut, childErr *os.File
	// console: our end of the socket pair the init sends the pty master on.
	console, consoleRemote *os.File
	master                 *os.File

	stdinPath string
	mu        sync.Mutex
	stdinW    io.WriteCloser // pipe writer or pty master: what CloseIO closes
	stdinF    *os.File       // the stdin fifo, once open
	copies    sync.WaitGroup // output relays of a terminal
	out       *os.File       // a terminal's output fifo
	logger    *logger        // a binary:// log driver, when stdout names one
}

// openIO opens a process's streams. id and the service's namespace are
// what a binary:// logger is told.
func (s *Service) openIO(st stdio, id string) (_ *procIO, retErr error) {
	p := &procIO{stdinPath: st.stdin}
	defer func() {
		if retErr != nil {
			p.close()
		}
	}()
	var err error
	// containerd gives the same binary:// URI for stdout and stderr; one
	// logger takes both (its fds 3 and 4).
	if u := logURI(st.stdout); u != nil && u.Scheme == "binary" {
		if p.logger, err = startLogger(&s.reaper, u, id, s.namespace); err != nil {
			return nil, err
		}
	}
	output := func(path string, fromLogger *os.File) (*os.File, error) {
		if p.logger != nil {
			return fromLogger, nil
		}
		return openOutput(path)
	}
	if st.terminal {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("console socketpair: %w", err)
		}
		p.console, p.consoleRemote = os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console-init")
		if p.out, err = output(st.stdout, p.logger.stdout()); err != nil {
			return nil, err
		}
		return p, nil
	}
	if p.childOut, err = output(st.stdout, p.logger.stdout()); err != nil {
		return nil, err
	}
	if p.childErr, err = output(st.stderr, p.logger.stderr()); err != nil {
		return nil, err
	}
	if st.stdin == "" {
		p.childIn, err = os.Open(os.DevNull)
		return p, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	p.childIn, p.stdinW = r, w
	go p.copyStdin(w)
	return p, nil
}

// logURI parses a stream path that is a URI (file://, binary://, fifo://);
// nil for a plain path.
func logURI(path string) *url.URL {
	u, err := url.Parse(path)
	if err != nil || u.Scheme == "" {
		return nil
	}
	return u
}

// openOutput opens where a stream goes. A fifo is opened write-only when
// containerd already reads it, else read-write (so the open never blocks and
// nothing written before containerd opens its end is lost).
func openOutput(path string) (*os.File, error) {
	if path == "" {
		return os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	}
	if u := logURI(path); u != nil {
		switch u.Scheme {
		case "file":
			return os.OpenFile(u.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		case "fifo":
			path = u.Path
		default:
			return nil, fmt.Errorf("stdio %q: unknown log URI scheme %s:// (fifo, file and binary are known): %w", path, u.Scheme, errNotImplemented)
		}
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENXIO) {
		fd, err = unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("open stdio %s: %w", path, err)
	}
	// The process expects blocking writes.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open stdio %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// copyStdin copies the stdin fifo into w until containerd closes it. The
// open blocks until containerd opens its end.
func (p *procIO) copyStdin(w io.WriteCloser) {
	f, err := os.OpenFile(p.stdinPath, os.O_RDONLY, 0)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.stdinW == nil { // CloseIO or close came first
		p.mu.Unlock()
		f.Close()
		return
	}
	p.stdinF = f
	p.mu.Unlock()
	io.Copy(w, f)
	p.closeStdin()
}

// afterSpawn closes the process's ends and, for a terminal, takes the pty
// master and starts the relays.
func (p *procIO) afterSpawn(fromEngine *os.File) error {
	for _, f := range []*os.File{p.childIn, p.childOut, p.childErr, p.consoleRemote} {
		if f != nil {
			f.Close()
		}
	}
	p.childIn, p.childOut, p.childErr, p.consoleRemote = nil, nil, nil, nil
	if p.console == nil {
		return nil
	}
	master := fromEngine
	if master == nil {
		var err error
		if master, err = terminal.RecvMaster(p.console); err != nil {
			return err
		}
	}
	p.console.Close()
	p.console = nil
	p.master = master
	p.copies.Add(1)
	go func() {
		defer p.copies.Done()
		io.Copy(p.out, master) // ends with EIO when the last slave fd closes
	}()
	if p.stdinPath != "" {
		p.mu.Lock()
		p.stdinW = master
		p.mu.Unlock()
		go p.copyStdin(nopCloser{master})
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// resize sets the terminal's window size.
func (p *procIO) resize(width, height uint32) error {
	if p.master == nil {
		return fmt.Errorf("process has no terminal: %w", errPrecondition)
	}
	return terminal.Resize(p.master, uint(height), uint(width))
}

// closeStdin is CloseIO: the process sees end of input.
func (p *procIO) closeStdin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdinW != nil && p.stdinW != io.WriteCloser(p.master) {
		p.stdinW.Close()
	}
	p.stdinW = nil
	if p.stdinF != nil {
		p.stdinF.Close()
		p.stdinF = nil
	}
}

// wait lets a terminal's output reach containerd before the exit is told.
func (p *procIO) wait() { p.copies.Wait() }

// close releases everything (the process has exited).
func (p *procIO) close() {
	p.closeStdin()
	p.unblockStdin()
	for _, f := range []*os.File{p.childIn, p.childOut, p.childErr, p.console, p.consoleRemote, p.master, p.out} {
		if f != nil {
			f.Close()
		}
	}
	p.master, p.out = nil, nil
	p.logger.finish()
	p.logger = nil
}

// unblockStdin ends a copyStdin still waiting in open(2) for a writer that
// never came, by being that writer for a moment.
func (p *procIO) unblockStdin() {
	if p.stdinPath == "" {
		return
	}
	if fd, err := unix.Open(p.stdinPath, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
	}
}
