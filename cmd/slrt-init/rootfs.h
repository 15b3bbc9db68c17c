/*
 * The container filesystem (rootfs_prepare, rootfs_pivot, rootfs_finish in
 * init.h), carrying out runtime/rootfs's plan. This header is shared
 * by rootfs.c, resolve.c, mount.c, cgroup.c, devices.c and mountinfo.c
 * only; main.c knows just the three entry points.
 */
#ifndef SLRT_INIT_ROOTFS_H
#define SLRT_INIT_ROOTFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mount.h>

#include "plan.h"

/* An fd closed when the variable goes out of scope (GNU cleanup), so that
 * every early error return releases what the step opened. */
#define autoclose __attribute__((cleanup(rootfs_closep)))
void rootfs_closep(int *fd);

/* One directory tree in which container paths are resolved as if it were
 * "/" (openat2 RESOLVE_IN_ROOT): ".." stops at it and absolute symlinks
 * start from it, so no symlink in the image leads a mount to the host. */
struct root {
	int fd;                 /* O_PATH fd of the root directory */
	const char *path;       /* its host path */
	char in[PATH_MAX + 8];  /* " (in PATH)" for messages, "" for "/" */
};

/* WHERE/W name a container path in a message: "/dev (in /b/rootfs)". */
#define WHERE "%s%s"
#define W(r, p) (p), (r)->in

int root_open_dir(struct root *r, const char *path);
void root_close(struct root *r);
/* root_resolve returns an O_PATH fd of the clean absolute container path,
 * or -1 with errno set (no message: callers decide what ENOENT means). */
int root_resolve(const struct root *r, const char *path, uint64_t flags);
int root_mkdir_all(const struct root *r, const char *path, unsigned mode);
int root_create(const struct root *r, const char *path, bool file);
int root_reopen(const struct root *r, const char *path, uint64_t before);

/* The magic link through which a path syscall reaches exactly the inode fd
 * holds, whatever happens to names meanwhile. */
struct fd_path { char s[32]; };
struct fd_path fd_path(int fd);

int mount_id(int fd, uint64_t *id);
/* split_path splits a clean absolute path as filepath.Dir/Base do;
 * -1 with a message when it does not fit dir. */
int split_path(const char *path, char *dir, size_t dirlen, const char **base);

/* Raw syscalls musl 1.2.3 has no wrapper for. */
#define MOUNT_ATTR_RDONLY 0x1ULL
struct mount_attr_args {
	uint64_t attr_set;
	uint64_t attr_clr;
	uint64_t propagation;
	uint64_t userns_fd;
};
int sys_mount_setattr(int dfd, const char *path, unsigned flags,
		      struct mount_attr_args *attr);
int sys_move_mount(int from_dfd, const char *from, int to_dfd, const char *to,
		   unsigned flags);

/* Per-mount flags: the ones a bind remount can change. */
#define PER_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | \
			 MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW)
#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

/* mount.c */
int mount_one(const struct root *r, struct mount *m, bool new_userns, bool cgroup_ns);
int propagate(const struct root *r, const struct mount *m, int mnt);
int propagate_new(const struct root *r, const struct mount *m, uint64_t before);
uint64_t statfs_flags(uint64_t st, bool atime);
/* flag_names spells flags as "ro,nosuid" into buf and returns it. */
const char *flag_names(uint64_t flags, char *buf, size_t len);
#define FLAG_NAMES_LEN 128
/* mount_data is data as mount(2) wants it: NULL when empty. */
const char *mount_data(const char *data);

/* cgroup.c */
int mount_cgroup(const struct root *r, struct mount *m, bool cgroup_ns);

/* devices.c */
int create_devices(const struct root *r, const struct rootfs_plan *p, bool new_userns);
int dev_symlinks(const struct root *r, const struct rootfs_plan *p);

/* mountinfo.c: /proc/self/mountinfo, fields pointing into one buffer. */
struct mountinfo_entry {
	char *root;    /* path of the mount's root inside its filesystem */
	char *point;   /* mount point */
	char *fstype;
	char *super;   /* per-superblock options ("" when absent) */
};
struct mountinfo {
	char *buf;
	size_t n;
	struct mountinfo_entry *e;
};
int mountinfo_read(const char *path, struct mountinfo *mi);
void mountinfo_free(struct mountinfo *mi);
/* rootfs_read_file reads a whole (proc) file into a NUL-terminated malloc'd
 * buffer; NULL with a message on failure. */
char *rootfs_read_file(const char *path);
/* under reports whether path is dir or below it (both clean, absolute). */
bool path_under(const char *path, const char *dir);

#endif
