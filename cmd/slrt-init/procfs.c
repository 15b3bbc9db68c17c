/*
 * Writes to procfs files (sysctls, oom_score_adj, timens_offsets, LSM
 * attributes) go only through a verified procfs: the container owns its
 * /proc mount point and whatever is mounted below it, and a symlink, a
 * tmpfs posing as /proc or a file bind-mounted over /proc/sys/kernel/x
 * would otherwise redirect a write of the runtime to a file of the
 * container's choosing (CVE-2019-16884, CVE-2019-19921,
 * CVE-2025-52881).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "process.h"

#define PROC_SUPER_MAGIC 0x9fa0
/* Every proc mount's root directory has inode 1. */
#define PROC_ROOT_INO 1

struct open_how_v0 {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve)
{
	struct open_how_v0 how = { .flags = flags, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

static int on_procfs(int fd)
{
	struct statfs st;

	if (fstatfs(fd, &st) < 0)
		return -1;
	if (st.f_type != PROC_SUPER_MAGIC) {
		errno = EXDEV;
		return -1;
	}
	return 0;
}

int procfs_open(const char *path)
{
	struct stat st;
	int fd;

	fd = sys_openat2(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC,
			 RSLV_NO_SYMLINKS | RSLV_NO_MAGICLINKS);
	if (fd < 0)
		return errnof("open %s", path);
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return errnof("stat %s", path);
	}
	if (on_procfs(fd) < 0 || st.st_ino != PROC_ROOT_INO) {
		close(fd);
		return errorf("%s is not the root of a proc mount: not a procfs", path);
	}
	return fd;
}

/* write_all keeps writing after a signal cut a write short. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int procfs_write(int root, const char *root_path, const char *rel,
		 const char *data, size_t len)
{
	int fd, e;

	while (*rel == '/')
		rel++;
	/* NO_XDEV: a bind mount over the target is exactly the attack, so it
	 * is an error rather than a detour. */
	fd = sys_openat2(root, rel, O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
			 RSLV_BENEATH | RSLV_NO_SYMLINKS | RSLV_NO_MAGICLINKS | RSLV_NO_XDEV);
	if (fd < 0) {
		e = errno;
		if (e == EXDEV)
			errorf("open %s/%s: something is mounted over it: not a procfs", root_path, rel);
		else
			errnof("open %s/%s", root_path, rel);
		errno = e;
		return -1;
	}
	if (on_procfs(fd) < 0) {
		e = errno;
		if (e == EXDEV)
			errorf("%s/%s: not a procfs", root_path, rel);
		else
			errnof("statfs %s/%s", root_path, rel);
		close(fd);
		errno = e;
		return -1;
	}
	if (write_all(fd, data, len) < 0) {
		e = errno;
		errnof("write %s/%s", root_path, rel);
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}
