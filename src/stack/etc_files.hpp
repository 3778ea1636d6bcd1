#pragma once
// Files of /etc that gatebox writes into every sandbox, whatever the image brings, so that a
// gate sees the same names on every stack (docs/ARCHITECTURE.md §5): Docker and the kubelet
// write their own /etc/hosts and /etc/hostname; the native, gvisor and VM stacks write these,
// into the run's own layer (never into the cached tree).
#include <string>
#include <string_view>
#include <vector>

namespace gatebox {

struct EtcFile {
  std::string name;  // under /etc: "hosts"
  std::string text;
};

// /etc/hosts: localhost (IPv4 and IPv6) and the sandbox's hostname on 127.0.1.1, as
// Debian's installer writes it. `hostname` is a validated run.hostname (no spaces or
// newlines).
std::string etc_hosts(std::string_view hostname);

// Every file of /etc gatebox writes: hosts (etc_hosts) and hostname (the name and a newline,
// as Docker and the kubelet write it).
std::vector<EtcFile> etc_files(std::string_view hostname);

}  // namespace gatebox
