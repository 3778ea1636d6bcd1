#include "stack/vm/guest_session.hpp"

#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace gatebox::vm {

void GuestSession::feed(std::string_view bytes) {
  if (finished()) return;  // after the last frame, nothing the guest says counts
  const std::vector<Frame> frames = decoder_.feed(bytes);
  if (decoder_.sequence_error()) {
    malformed_ = "the guest's frames are out of sequence (" + *decoder_.sequence_error() + ")";
    return;
  }
  for (const Frame& f : frames) {
    switch (f.type) {
      case FrameType::hello:
        agent_version_ = f.payload;
        break;
      case FrameType::started:
        started_ = true;
        break;
      case FrameType::out:
        logs_.write(StreamId::out, f.payload);
        break;
      case FrameType::err:
        logs_.write(StreamId::err, f.payload);
        break;
      case FrameType::verdict:
        if (!verdict_) verdict_.emplace();
        verdict_->append(f.payload);
        break;
      case FrameType::exit:
        try {
          exit_ = exit_report_from_json(f.payload);
        } catch (const std::exception& e) {
          malformed_ = fmt::format("the guest agent's exit report is malformed: {}", e.what());
        }
        return;
      case FrameType::failure:
        failure_ = f.payload.empty() ? std::string("(no reason given)") : f.payload;
        return;
      default:
        malformed_ = fmt::format("the guest agent sent a frame of unknown type {}", static_cast<int>(f.type));
        return;
    }
  }
}

std::string console_excerpt(std::string_view text, int max_lines, std::size_t max_bytes) {
  std::vector<std::string_view> lines;
  while (!text.empty() && static_cast<int>(lines.size()) < max_lines) {
    std::size_t end = text.size();
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
    text = text.substr(0, end);
    if (text.empty()) break;
    const std::size_t nl = text.find_last_of('\n');
    std::string_view line = nl == std::string_view::npos ? text : text.substr(nl + 1);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(0, nl);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
  }
  std::string out;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (!out.empty()) out += " | ";
    out += make_printable(*it);
  }
  if (out.size() > max_bytes) out = "…" + out.substr(out.size() - max_bytes);
  return out.empty() ? "(nothing)" : out;
}

std::string classify_silent_stop(std::string_view console_tail) {
  const std::size_t at = console_tail.rfind("Kernel panic");
  if (at != std::string_view::npos) {
    std::string_view line = console_tail.substr(at);
    line = line.substr(0, line.find_first_of("\r\n"));
    return "guest kernel panic: " + make_printable(line);
  }
  return "the guest rebooted or powered off before reporting the gate's end (console: " + console_excerpt(console_tail) + ")";
}

void apply_exit_report(const ExitReport& report, const std::optional<std::string>& verdict_file, RunOutcome& outcome) {
  outcome.exit_code = report.exit_code;
  outcome.signal = report.signal;
  outcome.oom_killed = report.oom_killed;
  outcome.exec_error = report.exec_error;
  outcome.usage.cpu_user_ms = report.cpu_user_ms;
  outcome.usage.cpu_system_ms = report.cpu_system_ms;
  outcome.usage.max_rss_kib = report.max_rss_kib;
  outcome.timings.run_ms = report.run_ms;
  outcome.verdict_file = verdict_file;
}

}  // namespace gatebox::vm
