#!/usr/bin/env bash
# HOME is the same on every stack (docs/ARCHITECTURE.md §5): the run.user's home in the
# image's /etc/passwd, else "/", unless the profile sets it. (docker and gVisor used to set
# it from the image themselves, native and the VMs left it unset.)
. "$(dirname "$0")/../lib.sh"

make_profile home <<EOF2
name = "e2e-env-home"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo home=\$HOME", "$MARKER"]
[limits]
timeout = "60s"
EOF2

# The test image's passwd: nobody (65534) has /home, root /root; uid 1234 is not there.
gb_run "$PROFILE"
expect_exit 0
expect_stdout_has "home=/home"
expect_no_leftovers

gb_run "$PROFILE" --set 'run.user="1234:1234"'
expect_exit 0
expect_stdout_has "home=/"
expect_stdout_lacks "home=/home"
expect_no_leftovers

if [ "$GATEBOX_STACK" != kubernetes ]; then  # runAsNonRoot there
  gb_run "$PROFILE" --set 'run.user="0:0"'
  expect_exit 0
  expect_stdout_has "home=/root"
  expect_no_leftovers
fi

gb_run "$PROFILE" -e HOME=/work
expect_exit 0
expect_stdout_has "home=/work"
expect_no_leftovers
pass
