/*
 * x2golistsessions and x2golistshadowsessions in the setgid launcher: the caller's side of
 * src/app/agent-report.ts (keep both in step). Included by x2godb-launcher.c.
 *
 * The Perl programs read each session's agent state file (/tmp/.x2go-<user>/C-<id>/state) and
 * run x2goumount-session and x2gormforward. Root (the service) must not read along a path the
 * user controls, and those programs must not run with our group. So here, as the caller:
 *   1. read the state files with the caller's own rights (effective group set back to the real
 *      one for the while), following no link at any step, every step owned by the user whose
 *      directory it is, at most LISTING_MAX_ENTRIES entries and STATE_BYTES bytes of each, only
 *      those of sessions the program can list (listed_by);
 *   2. send what was found as the program's first argument (the report), to the service or to
 *      Node when there is no service; for x2golistsessions of a caller with many sessions'
 *      directories, to the service after the request that announces it (X2DB3: the service
 *      lists the sessions while the files are read); the answer may name state files of other
 *      users' directories (desktop sharing) to read, once (round 2, at most LISTING_MAX_NEEDS);
 *   3. drop the group for good (real, effective and saved), write the syslog lines, run the
 *      programs the answer names (only these two, with a session id that names no path), then
 *      print the listing.
 * What the report says is the caller's word, and it can only touch the caller's own sessions,
 * whose state files the caller writes anyway.
 */

#include <dirent.h>
#include <linux/openat2.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <syslog.h>

/*
 * State files read in the caller's own state directory (of sessions the program can list); past
 * it the report says partial.
 */
#define LISTING_MAX_ENTRIES 1024
/* The report, within the 64 KiB request (arguments included). */
#define LISTING_MAX_REPORT (48 * 1024)
/* State files of other users' directories asked for by name in one call. */
#define LISTING_MAX_NEEDS 64
#define LISTING_NAME 255
/* The longest state is TERMINATING; more than that is not one of them. */
#define STATE_BYTES 16
/*
 * Sessions' directories in the caller's state directory from which x2golistsessions' report
 * follows the request (X2DB3; the shadow listing reads few files, see listed_by):
 * below it, the second write and the service's second wake-up cost more than the overlap saves
 * (1 session: 0.04-0.08 ms slower that way; 100 sessions: 0.4 ms faster, when the launcher and
 * the service run on two processors).
 */
#define LISTING_OVERLAP_FROM 32
/* The Node fallback's answer, as the service's is bounded (MAX_RESPONSE). */
#define LISTING_MAX_OUTPUT (64u * 1024 * 1024)

struct need {
	char user[LISTING_NAME + 1];
	char sid[LISTING_NAME + 1];
};

static int is_listing(const char *name)
{
	return strcmp(name, "x2golistsessions") == 0 || strcmp(name, "x2golistshadowsessions") == 0;
}

/* A name that may go into a path: 1-255 printable characters, no '/', not "." or "..". */
static int path_name(const char *s, size_t len)
{
	size_t i;
	if (len == 0 || len > LISTING_NAME || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e || s[i] == '/')
			return 0;
	return 1;
}

/*
 * dir/name as a directory owned by uid, no link followed; -1 otherwise. O_PATH: a session's
 * directory may be 0711 (desktop sharing), searchable but not readable by the viewer.
 */
static int open_owned_dir(int dir, const char *name, uid_t uid)
{
	struct stat st;
	int fd = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_uid != uid) {
		close(fd);
		return -1;
	}
	return fd;
}

/* X2Go::Server::Agent::NX's directory: /tmp-inst/<user>/.x2go-<user> if there, else /tmp/.x2go-<user>. */
static int open_state_base(const char *user, uid_t uid)
{
	char name[LISTING_NAME + 8];
	int top, home, fd = -1;
	if ((size_t)snprintf(name, sizeof(name), ".x2go-%s", user) >= sizeof(name))
		return -1;
	top = open("/tmp-inst", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (top >= 0) {
		home = openat(top, user, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(top);
		if (home >= 0) {
			fd = open_owned_dir(home, name, uid);
			close(home);
		}
		if (fd >= 0)
			return fd;
	}
	top = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -1;
	fd = open_owned_dir(top, name, uid);
	close(top);
	return fd;
}

/*
 * base/entry/state in one call, no link followed at any step (openat2 with RESOLVE_NO_SYMLINKS,
 * Linux 5.6): two system calls fewer per session than a step at a time, for a listing of many.
 * -2 when the kernel (or a seccomp filter) does not offer it.
 */
static int open_state_beneath(int base, const char *entry)
{
#ifdef SYS_openat2
	static int unavailable;
	struct open_how how = {
		.flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char path[LISTING_NAME + 8];
	long fd;
	if (!unavailable && (size_t)snprintf(path, sizeof(path), "%s/state", entry) < sizeof(path)) {
		fd = syscall(SYS_openat2, base, path, &how, sizeof(how));
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG))
			return fd >= 0 ? (int)fd : -1;
		unavailable = 1;
	}
#else
	(void)base;
	(void)entry;
#endif
	return -2;
}

/* 'R' (starting, resuming, running), 'S' (suspending, suspended), 'O' (another) or '-' (none). */
static char read_state(int base, const char *entry, uid_t uid)
{
	char text[STATE_BYTES + 1];
	struct stat st;
	ssize_t got;
	char *nl;
	int dir, fd;

	/* The session's directory: not a link, the user's. */
	if (fstatat(base, entry, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid)
		return '-';
	fd = open_state_beneath(base, entry);
	if (fd == -2) {
		dir = open_owned_dir(base, entry, uid);
		if (dir < 0)
			return '-';
		fd = openat(dir, "state", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		close(dir);
	}
	if (fd < 0)
		return '-';
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != uid) {
		close(fd);
		return '-';
	}
	got = read(fd, text, STATE_BYTES);
	close(fd);
	if (got < 0)
		return 'O';
	text[got] = '\0';
	/* Perl's <F>: the first line, with its newline if it has one. */
	nl = strchr(text, '\n');
	if (nl != NULL)
		nl[1] = '\0';
	if (strcmp(text, "STARTING") == 0 || strcmp(text, "RESUMING") == 0 || strcmp(text, "RUNNING") == 0)
		return 'R';
	if (strcmp(text, "SUSPENDING") == 0 || strcmp(text, "SUSPENDED") == 0)
		return 'S';
	return 'O';
}

/*
 * Whether the program may list a session of this id: a superset of what its query selects on
 * either backend (the stores' listSessions, `session_id [not] like '%XSHAD%'`; SQLite's LIKE
 * ignores case, PostgreSQL's does not). x2golistshadowsessions: ids holding XSHAD in any case;
 * x2golistsessions: no id holding XSHAD as written. The command side takes a session of the
 * caller's that a complete report does not name as having no state file (runListing), so this
 * must never leave out a session the query can select. The state files of the others are not
 * read: a client polls both programs, and most users share no desktop.
 */
static int listed_by(const char *sid, int shadow)
{
	return shadow ? strcasestr(sid, "XSHAD") != NULL : strstr(sid, "XSHAD") == NULL;
}

/* Appends "\n<class> <user> <sid>"; 0 when it does not fit. */
static int report_add(char *report, size_t *len, char cls, const char *user, const char *sid)
{
	int n = snprintf(report + *len, LISTING_MAX_REPORT - *len, "\n%c %s %s", cls, user, sid);
	if (n < 0 || (size_t)n >= LISTING_MAX_REPORT - *len) {
		report[*len] = '\0';
		return 0;
	}
	*len += (size_t)n;
	return 1;
}

/*
 * Round 1's entries: the state files of the caller's own directory, of the sessions the program
 * can list; 0 if not all of them fit.
 */
static int scan_own(char *report, size_t *len, const char *me, uid_t uid, int shadow)
{
	struct dirent *e;
	DIR *d;
	int base, listed, seen = 0, complete = 1;

	base = open_state_base(me, uid);
	if (base < 0)
		return 1;
	listed = openat(base, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = listed < 0 ? NULL : fdopendir(listed);
	if (d == NULL) {
		if (listed >= 0)
			close(listed);
		close(base);
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		char cls;
		if (strncmp(e->d_name, "C-", 2) != 0 || !path_name(e->d_name + 2, strlen(e->d_name + 2)) ||
		    !listed_by(e->d_name + 2, shadow))
			continue;
		if (++seen > LISTING_MAX_ENTRIES) {
			complete = 0;
			break;
		}
		cls = read_state(base, e->d_name, uid);
		if (cls != '-' && !report_add(report, len, cls, me, e->d_name + 2)) {
			complete = 0;
			break;
		}
	}
	closedir(d);
	close(base);
	return complete;
}

/* One named state file, as another user's (round 2). */
static char read_named_state(const char *user, const char *sid)
{
	char entry[LISTING_NAME + 3];
	struct passwd *pw = getpwnam(user);
	int base;
	char cls;
	if (pw == NULL || (size_t)snprintf(entry, sizeof(entry), "C-%s", sid) >= sizeof(entry))
		return '-';
	base = open_state_base(user, pw->pw_uid);
	if (base < 0)
		return '-';
	cls = read_state(base, entry, pw->pw_uid);
	close(base);
	return cls;
}

/* The report's host: this host's name as x2golistsessions takes it, "(none)" if it has none we can send. */
static void report_host(struct utsname *host)
{
	if (uname(host) != 0 || !path_name(host->nodename, strlen(host->nodename)) || strlen(host->nodename) > 64)
		strcpy(host->nodename, "(none)");
}

/* The caller's user name, looked up once; NULL when it has none that may go into a path. */
static const char *caller_name(void)
{
	static char name[LISTING_NAME + 1];
	static int looked_up;
	if (!looked_up) {
		struct passwd *pw = getpwuid(getuid());
		looked_up = 1;
		if (pw != NULL && path_name(pw->pw_name, strlen(pw->pw_name)))
			strcpy(name, pw->pw_name);
	}
	return name[0] != '\0' ? name : NULL;
}

#ifdef X2GODB_SOCKET
/* What the request says instead of the report when the report follows it (X2DB3). */
static void report_announcement(char *text, size_t size, int round, const char *host)
{
	snprintf(text, size, "X2LS1 %d follows %s", round, host);
}

/*
 * Whether the caller's state directory holds at least LISTING_OVERLAP_FROM sessions' directories,
 * by its link count (two more than its subdirectories on the filesystems /tmp is made of; a
 * filesystem that says 1 counts as few).
 */
static int many_sessions(void)
{
	const char *me = caller_name();
	struct stat st;
	int base, many;
	if (me == NULL || (base = open_state_base(me, getuid())) < 0)
		return 0;
	many = fstat(base, &st) == 0 && st.st_nlink >= 2 + LISTING_OVERLAP_FROM;
	close(base);
	return many;
}
#endif

/*
 * The report of a round, read with the caller's rights: the effective group is the real one
 * while the files are read, then x2gouser again (the saved one) for the database.
 */
static int build_report(char *report, int round, const char *host, int shadow, const struct need *needs, int n_needs)
{
	const char *me = caller_name();
	gid_t egid = getegid();
	size_t len;
	int complete, i;

	len = (size_t)snprintf(report, LISTING_MAX_REPORT, "X2LS1 %d complete %s", round, host);
	if (setresgid((gid_t)-1, getgid(), (gid_t)-1) != 0)
		return -1;
	complete = me == NULL ? 1 : scan_own(report, &len, me, getuid(), shadow);
	for (i = 0; i < n_needs; i++)
		(void)report_add(report, &len, read_named_state(needs[i].user, needs[i].sid), needs[i].user, needs[i].sid);
	if (setresgid((gid_t)-1, egid, (gid_t)-1) != 0)
		return -1;
	if (!complete) {
		/* "X2LS1 <round> complete <host>...": "partial" is one character shorter. */
		memcpy(report + 8, "partial", 7);
		memmove(report + 15, report + 16, len - 16 + 1);
	}
	return 0;
}

/* The answer's "N <user> <sid>" lines, up to its NUL; their count. */
static int needs_of(const struct captured *out, struct need *needs)
{
	const char *p = out->data, *end;
	int n = 0;
	if (p == NULL || memchr(p, '\0', out->len) == NULL)
		return 0;
	for (; *p != '\0'; p = end + (*end == '\n')) {
		const char *space;
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		if (p[0] != 'N' || p[1] != ' ' || n >= LISTING_MAX_NEEDS)
			continue;
		space = memchr(p + 2, ' ', (size_t)(end - p - 2));
		if (space == NULL || !path_name(p + 2, (size_t)(space - p - 2)) || !path_name(space + 1, (size_t)(end - space - 1)))
			continue;
		memcpy(needs[n].user, p + 2, (size_t)(space - p - 2));
		needs[n].user[space - p - 2] = '\0';
		memcpy(needs[n].sid, space + 1, (size_t)(end - space - 1));
		needs[n].sid[end - space - 1] = '\0';
		n++;
	}
	return n;
}

/* Runs file (PATH lookup, as Perl's system) with one argument and waits; stdout to `capture` if given. */
static void run_as_caller(const char *file, const char *arg, char *capture, size_t cap)
{
	int pipefd[2] = { -1, -1 };
	pid_t pid;
	if (capture != NULL && pipe2(pipefd, O_CLOEXEC) != 0)
		return;
	pid = fork();
	if (pid == 0) {
		char *const argv[] = { (char *)file, (char *)arg, NULL };
		if (capture != NULL)
			dup2(pipefd[1], 1);
		execvp(file, argv);
		_exit(127);
	}
	if (capture != NULL) {
		size_t len = 0;
		ssize_t got;
		close(pipefd[1]);
		while (pid > 0 && len + 1 < cap && (got = read(pipefd[0], capture + len, cap - 1 - len)) != 0) {
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				break;
			len += (size_t)got;
		}
		capture[len] = '\0';
		close(pipefd[0]);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

/*
 * The end of a call: the group dropped for good, then the answer's syslog lines and programs,
 * then the listing and the exit code. The Perl programs print to a pipe only when they exit, so
 * what the programs print comes first there too.
 */
static int finish_listing(const char *name, const char *argv0, int code, struct captured *out)
{
	char ident[LISTING_NAME + 16], libexec[4096], path[4096 + 32];
	const char *p = out->data, *end;
	int have_libexec = 0;

	if (p == NULL)
		return code;
	if (memchr(p, '\0', out->len) == NULL) {
		(void)write_out(1, p, out->len);
		return code;
	}
	/* Real, effective and saved: the programs run with the caller's groups and nothing else. */
	if (setresgid(getgid(), getgid(), getgid()) != 0) {
		fputs("x2godb-launcher: cannot drop the group; not running x2goumount-session or x2gormforward\n", stderr);
		return 4;
	}
	/* Perl's $0: the path the program was started by. */
	snprintf(ident, sizeof(ident), "%s%s", argv0 != NULL && strchr(argv0, '/') != NULL ? "" : "/usr/bin/",
		 argv0 != NULL && strchr(argv0, '/') != NULL ? argv0 : name);
	openlog(ident, LOG_CONS | LOG_PID, LOG_USER);
	for (; *p != '\0'; p = end + (*end == '\n')) {
		char line[4096];
		size_t n;
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (n < 3 || n >= sizeof(line))
			continue;
		memcpy(line, p, n);
		line[n] = '\0';
		if (line[0] == 'L' && line[1] >= '0' && line[1] <= '7' && line[2] == ' ')
			syslog(line[1] - '0', "%s", line + 3);
		else if (line[0] == 'U' && line[1] == ' ' && path_name(line + 2, n - 2))
			run_as_caller("x2goumount-session", line + 2, NULL, 0);
		else if (line[0] == 'F' && line[1] == ' ' && path_name(line + 2, n - 2)) {
			/* As the reference: x2gormforward in `x2gopath libexec`, found on the caller's PATH. */
			if (!have_libexec) {
				run_as_caller("x2gopath", "libexec", libexec, sizeof(libexec));
				have_libexec = 1;
			}
			snprintf(path, sizeof(path), "%s/x2gormforward", libexec);
			run_as_caller(path, line + 2, NULL, 0);
		}
	}
	closelog();
	p = (const char *)memchr(out->data, '\0', out->len) + 1;
	(void)write_out(1, p, out->len - (size_t)(p - out->data));
	return code;
}

/* Node, when there is no service: as the service would answer, stdout kept; its exit code. */
static int via_node_captured(char *const args[], char *const env[], struct captured *out)
{
	int pipefd[2], status;
	size_t cap = 0;
	ssize_t got;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return 4;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return 4;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execve(X2GODB_NODE, args, env);
		fprintf(stderr, "x2godb-launcher: cannot run %s: %s\n", X2GODB_NODE, strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	free(out->data);
	out->data = NULL;
	out->len = 0;
	for (;;) {
		if (out->len + 1 >= cap) {
			char *grown;
			if (cap >= LISTING_MAX_OUTPUT)
				break;
			cap = cap == 0 ? 65536 : cap * 2;
			grown = realloc(out->data, cap);
			if (grown == NULL)
				break;
			out->data = grown;
		}
		got = read(pipefd[0], out->data + out->len, cap - 1 - out->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		out->len += (size_t)got;
	}
	if (out->data != NULL)
		out->data[out->len] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 4;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}
