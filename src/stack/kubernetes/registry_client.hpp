#pragma once
// Pushes an OciImage to a registry over the OCI distribution API, by digest. Everything is
// asked for with HEAD first: a registry that already has the manifest is sent nothing (an
// unchanged rootfs costs one request per run), one that has some blobs gets only the rest.
// Requests are anonymous until the registry answers 401: then gatebox authenticates as the
// challenge asks (a Bearer token from the registry's token service, or HTTP Basic), with the
// credentials `docker login` stored for the host (registry_auth.hpp).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "stack/kubernetes/oci_image.hpp"
#include "stack/kubernetes/registry_auth.hpp"

namespace gatebox::kube {

struct RegistryRef {
  std::string scheme = "https";  // "http" when written "http://host/repo"
  std::string host;              // "registry.example.com", "10.217.0.2:5000"
  std::string repository;        // "gates", "a/b"
};

// Accepts "registry.example.com/gates", "http://10.217.0.2:5000/gates", "localhost:5000/a/b".
// Throws Error(65) with an example otherwise.
RegistryRef parse_registry(std::string_view text);

struct PushResult {
  std::string image;  // host/repository@sha256:..., what a pod spec names
  int blobs_pushed = 0;
  int blobs_present = 0;
  std::uint64_t bytes_pushed = 0;
  bool manifest_pushed = false;
};

// Where credentials for a host come from; empty: find_registry_credentials (Docker's config).
using CredentialsLookup = std::function<std::optional<RegistryCredentials>(std::string_view host)>;

// Throws Error(69) naming the registry when nothing answers or it wants credentials that
// are missing or refused (saying which, and from where), Error(70) with the registry's
// error message otherwise, Error(130/143) when interrupted. `progress` gets a line per
// blob pushed.
PushResult push_image(const RegistryRef& ref, const OciImage& image,
                      const std::function<void(std::string_view)>& progress = {},
                      const CredentialsLookup& lookup = {});

}  // namespace gatebox::kube
