#pragma once
// gatebox's own messages on stderr: "gatebox: ..." lines, colour on a terminal (NO_COLOR
// respected), --quiet / --verbose, and a progress line for long steps.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace gatebox {

enum class ColorMode { auto_, always, never };
enum class Verbosity { quiet, normal, verbose };

class Console {
 public:
  static Console& get();
  void configure(ColorMode color, Verbosity verbosity);

  void info(std::string_view text);     // normal and verbose
  void detail(std::string_view text);   // verbose only
  void warn(std::string_view text);     // always, except --quiet
  void error(std::string_view text);    // always
  // The one final verdict line: always printed, also under --quiet.
  void verdict(std::string_view verdict, std::string_view rest);
  // A progress line that rewrites itself on a terminal; silent elsewhere.
  void progress(std::string_view what, std::uint64_t done, std::uint64_t total);
  void progress_done();
  // A one-line status of a step with no measurable amount (e.g. a VM booting), shown like
  // progress: on a terminal only, replaced by the next line, cleared by progress_done().
  void status(std::string_view text);

  // Tests: write to `fd` and treat it as a terminal or not, instead of stderr and isatty(2).
  // Call configure() afterwards to apply the colour rules to it.
  void configure_for_test(int fd, bool tty);

  bool color() const { return color_; }
  Verbosity verbosity() const { return verbosity_; }

 private:
  void line(std::string_view color, std::string_view text);
  void write_out(std::string_view text);
  int fd_ = 2;
  ColorMode color_mode_ = ColorMode::auto_;
  std::chrono::steady_clock::time_point last_progress_{};
  bool color_ = false;
  bool tty_ = false;
  bool progress_shown_ = false;
  Verbosity verbosity_ = Verbosity::normal;
};

}  // namespace gatebox
