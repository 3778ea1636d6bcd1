#include "stack/etc_files.hpp"

namespace gatebox {

// Plain concatenation: the guest agent (static, without fmt) compiles this file too.
std::string etc_hosts(std::string_view hostname) {
  std::string text =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "127.0.1.1\t";
  text += hostname;
  text += '\n';
  return text;
}

std::vector<EtcFile> etc_files(std::string_view hostname) {
  std::string name(hostname);
  name += '\n';
  return {{"hosts", etc_hosts(hostname)}, {"hostname", std::move(name)}};
}

}  // namespace gatebox
