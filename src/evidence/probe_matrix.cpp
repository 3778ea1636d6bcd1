#include "evidence/probe_matrix.hpp"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace gatebox {
namespace {

// Terminal columns of a UTF-8 string: every code point here is one column wide.
std::size_t display_width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string pad(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

std::string cell_text(const ProbeColumn& column, const std::string& feature, const MatrixStyle& style) {
  if (!column.ran) return style.utf8 ? "·" : ".";
  auto it = column.cells.find(feature);
  if (it == column.cells.end()) return "?";
  const ProbeCell& c = it->second;
  if (c.status == "works") return style.utf8 ? "✓" : "ok";
  if (c.status == "absent") return style.utf8 ? "– absent" : "- absent";
  const std::string mark = style.utf8 ? "✗" : "no";
  return c.err.empty() ? mark : mark + " " + c.err;
}

std::string header(const ProbeColumn& column) {
  return column.policy.empty() ? column.stack : column.stack + "/" + column.policy;
}

}  // namespace

const std::vector<std::string>& probe_features() {
  static const std::vector<std::string> features = {
      "ptrace",        "strace",       "process_vm_readv", "bpf",          "perf_event_open", "io_uring",
      "keyctl",        "userfaultfd",  "unshare_user",     "unshare_mount", "unshare_net",    "mount_tmpfs",
      "mount_overlay", "fuse",         "kvm",              "setuid",       "cgroupfs_writable", "docker_build"};
  return features;
}

std::optional<std::string> parse_probe_output(const std::string& text, ProbeColumn& column) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return fmt::format("the probe printed no JSON object ({} bytes of output)", text.size());
  }
  for (const auto& [feature, value] : j.items()) {
    if (!value.is_object() || !value.contains("status") || !value["status"].is_string()) {
      return fmt::format("the probe's entry for {} has no status", feature);
    }
    ProbeCell cell;
    cell.status = value["status"].get<std::string>();
    if (cell.status != "works" && cell.status != "denied" && cell.status != "absent") {
      return fmt::format("the probe's entry for {} has an unknown status '{}'", feature, cell.status);
    }
    if (value.contains("errno") && value["errno"].is_string()) cell.err = value["errno"].get<std::string>();
    if (value.contains("detail") && value["detail"].is_string()) cell.detail = value["detail"].get<std::string>();
    column.cells[feature] = std::move(cell);
  }
  return std::nullopt;
}

std::string render_probe_matrix(const std::vector<ProbeColumn>& columns, const MatrixStyle& style) {
  std::size_t first = std::string("feature").size();
  for (const std::string& f : probe_features()) first = std::max(first, f.size());
  std::vector<std::size_t> widths;
  for (const ProbeColumn& c : columns) {
    std::size_t w = display_width(header(c));
    for (const std::string& f : probe_features()) w = std::max(w, display_width(cell_text(c, f, style)));
    widths.push_back(w);
  }
  auto row = [&](const std::string& name, auto&& text_of) {
    std::string line = pad(name, first);
    for (std::size_t i = 0; i < columns.size(); ++i) line += "  " + pad(text_of(columns[i]), widths[i]);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  std::string out = row("feature", [](const ProbeColumn& c) { return header(c); });
  for (const std::string& f : probe_features()) {
    out += row(f, [&](const ProbeColumn& c) { return cell_text(c, f, style); });
  }
  bool any_missing = false;
  for (const ProbeColumn& c : columns) {
    if (c.ran) continue;
    if (!any_missing) out += "\n";
    any_missing = true;
    out += fmt::format("{}: {}\n", header(c), c.reason);
  }
  return out;
}

nlohmann::json probe_matrix_json(const std::vector<ProbeColumn>& columns) {
  nlohmann::json cols = nlohmann::json::array();
  for (const ProbeColumn& c : columns) {
    nlohmann::json results = nlohmann::json::object();
    for (const auto& [feature, cell] : c.cells) {
      results[feature] = {{"status", cell.status},
                          {"errno", cell.err.empty() ? nlohmann::json(nullptr) : nlohmann::json(cell.err)},
                          {"detail", cell.detail}};
    }
    cols.push_back({{"stack", c.stack},
                    {"policy", c.policy.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.policy)},
                    {"ran", c.ran},
                    {"reason", c.ran ? nlohmann::json(nullptr) : nlohmann::json(c.reason)},
                    {"results", results}});
  }
  return {{"features", probe_features()}, {"columns", cols}};
}

bool locale_is_utf8() {
  for (const char* var : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* v = std::getenv(var);
    if (!v || !*v) continue;
    std::string s(v);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    return s.find("utf-8") != std::string::npos || s.find("utf8") != std::string::npos;
  }
  return false;
}

}  // namespace gatebox
