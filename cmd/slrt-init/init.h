/*
 * The steps of slrt-init that main.c calls. Every function returns 0, or -1
 * with the message set through err.h; callers wrap it with their step.
 */
#ifndef SLRT_INIT_INIT_H
#define SLRT_INIT_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* rootfs.c: the container's filesystem, before and after pivot_root. */
int rootfs_prepare(struct rootfs_plan *p, bool new_userns);
int rootfs_pivot(struct rootfs_plan *p);
int rootfs_finish(struct rootfs_plan *p);

/* process.c, console.c, sysctl.c, seccomp.c, hooks.c, cpus.c: the workload. */
int console_setup(struct plan *p);
int set_names(struct plan *p);
int write_sysctls(struct plan *p);
int time_namespace(struct plan *p);
int process_prepare(struct process_plan *pp);
int process_finish(struct process_plan *pp);
/* process_lookup resolves arg0 against PATH of env into out. */
int process_lookup(const char *arg0, char *const *env, char *out, size_t outlen);
/* process_exec returns only on error. */
int process_exec(struct process_plan *pp);
int seccomp_before_finish(struct process_plan *pp, uint32_t n_preserve);
int hooks_run(const char *name, const struct hook *h, uint32_t n,
              const unsigned char *state, uint32_t state_len);
int set_affinity(const char *cpu_list);

#endif
