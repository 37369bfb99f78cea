#!/usr/bin/env bash
# zk-local.sh start|stop|status [DIR] -- a private ZooKeeper for development.
#
#   scripts/zk-local.sh start              # 127.0.0.1:2181, state in ./.zk
#   ZK_PORT=2182 scripts/zk-local.sh start /tmp/zk
#   export DIST_ZK=$(scripts/zk-local.sh status)
#   scripts/zk-local.sh stop
#
# DIR holds zoo.cfg, data/, zookeeper.log and zookeeper.pid. start prints
# the address on stdout (and succeeds if it is already running); status
# prints it, or exits 3 when not running; stop kills the server by its
# pid file.
#
# The server comes from Debian's package (apt-get install zookeeper) or a
# release tarball at $ZOOKEEPER_HOME. Environment:
#   ZK_PORT   client port (default 2181)
#   ZK_BIND   address to listen on (default 127.0.0.1)
#   JAVA      java binary (default $JAVA_HOME/bin/java, else java)
set -euo pipefail

usage() {
	echo "usage: $0 start|stop|status [DIR]   (DIR defaults to ./.zk; env ZK_PORT, ZK_BIND)" >&2
	exit 2
}
die() {
	echo "zk-local: $*" >&2
	exit 1
}
say() { echo "zk-local: $*" >&2; }

[ $# -ge 1 ] && [ $# -le 2 ] || usage
cmd=$1
dir=${2:-./.zk}
pidfile=$dir/zookeeper.pid
cfg=$dir/zoo.cfg
log=$dir/zookeeper.log

# running prints the server's pid if the pid file names a live ZooKeeper.
running() {
	[ -f "$pidfile" ] || return 1
	local pid
	pid=$(cat "$pidfile")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Guard against a recycled pid. (Not tr | grep -q: with pipefail, tr
	# dying of SIGPIPE when grep stops early would fail the test.)
	if [ -r "/proc/$pid/cmdline" ]; then
		local cmdline
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
		[[ $cmdline == *ZooKeeperServerMain* ]] || return 1
	fi
	echo "$pid"
}

# cfgval KEY prints KEY's value from zoo.cfg.
cfgval() { sed -n "s/^$1=//p" "$cfg" | tail -n 1; }

# addr prints the client address from zoo.cfg.
addr() {
	local host
	host=$(cfgval clientPortAddress)
	[ -n "$host" ] && [ "$host" != 0.0.0.0 ] || host=127.0.0.1
	echo "$host:$(cfgval clientPort)"
}

# srvr HOST PORT prints the server's answer to "srvr" (nothing if none).
srvr() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf srvr >&3 && cat <&3' "$1" "$2" 2>/dev/null || true
}

# classpath prints the server's class path.
classpath() {
	local jars=()
	shopt -s nullglob
	if [ -n "${ZOOKEEPER_HOME:-}" ]; then
		jars=("$ZOOKEEPER_HOME"/*.jar "$ZOOKEEPER_HOME"/lib/*.jar)
		[ ${#jars[@]} -gt 0 ] || die "ZOOKEEPER_HOME=$ZOOKEEPER_HOME holds no jars in it or in lib/"
		[ -d "$ZOOKEEPER_HOME/conf" ] && jars=("$ZOOKEEPER_HOME/conf" "${jars[@]}")
	elif jars=(/usr/share/zookeeper/*.jar /usr/share/zookeeper/lib/*.jar) && [ ${#jars[@]} -gt 0 ]; then
		: # an older Debian layout
	elif [ -f /usr/share/java/zookeeper.jar ]; then
		# Its manifest names the dependencies; add a logger binding.
		jars=(/usr/share/java/zookeeper.jar)
		[ -f /usr/share/java/slf4j-simple.jar ] && jars+=(/usr/share/java/slf4j-simple.jar)
	else
		die "ZooKeeper not installed: apt-get install zookeeper (or set ZOOKEEPER_HOME to a release)"
	fi
	local IFS=:
	echo "${jars[*]}"
}

javabin() {
	local java=${JAVA:-}
	if [ -z "$java" ] && [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
		java=$JAVA_HOME/bin/java
	fi
	java=${java:-java}
	command -v "$java" >/dev/null || die "java not found: apt-get install zookeeper pulls in a JRE (or set JAVA)"
	echo "$java"
}

start() {
	local pid
	if pid=$(running); then
		say "already running (pid $pid)"
		addr
		return 0
	fi
	local port=${ZK_PORT:-2181} bind=${ZK_BIND:-127.0.0.1}
	[[ $port =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
		die "ZK_PORT=$port is not a port number"
	local java cp
	java=$(javabin)
	cp=$(classpath)
	local probe=$bind
	[ "$probe" != 0.0.0.0 ] || probe=127.0.0.1
	if timeout 1 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$probe" "$port" 2>/dev/null; then
		die "$probe:$port is already in use (another ZooKeeper?): pick another with ZK_PORT"
	fi

	mkdir -p "$dir/data"
	local abs
	abs=$(cd "$dir" && pwd)
	cat >"$cfg" <<-EOF
		tickTime=2000
		initLimit=10
		syncLimit=5
		dataDir=$abs/data
		clientPort=$port
		clientPortAddress=$bind
		admin.enableServer=false
		4lw.commands.whitelist=srvr,ruok,stat,cons,dump,mntr
		autopurge.snapRetainCount=3
		autopurge.purgeInterval=1
	EOF

	# setsid: the server outlives this shell and its terminal.
	setsid "$java" -Xmx512m -XX:+UseSerialGC \
		-Dzookeeper.log.dir="$abs" \
		-Dzookeeper.root.logger=INFO,CONSOLE \
		-Dzookeeper.jmx.log4j.disable=true \
		-Dorg.slf4j.simpleLogger.showDateTime=true \
		-cp "$cp" org.apache.zookeeper.server.ZooKeeperServerMain "$abs/zoo.cfg" \
		>>"$log" 2>&1 </dev/null &
	pid=$!
	echo "$pid" >"$pidfile"

	local i
	for ((i = 0; i < 300; i++)); do
		if srvr "$probe" "$port" | grep -q '^Mode: '; then
			say "ZooKeeper serving at $(addr) (pid $pid, dir $abs)"
			addr
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$pidfile"
			tail -n 20 "$log" >&2 || true
			die "ZooKeeper exited at startup; the log is $log"
		fi
		sleep 0.1
	done
	stop >/dev/null 2>&1 || true
	die "ZooKeeper did not serve at $probe:$port within 30s; the log is $log"
}

stop() {
	local pid
	if ! pid=$(running); then
		rm -f "$pidfile"
		say "not running (dir $dir)"
		return 0
	fi
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "pid $pid ignored SIGTERM for 10s; killing it"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
	say "stopped (pid $pid)"
}

status() {
	local pid
	if pid=$(running); then
		addr
		return 0
	fi
	say "not running (dir $dir)"
	return 3
}

case $cmd in
start) start ;;
stop) stop ;;
status) status ;;
*) usage ;;
esac
