#include "stack/vm/tool_version.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <fmt/format.h>

#include "rootfs/rootfs.hpp"
#include "stack/gvisor/runsc_process.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace gatebox::vm {

namespace fs = std::filesystem;

std::string cached_tool_version(const std::string& binary, const std::vector<std::string>& args,
                                const std::function<std::string(std::string_view)>& parse, bool may_run) {
  struct stat st{};
  if (::stat(binary.c_str(), &st) != 0) return "";
  std::string key = fmt::format("{}:{}:{}:{}.{}", binary, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  for (const std::string& a : args) key += " " + a;
  const fs::path cached = default_cache_dir() / "vm" / "versions" / sha256_hex(key);
  if (std::optional<std::string> text = read_file(cached); text && !text->empty()) return *text;
  if (!may_run) return "";
  const std::string version = parse(run_runsc_command(RunscCommand{binary, {}}, args, std::chrono::seconds(5)).output);
  if (version.empty()) return version;
  try {
    make_dirs(cached.parent_path());
    const std::string tmp = fmt::format("{}.{}.tmp", cached.string(), ::getpid());
    std::ofstream(tmp) << version;
    fs::rename(tmp, cached);
  } catch (const std::exception&) {
    // Best effort: the next probe asks again.
  }
  return version;
}

std::string tool_version_detail(const std::string& binary, const std::string& version, bool may_run) {
  if (!version.empty()) return fmt::format("{} {}", binary, version);
  if (!may_run) return fmt::format("{} (version not asked: --dry-run runs nothing; a run asks `{} --version`)", binary, binary);
  return fmt::format("{} (version unknown)", binary);
}

}  // namespace gatebox::vm
