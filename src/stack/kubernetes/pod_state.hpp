#pragma once
// Where a run stands, read from its Job and its pod as the API server returns them
// (either may be null: the pod is not created yet, or already deleted). Pure: the caller
// fetches, this only reads.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace gatebox::kube {

enum class Phase {
  waiting,          // scheduled or not, pulling, creating: nothing of the gate ran yet
  running,          // the gate's container runs
  finished,         // the gate ran and ended (exit, signal, OOM, deadline, eviction)
  failed_to_start,  // it never will: `reason` says why (the run is an error, not a verdict)
};

struct PodState {
  Phase phase = Phase::waiting;
  std::string pod_name;
  // The container's exitCode as reported (128+N for a death by signal N: read it with
  // apply_exit_status), or 127/126 when argv[0] could not be executed (`reason` says why).
  std::optional<int> exit_code;
  std::optional<int> signal;  // the terminated state's `signal` field, when non-zero
  bool oom_killed = false;
  bool deadline_exceeded = false;                  // activeDeadlineSeconds (limits.timeout) ran out
  std::optional<std::string> termination_message;  // the verdict file, via terminationMessagePath
  // failed_to_start: one line, e.g. "image pull failed: ErrImagePull: <message>". finished:
  // set when more than the exit status tells what happened (eviction, an exec failure of
  // argv[0], a Job whose pod is gone).
  std::optional<std::string> reason;
  std::optional<double> started_at_ms, finished_at_ms;  // container start/finish, ms since epoch
};

// How long a pod may be Unschedulable before the run gives up: long enough for a cluster
// autoscaler's first reaction or a RuntimeClass's node to become ready, short against a
// deadline of minutes.
inline constexpr double unschedulable_grace_ms = 10'000;
// How long a pod with imagePullSecrets may fail its pull before the run gives up: one
// retry of the kubelet (its first back-off is 10 s) with the Secret it may have lacked.
inline constexpr double pull_secret_grace_ms = 25'000;

PodState classify(const nlohmann::json& job, const nlohmann::json& pod, double now_ms);

// True when no container of `pod` ever ran and each one's last attempt failed for good (an
// image that cannot be pulled, a container the runtime cannot create or start): nothing of
// the gate exists on the node, so the pod may be deleted at once (grace 0). A pod still
// creating or pulling is not: a start may be under way.
bool never_started(const nlohmann::json& pod);

}  // namespace gatebox::kube
