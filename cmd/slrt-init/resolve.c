/*
 * Container paths resolved inside the rootfs: every lookup is
 * openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) from the root's fd, and
 * whatever is created is created relative to an fd resolved that way,
 * never by a host path string, so a symlink in the image ("evil -> /etc",
 * "x -> ../../../../tmp") cannot lead outside the rootfs (CVE-2021-30465
 * and its kind).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "rootfs.h"

#define RESOLVE_NO_MAGICLINKS 0x02ULL
#define RESOLVE_IN_ROOT 0x10ULL
#define STATX_MNT_ID 0x1000U

struct open_how_args {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

/* The kernel's struct statx up to stx_mnt_id, padded to its full size. */
struct statx_args {
	uint32_t mask;
	uint32_t blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	struct { int64_t sec; uint32_t nsec; int32_t reserved; } atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint64_t spare[13];
};
_Static_assert(offsetof(struct statx_args, mnt_id) == 0x90, "statx layout");
_Static_assert(sizeof(struct statx_args) == 0x100, "statx size");

void rootfs_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno; /* callers read errno after an early return */
		close(*fd);
		errno = saved;
	}
}

int sys_mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr_args *attr)
{
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr));
}

int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to, unsigned flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags);
}

struct fd_path fd_path(int fd)
{
	struct fd_path p;
	snprintf(p.s, sizeof(p.s), "/proc/self/fd/%d", fd);
	return p;
}

int mount_id(int fd, uint64_t *id)
{
	struct statx_args st;
	memset(&st, 0, sizeof(st));
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &st) < 0)
		return -1;
	*id = st.mnt_id;
	return 0;
}

bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int split_path(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path) {
		snprintf(dir, dirlen, "/");
		*base = slash && slash[1] ? slash + 1 : path;
		return 0;
	}
	size_t n = (size_t)(slash - path);
	if (n >= dirlen)
		return errorf("path %s: too long", path);
	memcpy(dir, path, n);
	dir[n] = '\0';
	*base = slash + 1;
	return 0;
}

int root_open_dir(struct root *r, const char *path)
{
	r->path = path;
	r->in[0] = '\0';
	if (strcmp(path, "/") != 0 &&
	    snprintf(r->in, sizeof(r->in), " (in %s)", path) >= (int)sizeof(r->in))
		return errorf("rootfs %s: path too long", path);
	r->fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return errnof("open rootfs %s", path);
	return 0;
}

void root_close(struct root *r)
{
	rootfs_closep(&r->fd);
	r->fd = -1;
}

int root_resolve(const struct root *r, const char *path, uint64_t flags)
{
	const char *rel = path;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		rel = ".";
	struct open_how_args how = {
		.flags = O_PATH | O_CLOEXEC | flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (;;) {
		long fd = syscall(SYS_openat2, r->fd, rel, &how, sizeof(how));
		/* EAGAIN: a rename raced the lookup; the kernel asks us to retry. */
		if (fd < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		return (int)fd;
	}
}

/* resolve_made resolves path again from the root after step (mkdir,
 * create) made its last component name. The step may have found it there
 * already (EEXIST) and yet the path not resolve: a dangling symlink.
 * Following it would mean creating its target by hand; refuse as runc
 * (filepath-securejoin) does. */
static int resolve_made(const struct root *r, const char *path, const char *name, uint64_t flags,
			const char *step)
{
	int fd = root_resolve(r, path, flags);
	if (fd < 0 && errno == ENOENT)
		return errorf("%s " WHERE ": %s is a dangling symlink", step, W(r, path), name);
	if (fd < 0)
		return errnof("open " WHERE, W(r, path));
	return fd;
}

/* mkdir_at creates name under the resolved parent and resolves path again
 * from the root: a component swapped for a symlink meanwhile still lands
 * inside it. */
static int mkdir_at(const struct root *r, int parent, const char *path, const char *name,
		    unsigned mode)
{
	if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
		return errnof("mkdir " WHERE, W(r, path));
	return resolve_made(r, path, name, O_DIRECTORY, "mkdir");
}

/* root_mkdir_all returns an O_PATH fd of directory path, creating the
 * missing components one by one from the top (iterative: a path of
 * thousands of components must not need a deep C stack). */
int root_mkdir_all(const struct root *r, const char *path, unsigned mode)
{
	int fd = root_resolve(r, path, O_DIRECTORY);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return errnof("open " WHERE, W(r, path));
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return errorf("mkdir %s: path too long", path);
	int parent = root_resolve(r, "/", O_DIRECTORY);
	if (parent < 0)
		return errnof("open " WHERE, W(r, "/"));
	char *name = buf + 1;
	while (*name) {
		char *end = strchrnul(name, '/');
		bool last = *end == '\0';
		*end = '\0';
		fd = root_resolve(r, buf, O_DIRECTORY);
		if (fd < 0 && errno == ENOENT)
			fd = mkdir_at(r, parent, buf, name, last ? mode : 0755);
		else if (fd < 0)
			fd = errnof("open " WHERE, W(r, buf));
		rootfs_closep(&parent);
		if (fd < 0)
			return -1;
		parent = fd;
		if (last)
			break;
		*end = '/';
		name = end + 1;
	}
	return parent;
}

/* make_node creates an empty file or a directory name under parent,
 * accepting one that exists. */
static int make_node(const struct root *r, int parent, const char *path, const char *name,
		     bool file)
{
	if (!file) {
		if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
			return errnof("mkdir " WHERE, W(r, path));
		return 0;
	}
	/* O_NOFOLLOW|O_EXCL: never create through a symlink. */
	int f = openat(parent, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644);
	if (f < 0 && errno != EEXIST)
		return errnof("create " WHERE, W(r, path));
	if (f >= 0)
		close(f);
	return 0;
}

/* root_create returns an O_PATH fd of path, creating it (and its parents)
 * when missing: an empty file when file is set, else a directory. */
int root_create(const struct root *r, const char *path, bool file)
{
	int fd = root_resolve(r, path, 0);
	if (fd >= 0)
		return fd;
	if (errno != ENOENT)
		return errnof("open " WHERE, W(r, path));
	char dir[PATH_MAX];
	const char *name;
	if (split_path(path, dir, sizeof(dir), &name) < 0)
		return -1;
	autoclose int parent = root_mkdir_all(r, dir, 0755);
	if (parent < 0)
		return -1;
	if (make_node(r, parent, path, name, file) < 0)
		return -1;
	return resolve_made(r, path, name, 0, "create");
}

/* root_reopen resolves path again after a mount on it: the fd used for
 * mounting still names the directory underneath, and remounts and
 * propagation changes must reach the new mount. A path that still leads
 * to the old mount means it was swapped meanwhile. */
int root_reopen(const struct root *r, const char *path, uint64_t before)
{
	autoclose int fd = root_resolve(r, path, 0);
	if (fd < 0)
		return errnof("reopen " WHERE " after mount", W(r, path));
	uint64_t id;
	if (mount_id(fd, &id) < 0)
		return errnof("statx " WHERE, W(r, path));
	if (id == before)
		return errorf("reopen " WHERE " after mount: path no longer leads to the new mount",
			      W(r, path));
	int out = fd;
	fd = -1;
	return out;
}
