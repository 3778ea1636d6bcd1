#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>

#include "rootfs_test_util.hpp"
#include "util/fd.hpp"
#include "util/sha256.hpp"

using namespace gatebox;
namespace fs = std::filesystem;

TEST_SUITE("util::sha256") {
  TEST_CASE("known digests of buffers") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  TEST_CASE("a file larger than the read buffer digests like the buffer") {
    test::Scratch s;
    std::string data(3 * (1 << 20) + 17, 'q');
    for (std::size_t i = 0; i < data.size(); i += 4097) data[i] = static_cast<char>(i);
    fs::path p = s.file("blob");
    std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
    CHECK(sha256_file(p) == sha256_hex(data));
    // sha256_fd reads from offset 0 and leaves the offset alone.
    Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(::lseek(fd.get(), 100, SEEK_SET) == 100);
    CHECK(sha256_fd(fd.get(), p.string()) == sha256_hex(data));
    CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 100);
  }

  TEST_CASE("an unreadable file is an error naming it, with the caller's exit code") {
    Error e = test::expect_error([] { sha256_file("/nonexistent/image.tar", ExitCode::bad_input); });
    CHECK(e.code() == ExitCode::bad_input);
    CHECK(std::string(e.what()).find("/nonexistent/image.tar") != std::string::npos);
  }
}
