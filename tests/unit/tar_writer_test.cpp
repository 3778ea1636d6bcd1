#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "util/tar_writer.hpp"

using namespace gatebox;

namespace {

struct ReadEntry {
  std::string path, link, data;
  unsigned type = 0;
  unsigned perm = 0;
  long long uid = 0, gid = 0;
};

std::vector<ReadEntry> read_back(const std::string& tar) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  archive_read_support_format_tar(a.get());
  REQUIRE(archive_read_open_memory(a.get(), tar.data(), tar.size()) == ARCHIVE_OK);
  std::vector<ReadEntry> out;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    ReadEntry r;
    r.path = archive_entry_pathname(e);
    if (archive_entry_symlink(e)) r.link = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) r.link = archive_entry_hardlink(e);
    r.type = archive_entry_filetype(e);
    r.perm = archive_entry_perm(e);
    r.uid = archive_entry_uid(e);
    r.gid = archive_entry_gid(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) r.data.append(buf, static_cast<std::size_t>(n));
    out.push_back(r);
  }
  CHECK(rc == ARCHIVE_EOF);
  return out;
}

}  // namespace

TEST_SUITE("util::tar_writer") {
  TEST_CASE("files, directories, links and long names read back as written") {
    std::string tar;
    TarWriter w([&](std::string_view b) {
      tar.append(b);
      return true;
    });
    const std::string long_dir(150, 'd');
    const std::string long_target = "/" + std::string(200, 't');
    TarWriter::Entry dir{"gatebox/", TarWriter::Type::dir, 01777};
    REQUIRE(w.begin(dir));
    TarWriter::Entry file{"bin/tool", TarWriter::Type::file, 04755, 1000, 3000000};
    file.size = 5;
    REQUIRE(w.begin(file));
    REQUIRE(w.data("hello"));
    TarWriter::Entry deep{long_dir + "/file.txt", TarWriter::Type::file, 0600};
    deep.size = 700;
    REQUIRE(w.begin(deep));
    REQUIRE(w.data(std::string(700, 'x')));
    REQUIRE(w.begin(TarWriter::Entry{"lnk", TarWriter::Type::symlink, 0777, 0, 0, 0, 0, long_target}));
    REQUIRE(w.begin(TarWriter::Entry{"bin/tool2", TarWriter::Type::hardlink, 04755, 0, 0, 0, 0, "bin/tool"}));
    REQUIRE(w.finish());
    CHECK(tar.size() % 512 == 0);

    std::vector<ReadEntry> got = read_back(tar);
    REQUIRE(got.size() == 5);
    CHECK(got[0].path == "gatebox/");
    CHECK(got[0].type == AE_IFDIR);
    CHECK(got[0].perm == 01777);
    CHECK(got[1].path == "bin/tool");
    CHECK(got[1].data == "hello");
    CHECK(got[1].perm == 04755);
    CHECK(got[1].uid == 1000);
    CHECK(got[1].gid == 3000000);  // beyond ustar's 7 octal digits: carried in a pax record
    CHECK(got[2].path == long_dir + "/file.txt");
    CHECK(got[2].data == std::string(700, 'x'));
    CHECK(got[3].type == AE_IFLNK);
    CHECK(got[3].link == long_target);
    CHECK(got[4].link == "bin/tool");
  }

  TEST_CASE("a sink that stops makes every later call fail, and short data is refused") {
    int calls = 0;
    TarWriter w([&](std::string_view) { return ++calls < 2; });
    TarWriter::Entry f{"a", TarWriter::Type::file, 0644};
    f.size = 3;
    CHECK(w.begin(f));
    CHECK_FALSE(w.data("abc"));
    CHECK_FALSE(w.finish());

    TarWriter w2([](std::string_view) { return true; });
    CHECK(w2.begin(f));
    CHECK(w2.data("ab"));
    CHECK_FALSE(w2.finish());  // one byte owed
  }
}
