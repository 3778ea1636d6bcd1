#pragma once
// RFC 3339 timestamps as container engines and the Kubernetes API write them
// ("2024-05-01T10:00:00.123456789Z", "2024-05-01T12:00:00+02:00").
#include <optional>
#include <string_view>

namespace gatebox {

// Milliseconds since the epoch; nullopt for anything unparsable and for times before 1970,
// which is how Go's zero time ("0001-01-01T00:00:00Z": never started, never finished) reads.
std::optional<double> parse_rfc3339_ms(std::string_view text);

}  // namespace gatebox
