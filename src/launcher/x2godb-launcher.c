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
 *
 * Fast path: with X2GODB_SOCKET compiled in, it first asks the resident service (x2gosessiond)
 * on that Unix socket, which runs the command in-process and sends back stdout, stderr and the
 * exit code (protocol: src/service/protocol.ts). The socket is root:x2gouser 0660, so only root
 * and this launcher (setgid x2gouser) reach it; the uid it sends is getuid(), and the service
 * checks it against the kernel's (SO_PEERCRED) anyway.
 *
 * It runs Node itself only when there is no service: the socket is missing (ENOENT), refuses
 * the connection (ECONNREFUSED: stopped or crashed), or the service closes the connection
 * before accepting the request (it is stopping). A service that is merely slow or hung gets a
 * clear error and exit 4, never a local run: a local run would hold the SQLite lock in a
 * process of the caller's, which the caller can stop (issue 9). A request too large for the
 * service is refused here with exit 2, as the service would. A command runs at most once: the
 * go-ahead goes with the request (one exchange per call, not two), the service writes its
 * accept before it starts the command and refuses a request it reads more than 4 s after we
 * sent it (we give up waiting for the accept at 5 s, so an exit 4 for that means nothing was
 * done). If the connection breaks after the accept, a command that only reads is run again
 * here, and a command that writes ends with a clear error (it may or may not have been done).
 * A service started before this protocol (X2DB2; an upgrade replaced this launcher but has not
 * restarted the service yet) refuses it, having run nothing: those answers are asked again in
 * X2DB1, whose go-ahead follows the accept. x2golistsessions of a caller with many sessions
 * asks in X2DB3 (x2godb-listing.c): its report follows the go-ahead;
 * a service before X2DB3 refuses it the same way, and is asked again in X2DB2, then X2DB1, with
 * the report in the request.
 *
 * Build: cc -DX2GODB_NODE='"/usr/bin/node"' -DX2GODB_ENTRY='"/usr/lib/x2go-sessiondb/x2godb.cjs"'
 *           -DX2GODB_CONFIG_DIR='"/etc/x2go"' [-DX2GODB_SOCKET='"/run/x2go-sessiondb/sessiond.sock"']
 *           -o x2godb-launcher x2godb-launcher.c
 * (the installer does this; see src/install/).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <stdlib.h>
#ifdef X2GODB_SOCKET
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#endif

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

/* What a command printed, kept for x2golistsessions and x2golistshadowsessions (x2godb-listing.c). */
struct captured {
	char *data;
	size_t len;
};

static int write_out(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t written = write(fd, p, len);
		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0)
			return -1;
		p += written;
		len -= (size_t)written;
	}
	return 0;
}

#define FALL_BACK (-1)

#ifdef X2GODB_SOCKET

/* X2DB2: the go-ahead comes with the request, which says when it was sent (src/service/protocol.ts). */
#define MAGIC "X2DB2"
/* X2DB3: X2DB2, then a trailer frame (x2golistsessions' agent state report, x2godb-listing.c). */
#define MAGIC_TRAILER "X2DB3"
/* The first version, for a service started before X2DB2 (until an upgrade restarts it). */
#define MAGIC_V1 "X2DB1"
/*
 * What such a service answers to X2DB2 (or X2DB3), having run nothing: the go-ahead that follows
 * the request in the same write, or the magic it does not know. Only these are asked again in an
 * older version; a service that knows the version asked says neither of them to it.
 */
static const char *const older_service_says[] = {
	"x2gosessiond: bytes after the request before its accept\n",
	"x2gosessiond: not an x2godb request\n",
	NULL,
};
/* via_service's answer for it. */
#define OLDER_SERVICE (-3)
#define MAX_REQUEST (64 * 1024)
/* Far above a listing of 10,000 sessions (about 2 MB). */
#define MAX_RESPONSE (256u * 1024 * 1024)
/*
 * How long the service may take to take the connection and accept the request. Its main thread
 * does nothing else (the database work runs in a worker thread): 200 callers at once cost it
 * under 0.5 s on 2 cores. Past 5 s it is hung, and the caller is told so.
 */
#define ACCEPT_TIMEOUT_MS 5000
/*
 * The service bounds every request itself at 10 s (the SQLite lock wait, a PostgreSQL request)
 * and then answers with its own error; this only guards against a hung service.
 */
#define ANSWER_TIMEOUT_MS 20000
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 4
/* read_full's results besides 0: the peer closed (or reset), the deadline passed, or reading failed here. */
#define CLOSED (-1)
#define TIMED_OUT (-2)
#define FAILED (-4)

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Reads exactly len bytes before the deadline; 0 on success, else CLOSED (only when the service
 * closed or reset the connection: the caller may run the command itself), TIMED_OUT or FAILED.
 * Past the deadline it still looks once, without waiting: a launcher stopped for a while (^Z)
 * must not call a service hung whose answer is waiting.
 */
static int read_full(int fd, void *buffer, size_t len, long long deadline)
{
	char *p = buffer;
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		ssize_t got;
		int ready;
		ready = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return FAILED;
		if (ready == 0)
			return TIMED_OUT;
		got = read(fd, p, len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got == 0 || (got < 0 && errno == ECONNRESET))
			return CLOSED;
		if (got < 0)
			return FAILED;
		p += got;
		len -= (size_t)got;
	}
	return 0;
}

static int send_full(int fd, const void *buffer, size_t len)
{
	const char *p = buffer;
	while (len > 0) {
		ssize_t sent = send(fd, p, len, MSG_NOSIGNAL);
		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			return -1;
		p += sent;
		len -= (size_t)sent;
	}
	return 0;
}

static uint32_t be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Appends a field, after a NUL unless it is the first; -1 when the request would be too large. */
static int append(char *frame, size_t *len, const char *field, int first)
{
	size_t n = strlen(field);
	size_t separator = first ? 0 : 1;
	if (*len + separator + n > MAX_REQUEST)
		return -1;
	if (separator)
		frame[4 + (*len)++] = '\0';
	memcpy(frame + 4 + *len, field, n);
	*len += n;
	return 0;
}

/*
 * Reads the response (u32 length; u8 exit code, u32 stdout length, stdout, stderr) and relays
 * it (stdout into `keep` instead, when given); 0 on success, else CLOSED (also for a malformed
 * response), TIMED_OUT or FAILED. A response whose stderr is one of `unless` (when given), with
 * nothing on stdout, is not relayed: OLDER_SERVICE.
 */
static int relay_response(int fd, int *exit_code, struct captured *keep, const char *const *unless)
{
	unsigned char header[4 + 1 + 4];
	uint32_t len, out_len;
	char *payload;
	long long deadline = now_ms() + ANSWER_TIMEOUT_MS;
	int got;

	if ((got = read_full(fd, header, 4, deadline)) != 0)
		return got;
	len = be32(header);
	if (len < 5 || len > MAX_RESPONSE)
		return CLOSED;
	if ((got = read_full(fd, header + 4, 5, deadline)) != 0)
		return got;
	out_len = be32(header + 5);
	if (out_len > len - 5)
		return CLOSED;
	payload = malloc(len - 5 + 1);
	if (payload == NULL)
		return CLOSED;
	if ((got = read_full(fd, payload, len - 5, deadline)) != 0) {
		free(payload);
		return got;
	}
	for (; unless != NULL && *unless != NULL && out_len == 0; unless++)
		if (len - 5 == strlen(*unless) && memcmp(payload, *unless, len - 5) == 0) {
			free(payload);
			return OLDER_SERVICE;
		}
	(void)write_out(2, payload + out_len, len - 5 - out_len);
	if (keep != NULL) {
		free(keep->data);
		payload[out_len] = '\0';
		keep->data = payload;
		keep->len = out_len;
	} else {
		(void)write_out(1, payload, out_len);
		free(payload);
	}
	*exit_code = header[4];
	return 0;
}

/* One line on stderr about the service, then the exit code to end with. */
static int service_error(const char *what, int code)
{
	fprintf(stderr, "x2godb-launcher: the session service at %s %s\n", X2GODB_SOCKET, what);
	return code;
}

/*
 * What an X2DB3 request sends after its go-ahead: made by `make` once the request is on its way
 * (the service starts the command meanwhile), NULL when it cannot be made.
 */
struct trailer {
	const char *(*make)(void *context, size_t *len);
	void *context;
};

/*
 * The exit code of the command as the service ran it (or refused it), FALL_BACK to run it here,
 * or OLDER_SERVICE (X2DB2 and X2DB3 only: ask again in X2DB1). `first`, when given, goes before
 * the caller's arguments; `keep`, when given, receives stdout; `later`, when given, makes the
 * request X2DB3 with that trailer.
 */
static int via_service_in(int v1, const char *name, const char *first, int argc, char **argv, struct captured *keep,
			  const struct trailer *later)
{
	/* The request, then its go-ahead byte. */
	static char frame[4 + MAX_REQUEST + 1];
	struct sockaddr_un addr;
	/* Bounds connect() (a hung service's full backlog) and sending the request. */
	const struct timeval send_timeout = { ACCEPT_TIMEOUT_MS / 1000, (ACCEPT_TIMEOUT_MS % 1000) * 1000 };
	char uid[16], sent[24];
	size_t len = 0, need;
	long long sent_ms;
	unsigned char accept_byte;
	int fd, i, code, got, fits;

	if (sizeof(X2GODB_SOCKET) > sizeof(addr.sun_path))
		return FALL_BACK;
	snprintf(uid, sizeof(uid), "%lu", (unsigned long)getuid());
	/* For its length: the time sent is taken once connected, just before sending. */
	snprintf(sent, sizeof(sent), "%lld", now_ms());
	/* Refused here, as the service would refuse it: never a local run, which would hold the lock. */
	need = strlen(MAGIC) + 1 + strlen(uid) + (v1 ? 0 : 1 + strlen(sent)) + 1 + strlen(name) + (first != NULL ? 1 + strlen(first) : 0);
	for (i = 1; i < argc; i++)
		need += 1 + strlen(argv[i]);
	if (need > MAX_REQUEST) {
		fprintf(stderr, "x2godb-launcher: request of %zu bytes, more than %d\n", need, MAX_REQUEST);
		return EXIT_USAGE;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return service_error("cannot be asked: no socket", EXIT_UNAVAILABLE);
	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, X2GODB_SOCKET, sizeof(X2GODB_SOCKET));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout)) != 0) {
		close(fd);
		return service_error("cannot be asked: setsockopt failed", EXIT_UNAVAILABLE);
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int err = errno;
		close(fd);
		/* No service: missing socket, or nobody listening (stopped, crashed). */
		if (err == ENOENT || err == ECONNREFUSED)
			return FALL_BACK;
		if (err == EAGAIN)
			return service_error("did not take the connection within 5 s; is it hung?", EXIT_UNAVAILABLE);
		fprintf(stderr, "x2godb-launcher: cannot connect to the session service at %s: %s\n", X2GODB_SOCKET, strerror(err));
		return EXIT_UNAVAILABLE;
	}
	/* Built now: the time it holds is when it is sent, on the clock the service reads too. */
	sent_ms = now_ms();
	snprintf(sent, sizeof(sent), "%lld", sent_ms);
	fits = !append(frame, &len, v1 ? MAGIC_V1 : later != NULL ? MAGIC_TRAILER : MAGIC, 1) && !append(frame, &len, uid, 0) && (v1 || !append(frame, &len, sent, 0)) &&
	       !append(frame, &len, name, 0) && (first == NULL || !append(frame, &len, first, 0));
	for (i = 1; fits && i < argc; i++)
		fits = !append(frame, &len, argv[i], 0);
	/* Only if the time grew a digit since `need` was counted, at the very limit. */
	if (!fits) {
		close(fd);
		fprintf(stderr, "x2godb-launcher: request of more than %d bytes\n", MAX_REQUEST);
		return EXIT_USAGE;
	}
	frame[0] = (char)(len >> 24);
	frame[1] = (char)(len >> 16);
	frame[2] = (char)(len >> 8);
	frame[3] = (char)len;
	frame[4 + len] = 'G';
	if (send_full(fd, frame, 4 + len + (v1 ? 0 : 1)) != 0) {
		int err = errno;
		close(fd);
		/* Closed before anything was accepted: the service is stopping; nothing has run. */
		if (err == EPIPE || err == ECONNRESET)
			return FALL_BACK;
		return service_error("did not take the request within 5 s; is it hung?", EXIT_UNAVAILABLE);
	}
	if (later != NULL && !v1) {
		size_t trailer_len;
		const char *trailer = later->make(later->context, &trailer_len);
		unsigned char head[4];
		if (trailer == NULL) {
			/* The service runs nothing that changes the database before its trailer has come. */
			close(fd);
			return EXIT_UNAVAILABLE;
		}
		head[0] = (unsigned char)(trailer_len >> 24);
		head[1] = (unsigned char)(trailer_len >> 16);
		head[2] = (unsigned char)(trailer_len >> 8);
		head[3] = (unsigned char)trailer_len;
		/* Not sent when the service has refused the request and closed: its refusal is read below. */
		if (send_full(fd, head, 4) == 0)
			(void)send_full(fd, trailer, trailer_len);
	}
	/* From the sending: the service refuses what it reads more than 4 s after it. */
	got = read_full(fd, &accept_byte, 1, sent_ms + ACCEPT_TIMEOUT_MS);
	if (got != 0) {
		close(fd);
		/* Closed by the service before its accept: it is stopping, and ran nothing. */
		if (got == CLOSED)
			return FALL_BACK;
		/* Not a local run: the go-ahead went with the request, so the command may be running. */
		if (got == FAILED)
			return service_error("could not be read from; the change, if any, may or may not have been made", EXIT_UNAVAILABLE);
		return service_error("did not accept the request within 5 s; is it hung?", EXIT_UNAVAILABLE);
	}
	if (accept_byte == 'E') {
		/* Rejected (malformed, or not the caller's uid): the service's one line says why. */
		got = relay_response(fd, &code, keep, v1 ? NULL : older_service_says);
		close(fd);
		if (got == OLDER_SERVICE)
			return OLDER_SERVICE;
		return got == 0 ? code : service_error("rejected the request", EXIT_USAGE);
	}
	if (accept_byte != 'R' && accept_byte != 'W') {
		close(fd);
		return service_error("answered something unexpected", EXIT_UNAVAILABLE);
	}
	if (v1 && send_full(fd, "G", 1) != 0) {
		/* Closed after its accept but before our go-ahead: stopping; nothing has run. */
		close(fd);
		return FALL_BACK;
	}
	got = relay_response(fd, &code, keep, NULL);
	close(fd);
	if (got == 0)
		return code;
	if (got == TIMED_OUT && accept_byte == 'R')
		return service_error("did not answer within 20 s", EXIT_UNAVAILABLE);
	if (got == TIMED_OUT)
		return service_error("did not answer within 20 s; the change may or may not have been made, check before repeating it",
				     EXIT_UNAVAILABLE);
	if (accept_byte == 'R')
		return FALL_BACK;
	fputs("x2godb-launcher: the session service stopped while changing the database; the change may or may not have "
	      "been made, check before repeating it\n",
	      stderr);
	return 1;
}

/* Asks in X2DB2, and again in X2DB1 when the service predates X2DB2 (it ran nothing). */
static int via_service(const char *name, const char *first, int argc, char **argv, struct captured *keep)
{
	int code = via_service_in(0, name, first, argc, argv, keep, NULL);
	return code == OLDER_SERVICE ? via_service_in(1, name, first, argc, argv, keep, NULL) : code;
}

#endif

#include "x2godb-listing.c"

static char *const environment[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C.UTF-8",
	NULL,
};

/* node, the entry script, the marker, the configuration directory, the name, [first,] the caller's arguments. */
static void node_args(char **args, const char *name, const char *first, int argc, char **argv)
{
	int n = 0, i;
	args[n++] = "node";
	args[n++] = X2GODB_ENTRY;
	args[n++] = MARK;
	args[n++] = X2GODB_CONFIG_DIR;
	args[n++] = (char *)name;
	if (first != NULL)
		args[n++] = (char *)first;
	for (i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
}

/*
 * A round's report, made once: while the service lists the sessions (X2DB3), or before Node
 * runs. `failed`: it could not be made (said on stderr); the call ends with exit 4.
 */
struct round_report {
	char text[LISTING_MAX_REPORT];
	/* shadow: x2golistshadowsessions, which reads only desktop sharing's state files. */
	int round, built, failed, shadow;
	const char *host;
	const struct need *needs;
	int n_needs;
};

static const char *made_report(void *context, size_t *len)
{
	struct round_report *r = context;
	if (!r->built && !r->failed) {
		if (build_report(r->text, r->round, r->host, r->shadow, r->needs, r->n_needs) != 0) {
			fputs("x2godb-launcher: cannot set the group for reading the agent state\n", stderr);
			r->failed = 1;
		} else
			r->built = 1;
	}
	*len = r->built ? strlen(r->text) : 0;
	return r->built ? r->text : NULL;
}

/* x2golistsessions, x2golistshadowsessions: see x2godb-listing.c. */
static int listing(const char *name, int argc, char **argv)
{
	static struct round_report report;
	static struct need needs[LISTING_MAX_NEEDS];
	char *args[MAX_ARGS + 7];
	struct captured out = { NULL, 0 };
	struct utsname host;
	size_t len;
	int round, n_needs = 0, code = 0;

	/* Once: the announcement and the report must name the same host. */
	report_host(&host);
	report.shadow = strcmp(name, "x2golistshadowsessions") == 0;
	for (round = 1; round <= 2; round++) {
		report.round = round;
		report.built = report.failed = 0;
		report.host = host.nodename;
		report.needs = needs;
		report.n_needs = n_needs;
#ifdef X2GODB_SOCKET
		if (round == 1 && !report.shadow && many_sessions()) {
			/*
			 * Many state files: the service lists the sessions while they are read (X2DB3).
			 * Not for desktop sharing's, which a user has few of.
			 */
			char announcement[96];
			const struct trailer later = { made_report, &report };
			report_announcement(announcement, sizeof(announcement), round, host.nodename);
			code = via_service_in(0, name, announcement, argc, argv, &out, &later);
			/* A service older than X2DB3 ran nothing: asked again with the report in the request. */
			if (code == OLDER_SERVICE && made_report(&report, &len) != NULL)
				code = via_service(name, report.text, argc, argv, &out);
		} else if (made_report(&report, &len) != NULL)
			code = via_service(name, report.text, argc, argv, &out);
		if (code == FALL_BACK && !report.failed)
#endif
		if (made_report(&report, &len) != NULL) {
			node_args(args, name, report.text, argc, argv);
			code = via_node_captured(args, environment, &out);
		}
		if (report.failed) {
			free(out.data);
			return 4;
		}
		n_needs = needs_of(&out, needs);
		if (n_needs == 0)
			break;
	}
	code = finish_listing(name, argc > 0 ? argv[0] : NULL, code, &out);
	free(out.data);
	return code;
}

int main(int argc, char **argv)
{
	char *args[MAX_ARGS + 7];
	const char *name = invoked_name(argc > 0 ? argv[0] : NULL);

	if (argc > MAX_ARGS + 1) {
		fputs("x2godb-launcher: too many arguments\n", stderr);
		return 2;
	}
	if (is_listing(name))
		return listing(name, argc, argv);

#ifdef X2GODB_SOCKET
	{
		int code = via_service(name, NULL, argc, argv, NULL);
		if (code != FALL_BACK)
			return code;
	}
#endif

	node_args(args, name, NULL, argc, argv);
	execve(X2GODB_NODE, args, environment);
	fprintf(stderr, "x2godb-launcher: cannot run %s: %s\n", X2GODB_NODE, strerror(errno));
	return 127;
}
