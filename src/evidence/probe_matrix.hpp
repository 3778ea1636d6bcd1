#pragma once
// The result of `gatebox probe`: kernel features × (stack, seccomp policy), each cell
// works / denied (errno) / absent, as the probe program inside the sandbox saw it. Pure
// data and rendering, so the text and JSON forms are tested without a sandbox.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gatebox {

struct ProbeCell {
  std::string status;  // works | denied | absent
  std::string err;     // errno name (EPERM), or empty
  std::string detail;
};

// One column: a stack under one policy, or an unavailable stack (ran = false, reason set;
// policy is empty then). A run that failed has ran = false and the failure as reason.
struct ProbeColumn {
  std::string stack;
  std::string policy;
  bool ran = false;
  std::string reason;
  std::map<std::string, ProbeCell> cells;
};

// The features in the order of the matrix's rows.
const std::vector<std::string>& probe_features();

// Fills column.cells from the probe program's stdout; a feature the output lacks stays out
// (the matrix shows "?"). Returns why, when the text is not the probe's JSON.
std::optional<std::string> parse_probe_output(const std::string& text, ProbeColumn& column);

struct MatrixStyle {
  bool utf8 = true;  // ✓ ✗ – ; ASCII "ok", "no", "-" otherwise
};

// The text matrix, then a line per column that did not run, with its reason.
std::string render_probe_matrix(const std::vector<ProbeColumn>& columns, const MatrixStyle& style);
// {"features": [...], "columns": [{"stack", "policy", "ran", "reason", "results": {feature: cell}}]}
nlohmann::json probe_matrix_json(const std::vector<ProbeColumn>& columns);

// True when the environment's locale says UTF-8 (LC_ALL, else LC_CTYPE, else LANG).
bool locale_is_utf8();

}  // namespace gatebox
