/*
 * flags: prints statfs_flags(ST, ATIME) of mount.c, the mount flags a bind
 * remount repeats for a mount whose statfs f_flags are ST, in hex and as
 * flag_names spells them. runtime/rootfs's TestCStatfsFlags runs it. Not
 * part of slrt-init.
 *
 * usage: flags ST ATIME   (ST a number, ATIME 0 or 1)
 */
#include <stdio.h>
#include <stdlib.h>

#include "../rootfs.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: flags ST ATIME\n");
		return 2;
	}
	uint64_t f = statfs_flags(strtoull(argv[1], NULL, 0), atoi(argv[2]) != 0);
	char names[FLAG_NAMES_LEN];
	printf("%#llx %s\n", (unsigned long long)f, flag_names(f, names, sizeof(names)));
	return 0;
}
