/*
 * The steps of slrt-init that main.c calls, one per Go function of the Go
 * init it replaces (named after each prototype). Every function returns 0,
 * or -1 with the message set through err.h; callers wrap it with their step.
 */
#ifndef SLRT_INIT_INIT_H
#define SLRT_INIT_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan.h"

/* rootfs.c (engineer B) */
int rootfs_prepare(struct rootfs_plan *p, bool new_userns);   /* = rootfs.Prepare */
int rootfs_pivot(struct rootfs_plan *p);                      /* = rootfs.Pivot   */
int rootfs_finish(struct rootfs_plan *p);                     /* = rootfs.Finish  */

/* process side (engineer C) */
int console_setup(struct plan *p);                            /* = setupConsole   */
int set_names(struct plan *p);                                /* = setNames       */
int write_sysctls(struct plan *p);                            /* = writeSysctls   */
int time_namespace(struct plan *p);                           /* = timeNamespace  */
int process_prepare(struct process_plan *pp);                 /* = process.Prepare */
int process_finish(struct process_plan *pp);                  /* = process.Finish  */
/* process_lookup resolves arg0 against PATH of env into out. */
int process_lookup(const char *arg0, char *const *env, char *out, size_t outlen); /* = process.Lookup */
/* process_exec returns only on error. */
int process_exec(struct process_plan *pp);                    /* = process.Exec */
int seccomp_before_finish(struct process_plan *pp, uint32_t n_preserve); /* = seccompBeforeFinish */
int hooks_run(const char *name, const struct hook *h, uint32_t n,
              const unsigned char *state, uint32_t state_len); /* = hooks.Run */
int set_affinity(const char *cpu_list);                       /* = process.SetAffinity */

#endif
