// Console: gatebox's own voice on stderr. Every line starts with "gatebox: " so that it is
// never mistaken for the gate's output; errors read "gatebox: error: ...", warnings
// "gatebox: warning: ...". Text is passed through make_printable, because messages quote
// things the gate controls (verdict file reasons, exec errors).
#include "log/console.hpp"

#include <unistd.h>

#include <cstdlib>

#include "log/sink.hpp"

namespace gatebox {
namespace {

constexpr std::string_view red = "\x1b[31m";
constexpr std::string_view yellow = "\x1b[33m";
constexpr std::string_view bold_green = "\x1b[1;32m";
constexpr std::string_view bold_red = "\x1b[1;31m";
constexpr std::string_view bold_yellow = "\x1b[1;33m";
constexpr std::string_view dim = "\x1b[2m";
constexpr std::string_view reset = "\x1b[0m";
// Back to column 0 and erase the line: how the progress line rewrites itself.
constexpr std::string_view clear_line = "\r\x1b[2K";

constexpr auto progress_interval = std::chrono::milliseconds(100);

std::string_view env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string format_amount(std::uint64_t done, std::uint64_t total) {
  struct Unit {
    std::uint64_t size;
    std::string_view name;
  };
  static constexpr Unit units[] = {{1ULL << 30, "GiB"}, {1ULL << 20, "MiB"}, {1ULL << 10, "KiB"}};
  std::uint64_t scale = total != 0 ? total : done;
  for (const Unit& u : units) {
    if (scale >= u.size) {
      double d = static_cast<double>(done) / static_cast<double>(u.size);
      if (total == 0) return fmt::format("{:.1f} {}", d, u.name);
      return fmt::format("{:.1f}/{:.1f} {}", d, static_cast<double>(total) / static_cast<double>(u.size), u.name);
    }
  }
  if (total == 0) return fmt::format("{} B", done);
  return fmt::format("{}/{} B", done, total);
}

}  // namespace

Console& Console::get() {
  static Console console = [] {
    Console c;
    c.tty_ = ::isatty(2) == 1;
    c.configure(ColorMode::auto_, Verbosity::normal);
    return c;
  }();
  return console;
}

void Console::configure(ColorMode color, Verbosity verbosity) {
  color_mode_ = color;
  verbosity_ = verbosity;
  switch (color) {
    case ColorMode::always: color_ = true; break;
    case ColorMode::never: color_ = false; break;
    case ColorMode::auto_:
      // https://no-color.org: a non-empty NO_COLOR turns colour off; TERM=dumb cannot show it.
      color_ = tty_ && env("NO_COLOR").empty() && env("TERM") != "dumb";
      break;
  }
}

void Console::configure_for_test(int fd, bool tty) {
  fd_ = fd;
  tty_ = tty;
  progress_shown_ = false;
  last_progress_ = {};
  configure(color_mode_, verbosity_);
}

void Console::write_out(std::string_view text) {
  // Nothing sensible to do if stderr is gone; gatebox's exit code still tells the story.
  (void)write_fully(fd_, text);
}

void Console::line(std::string_view color, std::string_view text) {
  std::string out;
  if (progress_shown_) {
    out += clear_line;
    progress_shown_ = false;
  }
  // Each line of a multi-line message gets the prefix, so `grep gatebox:` finds all of it.
  std::size_t start = 0;
  while (true) {
    auto end = text.find('\n', start);
    std::string_view one = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    out += "gatebox: ";
    if (color_ && !color.empty()) {
      out += color;
      out += make_printable(one);
      out += reset;
    } else {
      out += make_printable(one);
    }
    out += '\n';
    if (end == std::string_view::npos || end + 1 == text.size()) break;
    start = end + 1;
  }
  write_out(out);
}

void Console::info(std::string_view text) {
  if (verbosity_ != Verbosity::quiet) line({}, text);
}

void Console::detail(std::string_view text) {
  if (verbosity_ == Verbosity::verbose) line(dim, text);
}

void Console::warn(std::string_view text) {
  if (verbosity_ != Verbosity::quiet) line(yellow, fmt::format("warning: {}", text));
}

void Console::error(std::string_view text) { line(red, fmt::format("error: {}", text)); }

void Console::verdict(std::string_view verdict, std::string_view rest) {
  // Accept the whole verdict_line() too: "fail — exit code 2 (...)".
  std::string lead = fmt::format("{} — ", verdict);
  if (rest.starts_with(lead)) rest.remove_prefix(lead.size());

  std::string_view color = verdict == "pass" ? bold_green : verdict == "fail" ? bold_red : bold_yellow;
  std::string out;
  if (progress_shown_) {
    out += clear_line;
    progress_shown_ = false;
  }
  out += "gatebox: ";
  if (color_) {
    out += color;
    out += make_printable(verdict);
    out += reset;
  } else {
    out += make_printable(verdict);
  }
  if (!rest.empty()) {
    out += " — ";
    out += make_printable(rest);
  }
  out += '\n';
  write_out(out);
}

void Console::progress(std::string_view what, std::uint64_t done, std::uint64_t total) {
  if (!tty_ || verbosity_ == Verbosity::quiet) return;
  auto now = std::chrono::steady_clock::now();
  bool finished = total != 0 && done >= total;
  if (progress_shown_ && !finished && now - last_progress_ < progress_interval) return;
  last_progress_ = now;

  std::string text = fmt::format("gatebox: {}", make_printable(what));
  if (total != 0) {
    auto percent = static_cast<unsigned>(std::min<std::uint64_t>(100, done * 100 / total));
    text += fmt::format(" {:>3}%", percent);
  }
  text += fmt::format(" ({})", format_amount(done, total));
  std::string out(clear_line);
  out += text;
  write_out(out);
  progress_shown_ = true;
}

void Console::status(std::string_view text) {
  if (!tty_ || verbosity_ == Verbosity::quiet) return;
  std::string out(clear_line);
  out += fmt::format("gatebox: {}", make_printable(text));
  write_out(out);
  progress_shown_ = true;
}

void Console::progress_done() {
  if (!progress_shown_) return;
  write_out(clear_line);
  progress_shown_ = false;
}

}  // namespace gatebox
