#include <doctest/doctest.h>

#include <algorithm>

#include "stack/kubernetes/job_spec.hpp"

using namespace gatebox;
using nlohmann::json;

namespace {

struct JobFixture {
  Profile profile;
  JobFixture() {
    profile.name = "Unit Tests (py3.12)!";
    profile.run.argv = {"/bin/sh", "-c", "echo $HOME $(PATH) $$ cost: 5$"};
    profile.run.env = {{"PATH", "/usr/bin:/bin"}, {"LANG", "C.UTF-8"}, {"PRICE", "$(PATH)"}};
    profile.run.cwd = "/src";
    profile.run.uid = 1000;
    profile.run.gid = 1001;
    profile.run.hostname = "gate-host";
    profile.limits.timeout = std::chrono::milliseconds(90'500);
    profile.limits.memory = 1ULL << 30;
    profile.limits.cpus = 1.5;
    profile.limits.disk = 64ULL << 20;
    profile.stack.kind = "kubernetes";
    profile.stack.kubernetes.registry = "127.0.0.1:5000/gates";
  }
  json render() const {
    return kube::render_job({profile, "4242-deadbeef", "127.0.0.1:5000/gates@sha256:" + std::string(64, 'a'), "gates"});
  }
};

const json& at(const json& j, const char* pointer) { return j.at(json::json_pointer(pointer)); }

// A 1.20 API server's answer to the POST: the Job as sent, plus what the server fills in.
json as_returned(json job) {
  job["metadata"]["uid"] = "3f1c0f5e-8d8a-4c9a-9d7e-0b7c2a1e4f10";
  job["metadata"]["resourceVersion"] = "4711";
  job["metadata"]["creationTimestamp"] = "2024-05-01T10:00:00Z";
  job["metadata"]["labels"]["controller-uid"] = "3f1c0f5e-8d8a-4c9a-9d7e-0b7c2a1e4f10";
  job["spec"]["selector"] = {{"matchLabels", {{"controller-uid", "3f1c0f5e-8d8a-4c9a-9d7e-0b7c2a1e4f10"}}}};
  json& pod = job["spec"]["template"]["spec"];
  pod["terminationGracePeriodSeconds"] = 30;
  pod["dnsPolicy"] = "ClusterFirst";
  pod["schedulerName"] = "default-scheduler";
  json& c = pod["containers"][0];
  c["securityContext"]["procMount"] = "Default";
  // Quantities come back canonical.
  c["resources"] = {{"limits", {{"cpu", "1500m"}, {"memory", "1Gi"}, {"ephemeral-storage", "64Mi"}}},
                    {"requests", {{"cpu", "1500m"}, {"memory", "1Gi"}, {"ephemeral-storage", "64Mi"}}}};
  pod["volumes"][0]["emptyDir"]["sizeLimit"] = "64Mi";
  job["status"] = json::object();
  return job;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

TEST_SUITE("kube::job") {
  TEST_CASE("the Job has every field of Pod Security Standards \"restricted\"") {
    const json job = JobFixture().render();
    CHECK(at(job, "/apiVersion") == "batch/v1");
    CHECK(at(job, "/kind") == "Job");
    CHECK(at(job, "/metadata/name") == "gatebox-4242-deadbeef");
    CHECK(at(job, "/metadata/namespace") == "gates");
    CHECK(at(job, "/spec/backoffLimit") == 0);
    CHECK(at(job, "/spec/completions") == 1);
    CHECK(at(job, "/spec/parallelism") == 1);
    CHECK(at(job, "/spec/activeDeadlineSeconds") == 91 + kube::kDeadlineAllowanceSeconds);  // 90.5 s, rounded up
    CHECK(at(job, "/spec/ttlSecondsAfterFinished") == 300);

    const json& pod = at(job, "/spec/template/spec");
    CHECK(pod.at("restartPolicy") == "Never");
    CHECK(pod.at("terminationGracePeriodSeconds") == 1);
    CHECK(pod.at("automountServiceAccountToken") == false);
    CHECK(pod.at("enableServiceLinks") == false);
    CHECK(pod.at("hostname") == "gate-host");
    CHECK_FALSE(pod.contains("runtimeClassName"));
    CHECK_FALSE(pod.contains("imagePullSecrets"));
    CHECK_FALSE(pod.contains("hostNetwork"));
    CHECK_FALSE(pod.contains("hostPID"));
    CHECK(at(pod, "/securityContext/runAsNonRoot") == true);
    CHECK(at(pod, "/securityContext/runAsUser") == 1000);
    CHECK(at(pod, "/securityContext/runAsGroup") == 1001);
    CHECK(at(pod, "/securityContext/seccompProfile") == json{{"type", "RuntimeDefault"}});

    REQUIRE(pod.at("containers").size() == 1);
    const json& c = pod.at("containers")[0];
    CHECK(c.at("name") == "gate");
    CHECK(c.at("image") == "127.0.0.1:5000/gates@sha256:" + std::string(64, 'a'));
    CHECK(c.at("imagePullPolicy") == "IfNotPresent");
    CHECK(c.at("workingDir") == "/src");
    CHECK_FALSE(c.contains("args"));
    CHECK(at(c, "/securityContext/allowPrivilegeEscalation") == false);
    CHECK(at(c, "/securityContext/capabilities/drop") == json{"ALL"});
    CHECK_FALSE(at(c, "/securityContext/capabilities").contains("add"));
    CHECK(at(c, "/securityContext/readOnlyRootFilesystem") == true);
    CHECK(at(c, "/securityContext/runAsNonRoot") == true);
    CHECK(at(c, "/securityContext/seccompProfile/type") == "RuntimeDefault");
    CHECK_FALSE(at(c, "/securityContext").contains("privileged"));

    // A writable /tmp of limits.disk on a read-only root.
    CHECK(c.at("volumeMounts") == json::parse(R"([{"name": "tmp", "mountPath": "/tmp"}])"));
    CHECK(pod.at("volumes") == json::parse(R"([{"name": "tmp", "emptyDir": {"sizeLimit": "67108864"}}])"));
    CHECK(c.at("terminationMessagePath") == "/dev/termination-log");
    CHECK(c.at("terminationMessagePolicy") == "File");
  }

  TEST_CASE("resources: limits from the profile, requests equal to them") {
    JobFixture f;
    json r = at(f.render(), "/spec/template/spec/containers/0/resources");
    CHECK(r.at("limits") == json{{"memory", "1073741824"}, {"cpu", "1500m"}, {"ephemeral-storage", "67108864"}});
    CHECK(r.at("requests") == r.at("limits"));
    f.profile.limits.cpus = 0.0001;  // never "0m", which would mean no limit
    CHECK(at(f.render(), "/spec/template/spec/containers/0/resources/limits/cpu") == "1m");
    f.profile.limits.timeout = std::chrono::milliseconds(1);
    CHECK(at(f.render(), "/spec/activeDeadlineSeconds") == 1 + kube::kDeadlineAllowanceSeconds);
  }

  TEST_CASE("command, environment and the kubelet's $(VAR) expansion") {
    const json c = at(JobFixture().render(), "/spec/template/spec/containers/0");
    // Each '$' doubled: the kubelet's expansion gives back exactly run.argv.
    CHECK(c.at("command") == json{"/bin/sh", "-c", "echo $$HOME $$(PATH) $$$$ cost: 5$$"});
    CHECK(c.at("env") == json::parse(R"J([{"name": "LANG", "value": "C.UTF-8"}, {"name": "PATH", "value": "/usr/bin:/bin"},
                                          {"name": "PRICE", "value": "$$(PATH)"}])J"));  // sorted by name
  }

  TEST_CASE("labels tie the Job and its pod to the run") {
    const json job = JobFixture().render();
    const json labels = {{"app.kubernetes.io/managed-by", "gatebox"},
                         {"gatebox.dev/run", "4242-deadbeef"},
                         {"gatebox.dev/profile", "Unit-Tests--py3.12"}};  // sanitized to a label value
    CHECK(at(job, "/metadata/labels") == labels);
    CHECK(at(job, "/spec/template/metadata/labels") == labels);
    CHECK(kube::run_label_selector("4242-deadbeef") == "gatebox.dev/run=4242-deadbeef");

    JobFixture f;
    f.profile.name = std::string(80, 'x') + "-";
    CHECK(at(f.render(), "/metadata/labels/gatebox.dev~1profile") == std::string(63, 'x'));
    f.profile.name = "---";
    CHECK(at(f.render(), "/metadata/labels/gatebox.dev~1profile") == "");
  }

  TEST_CASE("job names are DNS labels short enough for the pods' names") {
    CHECK(kube::job_name("4242-deadbeef") == "gatebox-4242-deadbeef");
    CHECK(kube::job_name("Run_ID.42") == "gatebox-run-id-42");
    const std::string long_name = kube::job_name(std::string(100, '1') + "-cafebabe");
    CHECK(long_name.size() <= 52);
    CHECK(long_name.starts_with("gatebox-"));
    CHECK(long_name.ends_with("-cafebabe"));  // the random part survives
    CHECK(kube::job_name("--") == "gatebox-run");
  }

  TEST_CASE("Localhost seccomp, RuntimeClass, verdict file, hostname") {
    JobFixture f;
    f.profile.stack.kubernetes.seccomp = "Localhost";
    f.profile.stack.kubernetes.seccomp_profile = "gatebox/gate.json";
    f.profile.stack.kubernetes.runtime_class = "gvisor";
    f.profile.stack.kubernetes.image_pull_secret = "registry-pull";
    f.profile.verdict.file = "/out/verdict.json";
    f.profile.run.hostname = "gate-1.local";  // not a DNS label: the pod keeps its own name
    const json job = f.render();
    const json localhost = {{"type", "Localhost"}, {"localhostProfile", "gatebox/gate.json"}};
    CHECK(at(job, "/spec/template/spec/securityContext/seccompProfile") == localhost);
    CHECK(at(job, "/spec/template/spec/containers/0/securityContext/seccompProfile") == localhost);
    CHECK(at(job, "/spec/template/spec/runtimeClassName") == "gvisor");
    CHECK(at(job, "/spec/template/spec/imagePullSecrets") == json::array({{{"name", "registry-pull"}}}));
    CHECK(at(job, "/spec/template/spec/containers/0/terminationMessagePath") == "/out/verdict.json");
    CHECK_FALSE(at(job, "/spec/template/spec").contains("hostname"));

    JobFixture no_ns;
    CHECK_FALSE(kube::render_job({no_ns.profile, "1-2", "img@sha256:00", ""}).at("metadata").contains("namespace"));
  }

  TEST_CASE("the read-back: the server's defaults and canonical quantities are not a dropped field") {
    const json sent = JobFixture().render();
    CHECK(kube::dropped_hardening_fields(sent, sent).empty());
    CHECK(kube::dropped_hardening_fields(sent, as_returned(sent)).empty());

    JobFixture gvisor;
    gvisor.profile.stack.kubernetes.runtime_class = "gvisor";
    const json with_class = gvisor.render();
    CHECK(kube::dropped_hardening_fields(with_class, as_returned(with_class)).empty());
    json lost_class = as_returned(with_class);
    lost_class["spec"]["template"]["spec"].erase("runtimeClassName");
    CHECK(kube::dropped_hardening_fields(with_class, lost_class) == std::vector<std::string>{"/spec/template/spec/runtimeClassName"});

    // Losing the TTL backstop (a 1.20 server without the feature gate) is not a reason to refuse.
    json no_ttl = as_returned(sent);
    no_ttl["spec"].erase("ttlSecondsAfterFinished");
    CHECK(kube::dropped_hardening_fields(sent, no_ttl).empty());
  }

  TEST_CASE("the read-back finds hardening fields an older server dropped or changed") {
    const json sent = JobFixture().render();
    json returned = as_returned(sent);
    json& pod = returned["spec"]["template"]["spec"];
    pod["securityContext"].erase("seccompProfile");
    pod["containers"][0]["securityContext"].erase("seccompProfile");
    pod["containers"][0]["securityContext"].erase("allowPrivilegeEscalation");
    pod.erase("automountServiceAccountToken");
    pod["securityContext"]["runAsNonRoot"] = false;
    const std::vector<std::string> dropped = kube::dropped_hardening_fields(sent, returned);
    CAPTURE(json(dropped).dump());
    CHECK(dropped.size() == 5);
    CHECK(contains(dropped, "/spec/template/spec/automountServiceAccountToken"));
    CHECK(contains(dropped, "/spec/template/spec/securityContext/runAsNonRoot"));
    CHECK(contains(dropped, "/spec/template/spec/securityContext/seccompProfile"));
    CHECK(contains(dropped, "/spec/template/spec/containers/0/securityContext/seccompProfile"));
    CHECK(contains(dropped, "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation"));

    json more = as_returned(sent);
    more["spec"]["template"]["spec"]["containers"][0]["securityContext"]["capabilities"]["drop"] = json::array();
    more["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "2Gi";
    more["spec"]["template"]["spec"]["volumes"][0]["emptyDir"].erase("sizeLimit");
    more["spec"].erase("backoffLimit");
    const std::vector<std::string> also = kube::dropped_hardening_fields(sent, more);
    CAPTURE(json(also).dump());
    CHECK(also.size() == 4);
    CHECK(contains(also, "/spec/backoffLimit"));
    CHECK(contains(also, "/spec/template/spec/containers/0/securityContext/capabilities/drop"));
    CHECK(contains(also, "/spec/template/spec/containers/0/resources/limits/memory"));
    CHECK(contains(also, "/spec/template/spec/volumes/0/emptyDir/sizeLimit"));

    // A whole pod spec gone (a garbled answer) is one entry per hardening field, never a pass.
    json empty = {{"metadata", {{"name", "x"}}}};
    CHECK(kube::dropped_hardening_fields(sent, empty).size() >= 8);
  }

  TEST_CASE("limits a Job cannot express are listed") {
    JobFixture f;
    std::vector<std::string> lines = kube::unenforced_limits(f.profile);
    auto mentions = [&](std::string_view key) {
      return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.starts_with(key); });
    };
    CHECK(mentions("limits.pids = 512"));
    CHECK(mentions("limits.open_files = 1024"));
    CHECK(mentions("limits.output = 16MiB"));
    CHECK(mentions("network.mode = none"));
    CHECK_FALSE(mentions("seccomp"));
    f.profile.seccomp.profile = "strict";
    lines = kube::unenforced_limits(f.profile);
    CHECK(mentions("seccomp.profile = strict"));
    f.profile.stack.kubernetes.seccomp = "Localhost";
    f.profile.stack.kubernetes.seccomp_profile = "g.json";
    lines = kube::unenforced_limits(f.profile);
    CHECK(mentions("seccomp: the node's Localhost profile \"g.json\""));
  }
}
