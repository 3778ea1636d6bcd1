#include "stack/docker/docker_stack.hpp"

#include "util/error.hpp"

namespace gatebox {
namespace {
class DockerStack final : public Stack {
 public:
  std::string_view name() const override { return "docker"; }
  Availability probe_host() const override { return {false, "not built yet", {}}; }
  RunOutcome run(const RunRequest&) override { throw Error(ExitCode::unavailable, "the docker stack is not built yet"); }
};
}  // namespace
std::unique_ptr<Stack> make_docker_stack() { return std::make_unique<DockerStack>(); }
}  // namespace gatebox
