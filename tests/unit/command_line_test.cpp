#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "util/command_line.hpp"
#include "util/fs.hpp"

using namespace gatebox;
using namespace std::string_literals;

TEST_SUITE("util::command_line") {
  TEST_CASE("arg_start and arg_end are fields 48 and 49, counted after the name's last ')'") {
    std::string fields;
    for (int f = 3; f <= 52; ++f) fields += " " + std::to_string(f == 48 ? 140737488346000 : f == 49 ? 140737488346100 : f);
    MemoryRange r = command_line_area_from_stat("1234 (a) (b c) 0 )" + fields + "\n");
    CHECK(r.start == 140737488346000U);
    CHECK(r.end == 140737488346100U);
    CHECK(command_line_area_from_stat("1234 (x) 1 2 3\n").empty());
    CHECK(command_line_area_from_stat("no name at all").empty());
    std::string upto47;
    for (int f = 3; f <= 47; ++f) upto47 += " " + std::to_string(f);
    CHECK(command_line_area_from_stat("1 (x)" + upto47 + " zz 49 50\n").empty());
    CHECK_FALSE(command_line_area_from_stat("1 (x)" + upto47 + " 7 49 50\n").empty());
  }

  TEST_CASE("this process's area holds exactly what /proc/self/cmdline shows") {
    MemoryRange r = own_command_line_area();
    REQUIRE_FALSE(r.empty());
    auto cmdline = read_file("/proc/self/cmdline");
    REQUIRE(cmdline);
    CHECK(std::string(reinterpret_cast<const char*>(r.start), r.end - r.start) == *cmdline);
  }

  TEST_CASE("after the overwrite, /proc/PID/cmdline shows the new name and nothing of the old") {
    const std::string before = read_file("/proc/self/cmdline").value_or("");
    REQUIRE(before.size() > 8);
    // In a fork: the test binary's own argv must stay intact.
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(pipefd[0]);
      overwrite_command_line(own_command_line_area(), "gatebox-sandbox-init");
      std::string after = read_file("/proc/self/cmdline").value_or("unreadable");
      ::_exit(::write(pipefd[1], after.data(), after.size()) == static_cast<ssize_t>(after.size()) ? 0 : 1);
    }
    ::close(pipefd[1]);
    std::string after;
    char buf[4096];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) after.append(buf, static_cast<std::size_t>(n));
    ::close(pipefd[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(after.size() == before.size());
    CHECK(after.starts_with("gatebox-sandbox-init\0"s));
    CHECK(after.find_first_not_of('\0', sizeof "gatebox-sandbox-init") == std::string::npos);
    CHECK(read_file("/proc/self/cmdline").value_or("") == before);
  }

  TEST_CASE("a name longer than the area is cut, and the area's last byte stays NUL") {
    char area[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
    overwrite_command_line({reinterpret_cast<std::uintptr_t>(area), reinterpret_cast<std::uintptr_t>(area + 8)},
                           "gatebox-sandbox-init");
    CHECK(std::string(area, 8) == "gatebox\0"s);
    overwrite_command_line({}, "x");  // empty: nothing touched
  }
}
