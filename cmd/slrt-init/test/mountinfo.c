/*
 * mountinfo: parses the mountinfo file argv[1] with mountinfo.c and prints
 * each entry's root, mount point, type and superblock options, tab
 * separated, bytes outside printable ASCII as \xNN; or "error: MESSAGE".
 * runtime/rootfs's TestCMountinfo checks that. Not
 * part of slrt-init.
 */
#include <stdio.h>

#include "../err.h"
#include "../rootfs.h"

static void field(const char *s, char end)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar(end);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mountinfo FILE\n");
		return 2;
	}
	struct mountinfo mi;
	if (mountinfo_read(argv[1], &mi) < 0) {
		printf("error: %s\n", errmsg());
		return 0;
	}
	for (size_t i = 0; i < mi.n; i++) {
		field(mi.e[i].root, '\t');
		field(mi.e[i].point, '\t');
		field(mi.e[i].fstype, '\t');
		field(mi.e[i].super, '\n');
	}
	mountinfo_free(&mi);
	return 0;
}
