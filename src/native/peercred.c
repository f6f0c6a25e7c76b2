/*
 * peercred.node: who is on the other end of a Unix socket, as the kernel says (SO_PEERCRED).
 *
 * x2gosessiond authorizes every request by the uid the kernel gives here, never by the uid
 * written in the request (issue 9). Node has no API for SO_PEERCRED, and no well-kept npm
 * package provides it; these lines are all it takes, built with the system's cc like the setgid
 * launcher: by scripts/build.mjs into dist/ and by x2go-sessiondb install into the prefix.
 *
 *   require('peercred.node').peerCredentials(fd) -> { pid, uid, gid }   (throws on failure)
 *
 * Build: cc -shared -fPIC -O2 -I/usr/include/node -o peercred.node peercred.c
 * Only N-API (node_api.h) is used: the binary works with any Node of the same or a later
 * N-API version, whatever headers it was built with.
 */

#define _GNU_SOURCE
#include <sys/socket.h>
#include <node_api.h>

static napi_value fail(napi_env env, const char *message)
{
	napi_throw_error(env, NULL, message);
	return NULL;
}

static napi_value peer_credentials(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], result, value;
	int32_t fd;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
	    napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
		return fail(env, "peerCredentials takes one file descriptor");
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred))
		return fail(env, "getsockopt(SO_PEERCRED) failed");
	if (napi_create_object(env, &result) != napi_ok)
		return NULL;
	if (napi_create_int64(env, cred.pid, &value) != napi_ok || napi_set_named_property(env, result, "pid", value) != napi_ok ||
	    napi_create_uint32(env, cred.uid, &value) != napi_ok || napi_set_named_property(env, result, "uid", value) != napi_ok ||
	    napi_create_uint32(env, cred.gid, &value) != napi_ok || napi_set_named_property(env, result, "gid", value) != napi_ok)
		return NULL;
	return result;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_value fn;
	if (napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn) != napi_ok ||
	    napi_set_named_property(env, exports, "peerCredentials", fn) != napi_ok)
		return NULL;
	return exports;
}

NAPI_MODULE(peercred, init)
