#pragma once
// Seeded mutations of valid frames, as a hostile or broken peer would send them: the schema's
// fuzz loop (test_codec_fuzz.cpp) and the node's (tests/actor/test_inbound_frames.cpp) share them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "byte_buffers.hpp"
#include "message_samples.hpp"
#include "util/rng.hpp"

namespace aladdin::test {

// Interesting word values: zero, all ones, and pointers with extreme offsets and counts.
inline constexpr std::array<std::uint64_t, 6> special_words = {
    0, ~0ULL, 0x0000000100000000ULL, 0xfffffffc00000001ULL, 0x7ffffffc00000000ULL, 0xffffffff00000001ULL};

inline void mutate(std::vector<std::byte>& bytes, const std::vector<std::vector<std::byte>>& pool, rng& r) {
  if (bytes.empty()) return;
  switch (r.below(7)) {
    case 0: {  // flip one bit
      const auto i = r.below(bytes.size());
      bytes[i] ^= static_cast<std::byte>(1u << r.below(8));
      break;
    }
    case 1:  // overwrite a byte
      bytes[r.below(bytes.size())] = static_cast<std::byte>(r.below(256));
      break;
    case 2: {  // overwrite an aligned word with a special value (pointers, counts, table)
      if (bytes.size() < 8) break;
      set_word(bytes, r.below(bytes.size() / 8), special_words[r.below(special_words.size())]);
      break;
    }
    case 3:  // truncate
      bytes.resize(r.below(bytes.size() + 1));
      break;
    case 4: {  // append random bytes
      const auto n = r.below(17);
      for (std::uint64_t i = 0; i < n; ++i) bytes.push_back(static_cast<std::byte>(r.below(256)));
      break;
    }
    case 5: {  // splice the tail of another valid message
      const auto& other = pool[r.below(pool.size())];
      const auto at = r.below(bytes.size());
      const auto from = r.below(other.size());
      bytes.resize(at);
      bytes.insert(bytes.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
      break;
    }
    default: {  // zero a run
      const auto start = r.below(bytes.size());
      const auto n = std::min<std::uint64_t>(r.below(24) + 1, bytes.size() - start);
      for (std::uint64_t i = 0; i < n; ++i) bytes[start + i] = std::byte{0};
      break;
    }
  }
}

// Every sample of both channels, encoded: the pool mutations start from and splice in.
inline std::vector<std::vector<std::byte>> encoded_sample_pool() {
  std::vector<std::vector<std::byte>> pool;
  for (const auto& s : client_samples()) pool.push_back(copy_bytes(encode_sample(s).bytes()));
  for (const auto& s : worker_samples()) pool.push_back(copy_bytes(encode_sample(s).bytes()));
  return pool;
}

}  // namespace aladdin::test
