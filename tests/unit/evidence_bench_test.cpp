#include <doctest/doctest.h>

#include "evidence/bench_stats.hpp"

using namespace gatebox;

namespace {

BenchResult measured(const std::string& stack, int n) {
  BenchResult r;
  r.stack = stack;
  r.available = true;
  for (int i = 1; i <= n; ++i) {
    r.samples.push_back(BenchSample{double(2 * i), double(10 * i), double(i) / 2, 1024.0 * i, 0});
  }
  r.parallel = 2;
  r.parallel_runs = 20;
  r.parallel_elapsed_s = 10;
  return r;
}

}  // namespace

TEST_SUITE("evidence") {
  TEST_CASE("median: the middle value, or the mean of the two middle ones") {
    CHECK(summarize({5, 1, 3}).median == 3);
    CHECK(summarize({4, 1, 3, 2}).median == 2.5);
    CHECK(summarize({7}).median == 7);
    CHECK(summarize({}).median == 0);
  }

  TEST_CASE("p95 by nearest rank") {
    std::vector<double> v;
    for (int i = 1; i <= 20; ++i) v.push_back(i);
    CHECK(summarize(v).p95 == 19);  // ceil(0.95 * 20) = 19th
    v.push_back(21);
    CHECK(summarize(v).p95 == 20);  // ceil(0.95 * 21) = 20th
    CHECK(summarize({3, 1, 2}).p95 == 3);
    CHECK(summarize({42}).p95 == 42);
    // Ten runs, the default: p95 is the slowest one, so one outlier shows.
    CHECK(summarize({1, 1, 1, 1, 1, 1, 1, 1, 1, 900}).p95 == 900);
  }

  TEST_CASE("evaluations per minute: parallel runs over their wall time") {
    CHECK(evaluations_per_minute(measured("native", 3)) == doctest::Approx(120));
    BenchResult none;
    CHECK(evaluations_per_minute(none) == 0);
  }

  TEST_CASE("the JSON has every field for a measured stack and the reason for an unavailable one") {
    BenchResult off;
    off.stack = "firecracker";
    off.reason = "no usable /dev/kvm";
    nlohmann::json j = bench_json("hello.toml", 10, 2, {measured("native", 10), off});
    CHECK(j["profile"] == "hello.toml");
    CHECK(j["runs"] == 10);
    CHECK(j["parallel"] == 2);
    const nlohmann::json& n = j["stacks"][0];
    for (const char* field : {"stack", "available", "reason", "details", "runs", "failed_runs", "start_ms", "wall_ms", "cpu_ms",
                              "max_rss_kib", "parallel", "parallel_runs", "parallel_elapsed_s", "evaluations_per_minute"}) {
      CHECK_MESSAGE(n.contains(field), field);
    }
    CHECK(n["wall_ms"]["median"] == 55.0);
    CHECK(n["wall_ms"]["p95"] == 100.0);
    CHECK(n["max_rss_kib"]["median"] == 5632.0);
    CHECK(n["reason"].is_null());
    const nlohmann::json& f = j["stacks"][1];
    CHECK(f["available"] == false);
    CHECK(f["reason"] == "no usable /dev/kvm");
    CHECK_FALSE(f.contains("wall_ms"));
  }

  TEST_CASE("the table shows medians with p95 and lists why a stack was not measured") {
    BenchResult off;
    off.stack = "qemu";
    off.reason = "not built yet";
    BenchResult r = measured("native", 10);
    r.failed_runs = 2;
    r.details = {{"cgroup", "v2"}, {"storage driver", "overlay2"}};
    const std::string text = render_bench_table({r, off});
    CHECK(text.find("native: cgroup: v2; storage driver: overlay2") != std::string::npos);
    CHECK(text.find("55.0 (100.0)") != std::string::npos);  // wall ms
    CHECK(text.find("5.5 (10.0)") != std::string::npos);    // peak MiB
    CHECK(text.find("120.0") != std::string::npos);         // evals/min
    CHECK(text.find("qemu: not built yet") != std::string::npos);
    CHECK(text.find("native: 2 of the runs did not pass") != std::string::npos);
  }
}
