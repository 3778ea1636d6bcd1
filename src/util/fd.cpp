#include "util/fd.hpp"

#include <fcntl.h>

#include "util/error.hpp"

namespace gatebox {

Pipe make_pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | flags) != 0) throw sys_error("pipe2", "");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

}  // namespace gatebox
