// Fuzz target: the VM console frame decoder (stack/vm/frame.hpp).
//
// A fuzzer cannot forge an HMAC, so the input is a small program that builds the console
// stream, with authentic frames made here under a fixed secret:
//   byte 0        k = byte % 8 chunk sizes follow (each byte + 1); the stream is fed to the
//                 decoder in chunks of those sizes, cycling; k = 0: in one piece
//   then records  0x00-0x3f  raw bytes: (op + 1) bytes copied from the input
//                 0x40-0x7f  a forged header: the magic, then (op & 0x3f) input bytes
//                 0x80-0xff  a frame of type (op & 7) (0 is no known type); seq from
//                            (op >> 3) & 3: 0 the next, 1 the previous, 2 one ahead,
//                            3 the next input byte; payload length from 2 input bytes;
//                            op & 0x40 set: damaged, per the next input byte (truncated
//                            or one byte flipped, at a position from 2 more bytes)
//
// Invariants:
//   - the stream gives the same frames and counts whether fed whole or in chunks;
//   - once the decoder has seen kFlush more non-magic bytes (the longest frame), it has
//     delivered exactly the intact frames of known type, in order, up to the first one out
//     of sequence, and reports a sequence error iff there was such a frame;
//   - every delivered payload is at most kMaxFramePayload, the console tail at most
//     kConsoleTail;
//   - after that, a frame with the decoder's next_seq() is delivered at once, unless a
//     sequence error was reported (then nothing is ever delivered again).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "stack/vm/frame.hpp"

namespace {

namespace vm = gatebox::vm;
using gatebox::fuzz::check;

constexpr std::size_t kFlush = vm::kFrameHeaderBytes + vm::kMaxFramePayload + vm::kFrameTagBytes;
constexpr std::size_t kMaxStream = 1 << 16;  // keeps one input fast, even fed a byte at a time

vm::Secret fixed_secret() {
  vm::Secret s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(0xa5 ^ (i * 7));
  return s;
}

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() {
    const std::uint16_t lo = byte();
    return static_cast<std::uint16_t>(lo | (byte() << 8));
  }
  std::string bytes(std::size_t n) {
    const std::size_t take = std::min(n, size_ - std::min(pos_, size_));
    std::string out(reinterpret_cast<const char*>(data_ + pos_), take);
    pos_ += take;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

struct Built {
  std::vector<std::size_t> chunks;
  std::string stream;
  std::vector<vm::Frame> intact;  // authentic, undamaged, known type, in stream order
};

Built build(const vm::Secret& secret, Input& in) {
  Built b;
  const std::size_t k = in.byte() % 8;
  for (std::size_t i = 0; i < k; ++i) b.chunks.push_back(std::size_t{in.byte()} + 1);
  std::uint32_t next = 0;
  while (!in.done() && b.stream.size() < kMaxStream) {
    const std::uint8_t op = in.byte();
    if (op < 0x40) {
      b.stream += in.bytes(std::size_t{op} + 1);
      continue;
    }
    if (op < 0x80) {
      b.stream += vm::kFrameMagic;
      b.stream += in.bytes(op & 0x3f);
      continue;
    }
    const auto type = static_cast<std::uint8_t>(op & 7);
    std::uint32_t seq = next;
    switch ((op >> 3) & 3) {
      case 1: seq = next - 1; break;
      case 2: seq = next + 1; break;
      case 3: seq = in.byte(); break;
      default: break;
    }
    std::string payload = in.bytes(in.u16() % (vm::kMaxFramePayload + 1));
    std::string frame = vm::encode_frame(secret, static_cast<vm::FrameType>(type), seq, payload);
    if ((op & 0x40) != 0) {
      const std::uint8_t how = in.byte();
      const std::size_t at = in.u16() % frame.size();
      if ((how & 1) != 0) {
        frame.resize(at);
      } else {
        frame[at] = static_cast<char>(frame[at] ^ (how | 1));
      }
    } else if (type >= 1 && type <= 7) {
      b.intact.push_back(vm::Frame{static_cast<vm::FrameType>(type), seq, payload});
      next = seq + 1;
    }
    b.stream += frame;
  }
  return b;
}

struct Outcome {
  std::vector<vm::Frame> frames;
  std::uint64_t rejected_headers = 0;
  std::uint64_t rejected_frames = 0;
  std::uint32_t next_seq = 0;
  std::optional<std::string> sequence_error;
  std::string console_tail;
};

bool same_frame(const vm::Frame& a, const vm::Frame& b) {
  return a.type == b.type && a.seq == b.seq && a.payload == b.payload;
}

void append(std::vector<vm::Frame>& to, std::vector<vm::Frame> from) {
  for (vm::Frame& f : from) {
    check(f.payload.size() <= vm::kMaxFramePayload, "delivered payload of " + std::to_string(f.payload.size()));
    to.push_back(std::move(f));
  }
}

Outcome decode(vm::FrameDecoder& d, const std::string& stream, const std::vector<std::size_t>& chunks) {
  Outcome o;
  if (chunks.empty()) {
    append(o.frames, d.feed(stream));
  } else {
    std::size_t i = 0;
    for (std::size_t pos = 0; pos < stream.size(); i = (i + 1) % chunks.size()) {
      const std::size_t n = std::min(chunks[i], stream.size() - pos);
      append(o.frames, d.feed(std::string_view(stream).substr(pos, n)));
      pos += n;
    }
  }
  append(o.frames, d.feed(std::string(kFlush, '\0')));
  o.rejected_headers = d.rejected_headers();
  o.rejected_frames = d.rejected_frames();
  o.next_seq = d.next_seq();
  o.sequence_error = d.sequence_error();
  o.console_tail = d.console_tail();
  check(o.console_tail.size() <= vm::FrameDecoder::kConsoleTail, "console tail over kConsoleTail");
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const vm::Secret secret = fixed_secret();
  Input in(data, size);
  const Built b = build(secret, in);

  vm::FrameDecoder chunked(secret);
  const Outcome got = decode(chunked, b.stream, b.chunks);
  vm::FrameDecoder whole(secret);
  const Outcome ref = decode(whole, b.stream, {});

  check(got.frames.size() == ref.frames.size(), "chunking changed the number of frames delivered");
  for (std::size_t i = 0; i < got.frames.size(); ++i) {
    check(same_frame(got.frames[i], ref.frames[i]), "chunking changed frame " + std::to_string(i));
  }
  check(got.rejected_headers == ref.rejected_headers && got.rejected_frames == ref.rejected_frames,
        "chunking changed the rejection counts");
  check(got.next_seq == ref.next_seq && got.sequence_error == ref.sequence_error,
        "chunking changed the sequence state");
  check(got.console_tail == ref.console_tail, "chunking changed the console tail");

  // The model: intact frames in order while their numbers run 0, 1, 2, ...
  std::size_t in_sequence = 0;
  while (in_sequence < b.intact.size() && b.intact[in_sequence].seq == in_sequence) ++in_sequence;
  check(got.frames.size() == in_sequence, "delivered " + std::to_string(got.frames.size()) + " frames, expected " +
                                              std::to_string(in_sequence));
  for (std::size_t i = 0; i < in_sequence; ++i) {
    check(same_frame(got.frames[i], b.intact[i]), "frame " + std::to_string(i) + " is not the one sent");
  }
  check(got.sequence_error.has_value() == (in_sequence < b.intact.size()),
        "sequence error reported " + std::string(got.sequence_error ? "without" : "despite") + " a frame out of order");
  check(got.next_seq == in_sequence, "next_seq does not follow the frames delivered");

  // The decoder is never stuck after a flush: a genuine next frame comes out at once.
  const std::string last = vm::encode_frame(secret, vm::FrameType::exit, got.next_seq, "{\"end\":true}");
  const std::vector<vm::Frame> after = chunked.feed(last);
  if (got.sequence_error) {
    check(after.empty(), "a frame was delivered after a sequence error");
  } else {
    check(after.size() == 1 && after[0].type == vm::FrameType::exit && after[0].seq == got.next_seq,
          "the next authentic frame was not delivered after the stream");
  }
  return 0;
}
