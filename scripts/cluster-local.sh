#!/usr/bin/env bash
# cluster-local.sh up N|down|status [DIR] -- a private ZooKeeper and N dist
# workers on 127.0.0.1, for trying dist as it runs on a real cluster.
#
#   eval "$(scripts/cluster-local.sh up 3)"  # ZooKeeper + workers w1..w3, state in ./.cluster
#   # up prints: export DIST_ZK=127.0.0.1:2181 DIST_SECRET_FILE=$PWD/.cluster/secret
#   build/bin/dist workers
#   build/bin/dist run --app build/bin/wordcount --input 'build/sample/*.txt' --output /tmp/out
#   kill -9 "$(cat .cluster/w2.pid)"         # lose a worker (by its pid file)
#   scripts/cluster-local.sh status          # who runs; metrics addresses
#   scripts/cluster-local.sh down            # stop the workers, then ZooKeeper
#
# DIR holds zk/ (scripts/zk-local.sh's directory), secret (the cluster
# secret, made at the first up unless DIST_SECRET_FILE names one) and, per
# worker wI: wI.pid, wI.log (its log), wI.out (its ready line) and wI/ (its
# --dir). dist run and dist workers need the secret too: up prints the
# environment that gives it to them.
# Workers listen on free ports and serve Prometheus metrics on free ports
# (status shows them). Every process is stopped by its pid file, never by
# name. up again after down reuses DIR; up while running says so.
#
# Environment:
#   DIST         the dist binary (default: build/bin/dist of this repository,
#                else dist on PATH)
#   SLOTS        slots per worker (default 2)
#   ZK_PORT      ZooKeeper's client port (default 2181)
#   DIST_SECRET_FILE   the cluster secret to use (default: DIR/secret, made if missing)
#   DIST_LOG_LEVEL, ...   passed on to the workers as usual
set -euo pipefail

usage() {
	echo "usage: $0 up N|down|status [DIR]   (DIR defaults to ./.cluster; env DIST, SLOTS, ZK_PORT)" >&2
	exit 2
}
die() {
	echo "cluster-local: $*" >&2
	exit 1
}
say() { echo "cluster-local: $*" >&2; }

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || usage
cmd=$1
shift
n=
if [ "$cmd" = up ]; then
	[ $# -ge 1 ] || usage
	n=$1
	shift
	[[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 64 ] || die "N=$n: give a number of workers from 1 to 64"
fi
[ $# -le 1 ] || usage
dir=${1:-./.cluster}

distbin() {
	local d=${DIST:-}
	if [ -z "$d" ]; then
		if [ -x "$here/../build/bin/dist" ]; then
			d=$here/../build/bin/dist
		elif command -v dist >/dev/null; then
			d=$(command -v dist)
		else
			die "no dist binary: run make build (or set DIST)"
		fi
	fi
	[ -x "$d" ] || die "DIST=$d is not an executable"
	echo "$d"
}

# alive I prints worker I's pid if its pid file names a live dist worker.
alive() {
	local f=$dir/w$1.pid pid cmdline
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid.
	if [ -r "/proc/$pid/cmdline" ]; then
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
		[[ $cmdline == *" worker "* ]] || return 1
	fi
	echo "$pid"
}

# workers lists the indexes of workers that have a pid file.
workers() {
	local f
	shopt -s nullglob
	for f in "$dir"/w*.pid; do
		f=${f##*/w}
		echo "${f%.pid}"
	done | sort -n
}

# ready I prints worker I's ready line once it is there.
ready() { sed -n 's/^dist worker ready //p' "$dir/w$1.out" 2>/dev/null; }

start_worker() {
	local i=$1 zk=$2 dist=$3 secret=$4 pid
	if pid=$(alive "$i"); then
		say "w$i already running (pid $pid)"
		return 0
	fi
	: >"$dir/w$i.out"
	# setsid: the worker outlives this shell and ignores its terminal's ^C.
	setsid "$dist" worker --id "w$i" --listen 127.0.0.1:0 --zk "$zk" --secret-file "$secret" --slots "${SLOTS:-2}" \
		--dir "$dir/w$i" --metrics-addr 127.0.0.1:0 --drain-timeout 5s \
		>"$dir/w$i.out" 2>>"$dir/w$i.log" </dev/null &
	echo $! >"$dir/w$i.pid"
}

wait_ready() {
	local i=$1 k
	for ((k = 0; k < 300; k++)); do
		[ -n "$(ready "$i")" ] && return 0
		if ! alive "$i" >/dev/null; then
			tail -n 20 "$dir/w$i.log" >&2 || true
			die "worker w$i exited at startup; its log is $dir/w$i.log"
		fi
		sleep 0.1
	done
	die "worker w$i not ready after 30s; its log is $dir/w$i.log"
}

# secret prints the secret file's absolute path, making one if needed.
secret() {
	local f=${DIST_SECRET_FILE:-$dir/secret}
	if [ ! -f "$f" ]; then
		(umask 077 && head -c 32 /dev/urandom | base64 >"$f")
		say "made a cluster secret in $f"
	fi
	echo "$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
}

up() {
	local dist zk i secret
	dist=$(distbin)
	mkdir -p "$dir"
	secret=$(secret)
	zk=$("$here/zk-local.sh" start "$dir/zk")
	for ((i = 1; i <= n; i++)); do
		start_worker "$i" "$zk" "$dist" "$secret"
	done
	for ((i = 1; i <= n; i++)); do
		wait_ready "$i"
	done
	say "$n worker(s) registered in ZooKeeper at $zk (state in $dir)"
	status >&2
	printf 'export DIST_ZK=%q DIST_SECRET_FILE=%q\n' "$zk" "$secret"
}

down() {
	local i pid k
	for i in $(workers); do
		if ! pid=$(alive "$i"); then
			rm -f "$dir/w$i.pid"
			continue
		fi
		kill -TERM "$pid" 2>/dev/null || true
		for ((k = 0; k < 150; k++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			say "w$i (pid $pid) ignored SIGTERM for 15s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$dir/w$i.pid"
		say "stopped w$i (pid $pid)"
	done
	"$here/zk-local.sh" stop "$dir/zk"
}

status() {
	local i pid any=
	if zk=$("$here/zk-local.sh" status "$dir/zk" 2>/dev/null); then
		echo "zookeeper  $zk"
	else
		echo "zookeeper  not running"
	fi
	for i in $(workers); do
		any=1
		if pid=$(alive "$i"); then
			echo "w$i  pid $pid  $(ready "$i")"
		else
			echo "w$i  not running (log $dir/w$i.log)"
		fi
	done
	[ -n "$any" ] || echo "no workers (cluster-local.sh up N)"
}

case $cmd in
up) up ;;
down) down ;;
status) status ;;
*) usage ;;
esac
