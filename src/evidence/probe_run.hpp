#pragma once
// Runs the probe program (src/probe/gatebox_probe.c) inside a stack through the normal
// pipeline stages: a tiny rootfs of its own, a profile made in memory, the stack's run().
#include <filesystem>
#include <string>

#include "evidence/probe_matrix.hpp"
#include "stack/stack.hpp"

namespace gatebox {

// $GATEBOX_PROBE, else gatebox-probe next to this gatebox binary, else
// <prefix>/lib/gatebox/gatebox-probe for an installed gatebox. Throws Error(70) saying
// where it looked.
std::filesystem::path find_probe_binary();

// <cache_dir>/evidence/probe-<digest>/ holding /probe and a set-uid-root /probe-suid (a
// `dir` rootfs, so that the set-uid bit survives: image unpacking strips set-id bits).
// Made once per probe binary; reused after.
std::filesystem::path prepare_probe_root(const std::filesystem::path& cache_dir, const std::filesystem::path& probe);

// The probe run once in `stack` under seccomp `policy` (default | unconfined), as uid 0
// with no network and a 120 s timeout. A run that fails comes back with ran = false and
// the reason; an interruption (SIGINT/SIGTERM) throws.
ProbeColumn run_probe_column(Stack& stack, const std::string& policy, const std::filesystem::path& root,
                             const std::filesystem::path& cache_dir);

}  // namespace gatebox
