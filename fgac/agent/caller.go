package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// caller is the process behind one notification, pinned: every file the
// agent opens about it goes through dir, a /proc/PID directory fd opened
// before ID_VALID was checked. Should the caller die and its pid be reused,
// opens through dir fail (the fd names the old process, not the number)
// rather than reach the new process.
type caller struct {
	pid int
	dir int // O_PATH fd of /proc/PID
	mem int // /proc/PID/mem, read with pread
}

// pathMax is PATH_MAX: the longest path the kernel copies from a caller.
const pathMax = 4096

// openCaller opens /proc/PID and /proc/PID/mem, then checks that
// notification id is still valid (the order seccomp_unotify(2) asks for).
func openCaller(notifyFD int, n *notif) (*caller, error) {
	dir, err := unix.Open("/proc/"+strconv.Itoa(int(n.Pid)), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /proc/%d: %w", n.Pid, err)
	}
	mem, err := unix.Openat(dir, "mem", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(dir)
		return nil, fmt.Errorf("open /proc/%d/mem: %w", n.Pid, err)
	}
	c := &caller{pid: int(n.Pid), dir: dir, mem: mem}
	if !idValid(notifyFD, n.ID) {
		c.close()
		return nil, errGone
	}
	return c, nil
}

func (c *caller) close() {
	unix.Close(c.mem)
	unix.Close(c.dir)
}

// open opens a file of /proc/PID (e.g. "root", "ns/mnt").
func (c *caller) open(name string, flags int) (int, error) {
	fd, err := unix.Openat(c.dir, name, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /proc/%d/%s: %w", c.pid, name, err)
	}
	return fd, nil
}

func (c *caller) readFile(name string) ([]byte, error) {
	fd, err := c.open(name, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(f)
	return buf.Bytes(), err
}

// readString copies the NUL-terminated string at addr, at most max bytes
// with the NUL, page by page (the next page may be unmapped). This is the
// one copy the agent decides on and acts on; the caller's memory is not
// read again.
func (c *caller) readString(addr uint64, max int) (string, error) {
	if addr == 0 {
		return "", unix.EFAULT
	}
	var out []byte
	for len(out) < max {
		chunk := 4096 - int(addr%4096)
		chunk = min(chunk, max-len(out))
		buf := make([]byte, chunk)
		n, err := unix.Pread(c.mem, buf, int64(addr))
		if n <= 0 {
			if err == nil {
				err = unix.EFAULT
			}
			return "", unix.EFAULT
		}
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf[:n]...)
		addr += uint64(n)
	}
	return "", unix.ENAMETOOLONG
}

// creds are the caller's filesystem credentials, host ids (the agent
// reads /proc from the initial user namespace).
type creds struct {
	fsuid, fsgid int
	groups       []int
	umask        int
}

func (c *caller) creds() (creds, error) {
	cr := creds{umask: 0o022}
	b, err := c.readFile("status")
	if err != nil {
		return cr, err
	}
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		f := strings.Fields(v)
		switch {
		case k == "Uid" && len(f) == 4:
			cr.fsuid, err = strconv.Atoi(f[3])
			seen++
		case k == "Gid" && len(f) == 4:
			cr.fsgid, err = strconv.Atoi(f[3])
			seen++
		case k == "Groups":
			for _, g := range f {
				n, e := strconv.Atoi(g)
				if e != nil {
					err = e
				}
				cr.groups = append(cr.groups, n)
			}
		case k == "Umask":
			var u uint64
			u, err = strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			cr.umask = int(u)
		}
		if err != nil {
			return cr, fmt.Errorf("/proc/%d/status: %s: %w", c.pid, k, err)
		}
	}
	if seen != 2 {
		return cr, fmt.Errorf("/proc/%d/status: no Uid/Gid", c.pid)
	}
	return cr, nil
}

// mapID maps a container id to the host through /proc/PID/uid_map or
// gid_map; without a user namespace the map is the identity.
func (c *caller) mapID(file string, id int64) (int, error) {
	b, err := c.readFile(file)
	if err != nil {
		return -1, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, e1 := strconv.ParseInt(f[0], 10, 64)
		out, e2 := strconv.ParseInt(f[1], 10, 64)
		n, e3 := strconv.ParseInt(f[2], 10, 64)
		if e1 == nil && e2 == nil && e3 == nil && id >= in && id < in+n {
			return int(out + id - in), nil
		}
	}
	return -1, fmt.Errorf("%s: %d is not mapped", file, id)
}

// nsIno is the inode of /proc/PID/ns/KIND (the namespace's identity).
func (c *caller) nsIno(kind string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(c.dir, "ns/"+kind, &st, 0); err != nil {
		return 0, fmt.Errorf("stat /proc/%d/ns/%s: %w", c.pid, kind, err)
	}
	return st.Ino, nil
}

// ownNsIno is the agent's own namespace of a kind: the agent never acts
// in it (a container sharing the host's mount or UTS namespace would
// otherwise change the host).
func ownNsIno(kind string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/"+kind, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
