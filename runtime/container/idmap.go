package container

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/channel"
	"github.com/slrt/slrt/runtime/inithelper"
	"github.com/slrt/slrt/runtime/rootfs"
)

// idmapMounts prepares the plan's idmapped mounts (mounts[].uidMappings,
// "idmap"/"ridmap") before the init is spawned: for each, a user namespace
// carrying the mount's mapping (or the container's, when the mount gives
// none) and a detached, idmapped copy of the source, passed to the init as
// an extra file that it moves onto the target. It returns the files for
// the caller to close once the init has them.
func idmapMounts(s *specs.Spec, plan *channel.Plan, req *spawnReq) (_ []*os.File, retErr error) {
	var files []*os.File
	userns := map[string]*os.File{} // one namespace per distinct mapping
	defer func() {
		for _, f := range userns {
			f.Close()
		}
		if retErr != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	for i := range plan.Rootfs.Mounts {
		pm := &plan.Rootfs.Mounts[i]
		if !pm.IDMap {
			continue
		}
		uids, gids := s.Mounts[i].UIDMappings, s.Mounts[i].GIDMappings
		if len(uids) == 0 {
			uids, gids = s.Linux.UIDMappings, s.Linux.GIDMappings
		}
		key := fmt.Sprint(uids, gids)
		ns := userns[key]
		if ns == nil {
			var err error
			if ns, err = mappedUserNS(idMaps(uids), idMaps(gids)); err != nil {
				return nil, fmt.Errorf("mounts[%d] (%s): %w", i, pm.Target, err)
			}
			userns[key] = ns
		}
		f, err := rootfs.OpenIDMapped(pm, int(ns.Fd()))
		if err != nil {
			return nil, fmt.Errorf("mounts[%d]: %w", i, err)
		}
		files = append(files, f)
		pm.MountFD = req.pass(f)
	}
	return files, nil
}

// MappedUserNS is mappedUserNS for callers that idmap mounts of their own
// (the shim's rootfs of a user-namespaced pod).
func MappedUserNS(uids, gids []syscall.SysProcIDMap) (*os.File, error) {
	return mappedUserNS(uids, gids)
}

// mappedUserNS returns an fd of a new user namespace with the given maps.
// A multi-threaded Go process cannot unshare one, so a short-lived child
// is cloned into it (the init helper, which just waits for a plan on fd 3
// that never comes); the namespace outlives the child through the fd.
func mappedUserNS(uids, gids []syscall.SysProcIDMap) (*os.File, error) {
	path, closeHelper, err := helperPath(inithelper.Path, 1)
	if err != nil {
		return nil, err
	}
	defer closeHelper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create user namespace holder socket: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "holder"), os.NewFile(uintptr(fds[1]), "holder")
	defer ours.Close()
	cmd := &exec.Cmd{
		Path:       path,
		Args:       []string{"slrt-init"},
		Env:        []string{},
		ExtraFiles: []*os.File{theirs},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: uids,
			GidMappings: gids,
			Pdeathsig:   unix.SIGKILL,
		},
	}
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return nil, fmt.Errorf("create user namespace for the idmapping: %w", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	// Start returns after execve, so the maps are written by now.
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid))
	if err != nil {
		return nil, fmt.Errorf("open the idmapping's user namespace: %w", err)
	}
	return ns, nil
}
