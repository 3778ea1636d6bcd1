#include <doctest/doctest.h>

#include "archive_builder.hpp"
#include "rootfs_test_util.hpp"
#include "stack/docker/verdict_tar.hpp"

using namespace gatebox;
using gatebox::test::ArchiveBuilder;
using gatebox::test::Scratch;
using gatebox::test::slurp;

namespace {

template <typename Build>
std::string make_tar(Build&& build) {
  Scratch s;
  {
    ArchiveBuilder b(s.file("v.tar"));
    build(b);
  }
  return slurp(s.file("v.tar"));
}

}  // namespace

TEST_SUITE("docker::verdict") {
  TEST_CASE("a single regular file is read") {
    const std::string json = R"({"verdict":"pass","reason":"ok"})";
    VerdictTar v = read_verdict_tar(make_tar([&](ArchiveBuilder& b) { b.file("verdict.json", json); }));
    CHECK(v.ok);
    CHECK(v.contents == json);
  }

  TEST_CASE("a file of exactly 64 KiB is accepted, one byte more is not") {
    VerdictTar fits = read_verdict_tar(make_tar([](ArchiveBuilder& b) { b.file("v", std::string(65536, 'x')); }));
    CHECK(fits.ok);
    CHECK(fits.contents.size() == 65536);
    VerdictTar big = read_verdict_tar(make_tar([](ArchiveBuilder& b) { b.file("v", std::string(65537, 'x')); }));
    CHECK_FALSE(big.ok);
    CHECK(big.problem.find("larger") != std::string::npos);
  }

  TEST_CASE("a symlink the gate planted is refused, not followed") {
    VerdictTar v = read_verdict_tar(make_tar([](ArchiveBuilder& b) { b.symlink("verdict.json", "/etc/shadow"); }));
    CHECK_FALSE(v.ok);
    CHECK(v.contents.empty());
    CHECK(v.problem == "not a regular file");
  }

  TEST_CASE("a directory, a hard link and two entries are refused") {
    CHECK_FALSE(read_verdict_tar(make_tar([](ArchiveBuilder& b) { b.dir("verdict.json"); })).ok);
    CHECK_FALSE(read_verdict_tar(make_tar([](ArchiveBuilder& b) { b.hardlink("verdict.json", "etc/passwd"); })).ok);
    VerdictTar two = read_verdict_tar(make_tar([](ArchiveBuilder& b) {
      b.file("verdict.json", "{}");
      b.file("other", "{}");
    }));
    CHECK_FALSE(two.ok);
    CHECK(two.problem.find("more than one") != std::string::npos);
  }

  TEST_CASE("garbage and empty archives are refused") {
    CHECK_FALSE(read_verdict_tar("this is not a tar archive at all").ok);
    CHECK_FALSE(read_verdict_tar(std::string(1024, '\0')).ok);
    CHECK_FALSE(read_verdict_tar("").ok);
  }
}
