#include "route/route.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "util/error.hpp"

namespace gatebox {

std::string canonical_feature(std::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

namespace {

// The first reason `c` cannot take this gate, or "" when it can.
std::string misfit(const Profile& profile, const SitePolicy& policy, const StackCandidate& c) {
  if (!c.skipped.empty()) return c.skipped;
  if (!policy.stack_allowed(c.name)) return fmt::format("not allowed by the site policy ({})", policy.allowed_stacks->where);
  if (!c.availability.available) return "unavailable: " + c.availability.reason;
  const Isolation wanted = parse_isolation(profile.stack.isolation).value_or(Isolation::any);
  if (c.isolation < wanted) {
    return fmt::format("gives {} isolation; the gate asks for at least {}", to_string(c.isolation), to_string(wanted));
  }
  if (policy.min_isolation && c.isolation < policy.min_isolation->value) {
    return fmt::format("gives {} isolation; the site policy asks for at least {} ({})", to_string(c.isolation),
                       to_string(policy.min_isolation->value), policy.min_isolation->where);
  }
  if (profile.stack.requires_features.empty()) return "";
  if (!c.features) return "its features are unknown (run 'gatebox probe')";
  std::vector<std::string> missing;
  for (const std::string& want : profile.stack.requires_features) {
    auto it = c.features->find(canonical_feature(want));
    if (it == c.features->end()) {
      missing.push_back(want + ": not probed");
    } else if (it->second != "works") {
      missing.push_back(fmt::format("{}: {}", want, it->second));
    }
  }
  if (missing.empty()) return "";
  return fmt::format("under seccomp '{}', {}", profile.seccomp.profile, fmt::join(missing, "; "));
}

}  // namespace

bool fits(const Profile& profile, const SitePolicy& policy, const StackCandidate& candidate) {
  return candidate.name != "kubernetes" && misfit(profile, policy, candidate).empty();
}

RouteDecision route(const Profile& profile, const SitePolicy& policy, const std::vector<StackCandidate>& candidates) {
  RouteDecision d;
  const StackCandidate* best = nullptr;
  std::vector<std::pair<const StackCandidate*, std::string>> fits;
  for (const StackCandidate& c : candidates) {
    if (c.name == "kubernetes") continue;  // beyond one machine: named explicitly, never picked by auto
    std::string why = misfit(profile, policy, c);
    if (!why.empty()) {
      d.rejected.emplace_back(c.name, why);
      continue;
    }
    fits.emplace_back(&c, "");
    if (best == nullptr || c.cold_start_ms < best->cold_start_ms) best = &c;
  }
  if (best == nullptr) {
    std::string lines;
    for (const auto& [name, why] : d.rejected) lines += fmt::format("\n  {}: {}", name, why);
    throw make_error(ExitCode::unavailable, "stack.kind = \"auto\": no stack here can run this gate:{}", lines);
  }
  for (const auto& [c, _] : fits) {
    if (c != best) {
      d.rejected.emplace_back(c->name, fmt::format("fits, but starts slower ({:.0f} ms{})", c->cold_start_ms,
                                                   c->measured ? " measured" : " typical"));
    }
  }
  d.stack = best->name;
  std::string needs = profile.stack.requires_features.empty()
                          ? std::string()
                          : fmt::format(", has {}", fmt::join(profile.stack.requires_features, ", "));
  d.why = fmt::format("auto: {} isolation{}, fastest start of {} fitting", to_string(best->isolation), needs, fits.size());
  return d;
}

}  // namespace gatebox
