#include "stack/kubernetes/pod_state.hpp"

#include <fmt/format.h>

#include "stack/exit_status.hpp"
#include "util/rfc3339.hpp"

namespace gatebox::kube {
namespace {

using nlohmann::json;

const json& field(const json& object, const char* key) {
  static const json null;
  if (!object.is_object()) return null;
  const auto it = object.find(key);
  return it == object.end() ? null : *it;
}

std::string text(const json& object, const char* key) {
  const json& v = field(object, key);
  return v.is_string() ? v.get<std::string>() : "";
}

std::optional<double> time_ms(const json& object, const char* key) { return parse_rfc3339_ms(text(object, key)); }

// Messages from the kubelet and the runtime can span lines; a reason is one line.
std::string one_line(std::string_view message) {
  std::string out;
  for (char c : message) out += c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > 500) out = out.substr(0, 500) + "...";
  return out;
}

std::string reason_text(std::string_view what, const json& state) {
  const std::string reason = text(state, "reason");
  const std::string message = one_line(text(state, "message"));
  std::string out(what);
  if (!reason.empty()) out += ": " + reason;
  if (!message.empty()) out += ": " + message;
  return out;
}

// A condition of `type` whose status is "True" (or `status`), else null.
const json* condition(const json& status, std::string_view type, std::string_view wanted = "True") {
  const json& list = field(status, "conditions");
  if (!list.is_array()) return nullptr;
  for (const json& c : list) {
    if (text(c, "type") == type && text(c, "status") == wanted) return &c;
  }
  return nullptr;
}

const json& gate_container_status(const json& pod_status) {
  static const json null;
  const json& list = field(pod_status, "containerStatuses");
  if (!list.is_array() || list.empty()) return null;
  for (const json& c : list) {
    if (text(c, "name") == "gate") return c;
  }
  return list.front();
}

void read_terminated(PodState& s, const json& t) {
  s.phase = Phase::finished;
  if (field(t, "exitCode").is_number_integer()) s.exit_code = field(t, "exitCode").get<int>();
  // containerd leaves `signal` 0 and reports a death by signal N as exit code 128+N; the
  // caller reads that with apply_exit_status, as the docker stack does.
  if (const json& sig = field(t, "signal"); sig.is_number_integer() && sig.get<int>() != 0) s.signal = sig.get<int>();
  s.oom_killed = text(t, "reason") == "OOMKilled";
  if (std::string m = text(t, "message"); !m.empty()) s.termination_message = std::move(m);
  s.started_at_ms = time_ms(t, "startedAt");
  s.finished_at_ms = time_ms(t, "finishedAt");
}

void fail_to_start(PodState& s, std::string reason) {
  s.phase = Phase::failed_to_start;
  s.reason = std::move(reason);
}

// The runtime could not start the container. When the cause is the gate's argv[0] ("exec:
// ...: executable file not found") that is the gate's doing, reported as on the other
// stacks (exit 127 or 126); anything else means the gate never started.
void start_failed(PodState& s, const json& state) {
  const std::string message = one_line(text(state, "message"));
  if (std::optional<int> code = exec_failure_code(message)) {
    s.phase = Phase::finished;
    s.exit_code = *code;
    s.reason = message;
    return;
  }
  fail_to_start(s, reason_text("container could not start", state));
}

bool is_pull_failure(std::string_view reason) {
  return reason == "ErrImagePull" || reason == "ImagePullBackOff" || reason == "InvalidImageName" ||
         reason == "ErrImageNeverPull";
}

bool is_create_failure(std::string_view reason) {
  return reason == "CreateContainerConfigError" || reason == "CreateContainerError";
}

// The container's state: what the gate did, or why it never started.
void read_container(PodState& s, const json& container_status) {
  const json& state = field(container_status, "state");
  if (const json& t = field(state, "terminated"); t.is_object()) {
    const std::string reason = text(t, "reason");
    // runc could not exec the gate's process: nothing of the gate ran.
    if (reason == "StartError" || reason == "ContainerCannotRun") return start_failed(s, t);
    return read_terminated(s, t);
  }
  if (const json& r = field(state, "running"); r.is_object()) {
    s.phase = Phase::running;
    s.started_at_ms = time_ms(r, "startedAt");
    return;
  }
  const json& w = field(state, "waiting");
  const std::string reason = text(w, "reason");
  if (is_pull_failure(reason)) {
    return fail_to_start(s, reason_text("image pull failed", w));
  }
  if (reason == "RunContainerError") return start_failed(s, w);
  if (is_create_failure(reason)) {
    std::string why = reason_text("container could not be created", w);
    // The kubelet retries these for ever; a Localhost profile missing on the node is the
    // one a profile author can act on.
    if (why.find("seccomp") != std::string::npos) {
      why += " (is stack.kubernetes.seccomp_profile installed under the kubelet's seccomp root on the node?)";
    }
    return fail_to_start(s, std::move(why));
  }
}

}  // namespace

bool never_started(const json& pod) {
  const json& status = field(pod, "status");
  bool any = false;
  for (const char* list_key : {"initContainerStatuses", "containerStatuses"}) {
    const json& list = field(status, list_key);
    if (list.is_null()) continue;
    if (!list.is_array()) return false;
    for (const json& c : list) {
      const json& last = field(c, "lastState");
      if (field(last, "running").is_object() || field(last, "terminated").is_object()) return false;
      const std::string reason = text(field(field(c, "state"), "waiting"), "reason");
      if (!is_pull_failure(reason) && !is_create_failure(reason) && reason != "RunContainerError") return false;
      any = true;
    }
  }
  return any;
}

PodState classify(const json& job, const json& pod, double now_ms) {
  PodState s;
  const json& job_status = field(job, "status");
  const json* job_failed = condition(job_status, "Failed");
  s.deadline_exceeded = job_failed != nullptr && text(*job_failed, "reason") == "DeadlineExceeded";

  if (pod.is_object()) {
    s.pod_name = text(field(pod, "metadata"), "name");
    const json& status = field(pod, "status");
    read_container(s, gate_container_status(status));

    // With a pull Secret, a first failed pull is not believed at once: the kubelet may not
    // have the Secret yet (1.20 logs "failed to sync secret cache" when the Node authorizer
    // has not seen the pod's binding) and pulls without it; its retry, after a 10 s
    // back-off, has it. So the pull may fail for pull_secret_grace_ms from the pod's start.
    if (s.phase == Phase::failed_to_start && s.reason && s.reason->starts_with("image pull failed") &&
        field(field(pod, "spec"), "imagePullSecrets").is_array() &&
        !field(field(pod, "spec"), "imagePullSecrets").empty()) {
      const std::optional<double> started = time_ms(status, "startTime");
      if (!started || now_ms - *started < pull_secret_grace_ms) {
        s.phase = Phase::waiting;
        s.reason.reset();
      }
    }

    const std::string pod_reason = text(status, "reason");
    if (text(status, "phase") == "Failed") {
      if (pod_reason == "DeadlineExceeded") {
        s.deadline_exceeded = true;
      } else if (pod_reason == "Evicted") {
        // The kubelet evicts a pod whose /tmp outgrew its sizeLimit, or under node
        // pressure; the container's exit status, if any, is kept.
        s.phase = Phase::finished;
        s.reason = "evicted: " + one_line(text(status, "message"));
      } else if (s.phase == Phase::waiting) {
        // The node refused the pod before its container existed (admission, node lost).
        fail_to_start(s, reason_text("pod failed", status));
      }
    }

    const json* unschedulable = condition(status, "PodScheduled", "False");
    if (s.phase == Phase::waiting && unschedulable != nullptr && text(*unschedulable, "reason") == "Unschedulable") {
      const std::optional<double> since = time_ms(*unschedulable, "lastTransitionTime");
      if (since && now_ms - *since > unschedulable_grace_ms) {
        fail_to_start(s, "unschedulable: " + one_line(text(*unschedulable, "message")));
      }
    }
  }

  // The deadline ends the run whatever the pod was doing (the Job controller deletes it),
  // unless it was already known that the gate could never start.
  if (s.deadline_exceeded && s.phase != Phase::failed_to_start) s.phase = Phase::finished;

  if (s.phase == Phase::waiting && !pod.is_object()) {
    if (job_failed != nullptr) {
      s.phase = Phase::finished;
      s.reason = reason_text("the Job failed and its pod is gone", *job_failed);
    } else if (const json* complete = condition(job_status, "Complete"); complete != nullptr) {
      s.phase = Phase::finished;
      s.reason = "the Job completed, but its pod is gone: the gate's exit status is unknown";
    }
  }
  return s;
}

}  // namespace gatebox::kube
