/*
 * Errors in slrt-init: every failing step returns -1 after writing a message
 * into one buffer, and callers up the stack prefix their context, as Go's
 * fmt.Errorf("...: %w") does. main sends the final text to the parent as an
 * Error message. Messages follow the Go engine's wording.
 */
#ifndef SLRT_INIT_ERR_H
#define SLRT_INIT_ERR_H

/* errorf sets the message; returns -1. */
int errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* errnof sets the message followed by ": " and errtext(errno); returns -1. */
int errnof(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* wrapf puts "<formatted>: " before the current message; returns -1. */
int wrapf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* errtext is Go's text for errno e ("no such file or directory"). */
const char *errtext(int e);
/* errmsg is the current message. */
const char *errmsg(void);

#endif
