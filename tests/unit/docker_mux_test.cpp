#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "stack/docker/mux_stream.hpp"

using namespace gatebox;

namespace {

std::string frame(unsigned char stream, const std::string& payload) {
  std::string f(8, '\0');
  f[0] = static_cast<char>(stream);
  const auto n = static_cast<std::uint32_t>(payload.size());
  f[4] = static_cast<char>(n >> 24);
  f[5] = static_cast<char>(n >> 16);
  f[6] = static_cast<char>(n >> 8);
  f[7] = static_cast<char>(n);
  return f + payload;
}

struct Collected {
  std::string out, err;
  std::vector<std::pair<StreamId, std::string>> pieces;
  StreamDemux demux{[this](StreamId s, std::string_view b) {
    (s == StreamId::out ? out : err).append(b);
    pieces.emplace_back(s, std::string(b));
  }};
};

}  // namespace

TEST_SUITE("docker::mux") {
  TEST_CASE("frames are split into stdout and stderr in order") {
    Collected c;
    c.demux.feed(frame(1, "hello\n") + frame(2, "oops\n") + frame(1, "bye\n"));
    CHECK(c.out == "hello\nbye\n");
    CHECK(c.err == "oops\n");
    REQUIRE(c.pieces.size() == 3);
    CHECK(c.pieces[1].first == StreamId::err);
    CHECK(c.demux.at_frame_boundary());
    CHECK(c.demux.error().empty());
  }

  TEST_CASE("frames split across reads at every byte give the same output") {
    const std::string stream = frame(1, "abc") + frame(2, "defgh") + frame(1, "") + frame(1, "ij");
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
      Collected c;
      c.demux.feed(std::string_view(stream).substr(0, cut));
      c.demux.feed(std::string_view(stream).substr(cut));
      CHECK(c.out == "abcij");
      CHECK(c.err == "defgh");
      CHECK(c.demux.at_frame_boundary());
    }
    Collected one;  // one byte a read
    for (char ch : stream) one.demux.feed(std::string_view(&ch, 1));
    CHECK(one.out == "abcij");
    CHECK(one.err == "defgh");
  }

  TEST_CASE("payload is passed on before its frame is complete") {
    Collected c;
    const std::string f = frame(1, "0123456789");
    c.demux.feed(std::string_view(f).substr(0, 12));
    CHECK(c.out == "0123");
    CHECK_FALSE(c.demux.at_frame_boundary());
  }

  TEST_CASE("a huge announced size streams without being buffered") {
    Collected c;
    std::string header(8, '\0');
    header[0] = 1;
    header[4] = header[5] = header[6] = header[7] = static_cast<char>(0xff);  // 4 GiB - 1
    c.demux.feed(header);
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 8; ++i) c.demux.feed(chunk);
    CHECK(c.out.size() == 8u << 20);
    CHECK(c.demux.error().empty());
    CHECK_FALSE(c.demux.at_frame_boundary());  // a stream cut here was truncated
  }

  TEST_CASE("an unknown stream id stops the demultiplexer and drops the rest") {
    Collected c;
    c.demux.feed(frame(1, "before") + frame(7, "hostile") + frame(1, "after"));
    CHECK(c.out == "before");
    CHECK(c.demux.error().find("malformed") != std::string::npos);
    c.demux.feed(frame(1, "later"));
    CHECK(c.out == "before");
  }

  TEST_CASE("non-zero padding bytes in a header are refused") {
    Collected c;
    std::string f = frame(1, "x");
    f[2] = 1;
    c.demux.feed(f);
    CHECK(c.out.empty());
    CHECK_FALSE(c.demux.error().empty());
  }

  TEST_CASE("the daemon's own error stream is kept apart from the gate's output") {
    Collected c;
    c.demux.feed(frame(3, "daemon trouble") + frame(0, "stdin-echo"));
    CHECK(c.demux.daemon_error() == "daemon trouble");
    CHECK(c.out == "stdin-echo");
    CHECK(c.err.empty());
  }
}
