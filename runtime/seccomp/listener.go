package seccomp

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ConnectListener connects to linux.seccomp.listenerPath (a SOCK_STREAM
// unix socket). The engine passes the connection to slrt-init, which sends
// the notify fd on it once the filter is loaded.
func ConnectListener(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.listenerPath: socket: %w", err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("linux.seccomp.listenerPath: connect to %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ProcessState is the ContainerProcessState (runtime-spec
// config-linux.md#the-container-process-state) the listener receives, for
// the process pid (in the runtime's pid namespace) of the container whose
// state is st. The "fds" member is left out: slrt-init adds it when it
// sends the state together with the fd (package seccomp/loader).
func ProcessState(pid int, metadata string, st specs.State) ([]byte, error) {
	b, err := json.Marshal(struct {
		Version  string      `json:"ociVersion"`
		Pid      int         `json:"pid"`
		Metadata string      `json:"metadata,omitempty"`
		State    specs.State `json:"state"`
	}{specs.Version, pid, metadata, st})
	if err != nil {
		return nil, fmt.Errorf("encode seccomp listener state: %w", err)
	}
	return b, nil
}
