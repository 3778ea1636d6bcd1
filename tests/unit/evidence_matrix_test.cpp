#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>

#include "evidence/probe_matrix.hpp"

using namespace gatebox;

namespace {

const char* kProbeOutput = R"({
  "ptrace": {"status": "works", "errno": null, "detail": "PTRACE_ATTACH to a forked child"},
  "bpf": {"status": "denied", "errno": "EPERM", "detail": "bpf: Operation not permitted"},
  "kvm": {"status": "absent", "errno": "ENOENT", "detail": "no /dev/kvm in the sandbox"}
})";

ProbeColumn parsed(const std::string& stack, const std::string& policy) {
  ProbeColumn c{stack, policy, true, "", {}};
  REQUIRE_FALSE(parse_probe_output(kProbeOutput, c).has_value());
  return c;
}

std::string row_of(const std::string& text, const std::string& feature) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(feature + " ", 0) == 0) return line;
  }
  return "";
}

}  // namespace

TEST_SUITE("evidence") {
  TEST_CASE("the probe's JSON becomes cells with status, errno and detail") {
    ProbeColumn c = parsed("native", "default");
    REQUIRE(c.cells.size() == 3);
    CHECK(c.cells["bpf"].status == "denied");
    CHECK(c.cells["bpf"].err == "EPERM");
    CHECK(c.cells["ptrace"].err.empty());
    CHECK(c.cells["kvm"].detail == "no /dev/kvm in the sandbox");
  }

  TEST_CASE("output that is not the probe's JSON is a reason, not a crash") {
    ProbeColumn c{"docker", "default", true, "", {}};
    CHECK(parse_probe_output("Segmentation fault\n", c).value().find("no JSON") != std::string::npos);
    CHECK(parse_probe_output(R"({"bpf": {"status": "maybe"}})", c).value().find("unknown status 'maybe'") !=
          std::string::npos);
    CHECK(parse_probe_output(R"({"bpf": 3})", c).value().find("bpf") != std::string::npos);
  }

  TEST_CASE("the text matrix has a row per feature and a column per stack and policy") {
    std::vector<ProbeColumn> cols = {parsed("native", "default"), parsed("native", "unconfined")};
    cols[1].cells["bpf"] = {"works", "", "loaded"};
    const std::string text = render_probe_matrix(cols, MatrixStyle{true});
    CHECK(text.rfind("feature", 0) == 0);
    CHECK(text.find("native/default") != std::string::npos);
    CHECK(text.find("native/unconfined") != std::string::npos);
    CHECK(row_of(text, "bpf").find("✗ EPERM") != std::string::npos);
    CHECK(row_of(text, "bpf").find("✓") != std::string::npos);
    CHECK(row_of(text, "kvm").find("– absent") != std::string::npos);
    // A feature the probe did not report is shown as unknown, never as working.
    CHECK(row_of(text, "io_uring").find("?") != std::string::npos);
    for (const std::string& f : probe_features()) CHECK_MESSAGE(!row_of(text, f).empty(), f);
  }

  TEST_CASE("columns line up by display width, not by bytes") {
    std::vector<ProbeColumn> cols = {parsed("native", "default"), parsed("gvisor", "default")};
    const std::string text = render_probe_matrix(cols, MatrixStyle{true});
    // "✓" is three bytes but one column: the second column starts at the same place in
    // the ptrace row (✓) as in the bpf row (✗ EPERM).
    auto column_of = [](const std::string& line, const std::string& mark, int nth) {
      std::size_t pos = std::string::npos, from = 0;
      for (int i = 0; i < nth; ++i) {
        pos = line.find(mark, from);
        from = pos + 1;
      }
      std::size_t cols = 0;
      for (std::size_t i = 0; i < pos; ++i) cols += (static_cast<unsigned char>(line[i]) & 0xC0) != 0x80;
      return cols;
    };
    CHECK(column_of(row_of(text, "ptrace"), "✓", 2) == column_of(row_of(text, "bpf"), "✗", 2));
  }

  TEST_CASE("ASCII style uses no UTF-8") {
    const std::string text = render_probe_matrix({parsed("native", "default")}, MatrixStyle{false});
    CHECK(row_of(text, "bpf").find("no EPERM") != std::string::npos);
    CHECK(row_of(text, "ptrace").find("ok") != std::string::npos);
    CHECK(row_of(text, "kvm").find("- absent") != std::string::npos);
    for (unsigned char ch : text) CHECK(ch < 0x80);
  }

  TEST_CASE("an unavailable stack is a column with its reason") {
    std::vector<ProbeColumn> cols = {parsed("native", "default"),
                                     ProbeColumn{"firecracker", "", false, "no usable /dev/kvm", {}}};
    const std::string text = render_probe_matrix(cols, MatrixStyle{false});
    CHECK(text.find("firecracker: no usable /dev/kvm") != std::string::npos);
    CHECK(row_of(text, "bpf").find(".") != std::string::npos);
    nlohmann::json j = probe_matrix_json(cols);
    CHECK(j["columns"][1]["ran"] == false);
    CHECK(j["columns"][1]["reason"] == "no usable /dev/kvm");
    CHECK(j["columns"][1]["policy"].is_null());
    CHECK(j["columns"][0]["results"]["bpf"]["errno"] == "EPERM");
    CHECK(j["columns"][0]["results"]["ptrace"]["errno"].is_null());
    CHECK(j["features"].size() == probe_features().size());
  }

  TEST_CASE("the locale decides UTF-8: LC_ALL over LC_CTYPE over LANG") {
    const char* saved[3] = {std::getenv("LC_ALL"), std::getenv("LC_CTYPE"), std::getenv("LANG")};
    std::string keep[3];
    for (int i = 0; i < 3; ++i) keep[i] = saved[i] ? saved[i] : "";
    ::unsetenv("LC_ALL");
    ::setenv("LC_CTYPE", "C", 1);
    ::setenv("LANG", "en_US.UTF-8", 1);
    CHECK_FALSE(locale_is_utf8());
    ::setenv("LC_ALL", "de_DE.utf8", 1);
    CHECK(locale_is_utf8());
    const char* names[3] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (int i = 0; i < 3; ++i) {
      if (saved[i]) ::setenv(names[i], keep[i].c_str(), 1);
      else ::unsetenv(names[i]);
    }
  }
}
