/*
 * Helpers shared by the process side of slrt-init (engineer C's files):
 * verified procfs writes, capabilities, CPU lists, seccomp, LSM labels.
 * main.c only needs init.h; this header is for the files behind it.
 */
#ifndef SLRT_INIT_PROCESS_H
#define SLRT_INIT_PROCESS_H

#include <sched.h> /* cpu_set_t: include it after defining _GNU_SOURCE */
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* openat2(2) resolve flags (linux/openat2.h, which musl does not ship). */
#define RSLV_NO_XDEV       0x01
#define RSLV_NO_MAGICLINKS 0x02
#define RSLV_NO_SYMLINKS   0x04
#define RSLV_BENEATH       0x08
#define RSLV_IN_ROOT       0x10

/* sys_openat2 is openat2(2): the new fd, or -1 with errno set. */
int sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t resolve);

/*
 * procfs.c: writes through a verified procfs. procfs_open
 * returns an O_PATH fd of the root of a real proc mount at path, or -1.
 * procfs_write writes data to rel below it refusing symlinks and mount
 * crossings; on failure errno still holds the failing call's errno.
 */
int procfs_open(const char *path);
int procfs_write(int root, const char *root_path, const char *rel,
		 const char *data, size_t len);

/* caps.c: run on the thread that execs. */
int caps_drop_bounding(const struct caps *c);
int caps_apply(const struct caps *c);

/* cpus.c: set gets the CPUs of list (runtime/process ParseCPUs's format). */
int parse_cpus(const char *list, cpu_set_t *set);

/* seccomp.c: installs pp's filter and hands a notify fd to the listener. */
int seccomp_load(struct process_plan *pp);
/* seccomp_state_message is what the listener gets: the state object with
 * "fds":["seccompFd"] put first, next to the fd it describes. */
char *seccomp_state_message(const unsigned char *state, uint32_t len, size_t *out_len);

/* lsm.c: the AppArmor profile and SELinux label for the workload's execve. */
int apply_lsm(const struct process_plan *pp);

/* process.c: err_suffix appends text to the current message; returns -1. */
int err_suffix(const char *text);


#endif
