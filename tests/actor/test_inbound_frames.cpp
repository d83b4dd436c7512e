// The node's reading of frames off the network (node::read_client_frame / read_worker_frame,
// what the bridge runs for every frame) on the schema fuzz loop's seeded mutations. The node's
// decode copies every field out instead of the codec's visit of every field
// (decode_limits::visit_fields); this checks that the two agree on what the node hands on:
// never a crash or an exception, a refusal says why, and whatever the node takes the codec's
// full validation takes too. Deterministic: the seed fixes every input.

#include <doctest/doctest.h>

#include <variant>
#include <vector>

#include "actors/wire/inbound_frame.hpp"
#include "tests/schema/byte_buffers.hpp"
#include "tests/schema/message_samples.hpp"
#include "tests/schema/mutations.hpp"

using namespace aladdin;

TEST_CASE("node frames: mutated frames are refused with a reason, or pass the codec's full validation") {
  const auto pool = test::encoded_sample_pool();
  const auto limits = codec::decode_limits::channel();
  rng r(20240612);
  int client_taken = 0, worker_taken = 0, refused = 0, disagreements = 0, silent_refusals = 0;
  for (int i = 0; i < 50000; ++i) {
    auto bytes = pool[r.below(pool.size())];
    const auto mutations = 1 + r.below(4);
    for (std::uint64_t m = 0; m < mutations; ++m) test::mutate(bytes, pool, r);
    const test::placed_bytes placed(bytes, r.below(8));

    const node::client_frame c = node::read_client_frame(placed.span(), limits);
    if (const auto* no = std::get_if<node::frame_refusal>(&c)) {
      ++refused;
      if (no->detail.empty()) ++silent_refusals;
    } else if (std::holds_alternative<client_channel::submit_query>(c)) {
      ++client_taken;
      if (!codec::decode_envelope<test::client_wire::Envelope>(placed.span(), limits).ok()) ++disagreements;
    }
    const node::worker_frame w = node::read_worker_frame(placed.span(), limits);
    if (const auto* no = std::get_if<node::frame_refusal>(&w)) {
      ++refused;
      if (no->detail.empty()) ++silent_refusals;
    } else if (!std::holds_alternative<node::peer_error>(w)) {
      ++worker_taken;
      if (!codec::decode_envelope<test::worker_wire::Envelope>(placed.span(), limits).ok()) ++disagreements;
    }
  }
  MESSAGE("client frames taken " << client_taken << ", worker frames taken " << worker_taken << ", refused "
                                 << refused);
  CHECK(disagreements == 0);
  CHECK(silent_refusals == 0);
  // The loop reached both sides of each decoder.
  CHECK(client_taken > 50);
  CHECK(worker_taken > 50);
  CHECK(refused > 50000);
}
