#pragma once
// Byte buffers for decode tests: copies of encoded messages placed at a chosen misalignment, and
// little-endian word access for patching a message the way a hostile peer would.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace aladdin::test {

// `bytes` copied to an address `misalign` bytes past an 8-byte boundary.
class placed_bytes {
 public:
  placed_bytes(std::span<const std::byte> bytes, std::size_t misalign)
      : storage_(bytes.size() / 8 + 2), offset_(misalign), size_(bytes.size()) {
    std::memcpy(data(), bytes.data(), bytes.size());
  }
  std::byte* data() { return reinterpret_cast<std::byte*>(storage_.data()) + offset_; }
  std::span<const std::byte> span() const {
    return {reinterpret_cast<const std::byte*>(storage_.data()) + offset_, size_};
  }

 private:
  std::vector<std::uint64_t> storage_;  // 8-byte aligned base
  std::size_t offset_;
  std::size_t size_;
};

inline std::vector<std::byte> copy_bytes(std::span<const std::byte> bytes) {
  return {bytes.begin(), bytes.end()};
}

inline std::uint64_t word_at(const std::vector<std::byte>& b, std::size_t word) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[word * 8 + i])) << (8 * i);
  }
  return v;
}

inline void set_word(std::vector<std::byte>& b, std::size_t word, std::uint64_t v) {
  for (std::size_t i = 0; i < 8; ++i) b[word * 8 + i] = static_cast<std::byte>((v >> (8 * i)) & 0xff);
}

}  // namespace aladdin::test
