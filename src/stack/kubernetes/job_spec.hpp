#pragma once
// The batch/v1 Job that runs one gate on a cluster, and the check of what the API server
// made of it. Pure data: no requests here (kube_client does those).
//
// The Job meets Pod Security Standards "restricted": one container, no service-account
// token, non-root, no privilege escalation, no capabilities, read-only root with a
// size-limited /tmp, seccomp RuntimeDefault or an operator-installed Localhost profile.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "profile/profile.hpp"

namespace gatebox::kube {

// What activeDeadlineSeconds adds to limits.timeout: time to schedule the pod and pull the
// image, which the gate's own timeout (gatebox's, from the container's start) excludes.
inline constexpr long long kDeadlineAllowanceSeconds = 30;

struct JobInput {
  const Profile& profile;
  std::string run_id;
  std::string image;           // registry/repo@sha256:...
  std::string namespace_name;  // empty: left to the request's path
};

// The Job to POST to /apis/batch/v1/namespaces/<ns>/jobs.
nlohmann::json render_job(const JobInput& in);

// A DNS-1123 label of at most 52 characters: the Job controller appends "-xxxxx" for its
// pods, and a pod name that is also the hostname must stay within 63.
std::string job_name(std::string_view run_id);

// "gatebox.dev/run=<id>": the labelSelector that lists the run's pods.
std::string run_label_selector(std::string_view run_id);

// JSON pointers ("/spec/template/spec/securityContext/seccompProfile") of the hardening
// fields that `sent` has and `returned` (the server's answer) lacks or holds differently.
// An older API server accepts fields it does not know and silently drops them; a Job that
// lost one of these must not run. Fields the server adds (defaults, uid, resourceVersion)
// do not count; quantities compare by value ("1073741824" == "1Gi").
std::vector<std::string> dropped_hardening_fields(const nlohmann::json& sent, const nlohmann::json& returned);

// Limits of the profile a Job cannot express, one line each ("limits.pids = 512: ..."),
// for the report and --dry-run. Some are enforced by gatebox on the log stream instead.
std::vector<std::string> unenforced_limits(const Profile& profile);

}  // namespace gatebox::kube
