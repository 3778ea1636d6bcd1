// `gatebox export kubernetes PROFILE`: what `run` would submit to a cluster, printed for
// users who submit through their own tooling. The same stages as `run` up to the stack
// (profile, site policy, seccomp, mounts, rootfs), then the stack's manifest instead of a
// run. `gatebox export seccomp PROFILE`: the profile's seccomp policy as an OCI seccomp
// profile, the one runc, crun and containerd read: what a cluster's nodes install as the
// Localhost profile that gives the kubernetes stack the same filter as the others.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/cli.hpp"
#include "log/console.hpp"
#include "policy/mounts.hpp"
#include "policy/oci_seccomp.hpp"
#include "policy/seccomp.hpp"
#include "policy/site_policy.hpp"
#include "profile/loader.hpp"
#include "policy/operator_keys.hpp"
#include "rootfs/rootfs.hpp"
#include "stack/kubernetes/kubernetes_stack.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace gatebox {

namespace {

int export_seccomp(const RunOptions& options) {
  Profile profile = load_profile(options.profile, options.overrides);
  const SitePolicy site_policy = load_site_policy();
  apply_site_defaults(site_policy, profile);
  enforce_site_policy(site_policy, profile, resolve_mounts(profile));
  const SeccompPolicy seccomp = resolve_seccomp(profile.seccomp);
  const std::optional<nlohmann::json> oci = render_oci_seccomp(seccomp);
  if (!oci) {
    throw make_error(ExitCode::bad_input, "{}: seccomp.profile = \"unconfined\" has no filter to export",
                     options.profile);
  }
  std::cout << oci->dump(2) << "\n";
  return 0;
}

}  // namespace

int export_command(const RunOptions& options, const std::string& format, bool push) {
  if (format == "seccomp") return export_seccomp(options);
  if (format != "kubernetes") {
    throw make_error(ExitCode::usage, "cannot export '{}': the formats are kubernetes and seccomp", format);
  }
  Console& console = Console::get();
  Overrides overrides = options.overrides;
  overrides.stack = "kubernetes";  // the stack's own rules apply (registry, non-root user, ...)
  Profile profile = load_profile(options.profile, overrides);
  const SitePolicy site_policy = load_site_policy();
  apply_site_defaults(site_policy, profile);
  enforce_operator_keys(site_policy, profile);  // the registry, cluster, context: the operator's
  profile.stack.kind = "kubernetes";
  const SeccompPolicy seccomp = resolve_seccomp(profile.seccomp);
  const std::vector<ResolvedMount> mounts = resolve_mounts(profile);
  enforce_site_policy(site_policy, profile, mounts);
  const std::filesystem::path cache_dir =
      options.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(options.cache_dir);
  RootfsTree rootfs = prepare_rootfs(profile, cache_dir, [&](std::uint64_t done, std::uint64_t total) {
    console.progress("unpacking rootfs", done, total);
  });
  console.progress_done();
  LogSink logs(LogSink::Options{LogFormat::plain, profile.limits.output, "", STDOUT_FILENO, STDERR_FILENO});
  const RunRequest request{profile, rootfs, seccomp, mounts, logs, cache_dir, make_run_id()};
  const std::string manifest = export_kubernetes_job(request, push);
  std::fwrite(manifest.data(), 1, manifest.size(), stdout);
  if (!push) console.info("the image was not pushed (--no-push): the manifest names its digest only");
  return 0;
}

}  // namespace gatebox
