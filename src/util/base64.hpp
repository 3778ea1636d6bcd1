#pragma once
// Standard base64 (RFC 4648 section 4): kubeconfigs embed certificates in it, Docker's
// config.json the registry credentials, and HTTP Basic authentication sends them in it.
#include <string>
#include <string_view>

namespace gatebox {

// With or without padding; whitespace ignored. Throws Error(69) naming `what` when the
// text is not base64 (the files that hold it are a stack's configuration).
std::string decode_base64(std::string_view text, std::string_view what);
// With padding.
std::string encode_base64(std::string_view bytes);

}  // namespace gatebox
