#pragma once
// The names Kubernetes gives its objects (and hosts use): checked where the profile is read
// and again where a Job is rendered, by the same rules.
#include <string_view>

namespace gatebox {

// An RFC 1123 label: 1-63 lower-case letters, digits and '-', starting and ending
// alphanumeric (namespaces, RuntimeClasses, a pod's hostname).
bool is_dns_label(std::string_view s);
// An RFC 1123 subdomain: at most 253 characters of labels joined by '.' (Secrets).
bool is_dns_subdomain(std::string_view s);

}  // namespace gatebox
