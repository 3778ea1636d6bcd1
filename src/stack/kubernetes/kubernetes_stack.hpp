#pragma once
#include <memory>
#include <string>

#include "stack/stack.hpp"

namespace gatebox {

std::unique_ptr<Stack> make_kubernetes_stack();

// `gatebox export kubernetes`: the Job manifest `gatebox run` would submit for this
// request (JSON, which kubectl and the API accept as it is). With `push`, the rootfs image
// is built and pushed first (nothing is sent when the registry has it), so the manifest's
// image reference resolves; without, the digest is computed locally and nothing is sent.
std::string export_kubernetes_job(const RunRequest& request, bool push);

}  // namespace gatebox
