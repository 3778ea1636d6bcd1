#include "profile/profile.hpp"

namespace gatebox {

std::string_view to_string(NetworkMode m) { return m == NetworkMode::none ? "none" : "loopback"; }

std::string_view to_string(SeccompAction a) {
  switch (a) {
    case SeccompAction::errno_eperm: return "errno";
    case SeccompAction::kill: return "kill";
    case SeccompAction::log: return "log";
  }
  return "errno";
}

std::string_view to_string(VerdictKind v) {
  switch (v) {
    case VerdictKind::pass: return "pass";
    case VerdictKind::fail: return "fail";
    case VerdictKind::error: return "error";
  }
  return "error";
}

}  // namespace gatebox
