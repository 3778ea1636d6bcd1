#include <doctest/doctest.h>

#include "stack/kubernetes/kube_client.hpp"

using namespace gatebox;
using namespace gatebox::kube;

namespace {

KubeTarget target() {
  KubeTarget t;
  t.server = "https://10.0.0.1:6443";
  t.user = "viewer";
  t.context = "dev";
  t.source = "/home/u/.kube/config";
  return t;
}

}  // namespace

TEST_SUITE("kube::client") {
  TEST_CASE("403 names the verb, resource and namespace") {
    const std::string body =
        R"({"kind":"Status","status":"Failure","message":"jobs.batch is forbidden: User \"viewer\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"gates\"","reason":"Forbidden","details":{"group":"batch","kind":"jobs"},"code":403})";
    Error e = kube_api_error(target(), "POST", "/apis/batch/v1/namespaces/gates/jobs", 403, body);
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()) ==
          R"(forbidden: user "viewer" may not create jobs.batch in namespace "gates" (RBAC: grant the verb "create" on "jobs" in "gates"))");
    e = kube_api_error(target(), "GET", "/api/v1/namespaces/gates/pods/p1/log?follow=true", 403,
                       R"({"message":"pods \"p1\" is forbidden: User \"system:serviceaccount:ci:runner\" cannot get resource \"pods/log\""})");
    CHECK(std::string(e.what()) ==
          R"(forbidden: user "system:serviceaccount:ci:runner" may not get pods/log in namespace "gates" (RBAC: grant the verb "get" on "pods/log" in "gates"))");
    e = kube_api_error(target(), "GET", "/apis/batch/v1/namespaces/gates/jobs?labelSelector=a", 403, "");
    CHECK(std::string(e.what()).find("may not list jobs.batch") != std::string::npos);
  }

  TEST_CASE("401, 422, other statuses") {
    Error e = kube_api_error(target(), "GET", "/api/v1/namespaces/gates/pods", 401,
                             R"({"kind":"Status","message":"Unauthorized","code":401})");
    CHECK(e.code() == ExitCode::unavailable);
    CHECK(std::string(e.what()).rfind(
              "the API server at https://10.0.0.1:6443 rejected the credentials of user 'viewer' (kubeconfig "
              "/home/u/.kube/config",
              0) == 0);

    const std::string invalid =
        R"({"kind":"Status","message":"Job.batch \"g\" is invalid: spec.template.spec.containers[0].image: Required value","reason":"Invalid","details":{"causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.template.spec.containers[0].image"},{"message":"must be positive","field":"spec.backoffLimit"}]},"code":422})";
    e = kube_api_error(target(), "POST", "/apis/batch/v1/namespaces/gates/jobs?dryRun=All", 422, invalid);
    CHECK(e.code() == ExitCode::bad_input);
    const std::string what = e.what();
    CHECK(what.find("spec.template.spec.containers[0].image: Required value") != std::string::npos);
    CHECK(what.find("(spec.backoffLimit: must be positive)") != std::string::npos);
    CHECK(what.find("dryRun") == std::string::npos);

    e = kube_api_error(target(), "GET", "/apis/batch/v1/namespaces/gates/jobs/x", 404,
                       R"({"message":"jobs.batch \"x\" not found"})");
    CHECK(e.code() == ExitCode::internal);
    CHECK(std::string(e.what()).find("answered 404: jobs.batch \"x\" not found") != std::string::npos);
    CHECK(kube_status_message("plain text\n") == "plain text");
  }

  TEST_CASE("an unreachable API server is exit 69 naming the server and context") {
    KubeTarget t = target();
    t.server = "http://127.0.0.1:1";  // nothing listens on port 1
    KubeClient c(t, 1000);
    try {
      c.get("/version");
      FAIL("expected an Error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::unavailable);
      CHECK(std::string(e.what()).rfind("cannot reach the Kubernetes API server at http://127.0.0.1:1 (context dev): ", 0) == 0);
    }
  }
}
