#!/usr/bin/env bash
# s3-local.sh build|start|stop|status [DIR] -- a private S3-compatible store
# (SeaweedFS) for development and tests.
#
#   eval "$(scripts/s3-local.sh start)"     # state in ./.s3
#   go run ./scripts/s3 mb s3://books        # or any S3 client
#   eval "$(scripts/s3-local.sh status)"
#   scripts/s3-local.sh stop
#
# start runs `weed server -s3` (master, volume, filer and S3 gateway in one
# process) on 127.0.0.1, every port picked free, waits until the store takes
# writes (gateway and filer answer, a volume server has joined; a bucket's
# first write still waits some seconds on weed), and prints on stdout the
# lines to eval:
#   export AWS_ENDPOINT_URL=http://127.0.0.1:PORT
#   export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_REGION=us-east-1
# (it succeeds and prints them again if the store already runs). status
# prints them, or exits 3 when not running; stop sends SIGTERM to the pid in
# the pid file and waits (weed takes about 15s). DIR holds s3.json (the one identity), ports, data/,
# weed.log and weed.pid.
#
# build (run by start when needed) builds weed from the Go module in
# scripts/s3local, at the SeaweedFS version pinned there, into a cache that
# every later run and clone reuses, and prints its path. The first build
# takes several minutes. Environment:
#   WEED          a weed binary to use instead of the cached build
#   DIST_CACHE    cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/dist)
#   S3_PORT       the S3 port (default: a free one)
#   GO            go command (default go)
set -euo pipefail

usage() {
	echo "usage: $0 build|start|stop|status [DIR]   (DIR defaults to ./.s3; env WEED, DIST_CACHE, S3_PORT)" >&2
	exit 2
}
die() {
	echo "s3-local: $*" >&2
	exit 1
}
say() { echo "s3-local: $*" >&2; }

[ $# -ge 1 ] && [ $# -le 2 ] || usage
cmd=$1
dir=${2:-./.s3}
# paths sets the files' paths from dir (start makes dir absolute, for
# weed runs in it).
paths() {
	pidfile=$dir/weed.pid
	portsfile=$dir/ports
	log=$dir/weed.log
}
paths
here=$(cd "$(dirname "$0")" && pwd)
modir=$here/s3local

# The one identity start configures. Fixed, not secret: the store listens
# on 127.0.0.1 only and holds development data.
access_key=dist-local
secret_key=dist-local-secret
region=us-east-1

# version prints the SeaweedFS version pinned in scripts/s3local/go.mod.
version() {
	local v
	v=$(sed -n 's|^\(require\)\{0,1\}[[:space:]]*github\.com/seaweedfs/seaweedfs \(v[^ ]*\).*|\2|p' "$modir/go.mod" | head -n 1)
	[ -n "$v" ] || die "$modir/go.mod requires no github.com/seaweedfs/seaweedfs version"
	echo "$v"
}

# cached prints where the build of the pinned version lives.
cached() { echo "${DIST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dist}/weed-$(version)"; }

# weedbin prints the weed binary to run, building it if it is missing.
weedbin() {
	if [ -n "${WEED:-}" ]; then
		[ -x "$WEED" ] || die "WEED=$WEED is not an executable file"
		echo "$WEED"
		return 0
	fi
	local bin
	bin=$(cached)
	[ -x "$bin" ] || build >/dev/null
	echo "$bin"
}

build() {
	local bin
	bin=$(cached)
	if [ -x "$bin" ]; then
		echo "$bin"
		return 0
	fi
	local go=${GO:-go}
	command -v "$go" >/dev/null || die "go not found: weed is built from source (install Go, or set GO or WEED)"
	mkdir -p "$(dirname "$bin")"
	say "building SeaweedFS weed $(version) into $bin (the first build takes minutes)"
	local began=$SECONDS tmp=$bin.tmp.$$
	# Built to a temporary name, renamed when complete: a killed build
	# leaves no half binary for the next run to trust.
	if ! (cd "$modir" && GOWORK=off GOFLAGS=-mod=readonly "$go" build -trimpath -o "$tmp" github.com/seaweedfs/seaweedfs/weed); then
		rm -f "$tmp"
		die "building weed failed (module $modir)"
	fi
	mv -f "$tmp" "$bin"
	say "built $bin in $((SECONDS - began))s"
	echo "$bin"
}

# running prints the server's pid if the pid file names a live weed.
running() {
	[ -f "$pidfile" ] || return 1
	local pid
	pid=$(cat "$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid (see zk-local.sh for why not a pipe).
	if [ -r "/proc/$pid/cmdline" ]; then
		local cmdline
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
		[[ $cmdline == *weed*server* ]] || return 1
	fi
	echo "$pid"
}

# port NAME prints the port recorded for NAME (master, s3, ...).
port() { sed -n "s/^$1=//p" "$portsfile" | tail -n 1; }

exports() {
	echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$(port s3)"
	echo "export AWS_ACCESS_KEY_ID=$access_key AWS_SECRET_ACCESS_KEY=$secret_key AWS_REGION=$region"
}

# listening PORT says whether something accepts connections on 127.0.0.1:PORT.
listening() { timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" 2>/dev/null; }

# freeport prints a port nobody listens on and that is not in $taken (it
# is free when probed; weed binds it a moment later). It runs in a
# command substitution, a subshell: the caller adds the port to $taken.
taken=" "
freeport() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 30000))
		[[ $taken == *" $p "* ]] && continue
		listening "$p" && continue
		echo "$p"
		return 0
	done
	die "found no free port on 127.0.0.1 in 200 tries"
}

# get URL succeeds if URL answers 2xx.
get() { curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null; }

# alive PID says whether PID runs (a zombie, exited but not yet reaped by
# this shell, does not).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ ! -r "/proc/$1/stat" ] || [ "$(cut -d' ' -f3 "/proc/$1/stat")" != Z ]
}

# ready says whether the store takes writes: the S3 gateway and filer
# answer, and a volume server has joined the master.
ready() {
	get "http://127.0.0.1:$(port s3)/healthz" &&
		get "http://127.0.0.1:$(port filer)/healthz" || return 1
	local topo
	topo=$(curl -fsS --max-time 2 "http://127.0.0.1:$(port master)/dir/status" 2>/dev/null) || return 1
	[[ $topo == *'"DataNodes":[{'* ]]
}

start() {
	local pid
	if pid=$(running); then
		say "already running (pid $pid)"
		exports
		return 0
	fi
	command -v curl >/dev/null || die "curl not found: apt-get install curl (start polls the store's HTTP endpoints)"
	local bin
	bin=$(weedbin)

	mkdir -p "$dir/data"
	local abs
	abs=$(cd "$dir" && pwd)
	dir=$abs
	paths
	local s3=${S3_PORT:-}
	if [ -n "$s3" ]; then
		[[ $s3 =~ ^[0-9]+$ ]] && [ "$s3" -ge 1 ] && [ "$s3" -le 65535 ] ||
			die "S3_PORT=$s3 is not a port number"
		! listening "$s3" || die "127.0.0.1:$s3 is already in use: pick another S3_PORT"
		taken+="$s3 "
	else
		s3=$(freeport)
		taken+="$s3 "
	fi
	(
		umask 077
		cat >"$abs/s3.json" <<-EOF
			{
			  "identities": [
			    {
			      "name": "dist-local",
			      "credentials": [{"accessKey": "$access_key", "secretKey": "$secret_key"}],
			      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
			    }
			  ]
			}
		EOF
	)
	# A port picked free may be taken by another process before weed binds
	# it: then pick them all again, a few times.
	local attempt pid i mark
	for ((attempt = 1; ; attempt++)); do
		{
			echo "s3=$s3"
			local name p
			for name in s3.grpc master master.grpc volume volume.grpc filer filer.grpc; do
				p=$(freeport)
				taken+="$p "
				echo "$name=$p"
			done
		} >"$portsfile.tmp"
		mv "$portsfile.tmp" "$portsfile"
		mark=$(wc -c <"$log" 2>/dev/null || echo 0)

		# setsid: the server outlives this shell and its terminal. Run in DIR
		# so that no filer.toml of the user's working directory applies.
		(cd "$abs" && exec setsid "$bin" server \
			-ip=127.0.0.1 -ip.bind=127.0.0.1 \
			-dir="$abs/data" \
			-master.port="$(port master)" -master.port.grpc="$(port master.grpc)" \
			-master.volumeSizeLimitMB=256 -master.telemetry=false \
			-volume.port="$(port volume)" -volume.port.grpc="$(port volume.grpc)" \
			-volume.max=0 -volume.preStopSeconds=0 \
			-filer -filer.port="$(port filer)" -filer.port.grpc="$(port filer.grpc)" \
			-filer.localSocket="$abs/filer.sock" \
			-s3 -s3.port="$(port s3)" -s3.port.grpc="$(port s3.grpc)" \
			-s3.port.iceberg=0 -s3.port.lance=0 \
			-s3.localSocket="$abs/s3.sock" \
			-s3.config="$abs/s3.json" \
			>>"$log" 2>&1 </dev/null) &
		pid=$!
		echo "$pid" >"$pidfile"

		for ((i = 0; i < 600; i++)); do
			if ready; then
				say "S3 serving at http://127.0.0.1:$s3 (pid $pid, dir $abs)"
				exports
				return 0
			fi
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			stop >/dev/null 2>&1 || true
			die "S3 did not serve at 127.0.0.1:$s3 within 60s; the log is $log"
		fi
		rm -f "$pidfile"
		if ((attempt < 5)) && tail -c +"$((mark + 1))" "$log" | grep -q "address already in use"; then
			say "a port picked for weed was taken meanwhile: picking others"
			if [ -z "${S3_PORT:-}" ]; then
				s3=$(freeport)
				taken+="$s3 "
			fi
			continue
		fi
		tail -n 20 "$log" >&2 || true
		die "weed exited at startup; the log is $log"
	done
}

stop() {
	local pid
	if ! pid=$(running); then
		rm -f "$pidfile"
		say "not running (dir $dir)"
		return 0
	fi
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	# weed takes about 15s to exit: its filer tries to flush its metadata
	# log to the volume server it has already stopped, then gives up.
	local i
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "pid $pid ignored SIGTERM for 30s; killing it"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		# A killed weed leaves its gRPC sockets at fixed paths.
		local name
		for name in master volume filer s3; do
			rm -f "/tmp/seaweedfs-$name-grpc-$(port $name.grpc).sock"
		done
	fi
	rm -f "$pidfile"
	say "stopped (pid $pid)"
}

status() {
	local pid
	if pid=$(running); then
		exports
		return 0
	fi
	say "not running (dir $dir)"
	return 3
}

case $cmd in
build) build ;;
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
