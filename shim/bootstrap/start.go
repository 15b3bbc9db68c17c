package bootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// SandboxAnnotation groups a pod's containers into one shim.
const SandboxAnnotation = "io.kubernetes.cri.sandbox-id"

// maxStdin bounds what start reads from containerd (a BootstrapParams or an
// options Any: a few hundred bytes).
const maxStdin = 1 << 20

// Env is the environment start reads (os.Getenv in the binary).
type Env func(string) string

// Start answers containerd's `start`: it finds the pod's running shim or
// launches one, and returns the reply in the form this containerd accepts.
func Start(f *Flags, stdin io.Reader, getenv Env) ([]byte, error) {
	var in []byte
	if stdin != nil {
		in, _ = io.ReadAll(io.LimitReader(stdin, maxStdin))
	}
	format, params := Choose(in, f.ID, f.Namespace, getenv("MAX_SHIM_VERSION"))
	bundle, err := bundleDir(f)
	if err != nil {
		return nil, err
	}
	group := f.ID
	if id := sandboxID(bundle); id != "" {
		group = id
	}
	dir, ttrpcAddr := DefaultSocketDir, getenv("TTRPC_ADDRESS")
	if params != nil {
		if params.SocketDir != nil && *params.SocketDir != "" {
			dir = *params.SocketDir
		}
		if ttrpcAddr == "" {
			ttrpcAddr = params.ContainerdTtrpcAddress
		}
	}
	path, err := SocketPath(dir, f.Address, f.Namespace, group)
	if err != nil {
		return nil, err
	}
	address := "unix://" + path
	if !alive(path) {
		if err := launch(f, bundle, path, ttrpcAddr); err != nil {
			// Another start of the same pod may have won the race.
			if !alive(path) {
				return nil, err
			}
		}
	}
	if err := writeAddress(filepath.Join(bundle, "address"), address); err != nil {
		return nil, err
	}
	return Encode(format, address)
}

// writeAddress records the shim's address in the bundle, as containerd's
// own shims do: containerd 1.6 and 1.7 read bundle/address to reconnect to
// running shims after a restart (without it they treat the shim as dead and
// lose the task); 2.x keeps its own bootstrap.json and ignores it.
func writeAddress(path, address string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(address), 0o600); err != nil {
		return fmt.Errorf("write shim address: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write shim address: %w", err)
	}
	return nil
}

func bundleDir(f *Flags) (string, error) {
	if f.Bundle != "" {
		return filepath.Abs(f.Bundle)
	}
	return os.Getwd() // containerd runs start in the bundle
}

// sandboxID reads the pod's sandbox id from the bundle's config.json.
func sandboxID(bundle string) string {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return ""
	}
	var s struct {
		Annotations map[string]string `json:"annotations"`
	}
	if json.Unmarshal(b, &s) != nil {
		return ""
	}
	return s.Annotations[SandboxAnnotation]
}

// launch binds the socket and re-execs this binary as the daemon with the
// listener as fd 3. The daemon gets /dev/null for stdio: containerd reads
// start's stdout until every writer closes it, so an inherited stdout would
// hang (or corrupt) the reply.
func launch(f *Flags, bundle, path, ttrpcAddr string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o711); err != nil {
		return fmt.Errorf("create socket dir: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	defer l.Close()
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	lf, err := l.(*net.UnixListener).File()
	if err != nil {
		return fmt.Errorf("listener fd: %w", err)
	}
	defer lf.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-namespace", f.Namespace, "-id", f.ID, "-address", f.Address,
		"-publish-binary", f.PublishBinary, "-socket", "unix://" + path}
	if f.Debug {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = bundle
	cmd.Env = os.Environ()
	if ttrpcAddr != "" {
		cmd.Env = append(cmd.Env, "TTRPC_ADDRESS="+ttrpcAddr)
	}
	cmd.ExtraFiles = []*os.File{lf}
	// Own session: containerd's signals to its group do not reach the
	// shim, and the shim outlives this start process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		os.Remove(path)
		return fmt.Errorf("start shim daemon: %w", err)
	}
	// The daemon is not our child for long: we exit right after replying,
	// and it is reparented to containerd's subreaper or init.
	go cmd.Wait()
	return nil
}

// logFifo is containerd's per-bundle shim log ("log" fifo in the bundle);
// the daemon writes its stderr there when containerd created one.
func logFifo(bundle string) *os.File {
	path := filepath.Join(bundle, "log")
	st, err := os.Stat(path)
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		return nil
	}
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	unix.SetNonblock(fd, false)
	return os.NewFile(uintptr(fd), path)
}
