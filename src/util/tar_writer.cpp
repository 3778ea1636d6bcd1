#include "util/tar_writer.hpp"

#include <cstring>

#include <fmt/format.h>

namespace gatebox {
namespace {

constexpr std::size_t kBlock = 512;

// Writes `value` as octal into a field of `width` bytes (digits, then NUL); false if it does not fit.
bool put_octal(char* field, std::size_t width, std::uint64_t value) {
  const std::string digits = fmt::format("{:0{}o}", value, width - 1);
  if (digits.size() > width - 1) return false;
  std::memcpy(field, digits.data(), digits.size());
  field[width - 1] = '\0';
  return true;
}

// One pax record: "LEN key=value\n", where LEN counts the whole record, itself included.
std::string pax_record(std::string_view key, std::string_view value) {
  const std::size_t body = 1 + key.size() + 1 + value.size() + 1;  // " key=value\n"
  std::size_t len = body + 1;
  while (std::to_string(len).size() + body > len) ++len;
  return fmt::format("{} {}={}\n", len, key, value);
}

std::string make_header(std::string_view name, char type, const TarWriter::Entry& e, std::uint64_t size,
                        std::string* pax) {
  std::string h(kBlock, '\0');
  auto field = [&](std::size_t off) { return h.data() + off; };
  if (name.size() <= 100) {
    std::memcpy(field(0), name.data(), name.size());
  } else {
    if (pax) *pax += pax_record("path", name);
    std::memcpy(field(0), name.data(), 100);
  }
  put_octal(field(100), 8, e.mode & 07777);
  if (!put_octal(field(108), 8, e.uid) && pax) *pax += pax_record("uid", std::to_string(e.uid));
  if (!put_octal(field(116), 8, e.gid) && pax) *pax += pax_record("gid", std::to_string(e.gid));
  if (!put_octal(field(124), 12, size) && pax) *pax += pax_record("size", std::to_string(size));
  put_octal(field(136), 12, e.mtime < 0 ? 0 : static_cast<std::uint64_t>(e.mtime));
  h[156] = type;
  if (e.link.size() <= 100) {
    std::memcpy(field(157), e.link.data(), e.link.size());
  } else {
    if (pax) *pax += pax_record("linkpath", e.link);
    std::memcpy(field(157), e.link.data(), 100);
  }
  std::memcpy(field(257), "ustar", 6);
  std::memcpy(field(263), "00", 2);
  put_octal(field(329), 8, e.dev_major);
  put_octal(field(337), 8, e.dev_minor);
  std::memset(field(148), ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  put_octal(field(148), 7, sum);  // six digits and a NUL; the eighth byte stays a space
  return h;
}

}  // namespace

bool TarWriter::emit(std::string_view bytes) {
  if (ok_ && !bytes.empty()) ok_ = sink_(bytes);
  return ok_;
}

bool TarWriter::pad_entry() {
  const std::size_t rest = static_cast<std::size_t>(written_ % kBlock);
  written_ = 0;
  if (rest == 0) return ok_;
  return emit(std::string(kBlock - rest, '\0'));
}

bool TarWriter::begin(const Entry& e) {
  if (left_ != 0) return ok_ = false;  // the previous file's data is incomplete
  if (!pad_entry()) return false;
  const std::uint64_t size = e.type == Type::file ? e.size : 0;
  std::string pax;
  std::string header = make_header(e.path, static_cast<char>(e.type), e, size, &pax);
  if (!pax.empty()) {
    Entry x;
    x.mode = 0644;
    x.mtime = e.mtime;
    const std::string xname = fmt::format("PaxHeaders/{}", e.path.substr(0, 80));
    if (!emit(make_header(xname, 'x', x, pax.size(), nullptr))) return false;
    if (!emit(pax)) return false;
    written_ = pax.size();
    if (!pad_entry()) return false;
  }
  if (!emit(header)) return false;
  left_ = size;
  return ok_;
}

bool TarWriter::data(std::string_view bytes) {
  if (bytes.size() > left_) return ok_ = false;
  left_ -= bytes.size();
  written_ += bytes.size();
  return emit(bytes);
}

bool TarWriter::finish() {
  if (left_ != 0) return ok_ = false;
  if (!pad_entry()) return false;
  return emit(std::string(2 * kBlock, '\0'));
}

}  // namespace gatebox
