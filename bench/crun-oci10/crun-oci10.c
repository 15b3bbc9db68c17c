/*
 * crun-oci10: runs crun (CRUN, /usr/bin/crun unless -DCRUN="...") after
 * rewriting the ociVersion of the bundle it is given (--bundle DIR,
 * --bundle=DIR, -b DIR) to 1.0.2.
 *
 * Why: crun 1.8.1 (Debian 12) refuses any spec whose ociVersion is not
 * 1.0.x or 1.1.x ("unknown version specified"), and containerd 2.x writes
 * 1.2.1, so the runc shim cannot run it under containerd 2.4.2 at all.
 * bench/ctrd gives this wrapper to the runc shim as crun's BinaryName: one
 * extra exec of a small static binary per crun call, and the spec crun
 * reads is otherwise containerd's, byte for byte. A benchmark aid only.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CRUN
#define CRUN "/usr/bin/crun"
#endif

static void patch(const char *bundle)
{
	char path[4096], *buf, *k, *v, *end;
	struct stat st;
	int fd;
	ssize_t n;

	if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path)
		return;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return; /* crun reports it */
	if (fstat(fd, &st) < 0 || !(buf = malloc(st.st_size + 1)))
		goto out;
	n = pread(fd, buf, st.st_size, 0);
	if (n != st.st_size)
		goto out;
	buf[n] = 0;
	k = strstr(buf, "\"ociVersion\"");
	if (!k)
		goto out;
	v = k + strlen("\"ociVersion\"");
	while (*v == ' ' || *v == ':' || *v == '\t' || *v == '\n' || *v == '\r')
		v++;
	if (*v != '"' || !(end = strchr(v + 1, '"')))
		goto out;
	/* "1.0.2" then the rest of the file from the closing quote on. */
	if (pwrite(fd, "\"1.0.2", 6, v - buf) != 6 ||
	    pwrite(fd, end, buf + n - end, v - buf + 6) != buf + n - end ||
	    ftruncate(fd, v - buf + 6 + (buf + n - end)) < 0)
		fprintf(stderr, "crun-oci10: rewriting %s failed\n", path);
out:
	close(fd);
}

int main(int argc, char **argv)
{
	(void)argc;
	for (char **a = argv + 1; *a; a++) {
		if ((!strcmp(*a, "--bundle") || !strcmp(*a, "-b")) && a[1])
			patch(a[1]);
		else if (!strncmp(*a, "--bundle=", 9))
			patch(*a + 9);
	}
	argv[0] = CRUN;
	execv(CRUN, argv);
	perror("crun-oci10: exec " CRUN);
	return 127;
}
