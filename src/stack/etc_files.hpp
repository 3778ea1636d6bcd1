#pragma once
// Files of /etc that gatebox writes into every sandbox, whatever the image brings, so that a
// gate sees the same names on every stack (docs/ARCHITECTURE.md §5): Docker and the kubelet
// write their own /etc/hosts; the native, gvisor and VM stacks write this one, into the
// run's own layer (never into the cached tree).
#include <string>
#include <string_view>

namespace gatebox {

// /etc/hosts: localhost (IPv4 and IPv6) and the sandbox's hostname on 127.0.1.1, as
// Debian's installer writes it. `hostname` is a validated run.hostname (no spaces or
// newlines).
std::string etc_hosts(std::string_view hostname);

}  // namespace gatebox
