// nnp: the stand-in for the nonewprivs test image. Installed setuid root,
// it prints its effective uid: run as a non-root user, 0 means the setuid
// bit took effect (no_new_privs off), the user's uid means it did not.
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("Effective uid: %d\n", (int)geteuid());
	return 0;
}
