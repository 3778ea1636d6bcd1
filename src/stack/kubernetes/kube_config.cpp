#include "stack/kubernetes/kube_config.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <yaml-cpp/yaml.h>

#include "util/base64.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace gatebox::kube {
namespace {

namespace fs = std::filesystem;

constexpr const char* kNoKubeconfig =
    "no kubeconfig: set KUBECONFIG, create ~/.kube/config, or name one with --set stack.kubernetes.kubeconfig=...";
constexpr const char* kUseInstead =
    "give the user a bearer token (token or tokenFile, e.g. from `kubectl create token SERVICEACCOUNT`) or a client "
    "certificate (client-certificate-data and client-key-data) instead";

fs::path default_kubeconfig() {
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    // kubectl merges every entry of the list; gatebox reads the first, which is where
    // kubectl writes and what most set-ups have alone.
    const std::string list(env);
    std::size_t start = 0;
    while (start <= list.size()) {
      std::size_t end = list.find(':', start);
      if (end == std::string::npos) end = list.size();
      if (end > start) return list.substr(start, end - start);
      start = end + 1;
    }
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return {};
  return fs::path(home) / ".kube" / "config";
}

// One kubeconfig file, with its name for messages and its folder for relative paths.
class Reader {
 public:
  explicit Reader(fs::path path) : path_(std::move(path)) {}

  YAML::Node load() const {
    std::optional<std::string> text = read_file(path_);
    if (!text) throw make_error(ExitCode::unavailable, "cannot read the kubeconfig {}", path_.string());
    try {
      return YAML::Load(*text);
    } catch (const YAML::ParserException& e) {
      throw make_error(ExitCode::unavailable, "{}:{}: malformed kubeconfig: {}", path_.string(), e.mark.line + 1,
                       e.msg);
    }
  }

  // The string at node[key]; "" when absent or null.
  std::string str(const YAML::Node& node, const char* key, std::string_view where) const {
    const YAML::Node v = node[key];
    if (!v || v.IsNull()) return {};
    if (!v.IsScalar()) throw malformed(v, fmt::format("{}.{} must be a string", where, key));
    return v.Scalar();
  }

  bool flag(const YAML::Node& node, const char* key, std::string_view where) const {
    const YAML::Node v = node[key];
    if (!v || v.IsNull()) return false;
    try {
      return v.as<bool>();
    } catch (const YAML::Exception&) {
      throw malformed(v, fmt::format("{}.{} must be true or false", where, key));
    }
  }

  // The map in the list `list` (clusters, users, contexts) whose name is `name`, under
  // `inner` (cluster, user, context); an undefined node when there is none.
  YAML::Node named(const YAML::Node& root, const char* list, const char* inner, const std::string& name) const {
    const YAML::Node items = root[list];
    if (!items || items.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
    if (!items.IsSequence()) throw malformed(items, fmt::format("{} must be a list", list));
    for (const YAML::Node& item : items) {
      if (!item.IsMap()) throw malformed(item, fmt::format("every entry of {} must be a map", list));
      if (str(item, "name", list) == name) {
        const YAML::Node v = item[inner];
        if (!v || v.IsNull()) return YAML::Node(YAML::NodeType::Map);  // a context with nothing in it
        if (!v.IsMap()) throw malformed(v, fmt::format("{} '{}': {} must be a map", list, name, inner));
        return v;
      }
    }
    return YAML::Node(YAML::NodeType::Undefined);
  }

  std::vector<std::string> names(const YAML::Node& root, const char* list) const {
    std::vector<std::string> out;
    const YAML::Node items = root[list];
    if (!items || !items.IsSequence()) return out;
    for (const YAML::Node& item : items) {
      if (item.IsMap()) out.push_back(str(item, "name", list));
    }
    return out;
  }

  // PEM material: inline base64 (`data_key`) wins over a file (`file_key`), as in kubectl.
  std::string pem(const YAML::Node& node, const char* data_key, const char* file_key, std::string_view where) const {
    const std::string data = str(node, data_key, where);
    if (!data.empty()) return decode_base64(data, fmt::format("{}: {}.{}", path_.string(), where, data_key));
    const std::string file = str(node, file_key, where);
    if (file.empty()) return {};
    return read_relative(file, fmt::format("{}.{}", where, file_key));
  }

  // A file the kubeconfig refers to (tokenFile, certificate-authority, client-key, ...) is read
  // only when its real path lies in the kubeconfig's own folder. gatebox often runs as root,
  // and a reference elsewhere (/etc/shadow, another user's key) would be read and its content
  // sent to the server. The check is on the descriptor that is then read (O_PATH, reopened
  // through /proc/self/fd), so a symlink swapped in between cannot redirect the read.
  std::string read_relative(const std::string& name, std::string_view what) const {
    const fs::path folder = path_.has_parent_path() ? path_.parent_path() : fs::path(".");
    fs::path p(name);
    if (p.is_relative()) p = folder / p;
    Fd fd;
    const std::optional<fs::path> real = real_path(p, &fd);
    if (!real) {
      throw make_error(ExitCode::unavailable, "{}: cannot read {} {} ({})", path_.string(), what, p.string(),
                       errno == ENOENT ? std::string("no such file") : std::error_code(errno, std::generic_category()).message());
    }
    const std::optional<fs::path> dir = real_path(folder);
    if (!dir || !path_inside(*real, *dir)) {
      throw make_error(ExitCode::unavailable,
                       "{}: {} is {} ({}), outside the kubeconfig's folder {}: gatebox reads no file outside it; copy "
                       "the file next to the kubeconfig, or inline it (`kubectl config view --flatten --minify` "
                       "writes the *-data keys)",
                       path_.string(), what, p.string(), real->string(), dir ? dir->string() : folder.string());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      throw make_error(ExitCode::unavailable, "{}: {} {} is not a regular file", path_.string(), what, p.string());
    }
    std::optional<std::string> text = read_file(fmt::format("/proc/self/fd/{}", fd.get()));
    if (!text) {
      throw make_error(ExitCode::unavailable, "{}: cannot read {} {} (unreadable)", path_.string(), what, p.string());
    }
    return *text;
  }

  Error malformed(const YAML::Node& node, std::string_view what) const {
    const YAML::Mark m = node.Mark();
    if (m.line >= 0) return make_error(ExitCode::unavailable, "{}:{}: malformed kubeconfig: {}", path_.string(), m.line + 1, what);
    return make_error(ExitCode::unavailable, "{}: malformed kubeconfig: {}", path_.string(), what);
  }

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string joined(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string trim_space(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

KubeTarget load_kube_target(const std::string& kubeconfig_path, const std::string& context,
                            const std::string& namespace_override) {
  const fs::path path = kubeconfig_path.empty() ? default_kubeconfig() : fs::path(kubeconfig_path);
  std::error_code ec;
  if (path.empty() || !fs::exists(path, ec)) {
    if (kubeconfig_path.empty()) throw Error(ExitCode::unavailable, kNoKubeconfig);
    throw make_error(ExitCode::unavailable, "no kubeconfig at {} (stack.kubernetes.kubeconfig)", path.string());
  }
  const Reader r(path);
  YAML::Node root;
  KubeTarget t;
  t.source = path.string();
  try {
    root = r.load();
    if (!root.IsMap()) throw make_error(ExitCode::unavailable, "{}: malformed kubeconfig: not a map of clusters, users and contexts", t.source);

    t.context = context.empty() ? r.str(root, "current-context", "kubeconfig") : context;
    const std::vector<std::string> contexts = r.names(root, "contexts");
    if (t.context.empty()) {
      throw make_error(ExitCode::unavailable,
                       "kubeconfig {} has no current-context: name one with --set stack.kubernetes.context=... "
                       "(one of: {})", t.source,
                       joined(contexts));
    }
    const YAML::Node ctx = r.named(root, "contexts", "context", t.context);
    if (!ctx) {
      throw make_error(ExitCode::unavailable, "kubeconfig {} has no context '{}' (it has: {})", t.source, t.context,
                       joined(contexts));
    }

    const std::string cluster_name = r.str(ctx, "cluster", "context");
    const YAML::Node cluster = r.named(root, "clusters", "cluster", cluster_name);
    if (cluster_name.empty() || !cluster) {
      throw make_error(ExitCode::unavailable, "context '{}' in kubeconfig {} names cluster '{}', which is not defined there",
                       t.context, t.source, cluster_name);
    }
    const std::string cwhere = "cluster '" + cluster_name + "'";
    t.server = r.str(cluster, "server", cwhere);
    while (!t.server.empty() && t.server.back() == '/') t.server.pop_back();
    if (t.server.empty()) {
      throw make_error(ExitCode::unavailable, "cluster '{}' in kubeconfig {} has no server", cluster_name, t.source);
    }
    t.tls.ca_pem = r.pem(cluster, "certificate-authority-data", "certificate-authority", cwhere);
    t.tls.insecure_skip_verify = r.flag(cluster, "insecure-skip-tls-verify", cwhere);

    t.user = r.str(ctx, "user", "context");
    if (!t.user.empty()) {
      const YAML::Node user = r.named(root, "users", "user", t.user);
      if (!user) {
        throw make_error(ExitCode::unavailable, "context '{}' in kubeconfig {} names user '{}', which is not defined there",
                         t.context, t.source, t.user);
      }
      const std::string uwhere = "user '" + t.user + "'";
      if (const YAML::Node exec = user["exec"]; exec && !exec.IsNull()) {
        const std::string cmd = exec.IsMap() ? r.str(exec, "command", uwhere + ".exec") : std::string();
        throw make_error(ExitCode::unavailable,
                         "user '{}' in kubeconfig {} gets its credentials from the exec plugin '{}', which gatebox does "
                         "not run: {}",
                         t.user, t.source, cmd, kUseInstead);
      }
      if (const YAML::Node ap = user["auth-provider"]; ap && !ap.IsNull()) {
        const std::string name = ap.IsMap() ? r.str(ap, "name", uwhere + ".auth-provider") : std::string();
        throw make_error(ExitCode::unavailable,
                         "user '{}' in kubeconfig {} uses the auth-provider plugin '{}', which gatebox does not support: {}",
                         t.user, t.source, name, kUseInstead);
      }
      if (!r.str(user, "username", uwhere).empty() || !r.str(user, "password", uwhere).empty()) {
        throw make_error(ExitCode::unavailable,
                         "user '{}' in kubeconfig {} uses basic authentication (username/password), which gatebox does "
                         "not support: {}",
                         t.user, t.source, kUseInstead);
      }
      t.token = r.str(user, "token", uwhere);
      if (t.token.empty()) {
        const std::string file = r.str(user, "tokenFile", uwhere);
        if (!file.empty()) t.token = trim_space(r.read_relative(file, uwhere + ".tokenFile"));
      }
      t.tls.client_cert_pem = r.pem(user, "client-certificate-data", "client-certificate", uwhere);
      t.tls.client_key_pem = r.pem(user, "client-key-data", "client-key", uwhere);
      if (t.tls.client_cert_pem.empty() != t.tls.client_key_pem.empty()) {
        throw make_error(ExitCode::unavailable, "user '{}' in kubeconfig {} has a client {} but no client {}", t.user,
                         t.source, t.tls.client_cert_pem.empty() ? "key" : "certificate",
                         t.tls.client_cert_pem.empty() ? "certificate" : "key");
      }
    }

    t.namespace_name = namespace_override;
    if (t.namespace_name.empty()) t.namespace_name = r.str(ctx, "namespace", "context");
    if (t.namespace_name.empty()) t.namespace_name = "default";
  } catch (const YAML::Exception& e) {
    if (e.mark.line >= 0) {
      throw make_error(ExitCode::unavailable, "{}:{}: malformed kubeconfig: {}", t.source, e.mark.line + 1, e.msg);
    }
    throw make_error(ExitCode::unavailable, "{}: malformed kubeconfig: {}", t.source, e.msg);
  }
  return t;
}

}  // namespace gatebox::kube
