// The kubernetes stack (docs/ARCHITECTURE.md §4.5, docs in gatebox(1)): one gate = one
// batch/v1 Job.
//   image: the cached tree as a single-layer OCI image (plus a layer of the read-only
//          mounts), pushed by digest; a registry that has it gets HEAD requests only
//   Job:   rendered from the resolved profile (job_spec), submitted as a dry run first and
//          refused (69, nothing created) when the API server would drop a hardening
//          field; created, then read back and checked again
//   run:   the pod is polled and classified (pod_state); its log streams live from the
//          moment the container runs; gatebox's own timer enforces limits.timeout from
//          the container's start, the Job's activeDeadlineSeconds backs it up
//   end:   the Job and its pods are deleted on every path (SIGINT/SIGTERM included) and
//          gatebox waits until the pods are gone; a record under <cache>/kubernetes/runs
//          lets the next run's sweep delete what a SIGKILLed gatebox left on the cluster.
#include "stack/kubernetes/kubernetes_stack.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "log/console.hpp"
#include "rootfs/rootfs.hpp"
#include "rootfs/tree_identity.hpp"
#include "stack/exit_status.hpp"
#include "stack/kubernetes/job_spec.hpp"
#include "stack/kubernetes/kube_client.hpp"
#include "stack/kubernetes/kube_config.hpp"
#include "stack/kubernetes/oci_image.hpp"
#include "stack/kubernetes/pod_state.hpp"
#include "stack/kubernetes/registry_client.hpp"
#include "stack/timing.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/process.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kPollEvery{200};
// How long a deleted run's pods may take to go away before gatebox gives up waiting (and
// says so): the pods are deleted with a 1 s grace period, so this is only a bound.
constexpr seconds kDeleteWait{60};
// After this long, a deleted pod that never started a container is deleted at once
// (wait_pods_gone): its 1 s grace and a start already under way have both run out.
constexpr seconds kNeverStartedWait{3};

double epoch_ms_now() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

kube::KubeTarget target_for(const Profile& p) {
  const auto& k = p.stack.kubernetes;
  return kube::load_kube_target(k.kubeconfig, k.context, k.namespace_name);
}

std::string jobs_path(const std::string& ns) { return "/apis/batch/v1/namespaces/" + ns + "/jobs"; }
std::string pods_path(const std::string& ns) { return "/api/v1/namespaces/" + ns + "/pods"; }
std::string run_pods_query(const std::string& ns, const std::string& run_id) {
  return pods_path(ns) + "?labelSelector=" + kube::url_escape(kube::run_label_selector(run_id));
}

fs::path runs_dir(const fs::path& cache_dir) { return cache_dir / "kubernetes" / "runs"; }

// The container runtime mounts /proc, /dev, /sys and the /tmp volume onto the image's
// paths. runc refuses a symlink there (the pod then fails to start), but the rootfs is
// refused here first, as on the native stack: before anything is pushed, with its reason.
void check_mount_points(const RootfsTree& rootfs) {
  for (const char* name : {"proc", "dev", "sys", "tmp"}) {
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(rootfs.dir / name, ec);
    if (ec || !fs::exists(st) || fs::is_directory(st)) continue;
    throw make_error(ExitCode::bad_input,
                     "unsafe rootfs: /{} is {} (the container runtime mounts onto it; a rootfs for kubernetes "
                     "has /proc, /dev, /sys and /tmp as directories or not at all)",
                     name, fs::is_symlink(st) ? "a symlink" : "not a directory");
  }
}

// The image reference the Job uses: built (cached per rootfs) and, with `push`, pushed.
std::string publish_image(const RunRequest& request, bool push) {
  check_mount_points(request.rootfs);
  Console& console = Console::get();
  const auto& k = request.profile.stack.kubernetes;
  const kube::RegistryRef registry = kube::parse_registry(k.registry);
  std::vector<ResolvedMount> readonly_mounts;
  for (const ResolvedMount& m : request.mounts) {
    if (m.readonly) readonly_mounts.push_back(m);
  }
  kube::OciImage image = kube::build_image(request.rootfs, readonly_mounts, request.cache_dir,
                                           [&](std::uint64_t done, std::uint64_t total) {
                                             console.progress("building the image layer", done, total);
                                           });
  console.progress_done();
  struct Discard {
    const kube::OciImage& image;
    ~Discard() { kube::discard_temp_blobs(image); }
  } discard{image};
  if (!push) return registry.host + "/" + registry.repository + "@" + image.manifest_digest;
  const kube::PushResult pushed =
      kube::push_image(registry, image, [&](std::string_view line) { console.detail(line); });
  if (pushed.manifest_pushed) {
    console.detail(fmt::format("pushed {} ({} blobs, {} bytes; {} already there)", pushed.image, pushed.blobs_pushed,
                               pushed.bytes_pushed, pushed.blobs_present));
  } else {
    console.detail(fmt::format("image {} is already in the registry: nothing pushed", pushed.image));
  }
  return pushed.image;
}

// The record of a run's Job, written before the Job is created and removed once it is
// deleted: what `sweep` needs to find it again after a SIGKILL.
void write_record(const fs::path& file, const kube::KubeTarget& target, const Profile& profile,
                  const std::string& job) {
  fs::create_directories(file.parent_path());
  const nlohmann::json record = {{"kubeconfig", target.source},
                                 {"context", target.context},
                                 {"namespace", target.namespace_name},
                                 {"server", target.server},
                                 {"job", job},
                                 {"profile", profile.name}};
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << record.dump() << "\n";
    if (!out) throw make_error(ExitCode::internal, "cannot write {}", tmp.string());
  }
  fs::rename(tmp, file);
}

// Deletes the Job (Background propagation) and each of its pods with a grace period of 1 s.
// Not 0: a grace of 0 is a forced deletion, which removes the pod from the API at once while
// the kubelet is still killing its containers, so "the pods are gone" would not mean "the
// gate's processes are gone". With 1 s the pod stays listed until the kubelet has stopped
// its containers (SIGTERM, SIGKILL a second later).
void delete_run(kube::KubeClient& client, const std::string& ns, const std::string& job, const std::string& run_id) {
  client.del(jobs_path(ns) + "/" + job, {{"propagationPolicy", "Background"}});
  const nlohmann::json pods = client.get(run_pods_query(ns, run_id));
  for (const nlohmann::json& pod : pods.value("items", nlohmann::json::array())) {
    const std::string name = pod.value("/metadata/name"_json_pointer, std::string());
    if (!name.empty()) client.del(pods_path(ns) + "/" + name, {{"gracePeriodSeconds", 1}});
  }
}

// Waits (at most kDeleteWait) until the run's pods are gone from the API: with their 1 s
// grace period, that is when the kubelet has stopped their containers. A pod none of whose
// containers ever started, stuck on a failed pull or create (a missing Localhost seccomp
// profile, a bad image), is deleted at once once its grace has passed: a kubelet can take
// a minute or more to let such a pod go, and there is no gate process to wait for. Not
// before: a start that was under way when the run was deleted has reported by then.
void wait_pods_gone(kube::KubeClient& client, const std::string& ns, const std::string& job,
                    const std::string& run_id) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point until = start + kDeleteWait;
  std::set<std::string> forced;
  for (;;) {
    const nlohmann::json pods = client.get(run_pods_query(ns, run_id));
    const nlohmann::json items = pods.value("items", nlohmann::json::array());
    if (items.empty()) return;
    if (Clock::now() > until) {
      Console::get().warn(fmt::format("the pods of Job {}/{} were still there {} s after deletion; "
                                      "the cluster removes them on its own",
                                      ns, job, kDeleteWait.count()));
      return;
    }
    if (Clock::now() - start > kNeverStartedWait) {
      for (const nlohmann::json& pod : items) {
        const std::string name = pod.value("/metadata/name"_json_pointer, std::string());
        if (name.empty() || !kube::never_started(pod) || !forced.insert(name).second) continue;
        Console::get().detail(fmt::format("pod {}/{} never started its container: deleted at once", ns, name));
        client.del(pods_path(ns) + "/" + name, {{"gracePeriodSeconds", 0}});
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
}

// Exit 69 when `returned` (the Job as the API server would store it, or did) lacks a
// hardening field that `sent` has: that server cannot enforce the sandbox gatebox asked for.
void refuse_dropped_fields(const nlohmann::json& sent, const nlohmann::json& returned, const std::string& server,
                           std::string_view consequence) {
  const std::vector<std::string> dropped = kube::dropped_hardening_fields(sent, returned);
  if (dropped.empty()) return;
  std::string list;
  for (const std::string& f : dropped) list += (list.empty() ? "" : ", ") + f;
  throw make_error(ExitCode::unavailable,
                   "the API server at {} dropped hardening fields of the Job ({}): it is too old, or configured, not "
                   "to enforce them; {} (Kubernetes 1.19 or later with its default features keeps them)",
                   server, list, consequence);
}

// The run's Job on the cluster, deleted when this goes out of scope, whatever happened.
class JobGuard {
 public:
  JobGuard(kube::KubeClient& client, std::string ns, std::string job, std::string run_id, fs::path record)
      : client_(client), ns_(std::move(ns)), job_(std::move(job)), run_id_(std::move(run_id)),
        record_(std::move(record)) {}
  ~JobGuard() { remove(); }
  JobGuard(const JobGuard&) = delete;
  JobGuard& operator=(const JobGuard&) = delete;

  // Once the API server has accepted the Job. Before that (the POST failed: forbidden, an
  // invalid manifest), there is nothing to delete, only the record.
  void created() { created_ = true; }

  // Deletes the Job and its pods and waits until the pods are gone: a gate must not outlive
  // its run, and the next `gatebox` must find nothing of this one.
  void remove() noexcept {
    if (done_) return;
    done_ = true;
    if (!created_) {
      std::error_code ec;
      fs::remove(record_, ec);
      return;
    }
    try {
      delete_run(client_, ns_, job_, run_id_);
      wait_pods_gone(client_, ns_, job_, run_id_);
      std::error_code ec;
      fs::remove(record_, ec);
    } catch (const Error& e) {
      Console::get().warn(fmt::format("could not delete Job {}/{}: {} (the next run's sweep retries)", ns_, job_,
                                      e.what()));
    }
  }

 private:
  kube::KubeClient& client_;
  std::string ns_, job_, run_id_;
  fs::path record_;
  bool created_ = false;
  bool done_ = false;
};

// The pod's log, streamed on a thread of its own from the moment the container runs.
class LogFollower {
 public:
  LogFollower(const kube::KubeTarget& target, LogSink& logs) : client_(target), logs_(logs) {}
  ~LogFollower() { stop(); }
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  bool started() const { return thread_.joinable(); }
  void start(const std::string& ns, const std::string& pod) {
    thread_ = std::thread([this, ns, pod] {
      try {
        // The log API merges stdout and stderr: everything arrives as stdout. A container
        // the kubelet has not started yet answers 400: ask again until it runs.
        while (!stop_) {
          const long status = client_.follow_log(
              ns, pod, "gate",
              [this](std::string_view bytes) {
                logs_.write(StreamId::out, bytes);
                received_ += bytes.size();
                return true;
              },
              [this] { return stop_.load(); });
          if (status != 400) break;
          std::this_thread::sleep_for(milliseconds(100));
        }
      } catch (const Error& e) {
        const std::lock_guard<std::mutex> lock(mutex_);
        error_ = e.what();
      }
      ended_ = true;
    });
  }
  // Waits up to `limit` for the stream to end by itself (it does once the container exits).
  void drain(milliseconds limit) {
    const Clock::time_point until = Clock::now() + limit;
    while (started() && !ended_ && Clock::now() < until) std::this_thread::sleep_for(milliseconds(20));
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // After the container has exited and the stream stopped: what the stream missed. A
  // container that exits at once can be read before the runtime has written its last lines
  // to the log file (the stream then ends short, even empty), so the log is read once more,
  // up to `limit` bytes (limits.output: what gatebox shows at most), and the bytes past what
  // arrived are written. Nothing is asked when `limit` bytes arrived already.
  void catch_up(const std::string& ns, const std::string& pod, std::uint64_t limit) {
    if (received_ >= limit) return;
    try {
      const std::optional<std::string> all = client_.read_log(ns, pod, "gate", limit);
      if (all && all->size() > received_) logs_.write(StreamId::out, std::string_view(*all).substr(received_));
    } catch (const Error& e) {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (error_.empty()) error_ = e.what();
    }
  }
  std::string error() {
    const std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

 private:
  kube::KubeClient client_;
  LogSink& logs_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ended_{false};
  std::atomic<std::uint64_t> received_{0};
  std::mutex mutex_;
  std::string error_;
};

// Sleeps up to `d`, waking at once for SIGINT/SIGTERM.
void wait_or_interrupt(milliseconds d) {
  pollfd p{interrupt_fd(), POLLIN, 0};
  ::poll(&p, p.fd >= 0 ? 1 : 0, static_cast<int>(d.count()));
}

// The container's own start failure (argv[0] missing or not executable) is the gate's
// verdict (127/126), as on every stack, not a failure of the cluster.
std::optional<std::string> start_failure_message(const nlohmann::json& pod) {
  const nlohmann::json statuses = pod.is_object() ? pod.value("/status/containerStatuses"_json_pointer, nlohmann::json::array())
                                                  : nlohmann::json::array();
  for (const nlohmann::json& s : statuses) {
    for (const char* state : {"terminated", "waiting"}) {
      const nlohmann::json st = s.value("/state"_json_pointer, nlohmann::json::object()).value(state, nlohmann::json::object());
      const std::string message = st.value("message", "");
      if (!message.empty() && exec_failure_code(message)) return message;
    }
  }
  return std::nullopt;
}

class KubernetesStack final : public Stack {
 public:
  std::string_view name() const override { return "kubernetes"; }

  Availability probe_host() const override { return probe(Profile{}); }
  // Reads the kubeconfig and asks the API server; executes nothing (exec plugins are refused).
  Availability probe_for(const Profile& profile, ProbeMode) const override { return probe(profile); }

  // The cluster the kubeconfig names: reachable, its version, the namespace and the
  // RuntimeClasses it offers. Quick when nothing is configured.
  Availability probe(const Profile& profile) const {
    Availability a;
    try {
      const kube::KubeTarget target = target_for(profile);
      a.details.emplace_back("server", target.server);
      a.details.emplace_back("context", target.context);
      a.details.emplace_back("namespace", target.namespace_name);
      kube::KubeClient client(target);
      const nlohmann::json version = client.get("/version");
      a.details.emplace_back("kubernetes", version.value("gitVersion", "?"));
      std::string classes;
      try {
        const std::optional<nlohmann::json> list = client.get_if_exists("/apis/node.k8s.io/v1/runtimeclasses");
        if (list) {
          for (const nlohmann::json& rc : list->value("items", nlohmann::json::array())) {
            const std::string handler = rc.value("handler", "");
            classes += (classes.empty() ? "" : ", ") + rc.value("/metadata/name"_json_pointer, std::string("?")) +
                       (handler.empty() ? "" : " (" + handler + ")");
          }
        }
        if (classes.empty()) classes = "none (pods use the nodes' default runtime)";
      } catch (const Error& e) {
        classes = std::string("not visible: ") + e.what();
      }
      a.details.emplace_back("runtime classes", classes);
      a.available = true;
    } catch (const Error& e) {
      a.reason = e.what();
    }
    return a;
  }

  std::string describe(const RunRequest& request) const override {
    const auto& k = request.profile.stack.kubernetes;
    std::string ns = k.namespace_name;
    if (ns.empty()) {
      try {
        ns = target_for(request.profile).namespace_name;
      } catch (const Error&) {
        ns = "<the kubeconfig context's namespace>";
      }
    }
    std::string image = "<" + k.registry + ">@sha256:<digest of the rootfs image, pushed at run time>";
    try {
      const kube::RegistryRef r = kube::parse_registry(k.registry);
      image = r.host + "/" + r.repository + "@sha256:<digest of the rootfs image, pushed at run time>";
    } catch (const Error&) {
    }
    std::string out = fmt::format("POST {}\n{}\n", jobs_path(ns),
                                  kube::render_job({request.profile, request.run_id, image, ns}).dump(2));
    for (const std::string& line : kube::unenforced_limits(request.profile)) out += "# not enforced: " + line + "\n";
    return out;
  }

  RunOutcome run(const RunRequest& request) override {
    const Clock::time_point t_begin = Clock::now();
    const Profile& profile = request.profile;
    Console& console = Console::get();
    const kube::KubeTarget target = target_for(profile);
    kube::KubeClient client(target);
    const std::string& ns = target.namespace_name;

    const std::string image = publish_image(request, true);
    check_interrupt();

    // A pod naming a RuntimeClass the cluster lacks is refused at admission: the Job would
    // wait without a pod until its deadline. Say so now (when this user may look).
    if (const std::string& rc = profile.stack.kubernetes.runtime_class; !rc.empty()) {
      std::optional<nlohmann::json> found;
      bool visible = true;
      try {
        found = client.get_if_exists("/apis/node.k8s.io/v1/runtimeclasses/" + rc);
      } catch (const Error& e) {
        if (e.code() != ExitCode::unavailable) throw;
        visible = false;  // forbidden to read RuntimeClasses: the cluster will tell
      }
      if (visible && !found) {
        throw make_error(ExitCode::unavailable,
                         "the cluster at {} has no RuntimeClass \"{}\" (stack.kubernetes.runtime_class); "
                         "`gatebox stacks` lists the ones it offers",
                         target.server, rc);
      }
    }

    const nlohmann::json job = kube::render_job({profile, request.run_id, image, ns});
    // Asked first as a dry run: the server answers with the Job as it would store it, so a
    // server that drops a hardening field is refused before anything exists on it.
    refuse_dropped_fields(job, client.post(jobs_path(ns) + "?dryRun=All", job), target.server, "nothing was created");
    const std::string job_name = kube::job_name(request.run_id);
    const fs::path record = runs_dir(request.cache_dir) / (request.run_id + ".json");
    write_record(record, target, profile, job_name);
    JobGuard guard(client, ns, job_name, request.run_id, record);
    try {
      client.post(jobs_path(ns), job);
    } catch (const Error& e) {
      // Refused (65: invalid, 69: unreachable, credentials, RBAC): nothing was created. Any
      // other failure may have come after the server stored the Job: delete it to be sure.
      if (e.code() != ExitCode::bad_input && e.code() != ExitCode::unavailable) guard.created();
      throw;
    }
    guard.created();
    console.detail(fmt::format("created Job {}/{} on {}", ns, job_name, target.server));
    // And as stored: a mutating admission webhook may act on real requests only.
    refuse_dropped_fields(job, client.get(jobs_path(ns) + "/" + job_name), target.server,
                          "the Job was deleted before its pod could run");
    for (const std::string& line : kube::unenforced_limits(profile)) console.detail("not enforced on kubernetes: " + line);

    RunOutcome outcome;
    LogFollower logs(target, request.logs);
    std::optional<Clock::time_point> t_started;
    // Before the container runs: scheduling, pulling, the Job's deadline (which counts from
    // the Job's start) decide; gatebox only bounds its own wait.
    const Clock::time_point start_deadline = t_begin + profile.limits.timeout + seconds(120);
    kube::PodState state;
    for (;;) {
      if (pending_interrupt() != 0) {
        outcome.interrupted = true;
        outcome.interrupt_signal = pending_interrupt();
        break;
      }
      const Clock::time_point now = Clock::now();
      if (t_started && now >= *t_started + profile.limits.timeout) {
        outcome.timed_out = true;
        break;
      }
      if (!t_started && now >= start_deadline) {
        throw make_error(ExitCode::internal, "the gate's pod did not start within {} s (Job {}/{})",
                         std::chrono::duration_cast<seconds>(start_deadline - t_begin).count(), ns, job_name);
      }
      nlohmann::json pod, job_now;
      try {
        const nlohmann::json pods = client.get(run_pods_query(ns, request.run_id));
        const nlohmann::json items = pods.value("items", nlohmann::json::array());
        if (!items.empty()) pod = items.front();
        job_now = client.get(jobs_path(ns) + "/" + job_name);
      } catch (const Error& e) {
        // A signal that cut a request short: the run ends as interrupted, like any other.
        if (e.code() != ExitCode::sigint && e.code() != ExitCode::sigterm) throw;
        continue;
      }
      state = kube::classify(job_now, pod, epoch_ms_now());

      if (const std::optional<std::string> message = start_failure_message(pod)) {
        outcome.exit_code = *exec_failure_code(*message);
        outcome.exec_error = fmt::format("cannot execute '{}': {}", profile.run.argv.front(), *message);
        outcome.timings.start_ms = ms_between(t_begin, now);
        break;
      }
      if (state.phase == kube::Phase::failed_to_start) {
        std::string why = state.reason.value_or("no reason given");
        // The registry took gatebox's push but refuses the node's pull: the one thing a
        // profile author can change is the Secret the nodes pull with.
        if (why.starts_with("image pull failed") && why.find("401 Unauthorized") != std::string::npos) {
          why += profile.stack.kubernetes.image_pull_secret.empty()
                     ? " (the registry wants credentials from the nodes: set stack.kubernetes.image_pull_secret)"
                     : fmt::format(" (does the Secret {}/{} hold credentials for this registry?)", ns,
                                   profile.stack.kubernetes.image_pull_secret);
        }
        throw make_error(ExitCode::internal, "the gate's pod could not start: {} (Job {}/{} deleted)", why, ns, job_name);
      }
      if ((state.phase == kube::Phase::running || state.phase == kube::Phase::finished) && !t_started &&
          !state.pod_name.empty()) {
        t_started = now;
        outcome.timings.start_ms = ms_between(t_begin, now);
        logs.start(ns, state.pod_name);
      }
      if (state.phase == kube::Phase::finished) break;
      wait_or_interrupt(kPollEvery);
    }
    const Clock::time_point t_finished = Clock::now();
    if (t_started) outcome.timings.run_ms = ms_between(*t_started, t_finished);

    if (!outcome.interrupted && !outcome.timed_out && !outcome.exec_error) {
      // The stream ends by itself once the container has exited; after the Job's deadline
      // the Job controller deletes the pod and the stream may hang instead: do not wait.
      if (!state.deadline_exceeded && logs.started()) {
        logs.drain(seconds(5));
        logs.stop();
        logs.catch_up(ns, state.pod_name, profile.limits.output);
      }
      if (state.deadline_exceeded) {
        outcome.timed_out = true;
      } else if (state.reason && (!state.exit_code || state.reason->rfind("evicted", 0) == 0)) {
        // An eviction (e.g. /tmp over limits.disk) or a pod gone before its status was
        // read: the cluster ended the run, not the gate.
        outcome.stack_error = "the cluster ended the run: " + *state.reason;
      } else if (state.exit_code) {
        if ((*state.exit_code == 126 || *state.exit_code == 127) && state.reason) {
          outcome.exit_code = *state.exit_code;
          outcome.exec_error = fmt::format("cannot execute '{}': {}", profile.run.argv.front(), *state.reason);
        } else {
          apply_exit_status(outcome, *state.exit_code);
          if (state.signal && *state.signal != 0) outcome.signal = state.signal;
        }
      }
      outcome.oom_killed = state.oom_killed;
      if (!profile.verdict.file.empty() && state.termination_message) outcome.verdict_file = state.termination_message;
    }
    logs.stop();
    if (const std::string e = logs.error(); !e.empty() && !outcome.interrupted && !outcome.timed_out) {
      console.warn("the pod's log stream failed: " + e);
    }
    const Clock::time_point t_teardown = Clock::now();
    guard.remove();
    outcome.timings.teardown_ms = ms_between(t_teardown, Clock::now());
    return outcome;
  }

  // After `gatebox cache prune|clear`: the image layers (and their image records) of trees
  // no longer in the cache, and those of `dir` rootfs trees (they have no cache entry).
  std::vector<std::string> clear_cache(const fs::path& cache_dir) override {
    std::vector<std::string> removed;
    const std::set<std::string> kept = cached_rootfs_identities(cache_dir);
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(cache_dir / "kubernetes" / "layers", ec)) {
      const std::string file = e.path().filename().string();
      const std::string key = file.substr(0, file.find('.'));
      if (kept.count(key) != 0) continue;
      std::error_code rm;
      if (fs::remove(e.path(), rm) && e.path().extension() == ".tar") {
        removed.push_back(fmt::format("removed kubernetes image layer {}", key.substr(0, 16)));
      }
    }
    return removed;
  }

  // Jobs whose gatebox was SIGKILLed (the run id starts with its pid): deleted, with their
  // pods. Never throws: a sweep must not stop a run or `cache prune`.
  std::vector<std::string> sweep(const fs::path& cache_dir) override {
    std::vector<std::string> removed;
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(runs_dir(cache_dir), ec)) {
      const std::string file = e.path().filename().string();
      if (e.path().extension() != ".json") continue;
      const std::string run_id = file.substr(0, file.size() - 5);
      const long pid = std::strtol(run_id.c_str(), nullptr, 10);
      if (pid <= 0 || process_alive(static_cast<pid_t>(pid))) continue;
      try {
        const std::optional<std::string> text = read_file(e.path());
        const nlohmann::json r = nlohmann::json::parse(text.value_or(""), nullptr, false);
        if (!r.is_object()) {
          fs::remove(e.path(), ec);
          continue;
        }
        kube::KubeClient client(
            kube::load_kube_target(r.value("kubeconfig", ""), r.value("context", ""), r.value("namespace", "")));
        delete_run(client, r.value("namespace", ""), r.value("job", ""), run_id);
        // Like the run itself: done when the gate's processes are gone, not when asked.
        wait_pods_gone(client, r.value("namespace", ""), r.value("job", ""), run_id);
        fs::remove(e.path(), ec);
        removed.push_back(fmt::format("kubernetes Job {}/{} (run {})", r.value("namespace", ""), r.value("job", ""),
                                      run_id));
      } catch (const Error&) {
        // The cluster is not reachable now: the record stays for a later sweep.
      }
    }
    return removed;
  }
};

}  // namespace

std::unique_ptr<Stack> make_kubernetes_stack() { return std::make_unique<KubernetesStack>(); }

std::string export_kubernetes_job(const RunRequest& request, bool push) {
  // The namespace as `run` would use it; without a kubeconfig here, the manifest is still
  // useful to whoever submits it, in "default" unless the profile names one.
  std::string ns = request.profile.stack.kubernetes.namespace_name;
  if (ns.empty()) {
    try {
      ns = target_for(request.profile).namespace_name;
    } catch (const Error&) {
      ns = "default";
    }
  }
  const std::string image = publish_image(request, push);
  nlohmann::json job = kube::render_job({request.profile, request.run_id, image, ns});
  return job.dump(2) + "\n";
}

}  // namespace gatebox
