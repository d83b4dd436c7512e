// Seeded random mutations of valid messages: decoding never throws or crashes, and whatever it
// accepts can be read in full. Deterministic: the seed fixes every input.

#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "byte_buffers.hpp"
#include "message_samples.hpp"
#include "util/rng.hpp"

namespace aladdin::test {
namespace {

// Interesting word values: zero, all ones, and pointers with extreme offsets and counts.
constexpr std::array<std::uint64_t, 6> special_words = {
    0, ~0ULL, 0x0000000100000000ULL, 0xfffffffc00000001ULL, 0x7ffffffc00000000ULL, 0xffffffff00000001ULL};

void mutate(std::vector<std::byte>& bytes, const std::vector<std::vector<std::byte>>& pool, rng& r) {
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

struct outcome_counts {
  int ok = 0;
  std::array<int, 5> errors{};  // by decode_errc
};

template <class Envelope>
void decode_and_read(std::span<const std::byte> bytes, bool in_place, outcome_counts& counts) {
  auto d = in_place ? codec::decode_envelope_in_place<Envelope>(bytes)
                    : codec::decode_envelope<Envelope>(bytes);
  if (!d.ok()) {
    ++counts.errors[static_cast<std::size_t>(d.error().code)];
    CHECK(!d.error().detail.empty());
    return;
  }
  ++counts.ok;
  // Accepted means readable: stringifying visits every field through the generated readers.
  CHECK_NOTHROW((void)kj::str(d.value().root()));
}

TEST_CASE("schema codec fuzz: mutated messages decode to a value or a typed error, never a crash") {
  std::vector<std::vector<std::byte>> pool;
  for (const auto& s : client_samples()) pool.push_back(copy_bytes(encode_sample(s).bytes()));
  for (const auto& s : worker_samples()) pool.push_back(copy_bytes(encode_sample(s).bytes()));

  rng r(20240611);
  outcome_counts client, worker;
  for (int i = 0; i < 50000; ++i) {
    auto bytes = pool[r.below(pool.size())];
    const auto mutations = 1 + r.below(4);
    for (std::uint64_t m = 0; m < mutations; ++m) mutate(bytes, pool, r);
    // Decode at a random misalignment, as frames arrive off a TCP socket.
    placed_bytes placed(bytes, r.below(8));
    const bool in_place = r.below(2) == 0;
    decode_and_read<client_wire::Envelope>(placed.span(), in_place, client);
    decode_and_read<worker_wire::Envelope>(placed.span(), in_place, worker);
  }
  MESSAGE("client ok " << client.ok << ", malformed " << client.errors[0] << ", oversized "
                       << client.errors[1] << ", unknown " << client.errors[2] << ", version "
                       << client.errors[3]);
  // The loop explored both sides of the decoder, and the common error paths.
  CHECK(client.ok > 100);
  CHECK(worker.ok > 100);
  CHECK(client.errors[static_cast<std::size_t>(codec::decode_errc::malformed)] > 10000);
  CHECK(client.errors[static_cast<std::size_t>(codec::decode_errc::unknown_message)] > 0);
  CHECK(client.errors[static_cast<std::size_t>(codec::decode_errc::version_mismatch)] > 0);
  CHECK(client.errors[static_cast<std::size_t>(codec::decode_errc::internal)] == 0);
  CHECK(worker.errors[static_cast<std::size_t>(codec::decode_errc::internal)] == 0);
}

}  // namespace
}  // namespace aladdin::test
