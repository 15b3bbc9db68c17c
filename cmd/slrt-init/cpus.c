/*
 * CPU lists ("0-2,5") as in cpuset.cpus, execCPUAffinity and the
 * start-with-process "cpus" field, parsed with the rules and messages of
 * runtime/process cpus.go, and the affinity the workload starts with.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <string.h>

#include "err.h"
#include "init.h"
#include "process.h"

/* MAX_CPU is the first CPU number a cpu_set_t (and Go's CPUSet) cannot
 * hold: 1024. Not musl's CPU_SETSIZE, which says 128 for the same type. */
#define MAX_CPU (int)(8 * sizeof(cpu_set_t))

/* span is a piece of the list, not NUL-terminated. */
struct span {
	const char *s;
	size_t n;
};

static struct span trim(struct span v)
{
	while (v.n > 0 && isspace((unsigned char)v.s[0])) {
		v.s++;
		v.n--;
	}
	while (v.n > 0 && isspace((unsigned char)v.s[v.n - 1]))
		v.n--;
	return v;
}

/* parse_cpu reads one decimal CPU number; like Go's Atoi plus its checks,
 * it takes neither signs nor spaces inside. */
static int parse_cpu(const char *list, struct span v, int *cpu)
{
	long long n = 0;

	v = trim(v);
	/* 18 digits cannot overflow; Go's Atoi refuses what does. */
	if (v.n == 0 || v.n > 18)
		goto bad;
	for (size_t i = 0; i < v.n; i++) {
		if (!isdigit((unsigned char)v.s[i]))
			goto bad;
		n = n * 10 + (v.s[i] - '0');
	}
	if (n >= MAX_CPU)
		return errorf("cpu list \"%s\": CPU %lld out of range (max %d)", list, n, MAX_CPU - 1);
	*cpu = (int)n;
	return 0;
bad:
	return errorf("cpu list \"%s\": invalid CPU number \"%.*s\"", list, (int)v.n, v.s);
}

/* parse_item adds one "N" or "N-M" to set. */
static int parse_item(const char *list, struct span item, cpu_set_t *set)
{
	const char *dash = memchr(item.s, '-', item.n);
	struct span lo = item, hi;
	int first, last;

	if (dash)
		lo.n = (size_t)(dash - item.s);
	if (parse_cpu(list, lo, &first) < 0)
		return -1;
	last = first;
	if (dash) {
		hi.s = dash + 1;
		hi.n = item.n - lo.n - 1;
		if (parse_cpu(list, hi, &last) < 0)
			return -1;
		if (last < first)
			return errorf("cpu list \"%s\": range \"%.*s\" ends before it starts",
				      list, (int)item.n, item.s);
	}
	for (int c = first; c <= last; c++)
		CPU_SET(c, set);
	return 0;
}

/* An empty list is an error: the kernel rejects an empty mask, and callers
 * mean "inherit" by leaving the field out. */
int parse_cpus(const char *list, cpu_set_t *set)
{
	struct span rest = trim((struct span){ list, strlen(list) });

	CPU_ZERO(set);
	if (rest.n == 0)
		return errorf("cpu list \"%s\": empty", list);
	for (;;) {
		const char *comma = memchr(rest.s, ',', rest.n);
		struct span item = { rest.s, comma ? (size_t)(comma - rest.s) : rest.n };

		item = trim(item);
		if (item.n == 0)
			return errorf("cpu list \"%s\": empty item", list);
		if (parse_item(list, item, set) < 0)
			return -1;
		if (!comma)
			return 0;
		rest.n -= (size_t)(comma - rest.s) + 1;
		rest.s = comma + 1;
	}
}

/* Pins the calling thread, the one that execs, so the workload starts on
 * these CPUs; "" leaves the affinity inherited. */
int set_affinity(const char *cpu_list)
{
	cpu_set_t set;

	if (!cpu_list || !*cpu_list)
		return 0;
	if (parse_cpus(cpu_list, &set) < 0)
		return -1;
	if (sched_setaffinity(0, sizeof set, &set) < 0) {
		int e = errno;

		errorf("sched_setaffinity cpus %s: %s%s", cpu_list, errtext(e),
		       e == EINVAL ? " (no CPU of the list is online and in the container's cpuset)" : "");
		return -1;
	}
	return 0;
}
