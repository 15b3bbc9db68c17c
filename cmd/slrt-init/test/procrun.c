/*
 * procrun: the C init's process steps, for runtime/process's tests. Not
 * part of slrt-init.
 *   procrun prepare          process_prepare on the plan received on fd 3
 *                            as slrt-init receives it: prints OK or ERROR: msg
 *   procrun run              prepare, finish, exec (ioprio on stderr first)
 *   procrun run-newcwd=DIR   the same with cwd changed after prepare, as a
 *                            fast-start request changes it
 *   procrun cpus LIST        the CPU list folded back into ranges
 *   procrun lookup ARG0 ENV...  the program process_lookup finds
 *   procrun seccomp-state JSON  the message a seccomp listener gets
 * These three print their answer, or "error: " and the message.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../err.h"
#include "../init.h"
#include "../process.h"
#include "../wire.h"

#define IOPRIO_WHO_PROCESS 1

/* print_cpus writes set as ranges, as Go's process.FormatCPUs does. */
static void print_cpus(const cpu_set_t *set)
{
	const int max = (int)(8 * sizeof(cpu_set_t)); /* musl's CPU_SETSIZE is 128 */
	const char *sep = "";

	for (int c = 0; c < max; c++) {
		int end = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (end + 1 < max && CPU_ISSET(end + 1, set))
			end++;
		if (end > c)
			printf("%s%d-%d", sep, c, end);
		else
			printf("%s%d", sep, c);
		sep = ",";
		c = end;
	}
	putchar('\n');
}

static int pure(int argc, char **argv)
{
	char prog[PATH_MAX], *msg;
	cpu_set_t set;
	size_t len;
	int rc;

	if (strcmp(argv[1], "seccomp-state") == 0) {
		msg = seccomp_state_message((unsigned char *)argv[2], strlen(argv[2]), &len);
		rc = msg ? 0 : -1;
		if (msg)
			printf("%.*s\n", (int)len, msg);
		free(msg);
	} else if (strcmp(argv[1], "cpus") == 0) {
		rc = parse_cpus(argv[2], &set);
		if (rc == 0)
			print_cpus(&set);
	} else {
		rc = process_lookup(argv[2], argv + 3, prog, sizeof prog);
		if (rc == 0)
			printf("%s\n", prog);
	}
	if (rc < 0)
		printf("error: %s\n", errmsg());
	(void)argc;
	return 0;
}

static int steps(const char *mode)
{
	static int fds[WIRE_MAX_FDS];
	struct process_plan *pp;
	struct message m;
	uint32_t n_fds;
	long prio;
	int rc;

	if (wire_recv(3, &m, fds, &n_fds) < 0 || !m.plan) {
		fprintf(stderr, "ERROR: receive plan: %s\n", errmsg());
		return 3;
	}
	fcntl(3, F_SETFD, FD_CLOEXEC);
	pp = &m.plan->proc;
	rc = process_prepare(pp);
	if (strcmp(mode, "prepare") == 0) {
		if (rc < 0)
			printf("ERROR: %s\n", errmsg());
		else
			printf("OK\n");
		return 0;
	}
	if (strncmp(mode, "run-newcwd=", 11) == 0)
		pp->cwd = (char *)mode + 11;
	if (rc == 0)
		rc = process_finish(pp);
	if (rc == 0) {
		prio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
		if (prio >= 0)
			fprintf(stderr, "ioprio=%ld\n", prio);
		process_exec(pp);
	}
	fprintf(stderr, "ERROR: %s\n", errmsg());
	return 3;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && (strcmp(argv[1], "cpus") == 0 || strcmp(argv[1], "lookup") == 0 ||
			  strcmp(argv[1], "seccomp-state") == 0))
		return pure(argc, argv);
	if (argc == 2)
		return steps(argv[1]);
	fprintf(stderr, "usage: procrun prepare|run|run-newcwd=DIR | cpus LIST | lookup ARG0 ENV... | "
			"seccomp-state JSON\n");
	return 2;
}
