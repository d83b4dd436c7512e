#pragma once
// Shared by the libFuzzer targets (tests/fuzz/README.md): a property that must hold stops the
// run with a message libFuzzer saves the input for, and frames are laid at a misalignment.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <variant>
#include <vector>

namespace aladdin::fuzz {

// A violated property: printed, then abort() so that libFuzzer keeps the crashing input.
[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

inline void require(bool ok, const char* what) {
  if (!ok) fail(what);
}

// Whether a read frame is a refusal (checked: it says why); the channel targets stop there.
template <class Refusal, class Frame>
bool refused(const Frame& frame) {
  const auto* refusal = std::get_if<Refusal>(&frame);
  if (refusal != nullptr) require(!refusal->detail.empty(), "a refusal without a detail");
  return refusal != nullptr;
}

// The input's first byte chooses where the frame lies past an 8-byte boundary (ZeroMQ TCP
// frames usually are not aligned); the rest is the frame.
class placed_frame {
 public:
  placed_frame(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return;
    offset_ = data[0] % 8;
    size_ = size - 1;
    storage_.resize(size_ / 8 + 2);
    if (size_ > 0) std::memcpy(reinterpret_cast<std::byte*>(storage_.data()) + offset_, data + 1, size_);
  }
  std::span<const std::byte> span() const {
    return {reinterpret_cast<const std::byte*>(storage_.data()) + offset_, size_};
  }

 private:
  std::vector<std::uint64_t> storage_;  // 8-byte aligned base
  std::size_t offset_ = 0;
  std::size_t size_ = 0;
};

}  // namespace aladdin::fuzz
