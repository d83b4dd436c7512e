// Seeded random mutations of valid messages: decoding never throws or crashes, and whatever it
// accepts can be read in full. Deterministic: the seed fixes every input.

#include <doctest/doctest.h>

#include <array>
#include <vector>

#include "byte_buffers.hpp"
#include "message_samples.hpp"
#include "mutations.hpp"
#include "util/rng.hpp"

namespace aladdin::test {
namespace {

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
  const std::vector<std::vector<std::byte>> pool = encoded_sample_pool();

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
