#!/bin/bash
# One session start the way x2gostartagent starts one, as far as the database goes: a display
# (ask x2gogetfreeport, insert, retry up to 10 times on a clash), then three ports the same way.
# The helpers are whatever /usr/lib/x2go holds: the reference's, or ours after the drop-in.
# Prints "ok <retries>" or "failed <retries>". Used by bench/storm.bench.ts.
#   start-session.sh <server>
set -u
lib='/usr/lib/x2go'
host="${1}"
ss="$(PATH="${PATH}:/usr/sbin:/sbin" type -P ss)"
typeset -i retries=0 display=50 port=0 try=0
out=''
sid=''
for ((try = 0; try < 10; ++try)); do
	if free="$("${lib}/x2gogetfreeport" "${host}" "${ss}" 'display' "${display}")"; then
		display="${free}"
		sid="${USER}-${display}-$(date '+%s')_stDxfce_dp24"
		out="$("${lib}/x2goinsertsession" "${display}" "${host}" "${sid}" 2>/dev/null)"
		[[ "${out}" = 'inserted' ]] && break
	fi
	retries+=1
done
[[ "${out}" = 'inserted' ]] || { echo "failed ${retries}"; exit 1; }
port="$("${lib}/x2gogetrandomport")"
for n in 1 2 3; do
	out=''
	for ((try = 0; try < 10; ++try)); do
		if free="$("${lib}/x2gogetfreeport" "${host}" "${ss}" 'lowlevel' "${port}")"; then
			port="${free}"
			out="$("${lib}/x2goinsertport" "${host}" "${sid}" "${port}" 2>/dev/null)"
			[[ "${out}" = 'inserted' ]] && break
		fi
		retries+=1
	done
	[[ "${out}" = 'inserted' ]] || { echo "failed ${retries}"; exit 1; }
done
echo "ok ${retries}"
