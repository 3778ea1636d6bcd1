#pragma once
// SIGINT and SIGTERM are blocked for the whole life of gatebox and read from a signalfd,
// so that an interrupt always tears the sandbox down first and is never lost mid-setup.
// Children unblock them (restore_signals) before they exec.

namespace gatebox {

// Call first thing in main. Returns nothing; throws Error(70) if signalfd fails.
void install_interrupt_handling();
// A signalfd to poll for readability in event loops (-1 before install).
int interrupt_fd();
// The interrupting signal (SIGINT or SIGTERM) if one arrived, else 0. Latches: once
// seen, it keeps returning the same signal.
int pending_interrupt();
// Throws Error(130 or 143) if an interrupt is pending. For use between steps.
void check_interrupt();
// In a freshly forked child: default dispositions and an empty signal mask.
void restore_signals_in_child() noexcept;

}  // namespace gatebox
