/*
 * One plan mount inside the rootfs: resolve the target in the root, mount
 * onto the fd's magic link, then set flags, recursive attributes and
 * propagation on the new mount, reached by resolving the target again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "err.h"
#include "rootfs.h"

#define MOVE_MOUNT_F_EMPTY_PATH 0x04U
#define MOVE_MOUNT_T_EMPTY_PATH 0x40U

const char *mount_data(const char *data)
{
	/* Some filesystems refuse an empty string where they accept NULL. */
	return data && *data ? data : NULL;
}

const char *flag_names(uint64_t flags, char *buf, size_t len)
{
	static const struct { uint64_t f; const char *name; } names[] = {
		{MS_RDONLY, "ro"}, {MS_NOSUID, "nosuid"}, {MS_NODEV, "nodev"},
		{MS_NOEXEC, "noexec"}, {MS_NOATIME, "noatime"}, {MS_NODIRATIME, "nodiratime"},
		{MS_RELATIME, "relatime"}, {MS_STRICTATIME, "strictatime"},
		{MS_NOSYMFOLLOW, "nosymfollow"}, {MS_BIND, "bind"}, {MS_REMOUNT, "remount"},
		{MS_SHARED, "shared"}, {MS_SLAVE, "slave"}, {MS_PRIVATE, "private"},
		{MS_UNBINDABLE, "unbindable"}, {MS_REC, "recursive"},
	};
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].f))
			continue;
		int n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i].name);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	return buf;
}

uint64_t statfs_flags(uint64_t st, bool atime)
{
	uint64_t f = 0;
	if (st & ST_RDONLY)
		f |= MS_RDONLY;
	if (st & ST_NOSUID)
		f |= MS_NOSUID;
	if (st & ST_NODEV)
		f |= MS_NODEV;
	if (st & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (!atime)
		return f;
	if (st & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (st & ST_NOATIME)
		f |= MS_NOATIME;
	else if (st & ST_RELATIME)
		f |= MS_RELATIME;
	else
		/* A remount without an atime flag means relatime; strictatime
		 * must be asked for to be kept. */
		f |= MS_STRICTATIME;
	return f;
}

/* kept_flags returns the per-mount flags set on fd's mount that a remount
 * must repeat: ro, nosuid, nodev, noexec and, when atime is set (the caller
 * asks for no atime mode of its own), the atime mode. */
static int kept_flags(int fd, bool atime, uint64_t *out)
{
	struct statfs st;
	if (fstatfs(fd, &st) < 0)
		return -1;
	*out = statfs_flags((uint64_t)st.f_flags, atime);
	return 0;
}

int propagate(const struct root *r, const struct mount *m, int mnt)
{
	for (uint32_t i = 0; i < m->n_prop_flags; i++) {
		if (mount(NULL, fd_path(mnt).s, NULL, m->prop_flags[i], NULL) < 0) {
			char names[FLAG_NAMES_LEN];
			return errnof("make " WHERE " %s", W(r, m->target),
				      flag_names(m->prop_flags[i], names, sizeof(names)));
		}
	}
	return 0;
}

/* propagate_new applies the mount's propagation changes to the mount just
 * made on its target (before is the target's mount id before it). */
int propagate_new(const struct root *r, const struct mount *m, uint64_t before)
{
	if (m->n_prop_flags == 0)
		return 0;
	autoclose int mnt = root_reopen(r, m->target, before);
	if (mnt < 0)
		return -1;
	return propagate(r, m, mnt);
}

/* set_recursive applies the recursive options (rro, rnosuid, ...) to the
 * mount open at mnt and every mount below it, after its own flags. */
static int set_recursive(const struct root *r, const struct mount *m, int mnt)
{
	if ((m->rec_attr_set | m->rec_attr_clr) == 0)
		return 0;
	struct mount_attr_args attr = {.attr_set = m->rec_attr_set, .attr_clr = m->rec_attr_clr};
	if (sys_mount_setattr(mnt, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
		return errnof("recursive options on " WHERE " (set %#llx, clear %#llx)", W(r, m->target),
			      (unsigned long long)m->rec_attr_set, (unsigned long long)m->rec_attr_clr);
	return 0;
}

/* move_idmapped attaches the detached tree the parent prepared (an
 * idmapped clone, see rootfs.OpenIDMapped) onto target, through fds only. */
static int move_idmapped(const struct root *r, struct mount *m, int target)
{
	if (sys_move_mount(m->mount_fd, "", target, "",
			   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return errnof("move idmapped mount of %s onto " WHERE, m->source, W(r, m->target));
	close(m->mount_fd);
	m->mount_fd = -1;
	return 0;
}

static int bind_source(const struct root *r, struct mount *m, int target)
{
	if (m->mount_fd > 0)
		return move_idmapped(r, m, target);
	const char *src = m->source;
	struct fd_path sfd;
	if (m->source_fd > 0) {
		sfd = fd_path(m->source_fd);
		src = sfd.s;
	}
	if (mount(src, fd_path(target).s, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
		return errnof("bind %s on " WHERE, m->source, W(r, m->target));
	return 0;
}

/* remount_bind applies the per-mount flags: mount(2) ignores every flag but
 * MS_REC in the call that creates a bind mount. */
static int remount_bind(const struct root *r, const struct mount *m, int mnt, bool new_userns)
{
	uint64_t flags = m->flags & PER_MOUNT_FLAGS;
	if (flags == 0)
		return 0;
	if (new_userns) {
		/* In a user namespace the flags a bind inherits from a mount
		 * of a more privileged namespace are locked (mount_namespaces(7)
		 * "Restrictions on mount namespaces"): a remount that drops
		 * them fails with EPERM, so keep them. */
		uint64_t kept;
		if (kept_flags(mnt, (flags & ATIME_FLAGS) == 0, &kept) < 0)
			return errnof("statfs " WHERE, W(r, m->target));
		flags |= kept;
	}
	if (mount(NULL, fd_path(mnt).s, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0) {
		char names[FLAG_NAMES_LEN];
		return errnof("remount bind of %s on " WHERE " (%s)", m->source, W(r, m->target),
			      flag_names(flags, names, sizeof(names)));
	}
	return 0;
}

static int bind_mount(const struct root *r, struct mount *m, int target, uint64_t before,
		      bool new_userns)
{
	if (m->idmap && m->mount_fd <= 0)
		/* A plain bind here would silently show the source's raw ids. */
		return errorf("idmapped mount on " WHERE ": the runtime did not prepare it",
			      W(r, m->target));
	if (bind_source(r, m, target) < 0)
		return -1;
	autoclose int mnt = root_reopen(r, m->target, before);
	if (mnt < 0)
		return -1;
	if (remount_bind(r, m, mnt, new_userns) < 0 || set_recursive(r, m, mnt) < 0)
		return -1;
	return propagate(r, m, mnt);
}

/* mount_fs mounts a filesystem (proc, tmpfs, ...) with its flags and data. */
static int mount_fs(const struct root *r, const struct mount *m, int target, uint64_t before)
{
	if (mount(m->source, fd_path(target).s, m->type, m->flags, mount_data(m->data)) < 0)
		return errnof("mount %s on " WHERE, m->type, W(r, m->target));
	if ((m->rec_attr_set | m->rec_attr_clr) == 0)
		return propagate_new(r, m, before);
	autoclose int mnt = root_reopen(r, m->target, before);
	if (mnt < 0)
		return -1;
	if (set_recursive(r, m, mnt) < 0)
		return -1;
	return propagate(r, m, mnt);
}

int mount_one(const struct root *r, struct mount *m, bool new_userns, bool cgroup_ns)
{
	if (!m->bind && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0))
		return mount_cgroup(r, m, cgroup_ns);
	autoclose int target = root_create(r, m->target, m->bind && m->source_is_file);
	if (target < 0)
		return -1;
	uint64_t before;
	if (mount_id(target, &before) < 0)
		return errnof("statx " WHERE, W(r, m->target));
	if (m->bind)
		return bind_mount(r, m, target, before, new_userns);
	return mount_fs(r, m, target, before);
}
