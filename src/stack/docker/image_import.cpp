#include "stack/docker/image_import.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "log/console.hpp"
#include "rootfs/tree_identity.hpp"
#include "util/error.hpp"
#include "util/fd.hpp"
#include "util/interrupt.hpp"
#include "util/sha256.hpp"
#include "util/tar_writer.hpp"

namespace gatebox {
namespace {

namespace fs = std::filesystem;

struct TreeEntry {
  std::string rel;  // "bin/sh"
  struct stat st;
};

// Every entry below `root`, parents before children, never following a symlink.
std::vector<TreeEntry> walk_tree(const fs::path& root) {
  std::vector<TreeEntry> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) throw make_error(ExitCode::internal, "cannot read the rootfs tree {}: {}", root.string(), ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) throw make_error(ExitCode::internal, "cannot read the rootfs tree {}: {}", root.string(), ec.message());
    TreeEntry e;
    e.rel = it->path().lexically_relative(root).string();
    if (::lstat(it->path().c_str(), &e.st) != 0) throw sys_error("lstat", it->path().string());
    out.push_back(std::move(e));
  }
  return out;
}

// Writes the tar of the tree into `fd` (one end of a socketpair), on its own thread, so
// that the image streams to the daemon without ever being held in memory or on disk.
class TarProducer {
 public:
  TarProducer(fs::path root, std::vector<TreeEntry> entries, Fd fd)
      : root_(std::move(root)), entries_(std::move(entries)), fd_(std::move(fd)) {
    thread_ = std::thread([this] { run(); });
  }
  ~TarProducer() {
    fd_shutdown();
    if (thread_.joinable()) thread_.join();
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool failed() const { return failed_.load(); }
  const std::string& error() const { return error_; }  // after join()

 private:
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t r = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;  // the upload was abandoned
      bytes.remove_prefix(static_cast<std::size_t>(r));
    }
    return true;
  }

  void fd_shutdown() { ::shutdown(fd_.get(), SHUT_RDWR); }

  void fail(std::string why) {
    error_ = std::move(why);
    failed_.store(true);
  }

  static TarWriter::Type type_of(mode_t mode) {
    if (S_ISDIR(mode)) return TarWriter::Type::dir;
    if (S_ISLNK(mode)) return TarWriter::Type::symlink;
    if (S_ISCHR(mode)) return TarWriter::Type::chr;
    if (S_ISBLK(mode)) return TarWriter::Type::blk;
    if (S_ISFIFO(mode)) return TarWriter::Type::fifo;
    return TarWriter::Type::file;
  }

  void run() {
    TarWriter tar([this](std::string_view bytes) { return send_all(bytes); });
    std::map<std::pair<dev_t, ino_t>, std::string> links;
    std::vector<char> buf(256 * 1024);
    for (std::size_t i = 0; i < entries_.size() && !failed_; ++i) {
      const TreeEntry& e = entries_[i];
      if (S_ISSOCK(e.st.st_mode)) continue;  // a socket cannot be carried in a tar
      TarWriter::Entry te;
      te.path = e.rel;
      te.type = type_of(e.st.st_mode);
      te.mode = e.st.st_mode & 07777;
      te.uid = e.st.st_uid;  // numeric owners only, as in the tree
      te.gid = e.st.st_gid;
      te.mtime = e.st.st_mtim.tv_sec;
      te.dev_major = major(e.st.st_rdev);
      te.dev_minor = minor(e.st.st_rdev);
      const fs::path path = root_ / e.rel;
      Fd file;
      if (te.type == TarWriter::Type::symlink) {
        std::string target(4096, '\0');
        ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
        if (n < 0) return fail(fmt::format("readlink {}: {}", path.string(), std::strerror(errno)));
        target.resize(static_cast<std::size_t>(n));
        te.link = target;
      } else if (te.type == TarWriter::Type::file) {
        if (e.st.st_nlink > 1) {
          auto [it, fresh] = links.emplace(std::make_pair(e.st.st_dev, e.st.st_ino), e.rel);
          if (!fresh) {
            te.type = TarWriter::Type::hardlink;
            te.link = it->second;
          }
        }
        if (te.type == TarWriter::Type::file) {
          te.size = static_cast<std::uint64_t>(e.st.st_size);
          file.reset(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
          if (!file) return fail(fmt::format("open {}: {}", path.string(), std::strerror(errno)));
        }
      }
      if (!tar.begin(te)) return fail("the daemon stopped reading the image");
      std::uint64_t left = te.size;
      while (left > 0) {
        ssize_t n = ::read(file.get(), buf.data(), std::min<std::uint64_t>(buf.size(), left));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(fmt::format("read {}: {}", path.string(), std::strerror(errno)));
        if (n == 0) return fail(fmt::format("{} shrank while it was being imported", path.string()));
        if (!tar.data(std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
          return fail("the daemon stopped reading the image");
        }
        left -= static_cast<std::uint64_t>(n);
      }
    }
    if (!failed_ && !tar.finish()) fail("the daemon stopped reading the image");
    // EOF for the reader: everything was written (or failed_ is set first, so the reader aborts).
    ::shutdown(fd_.get(), SHUT_WR);
  }

  fs::path root_;
  std::vector<TreeEntry> entries_;
  Fd fd_;
  std::thread thread_;
  std::atomic<bool> failed_{false};
  std::string error_;
};

bool image_matches(const DockerClient& client, const ImageName& name) {
  Response r = client.call("GET", "/images/" + url_encode(name.ref()) + "/json", "", 30'000);
  if (r.status == 404) return false;
  if (r.status != 200) throw client.api_error(ExitCode::internal, "inspecting image " + name.ref(), r);
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  const nlohmann::json* labels = nullptr;
  if (j.is_object() && j.contains("Config") && j["Config"].is_object() && j["Config"].contains("Labels")) {
    labels = &j["Config"]["Labels"];
  }
  // A tag we did not make (or made from other content) is not trusted: import over it.
  return labels != nullptr && labels->is_object() && labels->value(kRootfsLabel, "") == name.label;
}

void import_image(const DockerClient& client, const RootfsTree& rootfs, const ImageName& name, const std::string& cache) {
  std::vector<TreeEntry> entries = walk_tree(rootfs.dir);
  std::uint64_t total = 0;
  for (const TreeEntry& e : entries) {
    if (S_ISREG(e.st.st_mode)) total += static_cast<std::uint64_t>(e.st.st_size);
  }
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw sys_error("socketpair", "image import");
  Fd reader(sv[0]);
  TarProducer producer(rootfs.dir, std::move(entries), Fd(sv[1]));

  const std::string path =
      fmt::format("/images/create?fromSrc=-&repo={}&tag={}&changes={}&changes={}", url_encode(kImageRepo),
                  url_encode(name.tag), url_encode(std::string("LABEL ") + kRootfsLabel + "=" + name.label),
                  url_encode(std::string("LABEL ") + kCacheLabel + "=" + cache));
  std::unique_ptr<Transfer> t = client.transfer("POST", path, 0);
  std::uint64_t sent = 0;
  bool interrupted = false;
  t->set_upload(
      [&](char* buf, std::size_t n) -> std::size_t {
        if (pending_interrupt() != 0) {
          interrupted = true;
          return CURL_READFUNC_ABORT;
        }
        for (;;) {
          ssize_t r = ::recv(reader.get(), buf, n, 0);
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 || (r == 0 && producer.failed())) return CURL_READFUNC_ABORT;
          sent += static_cast<std::uint64_t>(r);
          Console::get().progress("importing image", std::min(sent, total), total);
          return static_cast<std::size_t>(r);
        }
      },
      "application/x-tar");
  t->perform();
  Console::get().progress_done();
  reader.reset();  // a producer still writing gets EPIPE and stops
  producer.join();
  check_interrupt();
  if (interrupted) throw Error(ExitCode::sigint, "interrupted while importing the rootfs image");
  if (producer.failed()) {
    throw make_error(ExitCode::internal, "importing {} into Docker: cannot read the rootfs tree: {}", rootfs.dir.string(),
                     producer.error());
  }
  client.check_transfer(*t, "importing the rootfs image");
  const Response r{t->status(), t->body()};
  // The status is 200 even when the import failed: the error is an object in the progress stream.
  const bool stream_error = r.body.find("\"errorDetail\"") != std::string::npos ||
                            r.body.find("\"error\"") != std::string::npos;
  if (r.status != 200 || stream_error) {
    throw make_error(ExitCode::internal, "importing {} as image {} failed: the Docker daemon at {} said: {}",
                     rootfs.dir.string(), name.ref(), client.endpoint().display, daemon_message(r.body));
  }
}

}  // namespace

ImageName rootfs_image_name(const RootfsTree& rootfs) {
  std::string id = rootfs_identity(rootfs);
  // "<sha256>" -> tag "<16 hex>"; "dir-<sha256>" -> "dir-<16 hex>".
  std::string tag = id.substr(0, (id.rfind("dir-", 0) == 0 ? 4 : 0) + 16);
  return ImageName{std::move(id), std::move(tag)};
}

std::string cache_label_value(const fs::path& cache_dir) {
  return sha256_hex(fs::absolute(cache_dir).lexically_normal().string()).substr(0, 16);
}

std::string ensure_rootfs_image(const DockerClient& client, const RootfsTree& rootfs, const fs::path& cache_dir) {
  const ImageName name = rootfs_image_name(rootfs);
  if (!image_matches(client, name)) {
    Console::get().detail(fmt::format("importing {} into Docker as {}", rootfs.dir.string(), name.ref()));
    import_image(client, rootfs, name, cache_label_value(cache_dir));
  }
  return name.ref();
}

}  // namespace gatebox
