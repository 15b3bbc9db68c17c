/*
 * The init's file descriptors: where passed fds go, which inherited ones
 * are closed, which the workload keeps.
 */
#ifndef SLRT_INIT_FDS_H
#define SLRT_INIT_FDS_H

#include <stdint.h>

#include "plan.h"

/* The socket to the parent, always fd 3 (the first ExtraFile). */
#define SYNC_FD 3

/* place_files moves the n fds passed with a plan to 0, 1, 2, then 4, 5, ...
 * (3 is the sync socket): where a freshly cloned init has them. */
int place_files(const int *fds, uint32_t n);

/* close_unknown_fds closes every fd from 3 up that p does not name. */
int close_unknown_fds(const struct plan *p);

/* mark_fds_cloexec sets close-on-exec on every fd from 3 up: no fd of the
 * init reaches the workload unless preserve_fds then moves it. */
int mark_fds_cloexec(void);

/* preserve_fds moves fds[0..n) to 3, 4, ... for the workload. */
int preserve_fds(const int32_t *fds, uint32_t n);

#endif
