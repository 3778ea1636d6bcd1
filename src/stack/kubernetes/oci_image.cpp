#include "stack/kubernetes/oci_image.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "rootfs/tree_identity.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/interrupt.hpp"
#include "util/sha256.hpp"
#include "util/tar_writer.hpp"

namespace gatebox::kube {
namespace {

namespace fs = std::filesystem;

// Bumped when the layer's bytes would change for the same tree (a different tar layout),
// so that old cache entries are not reused under the new format.
constexpr const char* kLayerFormat = "v1";
constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Visits every entry below the directory `dirfd` in sorted order, parents before children,
// never following a symlink. `fn(rel, st, parent_fd, name)` returns false to leave an
// entry (and what is below it) out.
using Visit = std::function<bool(const std::string& rel, const struct stat& st, int parent_fd, const std::string& name)>;

void walk(int dirfd, const std::string& rel, const std::string& shown, const Visit& fn) {
  for (const std::string& name : sorted_dir_names(dirfd, shown)) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error("fstatat", shown + "/" + name);
    const std::string child = rel.empty() ? name : rel + "/" + name;
    if (!fn(child, st, dirfd, name)) continue;
    if (S_ISDIR(st.st_mode)) {
      Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) throw sys_error("open", shown + "/" + name);
      walk(sub.get(), child, shown + "/" + name, fn);
    }
  }
}

Fd open_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw sys_error("open", dir.string());
  return fd;
}

// Writes one layer's tar into a file while hashing nothing (the digest is taken after, from
// the file): entries come from trees and single files, with hard links kept within it.
class LayerWriter {
 public:
  LayerWriter(const fs::path& file, std::uint64_t total, const ProgressFn& progress)
      : file_(file), total_(total), progress_(progress), tar_([this](std::string_view b) { return emit(b); }) {
    out_.reset(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out_) throw sys_error("open", file.string());
  }

  // Every entry below `src` as `prefix/...` ("" for the top); `keep(rel)` may leave some out.
  void add_tree(const fs::path& src, const std::string& prefix, const std::function<bool(const std::string&)>& keep) {
    add_tree(open_dir(src), src.string(), prefix, keep);
  }
  // The same from an opened directory; `shown` names it in errors.
  void add_tree(const Fd& dir, const std::string& shown, const std::string& prefix,
                const std::function<bool(const std::string&)>& keep) {
    walk(dir.get(), prefix, shown, [&](const std::string& rel, const struct stat& st, int parent, const std::string& name) {
      if (!keep(rel)) return false;
      add(rel, st, parent, name, shown);
      return true;
    });
  }

  // One entry at `rel`, read from `name` in the directory `parent_fd`.
  void add(const std::string& rel, const struct stat& st, int parent_fd, const std::string& name, const std::string& shown_root) {
    check_interrupt();
    // Device nodes, sockets and fifos cannot be recreated by an unprivileged pod (and a
    // rootfs tree has none): leave them out rather than fail the pull.
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) return;
    TarWriter::Entry e = meta(rel, st);
    Fd file;
    if (S_ISDIR(st.st_mode)) {
      e.type = TarWriter::Type::dir;
      e.path += "/";
    } else if (S_ISLNK(st.st_mode)) {
      e.type = TarWriter::Type::symlink;
      std::string target(4096, '\0');
      ssize_t n = ::readlinkat(parent_fd, name.c_str(), target.data(), target.size());
      if (n < 0) throw sys_error("readlink", shown_root + "/" + rel);
      target.resize(static_cast<std::size_t>(n));
      e.link = target;
    } else {
      if (st.st_nlink > 1) {
        auto [it, fresh] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
        if (!fresh) {
          e.type = TarWriter::Type::hardlink;
          e.link = it->second;
        }
      }
      if (e.type == TarWriter::Type::file) {
        e.size = static_cast<std::uint64_t>(st.st_size);
        file.reset(::openat(parent_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!file) throw sys_error("open", shown_root + "/" + rel);
      }
    }
    begin(e);
    std::uint64_t left = e.size;
    while (left > 0) {
      ssize_t n = ::read(file.get(), buf_.data(), std::min<std::uint64_t>(buf_.size(), left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw sys_error("read", shown_root + "/" + rel);
      if (n == 0) throw make_error(ExitCode::internal, "{}/{} shrank while its image layer was written", shown_root, rel);
      data(std::string_view(buf_.data(), static_cast<std::size_t>(n)));
      left -= static_cast<std::uint64_t>(n);
      done_ += static_cast<std::uint64_t>(n);
      if (progress_) progress_(done_, total_);
    }
  }

  void add_dir(const std::string& rel, const struct stat& st) {
    TarWriter::Entry e = meta(rel, st);
    e.type = TarWriter::Type::dir;
    e.path += "/";
    begin(e);
  }

  void add_empty_file(const std::string& rel) {
    TarWriter::Entry e;
    e.path = rel;
    e.mode = 0;
    begin(e);
  }

  // Ends the archive and makes the file durable; returns its size.
  std::uint64_t finish() {
    if (!tar_.finish()) throw make_error(ExitCode::internal, "cannot write the image layer {}", file_.string());
    if (::fsync(out_.get()) != 0) throw sys_error("fsync", file_.string());
    out_.reset();
    return written_;
  }

 private:
  static TarWriter::Entry meta(const std::string& rel, const struct stat& st) {
    TarWriter::Entry e;
    e.path = rel;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.mtime = st.st_mtim.tv_sec;
    return e;
  }
  void begin(const TarWriter::Entry& e) {
    if (!tar_.begin(e)) throw make_error(ExitCode::internal, "cannot write the image layer {}", file_.string());
  }
  void data(std::string_view bytes) {
    if (!tar_.data(bytes)) throw make_error(ExitCode::internal, "cannot write the image layer {}", file_.string());
  }
  bool emit(std::string_view bytes) {
    write_all(out_.get(), bytes.data(), bytes.size(), file_);  // throws with the path
    written_ += bytes.size();
    return true;
  }

  fs::path file_;
  std::uint64_t total_;
  const ProgressFn& progress_;
  TarWriter tar_;
  Fd out_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
  std::uint64_t done_ = 0;
  std::uint64_t written_ = 0;
};

// Bytes of regular-file data below `dir` (for progress).
std::uint64_t tree_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  Fd fd = open_dir(dir);
  walk(fd.get(), "", dir.string(), [&](const std::string&, const struct stat& st, int, const std::string&) {
    if (S_ISREG(st.st_mode)) total += static_cast<std::uint64_t>(st.st_size);
    return true;
  });
  return total;
}

OciBlob layer_blob(const fs::path& file, std::uint64_t size) {
  OciBlob b;
  b.digest = "sha256:" + sha256_file(file);
  b.size = size;
  b.media_type = kLayerMediaType;
  b.file = file;
  return b;
}

// The cached layer of the tree, keyed by rootfs_identity (the image's digest, or for a `dir`
// rootfs a digest of the tree as it is now).
OciBlob rootfs_layer(const RootfsTree& rootfs, const fs::path& cache_dir, const ProgressFn& progress) {
  const std::string key = rootfs_identity(rootfs);
  const fs::path dir = cache_dir / "kubernetes" / "layers";
  make_dirs(dir, 0700);
  const fs::path tar = dir / (key + "." + kLayerFormat + ".tar");
  const fs::path index = dir / (key + "." + kLayerFormat + ".json");
  if (std::optional<std::string> text = read_file(index)) {
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    struct stat st {};
    if (j.is_object() && j.value("digest", "").rfind("sha256:", 0) == 0 && ::stat(tar.c_str(), &st) == 0 &&
        static_cast<std::uint64_t>(st.st_size) == j.value("size", std::uint64_t{0})) {
      return OciBlob{j["digest"].get<std::string>(), static_cast<std::uint64_t>(st.st_size), kLayerMediaType, tar, {}};
    }
  }
  // Built in a private temp dir (which `cache prune` removes if this process dies) and
  // renamed into place: concurrent runs each build a whole file, and the last rename wins
  // with identical bytes.
  TempDir tmp(cache_tmp_dir(cache_dir), fmt::format("kube-layer-{}-", ::getpid()));
  const fs::path tmp_tar = tmp.path() / "layer.tar";
  LayerWriter w(tmp_tar, progress ? tree_bytes(rootfs.dir) : 0, progress);
  w.add_tree(rootfs.dir, "", [](const std::string&) { return true; });
  const std::uint64_t size = w.finish();
  OciBlob blob = layer_blob(tmp_tar, size);
  const fs::path tmp_index = tmp.path() / "layer.json";
  const std::string meta = nlohmann::json{{"digest", blob.digest}, {"size", size}}.dump();
  {
    Fd out(::open(tmp_index.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out) throw sys_error("open", tmp_index.string());
    write_all(out.get(), meta.data(), meta.size(), tmp_index);
  }
  if (::rename(tmp_tar.c_str(), tar.c_str()) != 0) throw sys_error("rename", tar.string());
  if (::rename(tmp_index.c_str(), index.c_str()) != 0) throw sys_error("rename", index.string());
  blob.file = tar;
  return blob;
}

bool is_under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// The layer of the read-only mounts: each source's content at its target, the target's
// parent directories with the tree's own metadata (so the layer changes nothing else), and
// an opaque whiteout in a directory target that exists in the tree, so that it shows the
// mount's content only, as a bind mount would.
OciBlob mounts_layer(const RootfsTree& rootfs, const std::vector<ResolvedMount>& mounts, const fs::path& file) {
  std::vector<std::string> targets;  // "opt/data": relative, no trailing slash
  for (const ResolvedMount& m : mounts) {
    std::string t = m.target;
    while (!t.empty() && t.front() == '/') t.erase(0, 1);
    while (!t.empty() && t.back() == '/') t.pop_back();
    if (t.empty()) throw make_error(ExitCode::bad_input, "a read-only mount onto / cannot be carried in the image");
    targets.push_back(t);
  }
  std::uint64_t total = 0;
  ProgressFn none;
  LayerWriter w(file, total, none);
  std::map<std::string, bool> dirs_done;
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    const std::string& target = targets[i];
    // Parents first, with the tree's metadata; refuse to write through a symlink of the tree.
    for (std::size_t slash = target.find('/'); slash != std::string::npos; slash = target.find('/', slash + 1)) {
      const std::string parent = target.substr(0, slash);
      if (dirs_done.count(parent) != 0) continue;
      dirs_done[parent] = true;
      struct stat st {};
      if (::lstat((rootfs.dir / parent).c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
          throw make_error(ExitCode::bad_input,
                           "unsafe rootfs: mount target {}: /{} is {} in the rootfs, so the mount cannot be "
                           "placed in the image (use a target whose parents are directories)",
                           mounts[i].target, parent, S_ISLNK(st.st_mode) ? "a symlink" : "not a directory");
        }
      } else {
        st.st_mode = S_IFDIR | 0755;
      }
      w.add_dir(parent, st);
    }
    // A later mount inside this one replaces that part of it.
    auto keep = [&](const std::string& rel) {
      for (std::size_t j = i + 1; j < mounts.size(); ++j) {
        if (is_under(rel, targets[j])) return false;
      }
      return true;
    };
    // The file checked against the policy, not whatever its path leads to now.
    const Fd opened = open_checked_source(mounts[i], O_RDONLY | O_NONBLOCK | (mounts[i].is_dir ? O_DIRECTORY : 0));
    struct stat src {};
    if (::fstat(opened.get(), &src) != 0) throw sys_error("fstat", mounts[i].source, errno, ExitCode::bad_input);
    struct stat in_tree {};
    const bool exists = ::lstat((rootfs.dir / target).c_str(), &in_tree) == 0;
    if (S_ISDIR(src.st_mode)) {
      w.add_dir(target, src);
      dirs_done[target] = true;
      if (exists && S_ISDIR(in_tree.st_mode)) w.add_empty_file(target + "/.wh..wh..opq");
      w.add_tree(opened, mounts[i].source, target, keep);
    } else {
      // A single file is read by name from its directory: it must still be the one opened.
      const fs::path source(mounts[i].source);
      Fd parent = open_dir(source.parent_path());
      struct stat now {};
      if (::fstatat(parent.get(), source.filename().c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 ||
          now.st_dev != src.st_dev || now.st_ino != src.st_ino) {
        throw make_error(ExitCode::bad_input, "mount {} -> {}: the source changed after gatebox checked it; nothing "
                         "was copied", mounts[i].source, mounts[i].target);
      }
      w.add(target, src, parent.get(), source.filename().string(), source.parent_path().string());
    }
  }
  const std::uint64_t size = w.finish();
  return layer_blob(file, size);
}

}  // namespace

std::string oci_architecture() {
  struct utsname u {};
  if (::uname(&u) != 0) return "amd64";
  const std::string m = u.machine;
  if (m == "x86_64") return "amd64";
  if (m == "aarch64" || m == "arm64") return "arm64";
  if (m.rfind("armv", 0) == 0) return "arm";
  if (m == "i386" || m == "i686") return "386";
  return m;  // ppc64le, s390x, riscv64 are spelled the same
}

OciImage build_image(const RootfsTree& rootfs, const std::vector<ResolvedMount>& readonly_mounts,
                     const fs::path& cache_dir, const ProgressFn& progress) {
  OciImage image;
  image.layers.push_back(rootfs_layer(rootfs, cache_dir, progress));
  if (!readonly_mounts.empty()) {
    TempDir tmp(cache_tmp_dir(cache_dir), fmt::format("kube-mounts-{}-", ::getpid()));
    image.layers.push_back(mounts_layer(rootfs, readonly_mounts, tmp.path() / "mounts.tar"));
    image.temp_dir = tmp.release();
  }

  // No "created" time and no history: the config must depend on the layers only, so that
  // the same tree always gives the same image digest.
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const OciBlob& l : image.layers) diff_ids.push_back(l.digest);  // uncompressed: diff_id = digest
  const nlohmann::json config = {{"architecture", oci_architecture()},
                                 {"os", "linux"},
                                 {"config", {{"Env", {kDefaultPath}}}},
                                 {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  image.config.bytes = config.dump();
  image.config.size = image.config.bytes.size();
  image.config.digest = "sha256:" + sha256_hex(image.config.bytes);
  image.config.media_type = kConfigMediaType;

  nlohmann::json layers = nlohmann::json::array();
  for (const OciBlob& l : image.layers) {
    layers.push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
  }
  const nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kManifestMediaType},
      {"config", {{"mediaType", image.config.media_type}, {"digest", image.config.digest}, {"size", image.config.size}}},
      {"layers", layers}};
  image.manifest = manifest.dump();
  image.manifest_digest = "sha256:" + sha256_hex(image.manifest);
  return image;
}

void discard_temp_blobs(const OciImage& image) noexcept {
  if (image.temp_dir.empty()) return;
  try {
    remove_tree(image.temp_dir);
  } catch (...) {
    // Left for `gatebox cache prune`, which removes it once this process has exited.
  }
}

}  // namespace gatebox::kube
