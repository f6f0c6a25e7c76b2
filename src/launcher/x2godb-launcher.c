/*
 * x2godb-launcher: the setgid-x2gouser door to the SQLite session database.
 *
 * Installed root:x2gouser 2755. It runs our Node.js entry script with the caller's uid and the
 * x2gouser group, and nothing the caller controls chooses what runs or what it reads:
 *   - node, the entry script and the configuration directory are absolute paths compiled in;
 *   - no shell and no PATH lookup (execve);
 *   - the environment is replaced by a fixed one (no NODE_OPTIONS, LD_*, TZ, HOME ...);
 *   - the caller's arguments come after a marker and our compiled-in values, so the script
 *     can tell them apart (it trusts nothing else while its egid differs from its gid).
 * The name it was called by (a symlink such as x2goinsertsession) is passed on as data; the
 * script looks it up in its table of helper names.
 *
 * Build: cc -DX2GODB_NODE='"/usr/bin/node"' -DX2GODB_ENTRY='"/usr/lib/x2go-sessiondb/x2godb.cjs"'
 *           -DX2GODB_CONFIG_DIR='"/etc/x2go"' -o x2godb-launcher x2godb-launcher.c
 * (the installer does this; see src/install/).
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#if !defined(X2GODB_NODE) || !defined(X2GODB_ENTRY) || !defined(X2GODB_CONFIG_DIR)
#error "X2GODB_NODE, X2GODB_ENTRY and X2GODB_CONFIG_DIR must be defined at build time"
#endif

#define MARK "--x2godb-launcher"
/* More than any command takes (createsession: 9); keeps the argument vector on the stack small. */
#define MAX_ARGS 32
#define MAX_NAME 64

static const char *invoked_name(const char *argv0)
{
	const char *slash;
	if (argv0 == NULL)
		return "x2godb";
	slash = strrchr(argv0, '/');
	if (slash != NULL)
		argv0 = slash + 1;
	if (*argv0 == '\0' || strlen(argv0) > MAX_NAME)
		return "x2godb";
	return argv0;
}

int main(int argc, char **argv)
{
	static char *const environment[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"LC_ALL=C.UTF-8",
		NULL,
	};
	char *args[MAX_ARGS + 6];
	int n = 0;
	int i;

	if (argc > MAX_ARGS + 1) {
		fputs("x2godb-launcher: too many arguments\n", stderr);
		return 2;
	}

	args[n++] = "node";
	args[n++] = X2GODB_ENTRY;
	args[n++] = MARK;
	args[n++] = X2GODB_CONFIG_DIR;
	args[n++] = (char *)invoked_name(argc > 0 ? argv[0] : NULL);
	for (i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;

	execve(X2GODB_NODE, args, environment);
	fprintf(stderr, "x2godb-launcher: cannot run %s: %s\n", X2GODB_NODE, strerror(errno));
	return 127;
}
