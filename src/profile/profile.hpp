#pragma once
// The resolved profile (schema version 1, docs/ARCHITECTURE.md §3.2): plain data,
// validated, with every CLI override applied and every host path made absolute. Runtime
// state never lives here.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/units.hpp"

namespace gatebox {

enum class NetworkMode { none, loopback };
enum class SeccompAction { errno_eperm, kill, log };
enum class VerdictKind { pass, fail, error };

struct MountSpec {
  std::filesystem::path source;  // absolute host path
  std::string target;            // absolute path in the sandbox, normalised, no ".."
  bool readonly = true;
};

// A key that names what gatebox itself runs or talks to with the operator's authority: a
// program, kernel, daemon or endpoint, runtime, cluster, context or credential
// (stack.gvisor.runsc, stack.docker.host, ...). Those are the operator's choice, never an
// untrusted profile's: each one the profile file or the command line named is recorded, and
// the site policy stage (policy/operator_keys.hpp) refuses the file's unless allow-listed.
struct OperatorKey {
  std::string key;           // "stack.gvisor.runsc"
  std::string value;         // as resolved (a relative path made absolute)
  std::string where;         // "FILE:LINE:COL", or the option ("--set stack.gvisor.runsc=...")
  bool from_option = false;  // the operator's command line (--set) named it
  bool is_default = false;   // the value is gatebox's own default ("runsc", "")
};

struct Profile {
  std::filesystem::path file;      // the profile as given on the command line
  std::filesystem::path base_dir;  // host paths in the profile are relative to this

  int version = 1;
  std::string name;
  std::string description;

  struct Stack {
    std::string kind = "native";  // native | docker | gvisor | qemu | firecracker | kubernetes | auto
    bool kind_set = false;        // the profile (or --stack) named it; else a site policy's default applies
    std::vector<std::string> requires_features;
    std::string isolation = "any";  // any | kernel | user-space-kernel | hardware
    struct {
      std::string host;
      std::string runtime;
    } docker;
    struct {
      std::string runsc = "runsc";
      std::string platform = "auto";  // auto | systrap | ptrace | kvm
    } gvisor;
    struct {
      std::string binary = "qemu-system-x86_64";
      std::string kernel;
      std::string kernel_sha256;   // not a profile key: the site policy's pin of an allow-listed kernel
      std::string accel = "auto";  // auto | kvm | tcg
    } qemu;
    struct {
      std::string binary = "firecracker";
      std::string kernel;
      std::string kernel_sha256;  // as qemu's
    } firecracker;
    // A Job per run on a cluster (docs/ARCHITECTURE.md §4.5). Read only by the kubernetes
    // stack; checked against the rest of the profile only when kind is "kubernetes".
    struct {
      std::string kubeconfig;      // absolute host path; empty: $KUBECONFIG, else ~/.kube/config
      std::string context;         // empty: the kubeconfig's current-context
      std::string namespace_name;  // TOML key "namespace"; empty: the context's namespace, else "default"
      std::string runtime_class;   // empty: the cluster's default runtime
      std::string registry;        // where the rootfs image is pushed: "host[:port]/repo" (https) or "http://host:port/repo"
      std::string image_pull_secret;  // a Secret in the namespace the kubelet pulls with; empty: none
      std::string seccomp = "RuntimeDefault";  // RuntimeDefault | Localhost
      std::string seccomp_profile;             // with Localhost: the profile's path under the kubelet's seccomp root
    } kubernetes;
  } stack;

  struct Rootfs {
    std::filesystem::path image;  // absolute; empty when dir is used
    std::filesystem::path dir;    // absolute; empty when image is used
    std::string sha256;           // lower-case hex pin, or empty
    std::uint64_t max_bytes = 8ULL << 30;
    std::uint64_t max_entries = 2'000'000;
  } rootfs;

  struct Run {
    std::vector<std::string> argv;
    std::string cwd = "/";
    std::map<std::string, std::string> env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    std::uint32_t uid = 65534;
    std::uint32_t gid = 65534;
    std::string hostname = "gatebox";
  } run;

  struct Limits {
    Duration timeout = std::chrono::minutes(5);
    std::uint64_t memory = 1ULL << 30;
    std::uint64_t pids = 512;
    double cpus = 1.0;
    std::uint64_t disk = 1ULL << 30;
    std::uint64_t output = 16ULL << 20;
    std::uint64_t open_files = 1024;
  } limits;

  struct Network {
    NetworkMode mode = NetworkMode::none;
  } network;

  struct Seccomp {
    std::string profile = "default";  // default | strict | unconfined
    std::vector<std::string> allow;
    std::vector<std::string> deny;
    SeccompAction action = SeccompAction::errno_eperm;
    bool report = false;  // list the denied calls, with counts (native stack; --seccomp-report)
  } seccomp;

  std::vector<MountSpec> mounts;
  std::vector<OperatorKey> operator_keys;  // provenance of the operator-only keys that were set

  struct Verdict {
    std::vector<int> pass = {0};
    std::vector<int> error = {125, 126, 127};
    VerdictKind on_timeout = VerdictKind::fail;
    VerdictKind on_signal = VerdictKind::fail;
    VerdictKind on_oom = VerdictKind::fail;
    std::string file;  // absolute sandbox path, or empty
  } verdict;
};

std::string_view to_string(NetworkMode m);
std::string_view to_string(SeccompAction a);
std::string_view to_string(VerdictKind v);

}  // namespace gatebox
