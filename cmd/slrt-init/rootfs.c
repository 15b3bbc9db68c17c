/*
 * The container's filesystem, built from inside its new mount namespace
 * from the plan runtime/rootfs.Plan made (the parser of the spec lives
 * there; nothing is parsed here). Every container path is resolved inside
 * the rootfs (resolve.c) and mounted through /proc/self/fd, so a symlink in
 * the image can never send a mount to the host. The messages are those of
 * the Go init this replaced, which tests and users match on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "init.h"
#include "rootfs.h"

#define RAMFS_MAGIC 0x858458f6
#define TMPFS_MAGIC 0x01021994

/* make_parent_private makes the mount holding the rootfs private when "/"
 * was made shared: pivot_root(2) fails with EINVAL if the new root's parent
 * mount is shared, and the rootfs bind would join the host's peer group. */
static int make_parent_private(const char *rootfs)
{
	char real[PATH_MAX];
	if (!realpath(rootfs, real))
		return errnof("resolve rootfs %s", rootfs);
	struct mountinfo mi;
	if (mountinfo_read("/proc/self/mountinfo", &mi) < 0)
		return -1;
	const char *parent = "/";
	for (size_t i = 0; i < mi.n; i++)
		if (path_under(real, mi.e[i].point) && strlen(mi.e[i].point) > strlen(parent))
			parent = mi.e[i].point;
	int ret = 0;
	if (mount(NULL, parent, NULL, MS_PRIVATE, NULL) < 0)
		ret = errnof("make %s (parent mount of rootfs %s) private", parent, rootfs);
	mountinfo_free(&mi);
	return ret;
}

/* propagate_root gives "/" the plan's propagation. Our mount namespace is a
 * copy of the host's, with the same propagation: without this, every mount
 * below would appear on the host too (mount_namespaces(7) "Shared
 * subtrees"). */
static int propagate_root(const struct rootfs_plan *p)
{
	uint64_t prop = p->propagation ? p->propagation : MS_SLAVE | MS_REC;
	if (mount(NULL, "/", NULL, prop, NULL) < 0) {
		char names[FLAG_NAMES_LEN];
		return errnof("make / %s", flag_names(prop, names, sizeof(names)));
	}
	if (prop & MS_SHARED)
		return make_parent_private(p->path);
	return 0;
}

static int prepare_in_root(const struct root *r, struct rootfs_plan *p, bool new_userns)
{
	for (uint32_t i = 0; i < p->n_mounts; i++)
		if (mount_one(r, &p->mounts[i], new_userns, p->cgroup_ns) < 0)
			return -1;
	if (p->n_devices > 0 && create_devices(r, p, new_userns) < 0)
		return -1;
	if (p->default_symlink)
		return dev_symlinks(r, p);
	return 0;
}

int rootfs_prepare(struct rootfs_plan *p, bool new_userns)
{
	if (propagate_root(p) < 0)
		return -1;
	/* pivot_root(2) needs the new root to be a mount point. */
	if (mount(p->path, p->path, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errnof("bind rootfs %s on itself", p->path);
	struct root r;
	if (root_open_dir(&r, p->path) < 0)
		return -1;
	int ret = prepare_in_root(&r, p, new_userns);
	root_close(&r);
	return ret;
}

/* move_root mounts the rootfs over / and chroots into it. */
static int move_root(const char *rootfs)
{
	if (chdir(rootfs) < 0)
		return errnof("chdir to rootfs %s", rootfs);
	if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0)
		return errnof("move rootfs %s to /", rootfs);
	if (chroot(".") < 0)
		return errnof("chroot into %s", rootfs);
	if (chdir("/") < 0)
		return errnof("chdir to /");
	return 0;
}

/* on_initramfs reports whether / is the kernel's initial rootfs (ramfs or
 * tmpfs), the one case where pivot_root cannot work. */
static bool on_initramfs(void)
{
	struct statfs st;
	if (statfs("/", &st) < 0)
		return false;
	return st.f_type == RAMFS_MAGIC || st.f_type == TMPFS_MAGIC;
}

/* pivot_into uses pivot_root(".", "."): the old root ends up mounted on top
 * of the new one, where it can be detached without needing a directory for
 * it inside the rootfs (pivot_root(2) NOTES). A host running from its
 * initramfs cannot be pivoted away from (EINVAL): then move_root. */
static int pivot_into(const char *rootfs)
{
	autoclose int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (old_root < 0)
		return errnof("open old root");
	autoclose int new_root = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (new_root < 0)
		return errnof("open rootfs %s", rootfs);
	if (fchdir(new_root) < 0)
		return errnof("chdir to rootfs %s", rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		int why = errno;
		if (why == EINVAL && on_initramfs())
			return move_root(rootfs);
		errno = why;
		return errnof("pivot_root into %s", rootfs);
	}
	/* "." may still be the new root's dentry underneath; stand on the old
	 * root itself so the unmount below takes the old root. */
	if (fchdir(old_root) < 0)
		return errnof("chdir to old root");
	/* Unmount events propagate to peers: make the old root a slave first
	 * so detaching it here does not unmount anything on the host. */
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return errnof("make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		return errnof("detach old root");
	if (chdir("/") < 0)
		return errnof("chdir to /");
	return 0;
}

/* rootfs_pivot makes p->path the container's root and detaches the host's
 * root from the mount namespace, so no path leads back to it. With
 * no_pivot, or on an initramfs host, the rootfs is moved onto / and
 * chrooted into instead: weaker, since the host root stays underneath, but
 * what such hosts allow. */
int rootfs_pivot(struct rootfs_plan *p)
{
	if (p->no_pivot)
		return move_root(p->path);
	return pivot_into(p->path);
}

/* container_fd_path is fd_path(fd) after the pivot, when /proc is the
 * container's: only a procfs the runtime mounted makes /proc/self/fd/N
 * the fd itself. An image with no proc mount but a /proc/self/fd tree of
 * symlinks would otherwise send the masks and read-only binds of Finish
 * onto paths of its choosing, leaving what they hide (/sys/firmware) in
 * view. Nothing of the container runs yet, so the check holds until the
 * mount. */
static int container_fd_path(const struct root *r, const char *path, int fd, struct fd_path *out)
{
	struct stat want, got;
	*out = fd_path(fd);
	if (fstat(fd, &want) < 0)
		return errnof("stat " WHERE, W(r, path));
	if (stat(out->s, &got) < 0 || got.st_dev != want.st_dev || got.st_ino != want.st_ino)
		return errorf("%s does not lead to " WHERE " (is /proc not a procfs?)", out->s,
			      W(r, path));
	return 0;
}

/* readonly_path makes path and every mount below it read-only
 * (config-linux.md "Readonly Paths"): a recursive bind onto itself, then
 * mount_setattr(AT_RECURSIVE). Unlike a bind remount, which changes one
 * mount and replaces all its flags, this reaches submounts
 * (/proc/sys/fs/binfmt_misc) and leaves every other flag, locked or not,
 * as it is. A missing path is skipped: kernels differ in what /proc holds. */
static int readonly_path(const struct root *r, const char *path)
{
	autoclose int fd = root_resolve(r, path, 0);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return errnof("open read-only path " WHERE, W(r, path));
	uint64_t before;
	if (mount_id(fd, &before) < 0)
		return errnof("statx " WHERE, W(r, path));
	struct fd_path self;
	if (container_fd_path(r, path, fd, &self) < 0)
		return -1;
	if (mount(self.s, self.s, NULL, MS_BIND | MS_REC, NULL) < 0)
		return errnof("bind read-only path " WHERE " on itself", W(r, path));
	autoclose int mnt = root_reopen(r, path, before);
	if (mnt < 0)
		return -1;
	struct mount_attr_args attr = {.attr_set = MOUNT_ATTR_RDONLY};
	if (sys_mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
		return errnof("make " WHERE " read-only", W(r, path));
	return 0;
}

/* dev_null opens the container's /dev/null, checking it really is the null
 * device: the image could ship a regular file there, and binding that over
 * /proc/kcore would show its contents instead of nothing. */
static int dev_null(const struct root *r)
{
	autoclose int fd = root_resolve(r, "/dev/null", 0);
	if (fd < 0)
		return errnof("open " WHERE, W(r, "/dev/null"));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errnof("stat " WHERE, W(r, "/dev/null"));
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return errorf(WHERE " is not the null device (1:3)", W(r, "/dev/null"));
	int out = fd;
	fd = -1;
	return out;
}

/* mask_path hides path (config-linux.md "Masked Paths"): a directory under
 * an empty read-only tmpfs, a file (or anything else) under /dev/null. A
 * missing path is skipped. */
static int mask_path(const struct root *r, const char *path)
{
	autoclose int fd = root_resolve(r, path, 0);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return errnof("open masked path " WHERE, W(r, path));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return errnof("stat masked path " WHERE, W(r, path));
	struct fd_path target;
	if (container_fd_path(r, path, fd, &target) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target.s, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			return errnof("mask " WHERE " with tmpfs", W(r, path));
		return 0;
	}
	autoclose int null = dev_null(r);
	if (null < 0)
		return wrapf("mask " WHERE, W(r, path));
	struct fd_path source;
	if (container_fd_path(r, "/dev/null", null, &source) < 0)
		return -1;
	if (mount(source.s, target.s, NULL, MS_BIND, NULL) < 0)
		return errnof("mask " WHERE " with /dev/null", W(r, path));
	return 0;
}

/* readonly_root remounts the container's / read-only, repeating the flags
 * it has (nosuid, nodev, atime mode...), which may be locked in a user
 * namespace and would otherwise be cleared by the remount. */
static int readonly_root(void)
{
	struct statfs st;
	if (statfs("/", &st) < 0)
		return errnof("statfs /");
	uint64_t flags = MS_BIND | MS_REMOUNT | MS_RDONLY | statfs_flags((uint64_t)st.f_flags, true);
	if (mount(NULL, "/", NULL, flags, NULL) < 0)
		return errnof("remount / read-only");
	return 0;
}

static int finish_in_root(const struct root *r, const struct rootfs_plan *p)
{
	for (uint32_t i = 0; i < p->readonly_paths.n; i++)
		if (readonly_path(r, p->readonly_paths.v[i]) < 0)
			return -1;
	for (uint32_t i = 0; i < p->masked_paths.n; i++)
		if (mask_path(r, p->masked_paths.v[i]) < 0)
			return -1;
	return 0;
}

/* rootfs_finish applies what must come last, after the pivot (and after
 * hostname and sysctls, which need /proc/sys writable): read-only paths,
 * masked paths, then the read-only root. */
int rootfs_finish(struct rootfs_plan *p)
{
	struct root r;
	if (root_open_dir(&r, "/") < 0)
		return -1;
	int ret = finish_in_root(&r, p);
	root_close(&r);
	if (ret < 0)
		return -1;
	return p->readonly ? readonly_root() : 0;
}
