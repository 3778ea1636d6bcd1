#include <doctest/doctest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "report/report.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

namespace {

struct Fixture {
  Profile profile;
  RunOutcome outcome;
  OutputStats output;
  Verdict verdict;

  Fixture() {
    profile.name = "unit-tests";
    profile.file = "gates/unit.toml";
    outcome.exit_code = 2;
    outcome.timings = {.start_ms = 4.66, .run_ms = 812.04, .teardown_ms = 1.25};
    outcome.usage = {.cpu_user_ms = 640, .cpu_system_ms = 90, .max_rss_kib = 52340};
    output = {.stdout_bytes = 1432, .stderr_bytes = 88, .truncated = false};
    verdict = {VerdictKind::fail, "exit code 2", nullptr};
  }
  ReportInput input() const {
    return ReportInput{.profile = profile,
                       .stack = "native",
                       .stack_reason = "",
                       .verdict = verdict,
                       .outcome = outcome,
                       .output = output,
                       .rootfs_sha256 = std::string(64, 'a'),
                       .rootfs_cache_hit = true,
                       .prepare_ms = 3.14159,
                       .total_ms = 821.0,
                       .seccomp_report_why = ""};
  }
};

std::set<std::string> keys_of(const nlohmann::json& j) {
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.insert(k);
  return keys;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "gatebox-report-test-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("the report has exactly the fields of docs/ARCHITECTURE.md §3.3, with their types") {
    Fixture f;
    auto r = make_report(f.input());
    CHECK(keys_of(r) == std::set<std::string>{"gatebox", "gate", "profile", "stack", "verdict", "reason",
                                              "exit_code", "signal", "timed_out", "oom_killed", "interrupted",
                                              "timing_ms", "usage", "output", "rootfs", "verdict_file", "seccomp",
                                              "vm"});
    CHECK(r["gatebox"] == GATEBOX_VERSION);
    CHECK(r["gate"] == "unit-tests");
    CHECK(r["profile"] == "gates/unit.toml");
    CHECK(r["stack"] == "native");
    CHECK(r["verdict"] == "fail");
    CHECK(r["reason"] == "exit code 2");
    CHECK(r["exit_code"] == 2);
    CHECK(r["signal"].is_null());
    CHECK(r["timed_out"] == false);
    CHECK(r["oom_killed"] == false);
    CHECK(r["interrupted"] == false);
    CHECK(keys_of(r["timing_ms"]) == std::set<std::string>{"prepare", "checks", "start", "run", "teardown", "total"});
    CHECK(r["timing_ms"]["prepare"].get<double>() == doctest::Approx(3.1));
    CHECK(r["timing_ms"]["start"].get<double>() == doctest::Approx(4.7));
    CHECK(r["timing_ms"]["run"].get<double>() == doctest::Approx(812.0));
    CHECK(r["timing_ms"]["teardown"].get<double>() == doctest::Approx(1.3));
    CHECK(r["timing_ms"]["total"].get<double>() == doctest::Approx(821.0));
    CHECK(r["timing_ms"]["total"].is_number_float());
    CHECK(r["usage"] == nlohmann::json{{"cpu_user_ms", 640}, {"cpu_system_ms", 90}, {"max_rss_kib", 52340}});
    CHECK(r["output"] == nlohmann::json{{"stdout_bytes", 1432}, {"stderr_bytes", 88}, {"truncated", false}});
    CHECK(r["rootfs"] == nlohmann::json{{"sha256", std::string(64, 'a')}, {"cache", "hit"}});
    CHECK(r["verdict_file"].is_null());
    CHECK(r["seccomp"] == nlohmann::json{{"report", false}, {"denied", nullptr}, {"why", nullptr}});
    CHECK(r["vm"].is_null());  // not a VM stack
  }

  TEST_CASE("the VM stacks say which accelerator held the guest") {
    Fixture f;
    f.outcome.vm_accel = "tcg";
    CHECK(make_report(f.input())["vm"] == nlohmann::json{{"accel", "tcg"}});
  }

  TEST_CASE("seccomp.report: the denied calls with counts, or why the stack could not list them") {
    Fixture f;
    f.profile.seccomp.report = true;
    f.outcome.seccomp_reported = true;
    f.outcome.seccomp_denied = {{"bpf", 2}, {"perf_event_open", 1}};
    auto r = make_report(f.input());
    CHECK(r["seccomp"] ==
          nlohmann::json{{"report", true}, {"denied", {{"bpf", 2}, {"perf_event_open", 1}}}, {"why", nullptr}});

    f.outcome.seccomp_denied.clear();
    r = make_report(f.input());
    CHECK(r["seccomp"]["denied"] == nlohmann::json::object());  // listened, nothing denied: not null

    f.outcome.seccomp_reported = false;
    ReportInput in = f.input();
    in.stack = "docker";
    in.seccomp_report_why = "docker: no listener";
    r = make_report(in);
    CHECK(r["seccomp"] == nlohmann::json{{"report", false}, {"denied", nullptr}, {"why", "docker: no listener"}});
    // Written after verdict_file, in the order the man page lists.
    const std::string text = [&] {
      TempDir d;
      write_report((d.path / "r.json").string(), r);
      return read_file(d.path / "r.json");
    }();
    CHECK(text.find("\"verdict_file\"") < text.find("\"seccomp\""));
    CHECK(text.find("\"report\"") < text.find("\"why\""));
  }

  TEST_CASE("fields that do not apply are null; optional ones appear when set") {
    Fixture f;
    f.outcome.exit_code.reset();
    f.outcome.signal = SIGKILL;
    f.outcome.interrupted = true;
    f.outcome.interrupt_signal = SIGTERM;
    f.verdict = {VerdictKind::pass, "verdict file: ok", {{"verdict", "pass"}, {"reason", "ok"}, {"score", 0.9}}};
    ReportInput in = f.input();
    in.stack_reason = "lowest cold start meeting isolation=kernel";
    in.rootfs_sha256.clear();
    in.rootfs_cache_hit = false;
    auto r = make_report(in);
    CHECK(r["exit_code"].is_null());
    CHECK(r["signal"] == SIGKILL);
    CHECK(r["interrupted"] == true);
    CHECK(r["stack_reason"] == "lowest cold start meeting isolation=kernel");
    CHECK(r["rootfs"]["sha256"].is_null());
    CHECK(r["rootfs"]["cache"] == "miss");
    CHECK(r["verdict_file"]["score"] == 0.9);
  }

  TEST_CASE("write_report replaces the file atomically, readable by all, in §5 order") {
    TempDir dir;
    fs::path file = dir.path / "report.json";
    { std::ofstream(file) << "old"; }
    ::umask(022);
    Fixture f;
    auto r = make_report(f.input());
    write_report(file.string(), r);
    std::string text = read_file(file);
    CHECK(nlohmann::json::parse(text) == r);
    CHECK(text.find("\"gatebox\"") < text.find("\"gate\""));
    CHECK(text.find("\"verdict\"") < text.find("\"reason\""));
    CHECK(text.find("\"prepare\"") < text.find("\"total\""));
    CHECK(text.find("\"rootfs\"") < text.find("\"verdict_file\""));
    CHECK(text.ends_with("}\n"));
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    // Only the report itself: no temp file left beside it.
    int entries = 0;
    for (const auto& e : fs::directory_iterator(dir.path)) {
      CAPTURE(e.path());
      ++entries;
    }
    CHECK(entries == 1);
  }

  TEST_CASE("a report that cannot be written is an internal error naming the path") {
    TempDir dir;
    Fixture f;
    auto r = make_report(f.input());
    fs::path missing = dir.path / "no-such-dir" / "report.json";
    try {
      write_report(missing.string(), r);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::internal);
      CHECK(std::string(e.what()).find(missing.string()) != std::string::npos);
    }
    // The destination is a directory: rename fails, and the temp file is removed.
    fs::create_directory(dir.path / "taken");
    CHECK_THROWS_AS(write_report((dir.path / "taken").string(), r), Error);
    int entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
    CHECK(entries == 1);
  }

  TEST_CASE("'-' writes the report to stdout") {
    Fixture f;
    auto r = make_report(f.input());
    Fd capture(::memfd_create("report_test", MFD_CLOEXEC));
    Fd saved(::dup(STDOUT_FILENO));
    REQUIRE(::dup2(capture.get(), STDOUT_FILENO) >= 0);
    write_report("-", r);
    ::dup2(saved.get(), STDOUT_FILENO);
    std::string text(4096, '\0');
    ssize_t n = ::pread(capture.get(), text.data(), text.size(), 0);
    REQUIRE(n > 0);
    text.resize(static_cast<std::size_t>(n));
    CHECK(nlohmann::json::parse(text) == r);
  }

  TEST_CASE("the verdict line names verdict, reason, stack and total seconds") {
    Fixture f;
    CHECK(verdict_line(f.input()) == "fail — exit code 2 (native, 0.82s)");
    CHECK(verdict_line_detail(f.input()) == "exit code 2 (native, 0.82s)");

    f.outcome.interrupted = true;
    f.outcome.interrupt_signal = SIGINT;
    ReportInput in = f.input();
    in.total_ms = 1200.4;
    CHECK(verdict_line(in) == "error — interrupted by SIGINT (native, 1.20s)");
  }

  TEST_CASE("a very long reason is shortened on the verdict line only") {
    Fixture f;
    f.verdict.reason = "verdict file: " + std::string(5000, 'x');
    std::string line = verdict_line(f.input());
    CHECK(line.size() < 400);
    CHECK(line.ends_with("… (native, 0.82s)"));
    CHECK(make_report(f.input())["reason"].get<std::string>().size() == 5014);
  }
}
