package container

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/namespaces"
)

// A container may be created inside an existing user namespace, given by
// path in linux.namespaces (containerd 2.x does this for a Kubernetes pod
// with hostUsers: false: it makes and pins one user namespace per pod, and
// the sandbox and every app container join it). Its mappings are fixed
// already, so nothing is written to uid_map; the spec's mappings, when
// given, must be the namespace's. The other new namespaces must be made
// after the join, so that the joined namespace owns them and its root may
// mount in them: the Go process cannot join a user namespace (it is
// multi-threaded), so slrt-nsenter joins, clones the init with those
// namespaces as the engine's child, and the engine learns the init's pid
// from the first message on the sync socket (readNsenterPid).

// joinedUserNS returns s with linux.uidMappings/gidMappings filled from
// the user namespace it joins, when it joins one and gives none (runc
// does the same): idmapped mounts without mappings of their own, and
// anyone reading the saved spec, need them. A spec that gives mappings
// is returned as it is and checked against the namespace after the spawn
// (checkJoinedMaps). s itself is never changed: it may be the caller's.
func joinedUserNS(s *specs.Spec, ns *namespaces.Config) (*specs.Spec, error) {
	path := ns.Join[specs.UserNamespace]
	if path == "" {
		return s, nil
	}
	uids, gids := s.Linux.UIDMappings, s.Linux.GIDMappings
	if (len(uids) == 0) != (len(gids) == 0) {
		return nil, fmt.Errorf("linux.uidMappings/gidMappings: give both or neither to join the user namespace %s", path)
	}
	if len(uids) > 0 {
		return s, nil
	}
	uids, gids, err := userNSMaps(path)
	if err != nil {
		return nil, fmt.Errorf("linux.namespaces: user namespace %s: %w", path, err)
	}
	lx := *s.Linux
	lx.UIDMappings, lx.GIDMappings = uids, gids
	out := *s
	out.Linux = &lx
	return &out, nil
}

// procNSPid returns PID for a path /proc/PID/ns/user (whose process shows
// the maps), else 0. Not a regexp: compiling one at package init cost every
// slrt command page faults.
func procNSPid(path string) int {
	rest, ok := strings.CutPrefix(path, "/proc/")
	if !ok {
		return 0
	}
	digits, ok := strings.CutSuffix(rest, "/ns/user")
	if !ok || digits == "" || digits[0] == '0' || len(digits) > 9 {
		return 0
	}
	pid := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0
		}
		pid = pid*10 + int(c-'0')
	}
	return pid
}

// userNSMaps reads the mappings of the user namespace at path. For
// /proc/PID/ns/user they are that process's uid_map and gid_map, taken
// only if the process is still in the same namespace afterwards (its pid
// may have been reused meanwhile). Any other path (a bind-mounted
// namespace file, like containerd's pinned one) has no process to read:
// a throwaway init is cloned into it, as a container's would be, and read.
func userNSMaps(path string) (uids, gids []specs.LinuxIDMapping, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if pid := procNSPid(path); pid > 0 {
		uids, gids, err := procMaps(pid)
		if err == nil && sameFile(f, path) {
			return uids, gids, nil
		}
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	defer null.Close()
	// The new mount namespace is only there to clone with (nsenter needs
	// some flag to clone at all); it goes with the probe.
	kid, err := spawn(&spawnReq{cloneFlags: unix.CLONE_NEWNS, userns: f, stdin: null, stdout: null, stderr: null})
	if err != nil {
		return nil, nil, err
	}
	defer kid.kill()
	return procMaps(kid.cmd.Process.Pid)
}

func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// procMaps reads /proc/PID/uid_map and gid_map.
func procMaps(pid int) (uids, gids []specs.LinuxIDMapping, err error) {
	if uids, err = readIDMap(fmt.Sprintf("/proc/%d/uid_map", pid)); err != nil {
		return nil, nil, err
	}
	if gids, err = readIDMap(fmt.Sprintf("/proc/%d/gid_map", pid)); err != nil {
		return nil, nil, err
	}
	return uids, gids, nil
}

// readIDMap parses a uid_map or gid_map: "INSIDE OUTSIDE COUNT" per line.
func readIDMap(path string) ([]specs.LinuxIDMapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseIDMap(path, b)
}

func parseIDMap(name string, b []byte) ([]specs.LinuxIDMapping, error) {
	var out []specs.LinuxIDMapping
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) == 0 {
			continue
		}
		var n [3]uint32
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: malformed line %q", name, line)
		}
		for i := range f {
			v, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%s: malformed line %q", name, line)
			}
			n[i] = uint32(v)
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: n[0], HostID: n[1], Size: n[2]})
	}
	return out, nil
}

// checkJoinedMaps compares the spec's mappings with those of the user
// namespace the init at pid joined. A mismatch is refused, as runc does:
// the ids the spec was written for (the rootfs and volume owners, the
// idmapped mounts) would not be the ones the container gets.
func checkJoinedMaps(pid int, s *specs.Spec, path string) error {
	uids, gids, err := procMaps(pid)
	if err != nil {
		return fmt.Errorf("read the mappings of the user namespace %s: %w", path, err)
	}
	for _, c := range []struct {
		field     string
		spec, got []specs.LinuxIDMapping
	}{{"uidMappings", s.Linux.UIDMappings, uids}, {"gidMappings", s.Linux.GIDMappings, gids}} {
		if !sameMaps(c.spec, c.got) {
			return fmt.Errorf("linux.%s %s do not match the user namespace %s, which maps %s", c.field, fmtMaps(c.spec), path, fmtMaps(c.got))
		}
	}
	return nil
}

// sameMaps compares two sets of mappings in any order (the kernel may
// show them sorted).
func sameMaps(a, b []specs.LinuxIDMapping) bool {
	cmp := func(x, y specs.LinuxIDMapping) int { return int(int64(x.ContainerID) - int64(y.ContainerID)) }
	a, b = slices.SortedFunc(slices.Values(a), cmp), slices.SortedFunc(slices.Values(b), cmp)
	return slices.Equal(a, b)
}

// fmtMaps writes mappings as "[INSIDE:OUTSIDE:COUNT ...]".
func fmtMaps(m []specs.LinuxIDMapping) string {
	parts := make([]string, len(m))
	for i, x := range m {
		parts[i] = fmt.Sprintf("%d:%d:%d", x.ContainerID, x.HostID, x.Size)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// readNsenterPid waits for slrt-nsenter (started as cmd, in clone mode) to
// clone the init, and returns the init. The init's first record on the
// sync socket is "P", with its pid in the credentials the kernel attaches
// (SO_PASSCRED is on for fd until then); a failing helper sends "E<errno>
// <what>" instead, and one that dies leaves EOF. The helper is reaped here.
func readNsenterPid(cmd *exec.Cmd, fd int) (*os.Process, error) {
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	waitErr := cmd.Wait()
	if err != nil {
		return nil, fmt.Errorf("read the init's pid from slrt-nsenter: %w", err)
	}
	switch msg := string(buf[:n]); {
	case n == 0:
		return nil, fmt.Errorf("slrt-nsenter exited before cloning the init (%v; see its stderr)", waitErr)
	case msg[0] == 'E':
		return nil, nsenterErr(msg[1:])
	case msg != "P":
		return nil, fmt.Errorf("slrt-nsenter: unexpected message %q", msg)
	}
	pid, err := credPid(oob[:oobn])
	if err != nil {
		return nil, err
	}
	// Found by pid: the init is our child and unreaped, so the pid is its.
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil, fmt.Errorf("find the init (pid %d): %w", pid, err)
	}
	if waitErr != nil {
		err = fmt.Errorf("slrt-nsenter: %w", waitErr)
	} else if e := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 0); e != nil {
		// Later records would carry credentials the channel does not expect.
		err = fmt.Errorf("turn off SO_PASSCRED on the sync socket: %w", e)
	}
	if err != nil {
		_ = p.Kill()
		_, _ = p.Wait()
		return nil, err
	}
	return p, nil
}

func credPid(oob []byte) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, fmt.Errorf("the init's pid message: %w", err)
	}
	for i := range msgs {
		if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil && cred.Pid > 0 {
			return int(cred.Pid), nil
		}
	}
	return 0, errors.New("the init's pid message carries no credentials")
}

// nsenterErr turns "<errno> <what>" into "what: strerror".
func nsenterErr(s string) error {
	num, what, _ := strings.Cut(s, " ")
	if e, err := strconv.Atoi(num); err == nil {
		return fmt.Errorf("slrt-nsenter: %s: %w", what, syscall.Errno(e))
	}
	return fmt.Errorf("slrt-nsenter: %s", s)
}
