#include "stack/native/seccomp_listener.hpp"

#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

#include "policy/seccomp.hpp"
#include "util/fs.hpp"

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

pid_t thread_group_of(pid_t tid, const std::filesystem::path& proc) {
  std::optional<std::string> status = read_file(proc / std::to_string(tid) / "status");
  if (!status) return -1;
  std::string_view text = *status;
  // "Tgid:" starts a line of its own; the Name line before it shows the task's name escaped.
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.starts_with("Tgid:")) {
      line.remove_prefix(5);
      while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) line.remove_prefix(1);
      pid_t tgid = 0;
      auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), tgid);
      return ec == std::errc() && ptr == line.data() + line.size() && tgid > 0 ? tgid : -1;
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return -1;
}

bool SeccompListener::kill_process_of(const struct seccomp_notif& req) {
  // req.pid is the calling thread; pidfd_open takes a process (thread group leader) only,
  // so a call from a second thread is resolved to its process first, as the kernel's own
  // SECCOMP_RET_KILL_PROCESS would end the whole process.
  pid_t tgid = thread_group_of(static_cast<pid_t>(req.pid));
  if (tgid <= 0) return false;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, tgid, 0));
  if (pidfd < 0) return false;
  // ID_VALID after the pidfd is open: the calling thread was alive from the notification up
  // to here, so neither its id (read above) nor its process's id (held by the living thread)
  // can have been recycled: the signal reaches the process that made the call, or nobody.
  bool killed = ::ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0 &&
                ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0;
  ::close(pidfd);
  return killed;
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
    case SeccompAction::kill:
      if (kill_process_of(req)) killed_ = true;
      resp.error = -EPERM;  // not seen by a killed task; the answer only releases the notification
      break;
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
