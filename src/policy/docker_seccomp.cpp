// Rendering a SeccompPolicy as Docker's seccomp JSON.
#include "policy/docker_seccomp.hpp"

#include <errno.h>

namespace gatebox {
namespace {

std::string_view op_name(ArgCond::Op op) {
  switch (op) {
    case ArgCond::Op::eq: return "SCMP_CMP_EQ";
    case ArgCond::Op::ne: return "SCMP_CMP_NE";
    case ArgCond::Op::masked_eq: return "SCMP_CMP_MASKED_EQ";
    case ArgCond::Op::lt: return "SCMP_CMP_LT";
    case ArgCond::Op::le: return "SCMP_CMP_LE";
    case ArgCond::Op::gt: return "SCMP_CMP_GT";
    case ArgCond::Op::ge: return "SCMP_CMP_GE";
  }
  return "SCMP_CMP_EQ";
}

std::string_view action_name(SeccompAction action) {
  switch (action) {
    case SeccompAction::errno_eperm: return "SCMP_ACT_ERRNO";
    case SeccompAction::kill: return "SCMP_ACT_KILL_PROCESS";
    case SeccompAction::log: return "SCMP_ACT_LOG";
  }
  return "SCMP_ACT_ERRNO";
}

nlohmann::json rule_entry(const SyscallRule& rule) {
  nlohmann::json entry = {{"names", nlohmann::json::array({rule.name})}};
  if (rule.errno_ret != 0) {
    entry["action"] = "SCMP_ACT_ERRNO";
    entry["errnoRet"] = rule.errno_ret;
  } else {
    entry["action"] = "SCMP_ACT_ALLOW";
  }
  nlohmann::json args = nlohmann::json::array();
  for (const auto& arg : rule.args) {
    args.push_back({{"index", arg.index}, {"value", arg.value}, {"valueTwo", arg.value_two}, {"op", op_name(arg.op)}});
  }
  entry["args"] = std::move(args);
  return entry;
}

}  // namespace

nlohmann::json render_docker_seccomp(const SeccompPolicy& policy) {
  if (policy.unconfined) {
    return {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", nlohmann::json::array()}};
  }
  nlohmann::json profile = {{"defaultAction", action_name(policy.action)},
                            {"architectures", nlohmann::json::array({"SCMP_ARCH_X86_64"})}};
  if (policy.action == SeccompAction::errno_eperm) profile["defaultErrnoRet"] = EPERM;

  // Unconditional allows share one entry, as in Docker's own file; every conditional or
  // errno rule is an entry of its own, since Docker ORs entries and ANDs the args of one.
  nlohmann::json plain_names = nlohmann::json::array();
  nlohmann::json syscalls = nlohmann::json::array();
  for (const auto& rule : policy.rules) {
    if (rule.args.empty() && rule.errno_ret == 0) {
      plain_names.push_back(rule.name);
    } else {
      syscalls.push_back(rule_entry(rule));
    }
  }
  if (!plain_names.empty()) {
    syscalls.insert(syscalls.begin(), nlohmann::json{{"names", std::move(plain_names)}, {"action", "SCMP_ACT_ALLOW"}});
  }
  profile["syscalls"] = std::move(syscalls);
  return profile;
}

}  // namespace gatebox
