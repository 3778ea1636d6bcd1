#include <doctest/doctest.h>

#include <filesystem>

#include "util/fs.hpp"
#include "util/kvm.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

TEST_SUITE("util::kvm") {
  TEST_CASE("a /dev/kvm from PVM is told apart by its module") {
    TempDir sys(fs::temp_directory_path(), "gatebox-sysmodule-");
    fs::create_directories(sys.path() / "kvm");
    fs::create_directories(sys.path() / "kvm_intel");
    CHECK_FALSE(kvm_is_pvm(sys.path()));
    fs::create_directories(sys.path() / "kvm_pvm" / "parameters");
    CHECK(kvm_is_pvm(sys.path()));
  }

  TEST_CASE("this host's answer names /dev/kvm either way") {
    const KvmStatus s = kvm_status();
    CHECK(s.detail.find("/dev/kvm") != std::string::npos);
    if (kvm_is_pvm()) CHECK_FALSE(s.usable);
    MESSAGE("kvm here: ", s.detail);
  }
}
