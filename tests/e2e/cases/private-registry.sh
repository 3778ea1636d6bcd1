#!/usr/bin/env bash
# The kubernetes stack with a registry that wants credentials (the test cluster's second
# registry, HTTP Basic; tests/k8s/cluster.sh): gatebox pushes with what `docker login` left
# in Docker's client config, the nodes pull with stack.kubernetes.image_pull_secret.
# - no credentials for the registry: 69 before any Job, naming `docker login HOST`;
# - a wrong password: 69, naming the user and where the credentials came from, not them;
# - pushed, but no pull secret: the pod cannot pull, 70 at once with the reason;
# - both: the gate runs, and a second run pushes nothing.
. "$(dirname "$0")/../lib.sh"
only_on kubernetes
[ -n "${GATEBOX_K8S_PRIVATE_REGISTRY:-}" ] && [ -f "${GATEBOX_K8S_PRIVATE_DOCKER_CONFIG:-}/config.json" ] ||
  skip "no private registry: GATEBOX_K8S_PRIVATE_REGISTRY and GATEBOX_K8S_PRIVATE_DOCKER_CONFIG come from tests/k8s/cluster.sh env"
host=${GATEBOX_K8S_PRIVATE_REGISTRY#http://}
host=${host%%/*}

# Its own image: its push is this case's, whatever ran before on the cluster's registries.
make_own_image private-marker

make_profile private <<EOF
name = "e2e-private-registry"
[rootfs]
image = "$OWN_IMAGE"
[run]
argv = ["/bin/sh", "-c", "echo pulled-\$(cat /private-marker)", "$MARKER"]
[limits]
timeout = "60s"
EOF
registry=(--set "stack.kubernetes.registry=\"$GATEBOX_K8S_PRIVATE_REGISTRY\"")

# No credentials for the host.
mkdir -p "$T/no-login"
echo '{"auths": {}}' >"$T/no-login/config.json"
DOCKER_CONFIG="$T/no-login" gb_run "$PROFILE" "${registry[@]}"
expect_exit 69
expect_stderr_has "the registry $host wants credentials"
expect_stderr_has "docker login $host"
expect_no_leftovers

# A wrong password.
mkdir -p "$T/wrong"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$host" "$(printf 'gates:not-the-password' | base64 -w0)" >"$T/wrong/config.json"
DOCKER_CONFIG="$T/wrong" gb_run "$PROFILE" "${registry[@]}"
expect_exit 69
expect_stderr_has "rejected the credentials of user 'gates'"
expect_stderr_has "(credentials from $T/wrong/config.json)"
! grep -qF "not-the-password" "$T/stderr" || fail "the password was printed"
expect_no_leftovers

# Pushed with the right ones, but the nodes have no secret to pull with.
DOCKER_CONFIG="$GATEBOX_K8S_PRIVATE_DOCKER_CONFIG" gb_run "$PROFILE" "${registry[@]}"
expect_exit 70
expect_stderr_has "image pull failed"
expect_stderr_has "set stack.kubernetes.image_pull_secret"
expect_no_leftovers

# Both: the gate runs from the private registry; the image is there already.
DOCKER_CONFIG="$GATEBOX_K8S_PRIVATE_DOCKER_CONFIG" gb_run "$PROFILE" "${registry[@]}" \
  --set "stack.kubernetes.image_pull_secret=\"$GATEBOX_K8S_PULL_SECRET\"" -v
expect_exit 0
expect_stdout_has "pulled-$MARKER"
expect_stderr_has "is already in the registry: nothing pushed"
expect_no_leftovers
pass
