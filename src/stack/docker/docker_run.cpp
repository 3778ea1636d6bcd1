// The docker stack's run: everything after the pipeline handed us a resolved request.
//   image (imported once) -> create -> attach + wait (headers received, so nothing is
//   missed) -> start -> one curl multi loop over attach, wait, the timeout and the
//   interrupt signalfd -> inspect -> verdict file -> remove (on every path).
#include "stack/docker/docker_run.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "log/console.hpp"
#include "policy/mounts.hpp"
#include "stack/docker/container_spec.hpp"
#include "util/curl_api.hpp"
#include "util/fs.hpp"
#include "stack/docker/image_import.hpp"
#include "stack/docker/mux_stream.hpp"
#include "stack/docker/verdict_tar.hpp"
#include "stack/exit_status.hpp"
#include "stack/timing.hpp"
#include "util/interrupt.hpp"
#include "util/rfc3339.hpp"
#include "util/tar_writer.hpp"

namespace gatebox {
namespace {

// dockerd sets State.OOMKilled when it handles containerd's OOM event, which can come after
// the exit that ended the wait: a gate killed by the OOM killer then looked killed by a
// plain SIGKILL ("fail", not the profile's on_oom). So an exit by SIGKILL without the flag
// is asked again, for up to a second, before it is believed.
bool late_oom_flag(const DockerClient& client, const std::string& id, const nlohmann::json& state) {
  if (state.value("ExitCode", 0LL) != 128 + SIGKILL) return false;
  try {
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Response again = client.call("GET", "/containers/" + id + "/json", "", 5'000);
      const nlohmann::json j = nlohmann::json::parse(again.body, nullptr, false);
      if (again.status != 200 || !j.is_object()) return false;
      if (j.value("/State/OOMKilled"_json_pointer, false)) return true;
    }
  } catch (const Error&) {
    // The first inspection's answer stands.
  }
  return false;
}

using Clock = std::chrono::steady_clock;

std::string signal_text(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

// The container of a run: removed with its anonymous volumes when this goes out of scope,
// whatever happened (a failed set-up, an exception, an interrupt).
class ContainerGuard {
 public:
  ContainerGuard(const DockerClient& client, std::string id) : client_(client), id_(std::move(id)) {}
  ~ContainerGuard() { remove(); }
  ContainerGuard(const ContainerGuard&) = delete;
  ContainerGuard& operator=(const ContainerGuard&) = delete;
  const std::string& id() const { return id_; }
  void remove() noexcept {
    if (id_.empty()) return;
    try {
      Response r = client_.call("DELETE", "/containers/" + id_ + "?force=1&v=1", "", 60'000);
      if (r.status != 204 && r.status != 404) {
        Console::get().warn(fmt::format("could not remove container {}: {} (the next run's sweep retries)",
                                        id_.substr(0, 12), daemon_message(r.body)));
      }
    } catch (const Error& e) {
      Console::get().warn(fmt::format("could not remove container {}: {} (the next run's sweep retries)",
                                      id_.substr(0, 12), e.what()));
    }
    id_.clear();
  }

 private:
  const DockerClient& client_;
  std::string id_;
};

// A curl multi handle with the transfers it drives; removes them before cleanup.
class Multi {
 public:
  Multi() : api_(curl_api()), multi_(api_.multi_init()) {
    if (multi_ == nullptr) throw Error(ExitCode::internal, "curl_multi_init failed (out of memory?)");
  }
  ~Multi() {
    clear();
    api_.multi_cleanup(multi_);
  }
  void clear() {
    for (Transfer* t : transfers_) api_.multi_remove_handle(multi_, t->handle());
    transfers_.clear();
  }
  Multi(const Multi&) = delete;
  Multi& operator=(const Multi&) = delete;

  void add(Transfer& t) {
    api_.multi_add_handle(multi_, t.handle());
    transfers_.push_back(&t);
  }
  // Moves every transfer along, then waits up to `wait_ms` for the network or `extra_fd`.
  // Returns true when extra_fd became readable.
  bool step(int wait_ms, int extra_fd) {
    int running = 0;
    CURLMcode mc = api_.multi_perform(multi_, &running);
    if (mc != CURLM_OK) throw make_error(ExitCode::internal, "curl_multi_perform: {}", api_.multi_strerror(mc));
    collect();
    curl_waitfd extra{extra_fd, CURL_WAIT_POLLIN, 0};
    int numfds = 0;
    mc = api_.multi_poll(multi_, extra_fd >= 0 ? &extra : nullptr, extra_fd >= 0 ? 1u : 0u, wait_ms, &numfds);
    if (mc != CURLM_OK) throw make_error(ExitCode::internal, "curl_multi_poll: {}", api_.multi_strerror(mc));
    mc = api_.multi_perform(multi_, &running);
    if (mc != CURLM_OK) throw make_error(ExitCode::internal, "curl_multi_perform: {}", api_.multi_strerror(mc));
    collect();
    return extra_fd >= 0 && (extra.revents & CURL_WAIT_POLLIN) != 0;
  }

 private:
  void collect() {
    int left = 0;
    while (CURLMsg* msg = api_.multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      for (Transfer* t : transfers_) {
        if (t->handle() == msg->easy_handle) t->finished(msg->data.result);
      }
    }
  }
  const CurlApi& api_;
  CURLM* multi_;
  std::vector<Transfer*> transfers_;
};

// The verdict file's directory, made writable for the gate in the container's own layer
// (not a tmpfs: a tmpfs is gone once the container stops, and the file is read after).
void make_verdict_dir(const DockerClient& client, const std::string& id, const std::string& verdict_file) {
  std::string dir = verdict_file.substr(0, verdict_file.rfind('/'));
  if (dir.empty()) return;
  std::string tar;
  TarWriter writer([&](std::string_view bytes) {
    tar.append(bytes);
    return true;
  });
  TarWriter::Entry entry;
  entry.path = dir.substr(1) + "/";
  entry.type = TarWriter::Type::dir;
  entry.mode = 01777;
  writer.begin(entry);
  writer.finish();
  std::unique_ptr<Transfer> t = client.transfer("PUT", "/containers/" + id + "/archive?path=%2F", 30'000);
  t->set_body(tar, "application/x-tar");
  t->perform();
  client.check_transfer(*t, "creating the verdict file's directory");
  if (t->status() != 200) {
    throw client.api_error(ExitCode::internal, fmt::format("creating {} (verdict.file's directory) in the container", dir),
                           Response{t->status(), t->body()});
  }
}

void kill_container(const DockerClient& client, const std::string& id) {
  try {
    client.call("POST", "/containers/" + id + "/kill", "", 15'000);  // 409 = not running any more: fine
  } catch (const Error& e) {
    Console::get().warn(fmt::format("killing container {}: {}", id.substr(0, 12), e.what()));
  }
}

std::optional<std::string> fetch_verdict_file(const DockerClient& client, const std::string& id,
                                              const std::string& path) {
  std::unique_ptr<Transfer> t =
      client.transfer("GET", "/containers/" + id + "/archive?path=" + url_encode(path), 30'000);
  t->set_max_body(kVerdictFileMax + 64 * 1024);  // the file plus tar headers; more = not ours to read
  t->perform();
  if (t->body_too_big()) return std::string(kUnsafeVerdictFile) + ")";
  client.check_transfer(*t, "reading verdict.file");
  if (t->status() == 404) return std::nullopt;
  if (t->status() != 200) {
    throw client.api_error(ExitCode::internal, "reading verdict.file " + path, Response{t->status(), t->body()});
  }
  VerdictTar v = read_verdict_tar(t->body());
  // Not JSON on purpose, as on the native stack: the verdict stage reports a malformed file.
  if (!v.ok) return std::string(kUnsafeVerdictFile) + ": " + v.problem + ")";
  return v.contents;
}

}  // namespace

std::string docker_host_id() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

RunOutcome run_docker(const DockerClient& client, const RunRequest& request) {
  const Clock::time_point t_begin = Clock::now();
  const Profile& profile = request.profile;
  RunOutcome outcome;

  // Docker 20.10 (API 1.41) binds recursively but makes only the top of a read-only bind
  // read-only (ReadOnlyForceRecursive came with API 1.44): refuse what it would leave writable.
  refuse_readonly_submounts(request.mounts, "docker", read_file("/proc/self/mountinfo").value_or(""));
  const std::string image = ensure_rootfs_image(client, request.rootfs, request.cache_dir);
  check_interrupt();

  // dockerd resolves the paths itself: the last moment to see they are still what was checked.
  for (const ResolvedMount& m : request.mounts) check_source_unchanged(m);
  const nlohmann::json spec = render_container_create(
      ContainerSpecInput{profile, request.seccomp, request.mounts, image, request.run_id, docker_host_id()});
  Response created = client.call("POST", "/containers/create?name=" + container_name(request.run_id), spec.dump());
  if (created.status != 201) throw client.api_error(ExitCode::internal, "creating the container", created);
  const nlohmann::json created_json = nlohmann::json::parse(created.body, nullptr, false);
  if (!created_json.is_object() || !created_json.contains("Id") || !created_json["Id"].is_string()) {
    throw make_error(ExitCode::internal, "creating the container: the Docker daemon's answer has no Id: {}",
                     daemon_message(created.body));
  }
  ContainerGuard container(client, created_json["Id"].get<std::string>());
  const std::string& id = container.id();
  if (!profile.verdict.file.empty()) make_verdict_dir(client, id, profile.verdict.file);

  StreamDemux demux([&](StreamId s, std::string_view bytes) { request.logs.write(s, bytes); });
  std::unique_ptr<Transfer> attach =
      client.transfer("POST", "/containers/" + id + "/attach?stream=1&stdout=1&stderr=1", 0);
  attach->on_data([&](std::string_view bytes) {
    demux.feed(bytes);
    return true;
  });
  // next-exit, registered before start: "not-running" would answer at once for a created container.
  std::unique_ptr<Transfer> wait = client.transfer("POST", "/containers/" + id + "/wait?condition=next-exit", 0);
  Multi multi;
  multi.add(*attach);
  multi.add(*wait);

  // Both requests must be in place (headers back) before start, or early output is lost.
  const Clock::time_point setup_deadline = Clock::now() + std::chrono::seconds(30);
  while (!(attach->headers_done() && wait->headers_done())) {
    for (Transfer* t : {attach.get(), wait.get()}) {
      if (t->done() && !t->headers_done()) client.check_transfer(*t, "attaching to the container");
      if (t->done()) {
        throw client.api_error(ExitCode::internal, "attaching to the container", Response{t->status(), t->body()});
      }
    }
    if (Clock::now() > setup_deadline) {
      throw make_error(ExitCode::internal, "the Docker daemon at {} did not accept attach/wait within 30 s",
                       client.endpoint().display);
    }
    if (multi.step(200, interrupt_fd()) && pending_interrupt() != 0) {
      throw make_error(pending_interrupt() == SIGINT ? ExitCode::sigint : ExitCode::sigterm,
                       "{} during sandbox set-up; nothing was started", signal_text(pending_interrupt()));
    }
  }
  for (Transfer* t : {attach.get(), wait.get()}) {
    if (t->status() != 200 && t->status() != 101) {
      throw client.api_error(ExitCode::internal, "attaching to the container", Response{t->status(), t->body()});
    }
  }

  Response started = client.call("POST", "/containers/" + id + "/start", "", 120'000);
  if (started.status != 204 && started.status != 304) {
    const std::string message = daemon_message(started.body);
    if (std::optional<int> code = exec_failure_code(message)) {
      outcome.exit_code = *code;
      outcome.exec_error = fmt::format("cannot execute '{}': {}", profile.run.argv.front(), message);
      outcome.timings.start_ms = ms_between(t_begin, Clock::now());
      const Clock::time_point t_end = Clock::now();
      container.remove();
      outcome.timings.teardown_ms = ms_between(t_end, Clock::now());
      return outcome;
    }
    throw client.api_error(ExitCode::internal, "starting the container", started);
  }
  // Cold start as far as the API lets us see: the daemon answers start once the runtime
  // has started the container's process (after exec of argv).
  const Clock::time_point t_started = Clock::now();
  outcome.timings.start_ms = ms_between(t_begin, t_started);

  const Clock::time_point deadline = t_started + profile.limits.timeout;
  std::optional<Clock::time_point> killed_at, wait_done_at;
  auto kill_once = [&] {
    if (!killed_at) {
      kill_container(client, id);
      killed_at = Clock::now();
    }
  };
  while (!wait->done() || !attach->done()) {
    const Clock::time_point now = Clock::now();
    if (wait->done() && !wait_done_at) wait_done_at = now;
    // After exit the attach stream closes at once; do not hang on a daemon that keeps it open.
    if (wait_done_at && now - *wait_done_at > std::chrono::seconds(5)) break;
    if (killed_at && now - *killed_at > std::chrono::seconds(30)) break;
    if (!killed_at && now >= deadline) {
      outcome.timed_out = true;
      kill_once();
      continue;
    }
    long wait_ms = 1000;
    if (!killed_at) wait_ms = std::clamp<long>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1, 0, 1000);
    const int sfd = outcome.interrupted ? -1 : interrupt_fd();
    if (multi.step(static_cast<int>(wait_ms), sfd) && pending_interrupt() != 0) {
      outcome.interrupted = true;
      outcome.interrupt_signal = pending_interrupt();
      kill_once();
    }
    if (attach->done() && !wait->done() && attach->result() != CURLE_OK && !killed_at) {
      // The daemon went away: the wait will fail too; no point waiting for it.
      break;
    }
  }
  const Clock::time_point t_finished = Clock::now();
  outcome.timings.run_ms = ms_between(t_started, t_finished);

  if (!wait->done() || wait->result() != CURLE_OK) {
    const Transfer& failed = wait->done() ? *wait : *attach;
    if (!outcome.interrupted && !outcome.timed_out) {
      outcome.stack_error = fmt::format("lost the Docker daemon at {} while the gate ran: {}", client.endpoint().display,
                                        failed.done() ? failed.error_text() : "no exit status came");
    }
  }
  if (!demux.error().empty() && !outcome.stack_error) outcome.stack_error = demux.error();
  if (!demux.daemon_error().empty()) Console::get().warn("Docker daemon: " + demux.daemon_error());

  if (!outcome.stack_error) {
    Response inspected = client.call("GET", "/containers/" + id + "/json", "", 30'000);
    nlohmann::json j = nlohmann::json::parse(inspected.body, nullptr, false);
    if (inspected.status != 200 || !j.is_object() || !j.contains("State") || !j["State"].is_object()) {
      outcome.stack_error = fmt::format("inspecting the container after exit: {}", daemon_message(inspected.body));
    } else {
      const nlohmann::json& state = j["State"];
      outcome.oom_killed = state.value("OOMKilled", false) || late_oom_flag(client, id, state);
      const std::optional<double> started_at = parse_rfc3339_ms(state.value("StartedAt", ""));
      const std::optional<double> finished_at = parse_rfc3339_ms(state.value("FinishedAt", ""));
      if (started_at && finished_at && *finished_at >= *started_at) outcome.timings.run_ms = *finished_at - *started_at;
      if (!outcome.timed_out && !outcome.interrupted) {
        if (state.value("Running", false)) {
          outcome.stack_error = "the Docker daemon reported the end of the wait, but the container still runs";
        } else {
          apply_exit_status(outcome, state.value("ExitCode", 0LL));
        }
      }
    }
    if (!profile.verdict.file.empty() && !outcome.interrupted && !outcome.stack_error) {
      outcome.verdict_file = fetch_verdict_file(client, id, profile.verdict.file);
    }
  }

  const Clock::time_point t_teardown = Clock::now();
  multi.clear();
  attach.reset();
  wait.reset();
  container.remove();
  outcome.timings.teardown_ms = ms_between(t_teardown, Clock::now());
  return outcome;
}

}  // namespace gatebox
