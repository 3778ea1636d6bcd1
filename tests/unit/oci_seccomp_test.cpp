// OCI linux.seccomp rendering: what runsc --oci-seccomp (and runc, crun) will enforce must be
// exactly the policy: the same allowed calls, the same argument conditions, the same errno
// answers, and the profile's action for everything else.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "policy/oci_seccomp.hpp"
#include "policy/seccomp.hpp"

using namespace gatebox;
using nlohmann::json;

namespace {

std::string op_text(ArgCond::Op op) {
  switch (op) {
    case ArgCond::Op::eq: return "SCMP_CMP_EQ";
    case ArgCond::Op::ne: return "SCMP_CMP_NE";
    case ArgCond::Op::masked_eq: return "SCMP_CMP_MASKED_EQ";
    case ArgCond::Op::lt: return "SCMP_CMP_LT";
    case ArgCond::Op::le: return "SCMP_CMP_LE";
    case ArgCond::Op::gt: return "SCMP_CMP_GT";
    case ArgCond::Op::ge: return "SCMP_CMP_GE";
  }
  return "?";
}

// "name", "name[0 SCMP_CMP_EQ 8 0]", "name=>errno 38": one allowed shape of a call.
std::multiset<std::string> policy_shapes(const SeccompPolicy& policy) {
  std::multiset<std::string> out;
  for (const SyscallRule& rule : policy.rules) {
    std::string s = rule.name;
    for (const ArgCond& a : rule.args) {
      s += "[" + std::to_string(a.index) + " " + op_text(a.op) + " " + std::to_string(a.value) + " " +
           std::to_string(a.value_two) + "]";
    }
    if (rule.errno_ret != 0) s += "=>errno " + std::to_string(rule.errno_ret);
    out.insert(s);
  }
  return out;
}

std::multiset<std::string> oci_shapes(const json& seccomp) {
  std::multiset<std::string> out;
  for (const json& entry : seccomp.at("syscalls")) {
    REQUIRE(entry.at("args").is_array());
    std::string conds;
    for (const json& a : entry.at("args")) {
      conds += "[" + std::to_string(a.at("index").get<unsigned>()) + " " + a.at("op").get<std::string>() + " " +
               std::to_string(a.at("value").get<std::uint64_t>()) + " " +
               std::to_string(a.at("valueTwo").get<std::uint64_t>()) + "]";
    }
    std::string suffix;
    const std::string action = entry.at("action").get<std::string>();
    if (action == "SCMP_ACT_ERRNO") {
      suffix = "=>errno " + std::to_string(entry.at("errnoRet").get<int>());
    } else {
      CHECK(action == "SCMP_ACT_ALLOW");
    }
    for (const json& name : entry.at("names")) out.insert(name.get<std::string>() + conds + suffix);
  }
  return out;
}

}  // namespace

TEST_SUITE("policy::oci_seccomp") {
  TEST_CASE("the default policy renders to exactly its allowed calls and conditions") {
    SeccompPolicy policy = resolve_seccomp(Profile::Seccomp{});
    auto rendered = render_oci_seccomp(policy);
    REQUIRE(rendered.has_value());
    CHECK(rendered->at("defaultAction") == "SCMP_ACT_ERRNO");
    CHECK(rendered->at("architectures") == json::array({"SCMP_ARCH_X86_64"}));
    CHECK(oci_shapes(*rendered) == policy_shapes(policy));
    // Argument-filtered calls survive: personality is only allowed for a few personas.
    bool personality_conditional = false;
    for (const json& entry : rendered->at("syscalls")) {
      if (entry.at("names").size() == 1 && entry.at("names")[0] == "personality") {
        personality_conditional = !entry.at("args").empty();
      }
    }
    CHECK(personality_conditional);
  }

  TEST_CASE("allow and deny move calls; kill and log become the default action") {
    Profile::Seccomp s;
    s.allow = {"add_key", "keyctl"};
    s.deny = {"getcwd"};
    s.action = SeccompAction::kill;
    SeccompPolicy policy = resolve_seccomp(s);
    auto rendered = render_oci_seccomp(policy);
    REQUIRE(rendered.has_value());
    CHECK(rendered->at("defaultAction") == "SCMP_ACT_KILL_PROCESS");
    auto shapes = oci_shapes(*rendered);
    CHECK(shapes == policy_shapes(policy));
    CHECK(shapes.count("keyctl") == 1);
    CHECK(shapes.count("getcwd") == 0);

    s.action = SeccompAction::log;
    CHECK(render_oci_seccomp(resolve_seccomp(s))->at("defaultAction") == "SCMP_ACT_LOG");
  }

  TEST_CASE("strict renders the small list") {
    Profile::Seccomp s;
    s.profile = "strict";
    SeccompPolicy policy = resolve_seccomp(s);
    auto rendered = render_oci_seccomp(policy);
    REQUIRE(rendered.has_value());
    CHECK(oci_shapes(*rendered) == policy_shapes(policy));
    CHECK(oci_shapes(*rendered).count("mount") == 0);
  }

  TEST_CASE("unconfined has no linux.seccomp at all") {
    Profile::Seccomp s;
    s.profile = "unconfined";
    CHECK_FALSE(render_oci_seccomp(resolve_seccomp(s)).has_value());
  }
}
