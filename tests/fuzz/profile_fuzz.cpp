// Fuzz target: the profile loader (TOML text -> overrides -> validation -> Profile).
//
// The input is a profile, optionally followed by a line "%%" and command-line overrides,
// one a line: "set:K=V", "mount:SRC:DST", "env:N=V", "timeout:D", "stack:K", "argv:A"
// (a line without a known prefix is a --set). The loader only has a file entry point, so
// each input is written to a file in a private directory on /dev/shm.
//
// Invariants: the loader fails only with gatebox::Error (65 for the profile, 64 for an
// override); and a profile it accepts prints (`validate --print`) as TOML that loads again
// into the same profile, i.e. prints identically.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "profile/loader.hpp"
#include "util/error.hpp"

namespace {

namespace fs = std::filesystem;
using gatebox::fuzz::check;

struct Workdir {
  fs::path dir;
  Workdir() {
    // tmpfs: a file per input costs no disk I/O.
    // $GATEBOX_FUZZ_TMP: where scripts/fuzz.sh wants it, so that it can remove what a crashed
    // run leaves.
    const char* base = std::getenv("GATEBOX_FUZZ_TMP");
    std::string tmpl = std::string(base != nullptr ? base : "/dev/shm") + "/gatebox-fuzz-profile-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      tmpl = fs::temp_directory_path() / "gatebox-fuzz-profile-XXXXXX";
      if (::mkdtemp(tmpl.data()) == nullptr) gatebox::fuzz::violated("mkdtemp failed");
    }
    dir = tmpl;
  }
  ~Workdir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& workdir() {
  static Workdir w;  // one per fuzzer process; the files in it are rewritten per input
  return w.dir;
}

void write_file(const fs::path& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) gatebox::fuzz::violated("cannot write " + path.string());
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) gatebox::fuzz::violated("cannot write " + path.string());
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
}

bool take_prefix(std::string_view& line, std::string_view prefix) {
  if (line.substr(0, prefix.size()) != prefix) return false;
  line.remove_prefix(prefix.size());
  return true;
}

gatebox::Overrides parse_overrides(std::string_view text) {
  gatebox::Overrides o;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (take_prefix(line, "mount:")) {
      o.mounts.emplace_back(line);
    } else if (take_prefix(line, "env:")) {
      o.env.emplace_back(line);
    } else if (take_prefix(line, "timeout:")) {
      o.timeout = line;
    } else if (take_prefix(line, "stack:")) {
      o.stack = line;
    } else if (take_prefix(line, "argv:")) {
      o.argv.emplace_back(line);
    } else {
      take_prefix(line, "set:");
      o.set.emplace_back(line);
    }
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view profile_text = input;
  gatebox::Overrides overrides;
  if (std::size_t sep = input.find("\n%%\n"); sep != std::string_view::npos) {
    profile_text = input.substr(0, sep + 1);
    overrides = parse_overrides(input.substr(sep + 4));
  }

  const fs::path file = workdir() / "profile.toml";
  write_file(file, profile_text);
  gatebox::Profile profile;
  try {
    profile = gatebox::load_profile(file, overrides);
  } catch (const gatebox::Error& e) {
    const auto code = e.code();
    check(code == gatebox::ExitCode::bad_input || code == gatebox::ExitCode::usage,
          "load_profile failed with exit code " + std::to_string(static_cast<int>(code)) + ": " + e.what());
    check(code == gatebox::ExitCode::bad_input || !overrides.set.empty() || !overrides.mounts.empty() ||
              !overrides.env.empty() || !overrides.timeout.empty() || !overrides.stack.empty() ||
              !overrides.argv.empty(),
          std::string("usage error (64) without any override: ") + e.what());
    return 0;
  } catch (...) {
    gatebox::fuzz::unexpected_exception("load_profile");
  }

  // DESIGN: `validate --print` output "loads again into the same Profile". Written next to
  // the first file, so relative host paths would resolve alike (printed ones are absolute).
  const std::string printed = gatebox::profile_to_toml(profile);
  const fs::path again = workdir() / "printed.toml";
  write_file(again, printed);
  try {
    const std::string reprinted = gatebox::profile_to_toml(gatebox::load_profile(again));
    check(reprinted == printed, "printed profile loads back differently:\n--- first\n" + printed +
                                    "--- after loading it again\n" + reprinted);
  } catch (const gatebox::Error& e) {
    gatebox::fuzz::violated(std::string("the printed profile does not load again: ") + e.what() + "\n" + printed);
  } catch (...) {
    gatebox::fuzz::unexpected_exception("load_profile of the printed profile");
  }
  return 0;
}
