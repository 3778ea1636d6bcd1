#pragma once
// The guest agent's side channel: authenticated frames on the VM's serial console.
//
// The console is one byte stream shared by the agent, the guest kernel (printk, panics) and
// anything the gate manages to write to /dev/console or /dev/ttyS0. Frames are therefore
// self-delimiting and carry an HMAC-SHA256 keyed with a per-run secret that only gatebox and
// the agent know; the decoder skips every byte that is not part of an authentic frame (and
// keeps the tail of those bytes, which is where a kernel panic message ends up).
//
// Wire format (all integers little-endian):
//   magic   4  "\x1bGB1"
//   type    1  FrameType
//   seq     4  0, 1, 2, ... per run; a gap means a frame was lost or damaged
//   length  4  payload bytes, at most kMaxFramePayload
//   htag    8  first 8 bytes of HMAC(secret, "h" | type | seq | length): rejects forged
//              headers at once, so a fake header cannot make the decoder wait for bytes
//   payload length bytes
//   tag    32  HMAC(secret, "p" | type | seq | length | payload)
// Compiled into both gatebox and the static agent (src/guest/): no dependency beyond libc
// and libcrypto's SHA-256.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatebox::vm {

inline constexpr std::size_t kSecretBytes = 32;
inline constexpr std::size_t kMaxFramePayload = 4096;
inline constexpr std::size_t kFrameHeaderBytes = 4 + 1 + 4 + 4 + 8;
inline constexpr std::size_t kFrameTagBytes = 32;
inline constexpr std::string_view kFrameMagic{"\x1bGB1", 4};

using Secret = std::array<std::uint8_t, kSecretBytes>;

enum class FrameType : std::uint8_t {
  hello = 1,    // agent is up; payload: agent version (text)
  started = 2,  // the gate's execve is about to happen (cold start ends here)
  out = 3,      // gate's stdout bytes
  err = 4,      // gate's stderr bytes
  verdict = 5,  // contents of verdict.file (may span several frames, appended in order)
  exit = 6,     // JSON: see ExitReport in job.hpp; always the last frame
  failure = 7,  // the agent could not set the gate up; payload: one line of text. Last frame.
};

// One frame, fully encoded (header, payload, tag). `payload.size()` <= kMaxFramePayload.
std::string encode_frame(const Secret& secret, FrameType type, std::uint32_t seq,
                         std::string_view payload);

struct Frame {
  FrameType type;
  std::uint32_t seq;
  std::string payload;
};

// Incremental decoder for the console stream. Feed it bytes as they arrive; it yields
// authentic frames in order. It never trusts a length or a type before the header tag
// checks out, and it never gives up on the stream: after a bad frame it resumes the search
// one byte after the bad magic.
class FrameDecoder {
 public:
  explicit FrameDecoder(const Secret& secret);

  // Appends bytes, returns the authentic frames completed by them (in stream order).
  std::vector<Frame> feed(std::string_view bytes);

  // Bytes that were not part of an authentic frame, the last `kConsoleTail` of them: the
  // guest kernel's messages (e.g. "Kernel panic - not syncing: ...") and anything forged.
  std::string console_tail() const;
  // Counts for the report and for the "malformed" decision of the caller.
  std::uint64_t rejected_headers() const { return rejected_headers_; }  // magic seen, header tag wrong
  std::uint64_t rejected_frames() const { return rejected_frames_; }    // header ok, payload tag wrong
  // The next sequence number an authentic frame must carry. An authentic frame with
  // another number means frames were lost; the decoder reports it via `sequence_error`.
  std::uint32_t next_seq() const { return next_seq_; }
  const std::optional<std::string>& sequence_error() const { return sequence_error_; }

  static constexpr std::size_t kConsoleTail = 4096;

 private:
  Secret secret_;
  std::string buffer_;
  std::string console_;
  std::uint64_t rejected_headers_ = 0;
  std::uint64_t rejected_frames_ = 0;
  std::uint32_t next_seq_ = 0;
  std::optional<std::string> sequence_error_;
};

// HMAC-SHA256 (RFC 2104) over the concatenation of `parts`.
std::array<std::uint8_t, 32> hmac_sha256(const Secret& key, const std::vector<std::string_view>& parts);

}  // namespace gatebox::vm
