#pragma once
// Giving up capabilities, for code between fork and exec: system calls only, no allocation,
// no exceptions (async-signal-safe). Used by the native sandbox's init and the VMMs' child.

namespace gatebox {

// Drops capabilities 0..last_cap from the bounding set (an unknown one, EINVAL, is fine);
// false (errno set) on another failure.
bool drop_bounding_set(int last_cap);

// Empties the effective, permitted, inheritable and ambient sets; false (errno set) on failure.
bool drop_capabilities();

}  // namespace gatebox
