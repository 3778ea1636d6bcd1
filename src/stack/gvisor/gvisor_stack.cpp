#include "stack/gvisor/gvisor_stack.hpp"

#include "util/error.hpp"

namespace gatebox {
namespace {
class GvisorStack final : public Stack {
 public:
  std::string_view name() const override { return "gvisor"; }
  Availability probe_host() const override { return {false, "not built yet", {}}; }
  RunOutcome run(const RunRequest&) override { throw Error(ExitCode::unavailable, "the gvisor stack is not built yet"); }
};
}  // namespace
std::unique_ptr<Stack> make_gvisor_stack() { return std::make_unique<GvisorStack>(); }
}  // namespace gatebox
