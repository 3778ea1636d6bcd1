#!/usr/bin/env bash
# A sandbox whose set-up fails after gatebox started building it exits 70 (README, exit
# codes: "internal or sandbox set-up failure (the gate never started); nothing is left
# behind"): here a [[mount]] whose target lies under a regular file of the image, which
# validation cannot know and the set-up cannot create. Never a verdict about the gate.
. "$(dirname "$0")/../lib.sh"
only_on native docker gvisor qemu firecracker

mkdir -p "$T/src"
echo "$MARKER" >"$T/src/file"
make_profile setupfail <<EOF2
name = "e2e-setup-failure"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo gate-ran-$MARKER", "$MARKER"]
[limits]
timeout = "60s"
[[mount]]
source = "$T/src"
target = "/bin/busybox/under-a-file"
EOF2

gb_run "$PROFILE"
expect_exit 70
expect_stdout_lacks "gate-ran-$MARKER"
expect_stderr_lacks "gatebox: pass"
expect_stderr_lacks "gatebox: fail"
expect_no_leftovers
# The next run on the same cache is unaffected.
sed '/^\[\[mount\]\]$/,$d' "$PROFILE" >"$T/no-mount.toml"
gb_run "$T/no-mount.toml"
expect_exit 0
expect_stdout_has "gate-ran-$MARKER"
expect_no_leftovers
pass
