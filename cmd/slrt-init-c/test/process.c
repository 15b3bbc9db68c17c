/*
 * process: runs pure pieces of the C init's process side on command-line
 * input so runtime/process's TestCParity can compare them with the Go
 * functions they reproduce. Not part of slrt-init.
 *   process cpus LIST           the CPU list folded back into ranges
 *   process lookup ARG0 ENV...  the program process_lookup finds
 * Each prints its answer, or "error: " and the message, on one line.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "../err.h"
#include "../init.h"
#include "../process.h"

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

int main(int argc, char **argv)
{
	char prog[PATH_MAX];
	cpu_set_t set;

	if (argc >= 3 && strcmp(argv[1], "cpus") == 0) {
		if (parse_cpus(argv[2], &set) < 0)
			goto fail;
		print_cpus(&set);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "lookup") == 0) {
		if (process_lookup(argv[2], argv + 3, prog, sizeof prog) < 0)
			goto fail;
		printf("%s\n", prog);
		return 0;
	}
	fprintf(stderr, "usage: process cpus LIST | lookup ARG0 ENV...\n");
	return 2;
fail:
	printf("error: %s\n", errmsg());
	return 0;
}
