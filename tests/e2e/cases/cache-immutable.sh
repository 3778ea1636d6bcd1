#!/usr/bin/env bash
# The cached rootfs tree is shared by every run of the image, on every stack: no run may
# change it. A gate running as root writes everywhere it can, and the run asks the stack to
# make what the image lacks (a mount target, run.cwd, the verdict file's folder): the tree's
# listing (names, modes, sizes, mtimes) is the same before and after, and the gate's own
# writes, where they succeed, are gone on the next run.
. "$(dirname "$0")/../lib.sh"

mkdir -p "$T/src"
echo mounted >"$T/src/file.txt"
make_profile scribble <<EOF2
name = "e2e-cache-immutable"
[rootfs]
image = "$IMAGE"
[run]
argv = ["/bin/sh", "-c", "cat /new/mount/point/file.txt; pwd; for d in / /etc /bin /usr /var /new /work; do touch \$d/scribble-$MARKER 2>/dev/null && echo wrote-\$d; done; mkdir -p /etc/made-$MARKER 2>/dev/null; chmod 777 /etc 2>/dev/null; echo '{\"verdict\": \"pass\"}' >/out/deep/verdict.json; true", "$MARKER"]
cwd = "/work/deeper/cwd"
user = "0:0"
[limits]
timeout = "60s"
[verdict]
file = "/out/deep/verdict.json"
[[mount]]
source = "$T/src"
target = "/new/mount/point"
EOF2

# Kubernetes refuses root gates (runAsNonRoot): there the gate runs as the default user.
[ "$GATEBOX_STACK" != kubernetes ] || sed -i '/^user = "0:0"$/d' "$PROFILE"

# A first run puts the tree in the cache; its listing is taken after it.
gb_run "$PROFILE"
expect_exit 0
expect_stdout_has mounted
expect_stdout_has /work/deeper/cwd
sha=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["rootfs"]["sha256"])' "$GB_REPORT") ||
  fail "the report names no rootfs sha256"
tree="$GB_CACHE/rootfs/$sha"
[ -d "$tree" ] || fail "the cached tree $tree is missing"
listing() { (cd "$tree" && find . -printf '%p %M %s %T@ %U:%G\n' | LC_ALL=C sort); }
listing >"$T/before"
# The listing is taken after a run that already made the missing directories, so compare
# with the image itself too: none of them may be in the tree.
for p in new work out "bin/scribble-$MARKER" "etc/made-$MARKER" "scribble-$MARKER"; do
  [ ! -e "$tree/$p" ] || fail "the run created /$p in the shared cached tree"
done

gb_run "$PROFILE"
expect_exit 0
listing >"$T/after"
if ! cmp -s "$T/before" "$T/after"; then
  fail "a run changed the cached tree: $(diff "$T/before" "$T/after" | head -n 10)"
fi
grep -q "scribble-$MARKER" "$T/after" && fail "the gate's writes reached the cached tree"

# Writes the gate made are not seen by the next run (every run starts from the image).
gb_run "$PROFILE" -- /bin/sh -c "ls /scribble-$MARKER /etc/scribble-$MARKER /etc/made-$MARKER 2>&1; true"
expect_exit 0
[ "$(grep -c "No such file" "$T/stdout")" -ge 3 ] || fail "a write of an earlier run is still visible: $(cat "$T/stdout")"
expect_no_leftovers
pass
