// `gatebox validate`, `gatebox stacks` and `gatebox cache`: the commands that start no gate.
#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "evidence/host_facts.hpp"
#include "log/console.hpp"
#include "policy/operator_keys.hpp"
#include "profile/loader.hpp"
#include "rootfs/rootfs.hpp"
#include "stack/stack.hpp"
#include "util/error.hpp"
#include "util/units.hpp"

namespace gatebox {

int validate_command(const std::vector<std::string>& profiles, bool print) {
  int worst = 0;
  // The keys only the operator chooses (policy/operator_keys.hpp) depend on the site policy.
  std::optional<SitePolicy> policy;
  for (const std::string& file : profiles) {
    try {
      Profile profile = load_profile(file);
      if (!policy) policy = load_site_policy();
      enforce_operator_keys(*policy, profile);
      if (print) {
        std::cout << "# " << file << "\n" << profile_to_toml(profile);
      } else {
        Console::get().info(fmt::format("{}: ok", file));
      }
    } catch (const Error& e) {
      Console::get().error(e.what());
      worst = std::max(worst, static_cast<int>(e.code()));
    }
  }
  return worst;
}

int stacks_command(bool json, const std::vector<std::string>& only) {
  nlohmann::json stacks = nlohmann::json::array();
  nlohmann::json host = host_facts();
  bool all_available = true;
  for (std::string_view name : stack_names()) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    std::unique_ptr<Stack> stack = make_stack(name);
    Availability a = stack->probe_host();
    all_available = all_available && a.available;
    nlohmann::json details = nlohmann::json::object();
    for (const auto& [key, value] : a.details) details[key] = value;
    // The daemon's version is known only to the docker stack, which asked it.
    if (name == "docker" && details.contains("docker")) host["versions"]["docker"] = details["docker"];
    stacks.push_back({{"name", name}, {"available", a.available}, {"reason", a.reason}, {"details", details}});
  }
  // Named stacks make it a check for scripts: `gatebox stacks docker && ...`.
  const int status = only.empty() || all_available ? 0 : static_cast<int>(ExitCode::unavailable);
  if (json) {
    std::cout << nlohmann::json{{"host", host}, {"stacks", stacks}}.dump(2) << "\n";
    return status;
  }
  for (const nlohmann::json& s : stacks) {
    const bool ok = s["available"].get<bool>();
    std::cout << fmt::format("{:<12} {}", s["name"].get<std::string>(),
                             ok ? "available" : "unavailable: " + s["reason"].get<std::string>())
              << "\n";
    for (const auto& [key, value] : s["details"].items()) {
      std::cout << fmt::format("    {:<18} {}\n", key, value.get<std::string>());
    }
  }
  std::cout << "host\n";
  for (const auto& [key, value] : host_fact_lines(host)) std::cout << fmt::format("    {:<18} {}\n", key, value);
  return status;
}

int cache_command(const std::string& action, const std::string& cache_dir_opt, const std::string& older_than) {
  const std::filesystem::path cache_dir = cache_dir_opt.empty() ? default_cache_dir() : std::filesystem::path(cache_dir_opt);
  if (action == "list") {
    std::vector<CacheEntry> entries = cache_list(cache_dir);
    if (entries.empty()) Console::get().info(fmt::format("the cache at {} is empty", cache_dir.string()));
    for (const CacheEntry& e : entries) {
      std::cout << fmt::format("{}  {:>10}  {}{}\n", e.sha256.substr(0, 16), format_size(e.bytes), e.dir.string(),
                               e.in_use ? "  (in use)" : "");
    }
    return 0;
  }
  std::vector<std::string> removed;
  if (action == "prune") {
    std::optional<Duration> age = parse_duration(older_than);
    if (!age) throw make_error(ExitCode::usage, "--older-than: '{}' is not a duration; write e.g. {}", older_than, duration_example);
    removed = cache_prune(cache_dir, std::chrono::duration_cast<std::chrono::seconds>(*age));
  } else {
    removed = cache_clear(cache_dir);
  }
  for (std::string_view name : stack_names()) {
    std::unique_ptr<Stack> stack = make_stack(name);
    for (std::string& line : stack->sweep(cache_dir)) removed.push_back(std::move(line));
    for (std::string& line : stack->clear_cache(cache_dir)) removed.push_back(std::move(line));
  }
  for (const std::string& line : removed) std::cout << line << "\n";
  if (removed.empty()) Console::get().info("nothing to remove");
  return 0;
}

}  // namespace gatebox
