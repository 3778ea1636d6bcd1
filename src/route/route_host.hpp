#pragma once
// What routing knows about this host, cached so that `kind = "auto"` costs a run nothing
// measurable: the probe's feature matrix per (stack, stack version, seccomp base policy),
// and the cold starts of past runs per stack. Both live under <cache_dir>/evidence/.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "evidence/probe_matrix.hpp"
#include "route/route.hpp"

namespace gatebox {

// The probe column `gatebox probe` or an earlier routing stored for this stack's current
// version (its probe_host() details), if any.
std::optional<ProbeColumn> cached_probe(const std::filesystem::path& cache_dir, const Stack& stack,
                                        const Availability& availability, const std::string& policy);
void store_probe(const std::filesystem::path& cache_dir, const Availability& availability, const ProbeColumn& column);

// Remembers a run's cold start for routing (the last 16 per stack; their median is used).
void record_cold_start(const std::filesystem::path& cache_dir, std::string_view stack, double start_ms);
// The median of the recorded cold starts, or nullopt.
std::optional<double> measured_cold_start(const std::filesystem::path& cache_dir, std::string_view stack);

// Every stack of the registry as a routing candidate for `profile`, fastest first. Features
// are looked up only when the profile requires some; a stack that was never probed under
// this version is probed once now (`progress` says so) and the result cached. With
// ProbeMode::run_nothing (--dry-run), every stack is asked, so that each one's reason is
// listed, but nothing is run: no stack's tools, no feature probe (`progress` says which
// probe a run would make). Otherwise the stacks after the first that fits are not asked at
// all: they start slower, and asking costs milliseconds.
std::vector<StackCandidate> gather_candidates(const Profile& profile, const SitePolicy& policy,
                                              const std::filesystem::path& cache_dir, ProbeMode mode,
                                              const std::function<void(const std::string&)>& progress);

}  // namespace gatebox
