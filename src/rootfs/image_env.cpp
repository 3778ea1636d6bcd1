#include "rootfs/image_env.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <string_view>

#include "util/fd.hpp"

namespace gatebox {
namespace {

constexpr std::size_t kPasswdMax = 1 << 20;

// `relative` opened beneath `tree` as if `tree` were "/": absolute symlinks and ".." stay
// inside it (RESOLVE_IN_ROOT), magic links are refused. Read-only, never blocking.
Fd open_in_tree(const std::filesystem::path& tree, const char* relative) {
  Fd root(::open(tree.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return Fd();
  open_how how{};
  how.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return Fd(static_cast<int>(::syscall(SYS_openat2, root.get(), relative, &how, sizeof how)));
}

std::optional<std::string> read_small_regular(const Fd& fd) {
  struct stat st{};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::size_t>(st.st_size) > kPasswdMax) {
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace

std::optional<std::string> image_home(const std::filesystem::path& tree, std::uint32_t uid) {
  const std::optional<std::string> text = read_small_regular(open_in_tree(tree, "etc/passwd"));
  if (!text) return std::nullopt;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const std::size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    // name:password:uid:gid:gecos:home:shell
    std::string_view fields[7];
    std::size_t n = 0, start = 0;
    for (std::size_t i = 0; i <= line.size() && n < 7; ++i) {
      if (i == line.size() || line[i] == ':') {
        fields[n++] = line.substr(start, i - start);
        start = i + 1;
      }
    }
    if (n < 6) continue;
    std::uint32_t entry_uid = 0;
    const auto [end, ec] = std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), entry_uid);
    if (ec != std::errc() || end != fields[2].data() + fields[2].size() || entry_uid != uid) continue;
    const std::string_view home = fields[5];
    if (home.empty() || home.front() != '/') return std::nullopt;
    return std::string(home);
  }
  return std::nullopt;
}

void apply_image_environment(Profile& profile, const std::filesystem::path& tree) {
  if (profile.run.env.count("HOME") == 0) profile.run.env["HOME"] = image_home(tree, profile.run.uid).value_or("/");
  // Docker and Kubernetes set it from the container's hostname; the other stacks did not.
  if (profile.run.env.count("HOSTNAME") == 0) profile.run.env["HOSTNAME"] = profile.run.hostname;
}

}  // namespace gatebox
