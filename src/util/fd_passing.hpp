#pragma once
// Passing a file descriptor over a unix socket (SCM_RIGHTS). Allocation-free, so that the
// native stack's sandbox child may call it between clone and execve.
namespace gatebox {

// Sends `fd` over `sock` with one byte of data, retrying EINTR. 0 on success, -1 (errno
// set) otherwise.
int send_fd(int sock, int fd);

}  // namespace gatebox
