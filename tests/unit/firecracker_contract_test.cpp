// Every JSON document gatebox gives firecracker, checked against firecracker's own API
// description (tests/fixtures/reference/firecracker-api.yaml, vendored): required
// properties present, no property the API does not define, types, enums and bounds right.
// The reference is part of the contract; a missing file fails the test rather than skipping.
#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <string>
#include <vector>

#include "stack/firecracker/firecracker_config.hpp"
#include "stack/vm/vm_host.hpp"

using namespace gatebox;

namespace {

const std::filesystem::path kReference = std::filesystem::path(GATEBOX_REFERENCE_DIR) / "firecracker-api.yaml";

class SchemaChecker {
 public:
  explicit SchemaChecker(YAML::Node definitions) : defs_(std::move(definitions)) {}

  // Problems found in `value` against `schema`, each naming the JSON path.
  std::vector<std::string> check(const nlohmann::json& value, const YAML::Node& schema, const std::string& path) const {
    std::vector<std::string> problems;
    walk(value, schema, path, problems);
    return problems;
  }
  YAML::Node definition(const std::string& name) const { return defs_[name]; }

 private:
  YAML::Node resolve(YAML::Node schema) const {
    while (schema["$ref"]) {
      const std::string ref = schema["$ref"].as<std::string>();
      const std::string prefix = "#/definitions/";
      REQUIRE_MESSAGE(ref.rfind(prefix, 0) == 0, "unexpected $ref " << ref);
      schema = defs_[ref.substr(prefix.size())];
      REQUIRE_MESSAGE(schema.IsDefined(), "dangling $ref " << ref);
    }
    return schema;
  }

  void walk(const nlohmann::json& v, YAML::Node schema, const std::string& path, std::vector<std::string>& out) const {
    schema = resolve(schema);
    const std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
    auto bad = [&](const std::string& what) { out.push_back(path + ": " + what); };
    if (type == "object" || (type.empty() && schema["properties"])) {
      if (!v.is_object()) return bad("expected an object, got " + v.dump());
      if (schema["required"]) {
        for (const auto& r : schema["required"]) {
          if (!v.contains(r.as<std::string>())) bad("missing required property " + r.as<std::string>());
        }
      }
      const YAML::Node props = schema["properties"];
      for (const auto& [key, sub] : v.items()) {
        if (!props || !props[key]) {
          bad("unknown property " + key);
          continue;
        }
        walk(sub, props[key], path + "." + key, out);
      }
    } else if (type == "array") {
      if (!v.is_array()) return bad("expected an array");
      for (std::size_t i = 0; i < v.size(); ++i) walk(v[i], schema["items"], path + "[" + std::to_string(i) + "]", out);
    } else if (type == "string") {
      if (!v.is_string()) return bad("expected a string, got " + v.dump());
      if (schema["enum"]) {
        bool found = false;
        for (const auto& e : schema["enum"]) found = found || e.as<std::string>() == v.get<std::string>();
        if (!found) bad("'" + v.get<std::string>() + "' is not one of the enum's values");
      }
    } else if (type == "integer") {
      if (!v.is_number_integer()) return bad("expected an integer, got " + v.dump());
      if (schema["minimum"] && v.get<long long>() < schema["minimum"].as<long long>()) bad("below the minimum");
      if (schema["maximum"] && v.get<long long>() > schema["maximum"].as<long long>()) bad("above the maximum");
    } else if (type == "boolean") {
      if (!v.is_boolean()) bad("expected a boolean, got " + v.dump());
    } else if (type == "number") {
      if (!v.is_number()) bad("expected a number, got " + v.dump());
    }
  }

  YAML::Node defs_;
};

vm::VmSpec spec_for(std::uint64_t memory, double cpus, std::uint64_t initramfs_bytes, std::optional<std::uint64_t> tsc) {
  vm::VmSpec s;
  s.run_dir = "/var/cache/gatebox/vm/runs/123-abc";
  s.kernel = "/var/cache/gatebox/vm/vmlinux-0123";
  s.initramfs = s.run_dir / "initramfs.cpio";
  s.cmdline = vm::kernel_cmdline(tsc, "k", "pci=off");
  s.memory_mib = vm::guest_memory_mib(memory, initramfs_bytes, 4 * initramfs_bytes);
  s.vcpus = vm::guest_vcpus(cpus, 64);
  s.kvm = true;
  return s;
}

}  // namespace

TEST_SUITE("firecracker") {
  TEST_CASE("every config gatebox writes validates against firecracker's API description") {
    REQUIRE_MESSAGE(std::filesystem::exists(kReference),
                    kReference.string() << " is missing: the contract test needs the shared reference next to the repository");
    const YAML::Node api = YAML::LoadFile(kReference.string());
    REQUIRE(api["definitions"]["FullVmConfiguration"].IsDefined());
    SchemaChecker checker(api["definitions"]);
    struct Case {
      const char* what;
      std::uint64_t memory;
      double cpus;
      std::uint64_t initramfs;
      std::optional<std::uint64_t> tsc;
    };
    for (const Case& c : {Case{"defaults", 1ULL << 30, 1.0, 3 << 20, 2095987},
                          Case{"small", 64ULL << 20, 0.5, 1 << 20, std::nullopt},
                          Case{"three cpus (odd)", 2ULL << 30, 3.0, 200 << 20, 3000000},
                          Case{"many cpus", 8ULL << 30, 100.0, 1, std::nullopt}}) {
      CAPTURE(c.what);
      const vm::VmSpec spec = spec_for(c.memory, c.cpus, c.initramfs, c.tsc);
      const nlohmann::json doc = firecracker_config(spec, spec.run_dir / "firecracker.log");
      const auto problems = checker.check(doc, checker.definition("FullVmConfiguration"), "config");
      for (const std::string& p : problems) FAIL_CHECK(p);
      CHECK(problems.empty());
      // The parts the API describes on their own (PUT /boot-source, /machine-config, /logger).
      CHECK(checker.check(doc["boot-source"], checker.definition("BootSource"), "boot-source").empty());
      CHECK(checker.check(doc["machine-config"], checker.definition("MachineConfiguration"), "machine-config").empty());
      CHECK(checker.check(doc["logger"], checker.definition("Logger"), "logger").empty());
      // "either 1 or an even number", as the description of vcpu_count says.
      const int vcpus = doc["machine-config"]["vcpu_count"].get<int>();
      CHECK((vcpus == 1 || vcpus % 2 == 0));
    }
  }

  TEST_CASE("the checker itself notices what firecracker would refuse") {
    REQUIRE(std::filesystem::exists(kReference));
    SchemaChecker checker(YAML::LoadFile(kReference.string())["definitions"]);
    const YAML::Node full = checker.definition("FullVmConfiguration");
    CHECK_FALSE(checker.check({{"machine-config", {{"vcpu_count", 1}}}}, full, "c").empty());              // mem_size_mib missing
    CHECK_FALSE(checker.check({{"machine-config", {{"vcpu_count", 0}, {"mem_size_mib", 128}}}}, full, "c").empty());  // minimum
    CHECK_FALSE(checker.check({{"boot-source", {{"kernel_image_path", 1}}}}, full, "c").empty());           // type
    CHECK_FALSE(checker.check({{"serial", {{"serial_out_path", "/x"}}}}, full, "c").empty());               // unknown
    CHECK_FALSE(checker.check({{"logger", {{"level", "Loud"}}}}, full, "c").empty());                       // enum
  }
}
