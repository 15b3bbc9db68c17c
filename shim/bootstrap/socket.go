package bootstrap

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// DefaultSocketDir is where shim sockets go when containerd does not say
// (before 2.3 it never does; 1.6 hard-codes this directory too).
const DefaultSocketDir = "/run/containerd/s"

// maxSocketPath is the longest unix socket path the kernel takes
// (sun_path is 108 bytes with the terminating NUL).
const maxSocketPath = 107

// SocketPath is the pod's shim socket: in dir, named by a hash of the
// containerd address, namespace and group (the pod's sandbox id), so every
// container of a pod finds the same shim and two containerds never share
// one. The name is shortened to fit a long socket_dir.
func SocketPath(dir, containerdAddress, namespace, group string) (string, error) {
	sum := sha256.Sum256([]byte(containerdAddress + "\x00" + namespace + "\x00" + group))
	name := hex.EncodeToString(sum[:])
	room := maxSocketPath - len(filepath.Clean(dir)) - 1
	if room < 32 {
		return "", fmt.Errorf("socket dir %s is too long for a unix socket path (max %d bytes)", dir, maxSocketPath)
	}
	if len(name) > room {
		name = name[:room]
	}
	return filepath.Join(dir, name), nil
}

// alive tells whether a shim answers on the socket.
func alive(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// socketFromAddress strips "unix://".
func socketFromAddress(a string) string { return strings.TrimPrefix(a, "unix://") }
