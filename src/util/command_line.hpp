#pragma once
// A process's own command line as others see it in /proc/PID/cmdline: the kernel shows the
// bytes between the mm's arg_start and arg_end, which live in the process's own memory.
// The native stack's sandbox init is a fork of gatebox and so shows gatebox's command line
// (profile path, --set values) to the gate, unless it overwrites its copy of those bytes.
#include <cstdint>
#include <string_view>

namespace gatebox {

struct MemoryRange {
  std::uintptr_t start = 0;
  std::uintptr_t end = 0;  // one past the last byte
  bool empty() const { return end <= start; }
};

// arg_start and arg_end (fields 48 and 49) of a /proc/PID/stat line; empty when malformed.
// The name field (2) may hold spaces and parentheses: fields are counted after its last ')'.
MemoryRange command_line_area_from_stat(std::string_view stat);
// This process's argv area, from /proc/self/stat; empty when it cannot be read.
MemoryRange own_command_line_area();

// Overwrites `area` of this process's memory with `name` and NULs, so /proc/PID/cmdline
// reads `name` followed by NULs: the length of the old command line shows, its text not.
// Makes no allocation and no system call (fit for a cloned child before execve). The
// area must be this process's own argv area, and argv must not be used afterwards.
void overwrite_command_line(MemoryRange area, std::string_view name) noexcept;

}  // namespace gatebox
