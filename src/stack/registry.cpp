
#include "stack/docker/docker_stack.hpp"
#include "stack/firecracker/firecracker_stack.hpp"
#include "stack/gvisor/gvisor_stack.hpp"
#include "stack/native/native_stack.hpp"
#include "stack/qemu/qemu_stack.hpp"
#include "stack/stack.hpp"
#include "util/error.hpp"

namespace gatebox {
namespace {

// A stack whose issue has not landed yet: listed, never available.
class NotBuiltStack final : public Stack {
 public:
  explicit NotBuiltStack(std::string_view name) : name_(name) {}
  std::string_view name() const override { return name_; }
  Availability probe_host() const override { return {false, "not built yet", {}}; }
  RunOutcome run(const RunRequest&) override {
    throw make_error(ExitCode::unavailable, "the {} stack is not built yet", name_);
  }

 private:
  std::string_view name_;
};

}  // namespace

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
  for (std::string_view n : stack_names()) {
    if (n == name) return std::make_unique<NotBuiltStack>(n);
  }
  return nullptr;
}

}  // namespace gatebox
