#include <doctest/doctest.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "stack/vm/frame.hpp"

using namespace gatebox::vm;

namespace {

Secret make_secret(std::uint8_t seed) {
  Secret s{};
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<std::uint8_t>(seed + i * 7);
  return s;
}

std::string hex(const std::array<std::uint8_t, 32>& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto b : d) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

// A stream of frames as the agent would write it: hello, some output, exit.
std::vector<std::string> agent_frames(const Secret& s) {
  return {encode_frame(s, FrameType::hello, 0, "gatebox-init 1"), encode_frame(s, FrameType::started, 1, ""),
          encode_frame(s, FrameType::out, 2, "hello from the gate\n"),
          encode_frame(s, FrameType::err, 3, std::string(kMaxFramePayload, 'e')),
          encode_frame(s, FrameType::exit, 4, R"({"exit_code":0})")};
}

void check_agent_frames(const std::vector<Frame>& frames) {
  REQUIRE(frames.size() == 5);
  CHECK(frames[0].type == FrameType::hello);
  CHECK(frames[0].payload == "gatebox-init 1");
  CHECK(frames[1].type == FrameType::started);
  CHECK(frames[2].payload == "hello from the gate\n");
  CHECK(frames[3].type == FrameType::err);
  CHECK(frames[3].payload.size() == kMaxFramePayload);
  CHECK(frames[4].type == FrameType::exit);
  for (std::size_t i = 0; i < frames.size(); ++i) CHECK(frames[i].seq == i);
}

std::vector<Frame> feed_all(FrameDecoder& d, std::string_view bytes, std::size_t step) {
  std::vector<Frame> out;
  for (std::size_t i = 0; i < bytes.size(); i += step) {
    for (Frame& f : d.feed(bytes.substr(i, step))) out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

TEST_SUITE("vm::frame") {
  TEST_CASE("HMAC-SHA256 over parts equals the standard HMAC of their concatenation") {
    // Key = 32 bytes 0x0b, data "Hi There": the value Python's hmac module gives.
    Secret key{};
    key.fill(0x0b);
    const auto mac = hmac_sha256(key, {"Hi ", "There"});
    CHECK(hex(mac) == "198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7");
  }

  TEST_CASE("frames round-trip, whole and split into single bytes") {
    const Secret s = make_secret(1);
    std::string stream;
    for (const std::string& f : agent_frames(s)) stream += f;
    for (std::size_t step : {stream.size(), std::size_t{1}, std::size_t{7}, std::size_t{4099}}) {
      CAPTURE(step);
      FrameDecoder d(s);
      check_agent_frames(feed_all(d, stream, step));
      CHECK(d.console_tail().empty());
      CHECK(d.rejected_headers() == 0);
      CHECK(d.rejected_frames() == 0);
      CHECK_FALSE(d.sequence_error());
      CHECK(d.next_seq() == 5);
    }
  }

  TEST_CASE("kernel messages and random junk between frames are skipped and kept as console text") {
    const Secret s = make_secret(2);
    std::mt19937 rng(42);
    std::string stream = "[    0.000000] Linux version 6.1.0\r\n";
    for (const std::string& f : agent_frames(s)) {
      stream += f;
      std::string junk;
      const std::size_t n = rng() % 300;
      for (std::size_t i = 0; i < n; ++i) junk += static_cast<char>(rng() % 256);
      // Junk that starts like a frame: a magic with a garbage header.
      junk += std::string(kFrameMagic) + "garbage-header-bytes!";
      stream += junk;
    }
    stream += "tail line\n";
    for (std::size_t step : {std::size_t{1}, std::size_t{13}, stream.size()}) {
      FrameDecoder d(s);
      check_agent_frames(feed_all(d, stream, step));
      CHECK(d.console_tail().find("Linux version 6.1.0") != std::string::npos);
      CHECK(d.console_tail().ends_with("tail line\n"));
      CHECK(d.rejected_headers() >= 5);
      CHECK_FALSE(d.sequence_error());
    }
  }

  TEST_CASE("frames made with another secret are ignored and counted") {
    const Secret good = make_secret(3);
    const Secret forged = make_secret(4);
    FrameDecoder d(good);
    std::string stream = encode_frame(good, FrameType::hello, 0, "gatebox-init 1");
    stream += encode_frame(forged, FrameType::exit, 1, R"({"exit_code":0})");  // a gate's forgery
    stream += encode_frame(good, FrameType::out, 1, "real");
    const auto frames = d.feed(stream);
    REQUIRE(frames.size() == 2);
    CHECK(frames[1].payload == "real");
    CHECK(d.rejected_headers() == 1);
    CHECK_FALSE(d.sequence_error());
  }

  TEST_CASE("a genuine frame damaged in transit is rejected and the next one reports the gap") {
    const Secret s = make_secret(5);
    std::string damaged = encode_frame(s, FrameType::out, 1, "payload that gets a flipped bit");
    damaged[kFrameHeaderBytes + 3] ^= 0x20;
    FrameDecoder d(s);
    auto frames = d.feed(encode_frame(s, FrameType::hello, 0, "x") + damaged);
    CHECK(frames.size() == 1);
    CHECK(d.rejected_frames() == 1);
    CHECK_FALSE(d.sequence_error());
    frames = d.feed(encode_frame(s, FrameType::exit, 2, "{}"));
    CHECK(frames.empty());
    REQUIRE(d.sequence_error());
    CHECK(d.sequence_error()->find("frame 2 arrived where frame 1 was expected") != std::string::npos);
    // Nothing is believed after a gap, not even a frame with the expected number.
    CHECK(d.feed(encode_frame(s, FrameType::exit, 1, "{}")).empty());
  }

  TEST_CASE("a forged header announcing a huge length does not swallow the frames after it") {
    const Secret s = make_secret(6);
    std::string fake(kFrameMagic);
    fake += '\x06';                                     // type exit
    fake += std::string("\x01\x00\x00\x00", 4);         // seq 1
    fake += std::string("\xff\xff\xff\x7f", 4);         // length 2 GiB
    fake += std::string(8, '\0');                       // a guessed header tag
    FrameDecoder d(s);
    auto frames = d.feed(encode_frame(s, FrameType::hello, 0, "x") + fake);
    frames = d.feed(encode_frame(s, FrameType::out, 1, "still here"));
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].payload == "still here");
    CHECK(d.rejected_headers() == 1);
  }

  TEST_CASE("payloads longer than a frame holds cannot be encoded") {
    CHECK_THROWS_AS(encode_frame(make_secret(7), FrameType::out, 0, std::string(kMaxFramePayload + 1, 'x')),
                    std::invalid_argument);
  }

  TEST_CASE("a kernel panic printed mid-stream is in the console tail") {
    const Secret s = make_secret(8);
    FrameDecoder d(s);
    d.feed(encode_frame(s, FrameType::hello, 0, "x"));
    d.feed(std::string(10000, '.'));  // more than the tail keeps
    d.feed("[    1.234567] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\r\n");
    const std::string tail = d.console_tail();
    CHECK(tail.size() <= FrameDecoder::kConsoleTail);
    CHECK(tail.find("Kernel panic - not syncing: Attempted to kill init!") != std::string::npos);
  }

  TEST_CASE("a partial magic at the end of a chunk is held back, not shown as console text") {
    const Secret s = make_secret(9);
    const std::string frame = encode_frame(s, FrameType::hello, 0, "x");
    FrameDecoder d(s);
    CHECK(d.feed("boot\n" + frame.substr(0, 3)).empty());
    CHECK(d.console_tail() == "boot\n");
    const auto frames = d.feed(frame.substr(3));
    CHECK(frames.size() == 1);
    CHECK(d.console_tail() == "boot\n");
  }
}
