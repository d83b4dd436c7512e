// The worker channel's envelopes <-> plain messages, both directions, and what happens to bytes
// that are not a message for the receiver.

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "actors/worker/worker_wire.hpp"

using namespace aladdin;
using namespace aladdin::worker;

namespace {

codec::envelope_header header(std::uint64_t seq = 1) {
  return {codec::protocol_version, "node-1", 4, seq};
}

std::vector<std::byte> bytes_of(const codec::encoded_message& m) {
  return {m.bytes().begin(), m.bytes().end()};
}

// A copy starting one byte into the buffer: what a ZeroMQ TCP frame usually looks like.
struct unaligned {
  explicit unaligned(const std::vector<std::byte>& b) : storage(b.size() + 1) {
    std::memcpy(storage.data() + 1, b.data(), b.size());
  }
  std::span<const std::byte> span() const { return {storage.data() + 1, storage.size() - 1}; }
  std::vector<std::byte> storage;
};

}  // namespace

TEST_CASE("worker wire: every control-plane message survives a round trip, unaligned") {
  const std::vector<inbound> messages = {
      registered_msg{17, 99},
      assign_query_msg{1ull << 40, 1234, 200, 512, 1'700'000'000'000'123},
      cancel_query_msg{77},
      drain_msg{1'700'000'005'000'000},
      shutdown_msg{"scale down"},
      error_msg{error_code::unknown_worker, "restarted"},
  };
  for (const auto& m : messages) {
    const unaligned in(bytes_of(encode_inbound(m, header(5))));
    auto r = decode_inbound(in.span());
    REQUIRE(r.ok());
    CHECK(r.value().message == m);
    CHECK(r.value().header == header(5));
  }
}

TEST_CASE("worker wire: every worker message survives a round trip, unaligned") {
  heartbeat_msg hb;
  hb.worker_id = 3;
  hb.at = 1'700'000'000'000'456;
  hb.kv_blocks_used = 120;
  hb.kv_blocks_total = 28000;
  for (std::uint32_t i = 0; i < 300; ++i) hb.running.push_back({1000 + i, i});
  hb.waiting_count = 5000;
  for (std::uint64_t i = 0; i < 4096; ++i) hb.waiting.push_back(9000 + i);
  const std::vector<outbound> messages = {
      register_worker_msg{"host-1", "llama2-70b", "a100-80gb", 4, 459'000, 16},
      hb,
      first_token_msg{8, 1'700'000'000'000'789},
      query_completed_msg{8, 321, 1'700'000'000'100'000},
      query_rejected_msg{9, reject_reason::too_large, "prompt too long"},
      query_rejected_msg{10, reject_reason::invalid, "draining"},
      error_msg{error_code::malformed, "garbage"},
  };
  for (const auto& m : messages) {
    const auto encoded = encode_outbound(m, header());
    // The largest heartbeat the worker sends stays within the channel's limit.
    CHECK(encoded.size() <= codec::decode_limits::channel().max_bytes);
    const unaligned in(bytes_of(encoded));
    auto r = decode_outbound(in.span());
    REQUIRE(r.ok());
    CHECK(r.value().message == m);
  }
}

TEST_CASE("worker wire: a message travelling the wrong way is an unknown message") {
  auto r = decode_inbound(encode_outbound(first_token_msg{1, 2}, header()).bytes());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == codec::decode_errc::unknown_message);
  CHECK(r.error().detail.find("firstToken") != std::string::npos);
  CHECK(error_for(r.error()).code == error_code::unknown_message);

  auto back = decode_outbound(encode_inbound(cancel_query_msg{1}, header()).bytes());
  REQUIRE_FALSE(back.ok());
  CHECK(back.error().code == codec::decode_errc::unknown_message);
}

TEST_CASE("worker wire: garbage, oversized and wrong-version frames are typed errors") {
  const std::vector<std::byte> garbage(13, std::byte{0x5a});
  auto g = decode_inbound(garbage);
  REQUIRE_FALSE(g.ok());
  CHECK(error_for(g.error()).code == error_code::malformed);

  const std::vector<std::byte> big(codec::decode_limits::channel().max_bytes + 8);
  auto o = decode_inbound(big);
  REQUIRE_FALSE(o.ok());
  CHECK(error_for(o.error()).code == error_code::oversized);

  auto h = header();
  h.protocol_version = codec::protocol_version + 1;
  auto v = decode_inbound(encode_inbound(drain_msg{0}, h).bytes());
  REQUIRE_FALSE(v.ok());
  CHECK(error_for(v.error()).code == error_code::version_mismatch);

  auto e = decode_inbound(std::span<const std::byte>{});
  REQUIRE_FALSE(e.ok());
  CHECK(error_for(e.error()).code == error_code::malformed);
}
