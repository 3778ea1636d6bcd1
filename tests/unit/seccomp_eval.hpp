#pragma once
// What happens to one system call under each form a seccomp policy takes: a classic BPF
// program, run as the kernel runs it, and a Docker or OCI profile, read as the runtime
// that enforces it reads it. Test code only (seccomp_parity_test.cpp).
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "policy/seccomp.hpp"

namespace gatebox::test {

// One x86_64 system call, as seccomp sees it: the number and the six argument registers.
struct Call {
  int nr = 0;
  std::array<std::uint64_t, 6> args{};
};

// What the call gets: it runs (log: and the kernel logs it), fails with an errno, kills the
// calling thread or the whole process, or waits for a user-space listener (notify).
struct Answer {
  enum class Kind { allow, log, error, kill_thread, kill_process, notify, trap, trace };
  Kind kind = Kind::allow;
  int err = 0;  // Kind::error only
  bool operator==(const Answer&) const = default;
};

inline Answer allowed() { return {}; }
inline Answer failed_with(int err) { return {Answer::Kind::error, err}; }

inline std::ostream& operator<<(std::ostream& out, const Answer& a) {
  switch (a.kind) {
    case Answer::Kind::allow: return out << "allow";
    case Answer::Kind::log: return out << "allow and log";
    case Answer::Kind::error: return out << "errno " << a.err;
    case Answer::Kind::kill_thread: return out << "kill the thread";
    case Answer::Kind::kill_process: return out << "kill the process";
    case Answer::Kind::notify: return out << "ask the listener";
    case Answer::Kind::trap: return out << "SIGSYS trap";
    case Answer::Kind::trace: return out << "ask the tracer";
  }
  return out << "?";
}

// A SECCOMP_RET_* value as an Answer.
inline Answer answer_of(std::uint32_t ret) {
  const std::uint32_t data = ret & SECCOMP_RET_DATA;
  switch (ret & SECCOMP_RET_ACTION_FULL) {
    case SECCOMP_RET_ALLOW: return allowed();
    case SECCOMP_RET_LOG: return {Answer::Kind::log};
    // The kernel caps the errno at MAX_ERRNO.
    case SECCOMP_RET_ERRNO: return failed_with(static_cast<int>(std::min<std::uint32_t>(data, 4095)));
    case SECCOMP_RET_KILL_THREAD: return {Answer::Kind::kill_thread};
    case SECCOMP_RET_USER_NOTIF: return {Answer::Kind::notify};
    case SECCOMP_RET_TRAP: return {Answer::Kind::trap};
    case SECCOMP_RET_TRACE: return {Answer::Kind::trace};
    case SECCOMP_RET_KILL_PROCESS:
    default: return {Answer::Kind::kill_process};  // as the kernel takes an action it does not know
  }
}

// Runs a seccomp program on `call` from the x86_64 ABI and returns its SECCOMP_RET_* value.
// It knows the instructions the kernel's seccomp_check_filter accepts; anything the kernel
// would refuse (another load, a jump out of the program, no return) throws std::logic_error.
inline std::uint32_t run_bpf(const std::vector<sock_filter>& program, const Call& call) {
  seccomp_data data{};
  data.nr = call.nr;
  data.arch = AUDIT_ARCH_X86_64;
  data.instruction_pointer = 0x7f3a2c401000;  // in libc's text: where a real call comes from
  std::copy(call.args.begin(), call.args.end(), data.args);
  auto load = [&](std::uint32_t offset) {
    if (offset % 4 != 0 || offset + 4 > sizeof data) throw std::logic_error(fmt::format("load at offset {}", offset));
    std::uint32_t word = 0;
    std::memcpy(&word, reinterpret_cast<const char*>(&data) + offset, sizeof word);
    return word;
  };
  std::uint32_t a = 0, x = 0;
  std::array<std::uint32_t, BPF_MEMWORDS> scratch{};
  for (std::size_t pc = 0; pc < program.size(); ++pc) {
    const sock_filter& in = program[pc];
    const std::uint32_t operand = BPF_SRC(in.code) == BPF_X ? x : in.k;
    auto jump = [&](std::uint32_t offset) {
      if (pc + offset + 1 >= program.size()) throw std::logic_error(fmt::format("jump out of the program at {}", pc));
      pc += offset;
    };
    switch (BPF_CLASS(in.code)) {
      case BPF_LD:
      case BPF_LDX: {
        std::uint32_t value = 0;
        if (in.code == (BPF_LD | BPF_W | BPF_ABS)) {
          value = load(in.k);
        } else if (BPF_MODE(in.code) == BPF_IMM) {
          value = in.k;
        } else if (BPF_MODE(in.code) == BPF_MEM) {
          value = scratch.at(in.k);
        } else if (BPF_MODE(in.code) == BPF_LEN) {
          value = sizeof data;
        } else {
          throw std::logic_error(fmt::format("load instruction {:#x} at {}", in.code, pc));
        }
        (BPF_CLASS(in.code) == BPF_LD ? a : x) = value;
        break;
      }
      case BPF_ST: scratch.at(in.k) = a; break;
      case BPF_STX: scratch.at(in.k) = x; break;
      case BPF_ALU:
        switch (BPF_OP(in.code)) {
          case BPF_ADD: a += operand; break;
          case BPF_SUB: a -= operand; break;
          case BPF_MUL: a *= operand; break;
          case BPF_OR: a |= operand; break;
          case BPF_AND: a &= operand; break;
          case BPF_XOR: a ^= operand; break;
          case BPF_NEG: a = -a; break;
          case BPF_DIV:
          case BPF_MOD:
            if (operand == 0) throw std::logic_error(fmt::format("division by zero at {}", pc));
            a = BPF_OP(in.code) == BPF_DIV ? a / operand : a % operand;
            break;
          case BPF_LSH:
          case BPF_RSH:
            if (operand >= 32) throw std::logic_error(fmt::format("shift by {} at {}", operand, pc));
            a = BPF_OP(in.code) == BPF_LSH ? a << operand : a >> operand;
            break;
          default: throw std::logic_error(fmt::format("ALU instruction {:#x} at {}", in.code, pc));
        }
        break;
      case BPF_JMP:
        switch (BPF_OP(in.code)) {
          case BPF_JA: jump(in.k); break;
          case BPF_JEQ: jump(a == operand ? in.jt : in.jf); break;
          case BPF_JGT: jump(a > operand ? in.jt : in.jf); break;
          case BPF_JGE: jump(a >= operand ? in.jt : in.jf); break;
          case BPF_JSET: jump((a & operand) != 0 ? in.jt : in.jf); break;
          default: throw std::logic_error(fmt::format("jump instruction {:#x} at {}", in.code, pc));
        }
        break;
      case BPF_RET:
        if (BPF_RVAL(in.code) == BPF_K) return in.k;
        if (BPF_RVAL(in.code) == BPF_A) return a;
        throw std::logic_error(fmt::format("return instruction {:#x} at {}", in.code, pc));
      case BPF_MISC:
        if (BPF_MISCOP(in.code) == BPF_TAX) {
          x = a;
        } else if (BPF_MISCOP(in.code) == BPF_TXA) {
          a = x;
        } else {
          throw std::logic_error(fmt::format("misc instruction {:#x} at {}", in.code, pc));
        }
        break;
    }
  }
  throw std::logic_error("the program ends without a return");
}

// How a runtime reads the JSON profile it is given: the semantics Docker's profile and the
// OCI's linux.seccomp share (entries are alternatives, the args of one entry must all hold,
// comparisons are on the whole 64-bit register, names the architecture lacks are skipped),
// plus what each runtime does its own way. Names resolve as gatebox resolves them: the
// runtime's own table is assumed to know every x86_64 call gatebox knows.
struct ProfileReader {
  std::string runtime;                    // for messages: "runc", "runsc"
  bool honours_errno_ret = true;          // false: every SCMP_ACT_ERRNO answers EPERM
  bool knows_kill_process = true;         // false: the runtime refuses SCMP_ACT_KILL_PROCESS ...
  bool knows_log = true;                  // ... or SCMP_ACT_LOG, and with it the whole profile
  bool enosys_above_newest = false;       // ENOSYS for numbers above every call the profile names
  bool refuses_rule_after_blanket = false;  // "unreachable action": an entry for a name that an
                                            // earlier entry already allows or denies outright
};

// runc, behind Docker: its ENOSYS stub (libcontainer/seccomp/patchbpf) answers calls newer
// than the profile's newest with ENOSYS, unless the default action lets calls through.
inline ProfileReader runc_reader() { return {.runtime = "runc", .enosys_above_newest = true}; }

// runsc (2022, Debian's 0.0~20221219) with --oci-seccomp (runsc/specutils/seccomp): EPERM
// for every errno rule, SCMP_ACT_KILL but neither KILL_PROCESS nor LOG, and its rule sets
// refuse a rule made unreachable by an earlier unconditional one.
inline ProfileReader runsc_reader() {
  return {.runtime = "runsc",
          .honours_errno_ret = false,
          .knows_kill_process = false,
          .knows_log = false,
          .refuses_rule_after_blanket = true};
}

namespace detail {

inline void check_keys(const nlohmann::json& object, const std::set<std::string>& known, std::string_view what) {
  for (const auto& item : object.items()) {
    // A key this reader does not know may change the meaning (Docker's includes/excludes).
    if (!known.contains(item.key())) throw std::invalid_argument(fmt::format("{}: unknown key '{}'", what, item.key()));
  }
}

inline const nlohmann::json* member(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

inline Answer action_of(const nlohmann::json& action, const nlohmann::json* errno_ret, const ProfileReader& reader) {
  const std::string name = action.get<std::string>();
  if (name == "SCMP_ACT_ALLOW") return allowed();
  if (name == "SCMP_ACT_ERRNO") {
    return failed_with(reader.honours_errno_ret && errno_ret != nullptr ? errno_ret->get<int>() : EPERM);
  }
  if (name == "SCMP_ACT_KILL") return {Answer::Kind::kill_thread};
  if (name == "SCMP_ACT_KILL_PROCESS" && reader.knows_kill_process) return {Answer::Kind::kill_process};
  if (name == "SCMP_ACT_LOG" && reader.knows_log) return {Answer::Kind::log};
  throw std::invalid_argument(fmt::format("{} refuses the profile: it has no action {}", reader.runtime, name));
}

inline bool holds(const nlohmann::json& cond, const Call& call) {
  const std::uint64_t arg = call.args[cond.at("index").get<unsigned>()];
  const auto value = cond.at("value").get<std::uint64_t>();
  const std::string op = cond.at("op").get<std::string>();
  if (op == "SCMP_CMP_EQ") return arg == value;
  if (op == "SCMP_CMP_NE") return arg != value;
  if (op == "SCMP_CMP_LT") return arg < value;
  if (op == "SCMP_CMP_LE") return arg <= value;
  if (op == "SCMP_CMP_GT") return arg > value;
  if (op == "SCMP_CMP_GE") return arg >= value;
  if (op == "SCMP_CMP_MASKED_EQ") return (arg & value) == cond.value("valueTwo", std::uint64_t{0});
  throw std::invalid_argument("unknown comparison " + op);
}

// Every condition of an entry is checked, whichever call is asked about: the runtime reads
// the whole profile before the first call.
inline bool all_hold(const nlohmann::json& conds, const Call& call) {
  std::set<unsigned> indexes;
  bool all = true;
  for (const auto& cond : conds) {
    check_keys(cond, {"index", "value", "valueTwo", "op"}, "argument condition");
    const auto index = cond.at("index").get<unsigned>();
    if (index > 5) throw std::invalid_argument(fmt::format("argument index {}", index));
    // runc and runsc OR several conditions on one argument, libseccomp ANDs them: such an
    // entry would mean different things on different stacks.
    if (!indexes.insert(index).second) throw std::invalid_argument("two conditions on one argument in one entry");
    all = holds(cond, call) && all;
  }
  return all;
}

}  // namespace detail

// What `profile` (Docker's seccomp JSON or OCI linux.seccomp) does to `call` when `reader`
// enforces it. Throws std::invalid_argument where the runtime would refuse the profile, or
// where two entries that both match would answer differently.
inline Answer run_profile(const nlohmann::json& profile, const ProfileReader& reader, const Call& call) {
  detail::check_keys(profile, {"defaultAction", "defaultErrnoRet", "architectures", "syscalls"}, "profile");
  if (profile.contains("architectures")) {
    const auto& arches = profile.at("architectures");
    if (std::find(arches.begin(), arches.end(), "SCMP_ARCH_X86_64") == arches.end()) {
      throw std::invalid_argument("the profile does not cover SCMP_ARCH_X86_64");
    }
  }
  // Checked first: a runtime that cannot read the default action refuses the whole profile.
  const Answer fallback =
      detail::action_of(profile.at("defaultAction"), detail::member(profile, "defaultErrnoRet"), reader);
  const std::string name = x86_64_syscall_name(call.nr);
  std::optional<Answer> answer;
  std::set<std::string> decided_outright;
  int newest = -1;
  for (const auto& entry : profile.at("syscalls")) {
    detail::check_keys(entry, {"names", "action", "args", "errnoRet"}, "syscall entry");
    const nlohmann::json conds = entry.value("args", nlohmann::json::array());
    const Answer action = detail::action_of(entry.at("action"), detail::member(entry, "errnoRet"), reader);
    bool names_call = false;
    for (const auto& n : entry.at("names")) {
      const std::string entry_name = n.get<std::string>();
      if (reader.refuses_rule_after_blanket && decided_outright.contains(entry_name)) {
        throw std::invalid_argument(fmt::format("{} refuses the profile: '{}' has an entry after an unconditional one",
                                                reader.runtime, entry_name));
      }
      if (auto nr = x86_64_syscall_number(entry_name)) newest = std::max(newest, *nr);
      names_call = names_call || entry_name == name;
    }
    if (conds.empty()) {
      for (const auto& n : entry.at("names")) decided_outright.insert(n.get<std::string>());
    }
    if (!detail::all_hold(conds, call) || !names_call) continue;
    if (answer && *answer != action) {
      throw std::invalid_argument(fmt::format("entries for '{}' that both match answer differently", name));
    }
    answer = action;
  }
  if (answer) return *answer;
  const bool lets_through = fallback.kind == Answer::Kind::allow || fallback.kind == Answer::Kind::log;
  if (reader.enosys_above_newest && !lets_through && fallback != failed_with(ENOSYS) && call.nr > newest) {
    return failed_with(ENOSYS);
  }
  return fallback;
}

}  // namespace gatebox::test
