#include "profile/loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include <toml++/toml.h>

#include "profile/origins.hpp"
#include "profile/overrides.hpp"
#include "profile/table_reader.hpp"
#include "profile/toml_parse.hpp"
#include "profile/validate.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/fd.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

// A profile is a small text file; the cap keeps `gatebox validate /dev/zero` from
// reading forever.
constexpr std::size_t max_profile_bytes = 4 << 20;

std::string read_profile(const fs::path& file) {
  const std::string name = file.string();
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 && errno == ENOENT) {
    throw make_error(ExitCode::bad_input, "{}: no such profile file", name);
  }
  if (S_ISDIR(st.st_mode)) throw make_error(ExitCode::bad_input, "{}: is a directory; give the profile file (.toml) inside it", name);
  // `gatebox run some-fifo` must not wait forever for a writer (with SIGINT blocked).
  Fd fd = open_regular_file(file, "profile", ExitCode::bad_input);

  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("read", name, errno, ExitCode::bad_input);
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_profile_bytes) {
      throw make_error(ExitCode::bad_input, "{}: larger than {}; a profile is a small TOML file", name, format_size(max_profile_bytes));
    }
  }
  return text;
}

}  // namespace

Profile load_profile(const fs::path& file, const Overrides& overrides) {
  const std::string name = file.string();
  const std::string text = read_profile(file);
  toml::table root;
  try {
    root = parse_toml(text, name);
  } catch (const toml::parse_error& e) {
    const toml::source_position& at = e.source().begin;
    throw make_error(ExitCode::bad_input, "{}:{}:{}: {}", name, at.line, at.column, e.description());
  }

  ValueOrigins origins(name);
  apply_overrides(root, overrides, origins);
  Profile profile = build_profile(root, origins, absolute_host_path(file, fs::current_path()).parent_path());
  profile.file = file;
  return profile;
}

}  // namespace gatebox
