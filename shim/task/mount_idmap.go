package task

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/slrt/slrt/runtime/container"
)

// A user-namespaced pod (Kubernetes hostUsers: false) gets its rootfs from
// containerd 2.x's overlay snapshotter with the options uidmap=C:H:S and
// gidmap=C:H:S (several mappings joined by ","), which are not filesystem
// options: the mounter must show the image's files through idmapped
// mounts, so that root-owned files of the layers appear owned by the
// pod's root. For overlay that is each lowerdir (the upper dir belongs to
// the pod's ids already: the snapshotter chowned it); a one-layer snapshot
// comes as a bind mount, which is idmapped as a whole.

// idmapOptions takes the uidmap=/gidmap= options out of opts.
func idmapOptions(opts []string) (rest []string, uids, gids []syscall.SysProcIDMap, err error) {
	for _, o := range opts {
		var dst *[]syscall.SysProcIDMap
		v, isUID := strings.CutPrefix(o, "uidmap=")
		if isUID {
			dst = &uids
		} else if g, isGID := strings.CutPrefix(o, "gidmap="); isGID {
			v, dst = g, &gids
		} else {
			rest = append(rest, o)
			continue
		}
		if *dst != nil {
			return nil, nil, nil, fmt.Errorf("option %q given twice: %w", o[:6], errInvalid)
		}
		if *dst, err = parseIDMaps(v); err != nil {
			return nil, nil, nil, fmt.Errorf("option %q: %w: %w", o, err, errInvalid)
		}
	}
	if (uids == nil) != (gids == nil) {
		// containerd ignores a lone one; a rootfs meant to be remapped
		// but shown unmapped would have every file owned by nobody.
		return nil, nil, nil, fmt.Errorf("uidmap and gidmap options go together, got only one: %w", errInvalid)
	}
	return rest, uids, gids, nil
}

// parseIDMaps parses "C:H:S[,C:H:S...]" (container id, host id, size).
func parseIDMaps(s string) ([]syscall.SysProcIDMap, error) {
	var out []syscall.SysProcIDMap
	for _, m := range strings.Split(s, ",") {
		f := strings.Split(m, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("mapping %q is not container:host:size", m)
		}
		var n [3]int
		for i, x := range f {
			v, err := strconv.ParseUint(x, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("mapping %q: %q is not an id", m, x)
			}
			n[i] = int(v)
		}
		if n[2] == 0 {
			return nil, fmt.Errorf("mapping %q has size 0", m)
		}
		out = append(out, syscall.SysProcIDMap{ContainerID: n[0], HostID: n[1], Size: n[2]})
	}
	return out, nil
}

// idmapper makes the idmapped mounts of one rootfs mount and undoes its
// temporary ones.
type idmapper struct {
	userns *os.File
	tmp    string   // temporary mount points of idmapped lowerdirs
	points []string // those mounted
}

func newIDMapper(uids, gids []syscall.SysProcIDMap) (*idmapper, error) {
	ns, err := container.MappedUserNS(uids, gids)
	if err != nil {
		return nil, err
	}
	return &idmapper{userns: ns}, nil
}

// clone returns a detached copy of path carrying the mapping.
func (m *idmapper) clone(path string, recursive bool) (int, error) {
	flags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	setFlags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
		setFlags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, flags)
	if err != nil {
		return -1, fmt.Errorf("idmap %s: clone: %w", path, err)
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(m.userns.Fd())}
	if err := unix.MountSetattr(fd, "", setFlags, &attr); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EINVAL) {
			err = fmt.Errorf("%w (its filesystem cannot be idmapped, or the kernel predates 5.12)", err)
		}
		return -1, fmt.Errorf("idmap %s: %w", path, err)
	}
	return fd, nil
}

// bind mounts an idmapped copy of source on target.
func (m *idmapper) bind(source, target string, recursive bool) error {
	fd, err := m.clone(source, recursive)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("attach idmapped %s on %s: %w", source, target, err)
	}
	return nil
}

// overlayLowers returns the overlay data with every lowerdir replaced by
// an idmapped copy mounted on a temporary directory under dir (overlayfs
// takes layers by path; it keeps its own private clones of them, so the
// temporary mounts go again right after the overlay is mounted).
func (m *idmapper) overlayLowers(data, dir string) (string, error) {
	opts := strings.Split(data, ",")
	idx := -1
	for i, o := range opts {
		if strings.HasPrefix(o, "lowerdir=") {
			idx = i
		}
	}
	if idx < 0 {
		return "", fmt.Errorf("overlay with uidmap/gidmap but no lowerdir: %w", errInvalid)
	}
	tmp, err := os.MkdirTemp(dir, "idmap-lower-")
	if err != nil {
		return "", fmt.Errorf("idmapped lowerdirs: %w", err)
	}
	m.tmp = tmp
	lowers := strings.Split(strings.TrimPrefix(opts[idx], "lowerdir="), ":")
	for i, l := range lowers {
		p := filepath.Join(tmp, strconv.Itoa(i))
		if err := os.Mkdir(p, 0o700); err != nil {
			return "", fmt.Errorf("idmapped lowerdirs: %w", err)
		}
		if err := m.bind(l, p, false); err != nil {
			return "", err
		}
		m.points = append(m.points, p)
		lowers[i] = p
	}
	opts[idx] = "lowerdir=" + strings.Join(lowers, ":")
	return strings.Join(opts, ","), nil
}

// close detaches the temporary mounts, removes their directories (only
// once empty: never a recursive removal under a mount) and the namespace.
func (m *idmapper) close() {
	for _, p := range m.points {
		unix.Unmount(p, unix.MNT_DETACH)
	}
	if m.tmp != "" {
		ents, _ := os.ReadDir(m.tmp)
		for _, e := range ents {
			os.Remove(filepath.Join(m.tmp, e.Name()))
		}
		os.Remove(m.tmp)
	}
	m.userns.Close()
}
