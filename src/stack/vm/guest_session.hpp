#pragma once
// What the guest said, decoded from its console: the host half of the frame protocol,
// without any process or clock, so that it can be tested on recorded streams. The VM
// runner feeds it console bytes as they arrive and asks it where the run stands.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "log/sink.hpp"
#include "stack/stack.hpp"
#include "stack/vm/frame.hpp"
#include "stack/vm/job.hpp"

namespace gatebox::vm {

class GuestSession {
 public:
  GuestSession(const Secret& secret, LogSink& logs) : decoder_(secret), logs_(logs) {}

  // Console bytes as read from the VMM's stdout. Gate output goes to the log sink at once.
  void feed(std::string_view bytes);

  bool started() const { return started_; }
  // An `exit` or `failure` frame arrived, or the stream became unusable (malformed()).
  bool finished() const { return exit_.has_value() || failure_.has_value() || malformed_.has_value(); }
  const std::optional<ExitReport>& exit_report() const { return exit_; }
  // The agent could not set the gate up: its one line.
  const std::optional<std::string>& failure() const { return failure_; }
  // The frames cannot be trusted to tell the end: a sequence gap, an exit frame that is not
  // an exit report. The reason, in words.
  const std::optional<std::string>& malformed() const { return malformed_; }
  // verdict.file's contents when the agent sent any verdict frame.
  const std::optional<std::string>& verdict_file() const { return verdict_; }
  const std::string& agent_version() const { return agent_version_; }
  // Frames that claimed to be frames and were not authentic (forged or damaged).
  std::uint64_t rejected() const { return decoder_.rejected_headers() + decoder_.rejected_frames(); }
  std::string console_tail() const { return decoder_.console_tail(); }

 private:
  FrameDecoder decoder_;
  LogSink& logs_;
  bool started_ = false;
  std::optional<ExitReport> exit_;
  std::optional<std::string> failure_;
  std::optional<std::string> malformed_;
  std::optional<std::string> verdict_;
  std::string agent_version_;
};

// Why a guest stopped without an `exit` or `failure` frame, from the console's tail: a
// kernel panic line when there is one ("guest kernel panic: Kernel panic - not syncing: ..."),
// else that it rebooted or powered off, with the last console lines.
std::string classify_silent_stop(std::string_view console_tail);
// The last `max_lines` non-empty lines of `text`, printable, joined with " | ", at most
// `max_bytes` long (for messages).
std::string console_excerpt(std::string_view text, int max_lines = 5, std::size_t max_bytes = 600);

// Fills an outcome from the agent's exit report (exit code, signal, OOM, exec error, usage,
// run time) and the verdict file.
void apply_exit_report(const ExitReport& report, const std::optional<std::string>& verdict_file, RunOutcome& outcome);

}  // namespace gatebox::vm
