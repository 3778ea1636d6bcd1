
#include "stack/docker/docker_stack.hpp"
#include "stack/firecracker/firecracker_stack.hpp"
#include "stack/gvisor/gvisor_stack.hpp"
#include "stack/kubernetes/kubernetes_stack.hpp"
#include "stack/native/native_stack.hpp"
#include "stack/qemu/qemu_stack.hpp"
#include "stack/stack.hpp"
#include "util/error.hpp"

namespace gatebox {
const std::vector<std::string_view>& stack_names() {
  static const std::vector<std::string_view> names = {"native", "docker", "gvisor", "qemu", "firecracker", "kubernetes"};
  return names;
}

std::unique_ptr<Stack> make_stack(std::string_view name) {
  if (name == "native") return make_native_stack();
  if (name == "docker") return make_docker_stack();
  if (name == "gvisor") return make_gvisor_stack();
  if (name == "qemu") return make_qemu_stack();
  if (name == "firecracker") return make_firecracker_stack();
  if (name == "kubernetes") return make_kubernetes_stack();
  return nullptr;
}

}  // namespace gatebox
