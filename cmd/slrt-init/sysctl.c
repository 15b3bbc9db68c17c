/*
 * The kernel-side settings of a new container: host and domain names,
 * linux.sysctl and the time namespace's offsets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "init.h"
#include "process.h"

int set_names(struct plan *p)
{
	if (p->set_hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		return errnof("set hostname \"%s\"", p->hostname);
	if (p->set_domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
		return errnof("set domainname \"%s\"", p->domainname);
	return 0;
}

/* sysctl_path turns "net.ipv4.ip_forward" into "sys/net/ipv4/ip_forward". */
static int sysctl_path(const char *key, char *out, size_t outlen)
{
	int n;

	/* The parent allowed the key; a "/" or ".." in it would still reach
	 * outside /proc/sys once dots become slashes. */
	if (strchr(key, '/') || strstr(key, ".."))
		return errorf("sysctl \"%s\": not a sysctl name", key);
	n = snprintf(out, outlen, "sys/%s", key);
	if (n < 0 || (size_t)n >= outlen)
		return errorf("sysctl \"%s\": name too long", key);
	for (char *c = out; *c; c++)
		if (*c == '.')
			*c = '/';
	return 0;
}

/* Written after pivot_root, through the container's own /proc, so only the
 * values namespaced to the container are reachable. */
int write_sysctls(struct plan *p)
{
	char rel[PATH_MAX];
	int proc, rc = 0;

	if (p->n_sysctls == 0)
		return 0;
	proc = procfs_open("/proc");
	if (proc < 0)
		return wrapf("sysctls");
	for (uint32_t i = 0; i < p->n_sysctls && rc == 0; i++) {
		const struct kv *kv = &p->sysctls[i];

		rc = sysctl_path(kv->key, rel, sizeof rel);
		if (rc == 0 && procfs_write(proc, "/proc", rel, kv->value, strlen(kv->value)) < 0)
			rc = wrapf("sysctl %s=\"%s\"", kv->key, kv->value);
	}
	close(proc);
	return rc;
}

/* offsets_text renders the plan's offsets as timens_offsets lines. */
static int offsets_text(const struct plan *p, char *buf, size_t size, size_t *len)
{
	*len = 0;
	for (uint32_t i = 0; i < p->n_time_offsets; i++) {
		const struct time_offset *o = &p->time_offsets[i];
		int n = snprintf(buf + *len, size - *len, "%s %lld %u\n",
				 o->clock, (long long)o->secs, o->nanos);

		if (n < 0 || (size_t)n >= size - *len)
			return errorf("time namespace offsets: too many or too long");
		*len += (size_t)n;
	}
	return 0;
}

/*
 * Offsets can only be written before any process enters the namespace;
 * unshare(CLONE_NEWTIME) does not move the caller, its children (here: the
 * workload, by execve) are the first to enter.
 */
int time_namespace(struct plan *p)
{
	char rel[32], text[512];
	size_t len;
	int proc, rc = 0;

	if (!p->time_ns)
		return 0;
	if (unshare(CLONE_NEWTIME) < 0)
		return errnof("unshare time namespace");
	if (p->n_time_offsets == 0)
		return 0;
	if (offsets_text(p, text, sizeof text, &len) < 0)
		return -1;
	proc = procfs_open("/proc");
	if (proc < 0)
		return wrapf("time namespace offsets");
	/* By pid, not "self": the verified root refuses every symlink. */
	snprintf(rel, sizeof rel, "%d/timens_offsets", (int)getpid());
	if (procfs_write(proc, "/proc", rel, text, len) < 0)
		rc = wrapf("write time namespace offsets");
	close(proc);
	return rc;
}
