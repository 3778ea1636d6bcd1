#!/usr/bin/env bash
# gVisor through Docker: stack.docker.runtime = "runsc" runs the gate on gVisor's kernel.
# Only on the docker stack, and only when the daemon has a runsc runtime registered.
. "$(dirname "$0")/../lib.sh"
only_on docker

has_runsc_runtime() {
  # gatebox's own view first (docker details), then the daemon's.
  { "$GATEBOX" stacks --json docker 2>/dev/null || true; } | python3 -c '
import json, sys
data = json.load(sys.stdin)
for s in data["stacks"] if isinstance(data, dict) else data:
    if s.get("name") == "docker":
        d = json.dumps(s.get("details", {}))
        sys.exit(0 if "runsc" in d else 1)
sys.exit(1)' && return 0
  command -v docker >/dev/null && docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'
}
has_runsc_runtime || skip "the Docker daemon has no runsc runtime (register one in /etc/docker/daemon.json)"

make_profile docker-runsc <<EOF2
name = "e2e-docker-runsc"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo kernel=\$(uname -r); echo $MARKER"]
[limits]
timeout = "120s"
EOF2

gb_run "$PROFILE" --set 'stack.docker.runtime="runsc"'
expect_exit 0
expect_stdout_has "$MARKER"
# gVisor's kernel reports itself as Linux 4.4.0, whatever the host runs.
expect_stdout_has "kernel=4.4.0"
expect_no_leftovers

# The same gate on Docker's default runtime sees the host's kernel, not gVisor's.
gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "kernel=$(uname -r)"
expect_no_leftovers
pass
