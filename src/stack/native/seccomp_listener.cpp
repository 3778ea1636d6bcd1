#include "stack/native/seccomp_listener.hpp"

#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "policy/seccomp.hpp"

namespace gatebox {

int SeccompListener::poll_fd() const {
  if (listener_) return listener_.get();
  return socket_open_ && socket_ >= 0 ? socket_ : -1;
}

void SeccompListener::on_ready(short revents) {
  if (!listener_) {
    receive_listener();
    return;
  }
  if (revents & POLLIN) {
    answer_one();
  } else if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
    listener_.reset();  // no task uses the filter any more
  }
}

void SeccompListener::receive_listener() {
  char byte = 0;
  struct iovec iov{&byte, 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(socket_, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  socket_open_ = false;  // one message, or EOF: the gate ended before it had a filter
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      listener_.reset(fd);
    }
  }
}

void SeccompListener::answer_one() {
  struct seccomp_notif req;
  std::memset(&req, 0, sizeof req);  // the kernel refuses a buffer that is not zeroed
  if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
    // ENOENT: the task was killed between poll and here. Anything else would repeat at
    // every poll; the gate's denied calls then fail with ENOSYS instead of hanging.
    if (errno != ENOENT && errno != EINTR) listener_.reset();
    return;
  }
  ++counts_[req.data.nr];

  struct seccomp_notif_resp resp;
  std::memset(&resp, 0, sizeof resp);
  resp.id = req.id;
  switch (action_) {
    case SeccompAction::errno_eperm: resp.error = -EPERM; break;
    case SeccompAction::log: resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE; break;
    case SeccompAction::kill: {
      // The pid is checked still to be the notifying task (ID_VALID after pidfd_open), so
      // a recycled pid can never get the signal.
      int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, req.pid, 0));
      if (pidfd >= 0) {
        if (::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0 &&
            ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0) {
          killed_ = true;
        }
        ::close(pidfd);
      }
      resp.error = -EPERM;  // not seen by a killed task; the answer only releases the notification
      break;
    }
  }
  // ENOENT: the task died meanwhile (or was killed above). Nothing to answer.
  ::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

std::map<std::string, std::uint64_t> SeccompListener::denied() const {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [nr, count] : counts_) out[x86_64_syscall_name(nr)] += count;
  return out;
}

}  // namespace gatebox
