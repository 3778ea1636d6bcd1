#!/usr/bin/env bash
# scripts/services/docker.sh start|stop — a Docker daemon for the docker stack's tests.
#   start: exit 3 when a daemon already answers (not ours to stop); otherwise starts
#          Debian's dockerd in the background (no iptables, no bridge, its own data root
#          and config file; overlay2 storage, the driver Docker users run, where the data
#          root's filesystem takes an overlay, else vfs), waits until it answers (at most
#          60 s) and exits 0.
#          Any other exit status: it could not start here, and the reason was printed.
#   stop:  stops only the dockerd this script started (by its pidfile) and waits for it.
# Environment: GATEBOX_DOCKERD_DIR (state: pidfile, log, config; default /var/lib/e2e-dockerd).
set -euo pipefail

# Not named after gatebox: dockerd bind-mounts its data root onto itself, and the
# end-to-end suite counts every mount whose path says "gatebox" as a leftover of a run.
state=${GATEBOX_DOCKERD_DIR:-/var/lib/e2e-dockerd}
pidfile=$state/dockerd.pid
socket=/var/run/docker.sock

answers() {
  curl -fsS --max-time 2 --unix-socket "$socket" http://localhost/_ping >/dev/null 2>&1
}

# The storage driver: overlay2 where an overlay mounts on the data root's filesystem (not
# on overlayfs itself, e.g. inside a container), else vfs, which works on any filesystem
# but copies the whole image for each container. Says which, and why vfs.
storage_driver() {
  local probe
  mkdir -p "$state/data"
  probe=$(mktemp -d "$state/data/overlay-probe.XXXXXX")
  mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
    "$probe/merged" 2>"$probe/err"; then
    umount "$probe/merged"
    rm -rf "$probe"
    # What an earlier start with vfs left (a copy of every image per container) is dead weight now.
    rm -rf "$state/data/vfs" "$state/data/image/vfs"
    echo overlay2
  else
    echo "docker: overlayfs does not mount on $(stat -f -c %T "$state/data") ($(tr -d '\n' <"$probe/err")): storage driver vfs" >&2
    rm -rf "$probe"
    echo vfs
  fi
}

start() {
  if answers; then
    echo "docker: a daemon already answers at unix://$socket"
    exit 3
  fi
  if ! command -v dockerd >/dev/null; then
    echo "docker: dockerd is missing (apt-get install docker.io); the docker stack's tests will skip"
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "docker: starting dockerd needs root; the docker stack's tests will skip"
    exit 1
  fi
  mkdir -p "$state"
  # Our own config file, never /etc/docker/daemon.json: the host's settings stay untouched.
  if [ -x /usr/bin/runsc ]; then
    cat >"$state/daemon.json" <<'JSON'
{"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace", "--network=none"]}}}
JSON
  else
    echo '{}' >"$state/daemon.json"
  fi
  local driver
  driver=$(storage_driver)
  # No iptables or bridge: gates run with NetworkMode none, and the host's firewall is not
  # ours to change.
  setsid dockerd --iptables=false --bridge=none --storage-driver="$driver" \
    --data-root "$state/data" --exec-root "$state/exec" --pidfile "$pidfile" \
    --config-file "$state/daemon.json" --host "unix://$socket" \
    </dev/null >"$state/dockerd.log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do
    if answers; then
      echo "docker: started dockerd (pid $pid, storage driver $driver, log $state/dockerd.log)"
      # Its data root is this script's: containers of gatebox runs in it were left by an
      # earlier test run that was killed before its gatebox could remove them.
      local stale
      stale=$(docker -H "unix://$socket" ps -aq --filter label=gatebox.run 2>/dev/null || true)
      if [ -n "$stale" ]; then
        echo "docker: removing $(echo "$stale" | wc -l) container(s) an interrupted earlier test run left"
        echo "$stale" | xargs docker -H "unix://$socket" rm -f >/dev/null 2>&1 || true
      fi
      exit 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "docker: dockerd exited at start; last lines of $state/dockerd.log:"
      tail -n 15 "$state/dockerd.log" | sed 's/^/    /'
      exit 1
    fi
    sleep 0.1
  done
  echo "docker: dockerd did not answer within 60 s; stopping it (log: $state/dockerd.log)"
  kill "$pid" 2>/dev/null || true
  exit 1
}

stop() {
  [ -f "$pidfile" ] || { echo "docker: no dockerd of ours is running"; return 0; }
  local pid
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa dockerd "/proc/$pid/cmdline"; then
    kill -TERM "$pid"
    for _ in $(seq 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "docker: dockerd (pid $pid) did not exit within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
  echo "docker: stopped dockerd"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 64 ;;
esac
