#include <doctest/doctest.h>

#include "stack/kubernetes/pod_state.hpp"
#include "util/rfc3339.hpp"

using namespace gatebox;
using kube::Phase;
using nlohmann::json;

namespace {

const double now = *parse_rfc3339_ms("2024-05-01T10:01:00Z");

// A pod as a 1.20 API server returns it, with the gate container in `state`.
json pod_with(const json& state, const std::string& phase = "Pending") {
  return json::parse(R"({
    "kind": "Pod", "apiVersion": "v1",
    "metadata": {"name": "gatebox-4242-deadbeef-x7k2p", "namespace": "gates",
                 "labels": {"gatebox.dev/run": "4242-deadbeef", "job-name": "gatebox-4242-deadbeef"}},
    "spec": {"containers": [{"name": "gate"}]},
    "status": {
      "phase": ")" + phase + R"(",
      "conditions": [
        {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z"},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2024-05-01T10:00:00Z"}],
      "hostIP": "10.200.0.1", "podIP": "10.88.0.12", "startTime": "2024-05-01T10:00:00Z",
      "containerStatuses": [{"name": "gate", "ready": false, "restartCount": 0,
        "image": "127.0.0.1:5000/gates@sha256:aaaa", "imageID": "", "started": false,
        "lastState": {}, "state": )" + state.dump() + R"(}],
      "qosClass": "Guaranteed"}})");
}

json waiting(const std::string& reason, const std::string& message) {
  return {{"waiting", {{"reason", reason}, {"message", message}}}};
}

json terminated(int exit_code, const std::string& reason, const std::string& message = "") {
  json t = {{"exitCode", exit_code}, {"reason", reason}, {"startedAt", "2024-05-01T10:00:02Z"},
            {"finishedAt", "2024-05-01T10:00:05Z"}, {"containerID", "containerd://0123abcd"}};
  if (!message.empty()) t["message"] = message;
  return {{"terminated", t}};
}

json job_with_condition(const std::string& type, const std::string& reason, const std::string& message) {
  return json::parse(R"({"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": "gatebox-4242-deadbeef"},
    "status": {"conditions": [{"type": ")" + type + R"(", "status": "True", "lastProbeTime": "2024-05-01T10:00:31Z",
      "lastTransitionTime": "2024-05-01T10:00:31Z", "reason": ")" + reason + R"(", "message": ")" + message + R"("}],
      "startTime": "2024-05-01T10:00:00Z", "failed": 1}})");
}

const json running_job = json::parse(R"({"kind": "Job", "status": {"startTime": "2024-05-01T10:00:00Z", "active": 1}})");

}  // namespace

TEST_SUITE("kube::pod_state") {
  TEST_CASE("nothing yet: no pod, or a pod being created") {
    CHECK(kube::classify(nullptr, nullptr, now).phase == Phase::waiting);
    CHECK(kube::classify(running_job, nullptr, now).phase == Phase::waiting);
    kube::PodState s = kube::classify(running_job, pod_with(waiting("ContainerCreating", "")), now);
    CHECK(s.phase == Phase::waiting);
    CHECK(s.pod_name == "gatebox-4242-deadbeef-x7k2p");
    CHECK_FALSE(s.reason);
    json no_statuses = pod_with(json::object());
    no_statuses["status"].erase("containerStatuses");
    CHECK(kube::classify(running_job, no_statuses, now).phase == Phase::waiting);
  }

  TEST_CASE("running, with the container's start time") {
    kube::PodState s = kube::classify(running_job, pod_with({{"running", {{"startedAt", "2024-05-01T10:00:02Z"}}}}, "Running"), now);
    CHECK(s.phase == Phase::running);
    REQUIRE(s.started_at_ms);
    CHECK(*s.started_at_ms == doctest::Approx(now - 58'000));
    CHECK_FALSE(s.exit_code);
  }

  TEST_CASE("finished: exit code, times, the termination message") {
    const json job = job_with_condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit");
    kube::PodState s = kube::classify(job, pod_with(terminated(3, "Error", R"({"verdict": "fail"})"), "Failed"), now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.exit_code == 3);
    CHECK_FALSE(s.signal);
    CHECK_FALSE(s.oom_killed);
    CHECK_FALSE(s.deadline_exceeded);
    CHECK(s.termination_message == R"({"verdict": "fail"})");
    REQUIRE(s.started_at_ms);
    REQUIRE(s.finished_at_ms);
    CHECK(*s.finished_at_ms - *s.started_at_ms == doctest::Approx(3000));

    s = kube::classify(nullptr, pod_with(terminated(0, "Completed"), "Succeeded"), now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.exit_code == 0);
    CHECK_FALSE(s.termination_message);
  }

  TEST_CASE("OOMKilled and signals") {
    kube::PodState s = kube::classify(nullptr, pod_with(terminated(137, "OOMKilled"), "Failed"), now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.oom_killed);
    CHECK(s.exit_code == 137);  // containerd leaves `signal` 0: 128+9
    CHECK_FALSE(s.signal);

    json with_signal = terminated(139, "Error");
    with_signal["terminated"]["signal"] = 11;
    s = kube::classify(nullptr, pod_with(with_signal, "Failed"), now);
    CHECK(s.signal == 11);
    CHECK_FALSE(s.oom_killed);
  }

  TEST_CASE("the Job's deadline, with or without a pod left") {
    const json job = job_with_condition("Failed", "DeadlineExceeded", "Job was active longer than specified deadline");
    kube::PodState s = kube::classify(job, nullptr, now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.deadline_exceeded);
    CHECK_FALSE(s.exit_code);

    // The controller deletes the pod: it may still show the container running, or killed.
    s = kube::classify(job, pod_with({{"running", {{"startedAt", "2024-05-01T10:00:02Z"}}}}, "Running"), now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.deadline_exceeded);
    CHECK(s.started_at_ms);
    s = kube::classify(job, pod_with(terminated(137, "Error"), "Failed"), now);
    CHECK(s.deadline_exceeded);
    CHECK(s.exit_code == 137);

    // A pod's own deadline.
    json pod = pod_with({{"running", {{"startedAt", "2024-05-01T10:00:02Z"}}}}, "Failed");
    pod["status"]["reason"] = "DeadlineExceeded";
    pod["status"]["message"] = "Pod was active on the node longer than the specified deadline";
    s = kube::classify(running_job, pod, now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.deadline_exceeded);
  }

  TEST_CASE("evicted: /tmp outgrew its sizeLimit") {
    json pod = pod_with(terminated(137, "Error"), "Failed");
    pod["status"]["reason"] = "Evicted";
    pod["status"]["message"] = "Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\". ";
    kube::PodState s = kube::classify(running_job, pod, now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.reason == "evicted: Usage of EmptyDir volume \"tmp\" exceeds the limit \"64Mi\".");
    CHECK(s.exit_code == 137);
  }

  TEST_CASE("image pull errors fail fast") {
    for (const char* reason : {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}) {
      CAPTURE(reason);
      kube::PodState s = kube::classify(
          running_job, pod_with(waiting(reason, "rpc error: code = NotFound desc = failed to pull and unpack image\n\"x\"")), now);
      CHECK(s.phase == Phase::failed_to_start);
      REQUIRE(s.reason);
      CHECK(*s.reason == std::string("image pull failed: ") + reason +
                             ": rpc error: code = NotFound desc = failed to pull and unpack image \"x\"");
    }
  }

  TEST_CASE("with a pull Secret, a failed pull is believed only after one kubelet retry") {
    json pod = pod_with(waiting("ErrImagePull", "401 Unauthorized"));
    pod["spec"]["imagePullSecrets"] = json::array({{{"name", "private-registry"}}});
    pod["status"]["startTime"] = "2024-05-01T10:00:50Z";  // 10 s before `now`
    kube::PodState s = kube::classify(running_job, pod, now);
    CHECK(s.phase == Phase::waiting);
    CHECK_FALSE(s.reason);
    pod["status"]["startTime"] = "2024-05-01T10:00:20Z";  // 40 s: past the grace
    s = kube::classify(running_job, pod, now);
    CHECK(s.phase == Phase::failed_to_start);
    // Without a Secret the first failure is final, however recent.
    json plain = pod_with(waiting("ErrImagePull", "401 Unauthorized"));
    plain["status"]["startTime"] = "2024-05-01T10:00:59Z";
    CHECK(kube::classify(running_job, plain, now).phase == Phase::failed_to_start);
  }

  TEST_CASE("a container that cannot be created: a missing Localhost seccomp profile, a bad config") {
    kube::PodState s = kube::classify(
        running_job,
        pod_with(waiting("CreateContainerError",
                         "failed to create containerd container: cannot load seccomp profile "
                         "\"/var/lib/kubelet/seccomp/gatebox/gate.json\": open /var/lib/kubelet/seccomp/gatebox/gate.json: "
                         "no such file or directory")),
        now);
    CHECK(s.phase == Phase::failed_to_start);
    REQUIRE(s.reason);
    CHECK(s.reason->starts_with("container could not be created: CreateContainerError: failed to create containerd container"));
    CHECK(s.reason->find("is stack.kubernetes.seccomp_profile installed") != std::string::npos);

    s = kube::classify(running_job, pod_with(waiting("CreateContainerConfigError", "secret \"x\" not found")), now);
    CHECK(s.phase == Phase::failed_to_start);
    CHECK(s.reason == "container could not be created: CreateContainerConfigError: secret \"x\" not found");

    s = kube::classify(running_job, pod_with(waiting("RunContainerError", "failed to start: OCI runtime create failed: oops")), now);
    CHECK(s.phase == Phase::failed_to_start);
    CHECK(s.reason == "container could not start: RunContainerError: failed to start: OCI runtime create failed: oops");
  }

  TEST_CASE("argv[0] that cannot be executed is the gate's exit 127/126, as on other stacks") {
    const std::string not_found =
        "failed to create containerd task: OCI runtime create failed: container_linux.go:370: starting container process "
        "caused: exec: \"/bin/nope\": stat /bin/nope: no such file or directory: unknown";
    kube::PodState s = kube::classify(running_job, pod_with(terminated(128, "StartError", not_found), "Failed"), now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.exit_code == 127);
    CHECK(s.reason == not_found);

    s = kube::classify(running_job, pod_with(waiting("RunContainerError", "exec: \"/gate\": permission denied")), now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.exit_code == 126);

    s = kube::classify(running_job, pod_with(terminated(128, "StartError", "failed to mount rootfs"), "Failed"), now);
    CHECK(s.phase == Phase::failed_to_start);
    CHECK(s.reason == "container could not start: StartError: failed to mount rootfs");
  }

  TEST_CASE("unschedulable for longer than the grace") {
    json pod = pod_with(json::object());
    pod["status"].erase("containerStatuses");
    pod["status"]["conditions"] = json::parse(R"([{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
      "lastTransitionTime": "2024-05-01T10:00:55Z", "reason": "Unschedulable",
      "message": "0/1 nodes are available: 1 Insufficient memory."}])");
    CHECK(kube::classify(running_job, pod, now).phase == Phase::waiting);  // 5 s: the scheduler may still find room
    pod["status"]["conditions"][0]["lastTransitionTime"] = "2024-05-01T10:00:49Z";
    kube::PodState s = kube::classify(running_job, pod, now);
    CHECK(s.phase == Phase::failed_to_start);
    CHECK(s.reason == "unschedulable: 0/1 nodes are available: 1 Insufficient memory.");

    // No time to measure the grace by: keep waiting (the deadline still ends it).
    pod["status"]["conditions"][0].erase("lastTransitionTime");
    CHECK(kube::classify(running_job, pod, now).phase == Phase::waiting);
  }

  TEST_CASE("a Job that ended while its pod is gone") {
    kube::PodState s = kube::classify(job_with_condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
                                      nullptr, now);
    CHECK(s.phase == Phase::finished);
    CHECK_FALSE(s.exit_code);
    CHECK(s.reason == "the Job failed and its pod is gone: BackoffLimitExceeded: Job has reached the specified backoff limit");
    s = kube::classify(job_with_condition("Complete", "", ""), nullptr, now);
    CHECK(s.phase == Phase::finished);
    CHECK(s.reason);
  }

  TEST_CASE("never_started: only a pod whose every container failed before running may go at once") {
    CHECK(kube::never_started(pod_with(waiting("CreateContainerError", "cannot load seccomp profile"))));
    CHECK(kube::never_started(pod_with(waiting("ErrImagePull", "not found"))));
    CHECK(kube::never_started(pod_with(waiting("ImagePullBackOff", ""))));
    CHECK(kube::never_started(pod_with(waiting("RunContainerError", "exec format error"))));
    // Still being created or pulled: a start may be under way.
    CHECK_FALSE(kube::never_started(pod_with(waiting("ContainerCreating", ""))));
    CHECK_FALSE(kube::never_started(pod_with(json::object())));
    json no_statuses = pod_with(json::object());
    no_statuses["status"].erase("containerStatuses");
    CHECK_FALSE(kube::never_started(no_statuses));
    CHECK_FALSE(kube::never_started(nullptr));
    // It ran, or runs: its processes may still be there.
    CHECK_FALSE(kube::never_started(pod_with({{"running", {{"startedAt", "2024-05-01T10:00:02Z"}}}}, "Running")));
    CHECK_FALSE(kube::never_started(pod_with(terminated(0, "Completed"))));
    json restarted = pod_with(waiting("CreateContainerError", ""));
    restarted["status"]["containerStatuses"][0]["lastState"] = terminated(1, "Error");
    CHECK_FALSE(kube::never_started(restarted));
    // Every container counts: a sidecar that runs keeps the pod's grace.
    json two = pod_with(waiting("CreateContainerError", ""));
    two["status"]["containerStatuses"].push_back({{"name", "side"}, {"state", {{"running", json::object()}}}});
    CHECK_FALSE(kube::never_started(two));
    json bad = pod_with(waiting("CreateContainerError", ""));
    bad["status"]["initContainerStatuses"] = "garbage";
    CHECK_FALSE(kube::never_started(bad));
  }
}
