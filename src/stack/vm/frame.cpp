// The low-level SHA-256 functions are deprecated in OpenSSL 3 in favour of EVP, but EVP's
// provider machinery would drag most of libcrypto into the static guest agent and cost
// milliseconds of set-up per process; the plain block functions are all HMAC needs.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "stack/vm/frame.hpp"

#include <openssl/sha.h>

#include <cstring>
#include <stdexcept>

namespace gatebox::vm {
namespace {

constexpr std::size_t kBlock = 64;  // SHA-256 block size, the HMAC key pad length

void put_u32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t get_u32(const char* in) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

// The authenticated fields of a header, as they are hashed: type | seq | length.
struct HeaderFields {
  char bytes[9];
  HeaderFields(std::uint8_t type, std::uint32_t seq, std::uint32_t length) {
    bytes[0] = static_cast<char>(type);
    put_u32(bytes + 1, seq);
    put_u32(bytes + 5, length);
  }
  std::string_view view() const { return {bytes, sizeof bytes}; }
};

std::array<std::uint8_t, 32> header_mac(const Secret& secret, const HeaderFields& h) {
  return hmac_sha256(secret, {std::string_view("h", 1), h.view()});
}

std::array<std::uint8_t, 32> payload_mac(const Secret& secret, const HeaderFields& h, std::string_view payload) {
  return hmac_sha256(secret, {std::string_view("p", 1), h.view(), payload});
}

// Constant time, so the decoder's timing tells a forger nothing about how close a tag was.
bool same_bytes(const std::uint8_t* a, const char* b, std::size_t n) {
  unsigned diff = 0;
  for (std::size_t i = 0; i < n; ++i) diff |= a[i] ^ static_cast<unsigned char>(b[i]);
  return diff == 0;
}

bool known_type(std::uint8_t t) {
  return t >= static_cast<std::uint8_t>(FrameType::hello) && t <= static_cast<std::uint8_t>(FrameType::failure);
}

// Length of the longest suffix of `s` that is a proper prefix of the magic: those bytes may
// be the start of a frame whose remainder has not arrived yet.
std::size_t partial_magic_suffix(std::string_view s) {
  for (std::size_t n = std::min(s.size(), kFrameMagic.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == kFrameMagic.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

std::array<std::uint8_t, 32> hmac_sha256(const Secret& key, const std::vector<std::string_view>& parts) {
  std::uint8_t ipad[kBlock];
  std::uint8_t opad[kBlock];
  std::memset(ipad, 0x36, kBlock);
  std::memset(opad, 0x5c, kBlock);
  for (std::size_t i = 0; i < key.size(); ++i) {
    ipad[i] ^= key[i];
    opad[i] ^= key[i];
  }
  std::array<std::uint8_t, 32> inner{};
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, ipad, kBlock);
  for (std::string_view part : parts) SHA256_Update(&ctx, part.data(), part.size());
  SHA256_Final(inner.data(), &ctx);

  std::array<std::uint8_t, 32> out{};
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, opad, kBlock);
  SHA256_Update(&ctx, inner.data(), inner.size());
  SHA256_Final(out.data(), &ctx);
  return out;
}

std::string encode_frame(const Secret& secret, FrameType type, std::uint32_t seq, std::string_view payload) {
  if (payload.size() > kMaxFramePayload) {
    throw std::invalid_argument("frame payload of " + std::to_string(payload.size()) + " bytes exceeds " +
                                std::to_string(kMaxFramePayload));
  }
  const auto t = static_cast<std::uint8_t>(type);
  const HeaderFields fields(t, seq, static_cast<std::uint32_t>(payload.size()));
  const auto htag = header_mac(secret, fields);
  const auto tag = payload_mac(secret, fields, payload);

  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size() + kFrameTagBytes);
  out.append(kFrameMagic);
  out.append(fields.view());
  out.append(reinterpret_cast<const char*>(htag.data()), 8);
  out.append(payload);
  out.append(reinterpret_cast<const char*>(tag.data()), tag.size());
  return out;
}

FrameDecoder::FrameDecoder(const Secret& secret) : secret_(secret) {}

std::vector<Frame> FrameDecoder::feed(std::string_view bytes) {
  buffer_.append(bytes);
  std::vector<Frame> frames;
  std::size_t pos = 0;  // consumed prefix of buffer_, erased once at the end
  auto to_console = [&](std::size_t n) {
    console_.append(buffer_, pos, n);
    pos += n;
  };

  while (pos < buffer_.size()) {
    const std::string_view rest(buffer_.data() + pos, buffer_.size() - pos);
    const std::size_t magic_at = rest.find(kFrameMagic);
    if (magic_at == std::string_view::npos) {
      to_console(rest.size() - partial_magic_suffix(rest));
      break;
    }
    to_console(magic_at);
    if (buffer_.size() - pos < kFrameHeaderBytes) break;

    const char* h = buffer_.data() + pos;
    const auto type = static_cast<std::uint8_t>(h[4]);
    const std::uint32_t seq = get_u32(h + 5);
    const std::uint32_t length = get_u32(h + 9);
    const HeaderFields fields(type, seq, length);
    // The header tag is checked before the length is believed: a forged header with a huge
    // length must not make us buffer (and hide) the genuine frames that follow it.
    if (!same_bytes(header_mac(secret_, fields).data(), h + 13, 8) || length > kMaxFramePayload ||
        !known_type(type)) {
      ++rejected_headers_;
      to_console(1);
      continue;
    }
    const std::size_t total = kFrameHeaderBytes + length + kFrameTagBytes;
    if (buffer_.size() - pos < total) break;

    const std::string_view payload(h + kFrameHeaderBytes, length);
    if (!same_bytes(payload_mac(secret_, fields, payload).data(), h + kFrameHeaderBytes + length, kFrameTagBytes)) {
      ++rejected_frames_;
      to_console(1);
      continue;
    }
    pos += total;
    // After a gap nothing is delivered any more: a stream with a hole in it cannot be
    // trusted to say how the gate ended.
    if (sequence_error_) continue;
    if (seq != next_seq_) {
      sequence_error_ = "frame " + std::to_string(seq) + " arrived where frame " + std::to_string(next_seq_) +
                        " was expected (frames were lost or damaged on the console)";
      continue;
    }
    ++next_seq_;
    frames.push_back(Frame{static_cast<FrameType>(type), seq, std::string(payload)});
  }
  buffer_.erase(0, pos);
  if (console_.size() > 2 * kConsoleTail) console_.erase(0, console_.size() - kConsoleTail);
  return frames;
}

std::string FrameDecoder::console_tail() const {
  if (console_.size() <= kConsoleTail) return console_;
  return console_.substr(console_.size() - kConsoleTail);
}

}  // namespace gatebox::vm
