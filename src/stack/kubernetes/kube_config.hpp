#pragma once
// Where the kubernetes stack sends its Jobs: the API server, credentials and namespace of
// one context of a kubeconfig (kubectl's YAML file), resolved the way kubectl does for the
// parts gatebox supports: a bearer token or a client certificate. Exec and auth-provider
// plugins are refused with a clear message: running arbitrary helper programs from a
// config file is not something a sandbox launcher should do behind the user's back.
#include <string>

#include "stack/kubernetes/http_client.hpp"

namespace gatebox::kube {

struct KubeTarget {
  std::string server;  // "https://10.0.0.1:6443"
  TlsConfig tls;
  std::string token;           // bearer token, empty for none
  std::string namespace_name;  // where Jobs go
  std::string context;         // the context's name (for messages)
  std::string user;            // the kubeconfig user's name (for messages)
  std::string source;          // the kubeconfig's path (for messages)
};

// kubeconfig_path empty: $KUBECONFIG's first entry, else $HOME/.kube/config. context empty:
// the current-context. namespace_override empty: the context's namespace, else "default".
// Throws Error(69) with one line saying what to fix: no kubeconfig, unknown context
// (listing the ones that exist), unsupported credentials, malformed YAML (file:line),
// unreadable certificate files.
KubeTarget load_kube_target(const std::string& kubeconfig_path, const std::string& context,
                            const std::string& namespace_override);

}  // namespace gatebox::kube
