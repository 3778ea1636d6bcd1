#!/usr/bin/env bash
# Every example profile in configs/ is valid and gives the exit code its "# expect-exit: N"
# line promises (0 when it has none).
# timeout: 240
. "$(dirname "$0")/../lib.sh"

configs=$(cd "$E2E_DIR/../../configs" && pwd)
[ -f "$GATEBOX_BUSYBOX_IMAGE" ] || skip "the sample rootfs $GATEBOX_BUSYBOX_IMAGE is missing (make rootfs)"
[ "$(cd "$configs/../rootfs/build" 2>/dev/null && pwd)" = "$(cd "$(dirname "$GATEBOX_BUSYBOX_IMAGE")" && pwd)" ] ||
  skip "the configs use ../rootfs/build/busybox.tar.zst, not $GATEBOX_BUSYBOX_IMAGE"

count=0
for profile in "$configs"/*.toml; do
  name=$(basename "$profile")
  want=$(sed -n 's/^# expect-exit: \([0-9]*\)$/\1/p' "$profile" | head -n 1)
  want=${want:-0}
  if [ "$GATEBOX_STACK" = kubernetes ]; then
    # Two examples check, from inside, limits that are the cluster's on kubernetes (see
    # `gatebox run --dry-run`): a pod always has a route to its own subnet (network.sh checks
    # that nothing is reachable on the test cluster), and open files and /tmp's size are the
    # runtime's default and a kubelet eviction, not ENOSPC (disk.sh checks the eviction).
    case $name in
      network-denied.toml | resource-limited.toml)
        echo "NOTE: $name does not apply to kubernetes: it checks limits the cluster sets"
        continue
        ;;
    esac
  fi
  "$GATEBOX" validate "$profile" >"$T/validate.out" 2>&1 || {
    cat "$T/validate.out" >&2
    fail "$name does not validate"
  }
  # A profile on the test image (fixtures) gets the one this suite built.
  if grep -q 'fixtures.tar.zst' "$profile"; then
    gb_run "$profile" --set "rootfs.image=\"$IMAGE\""
  else
    gb_run "$profile"
  fi
  [ "$GB_EXIT" = "$want" ] || fail "$name: expected exit code $want, got $GB_EXIT"
  expect_no_leftovers
  count=$((count + 1))
done
[ "$count" -gt 0 ] || fail "no profiles in $configs"
pass "$count profiles"
