// The node's wire codec: every message of both channels round-trips; hostile bytes are typed
// errors.

#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "actors/wire/wire_codec.hpp"
#include "client.capnp.h"
#include "worker.capnp.h"

using namespace aladdin;
using namespace aladdin::node;

namespace {

const codec::envelope_header header{codec::protocol_version, "test", 3, 9};

template <class M, class Decode>
M round_trip(const M& m, Decode decode) {
  const auto bytes = encode(header, m);
  // Off by one byte, as ZeroMQ TCP frames usually are.
  std::vector<std::byte> shifted(bytes.size() + 1);
  std::memcpy(shifted.data() + 1, bytes.bytes().data(), bytes.size());
  auto decoded = decode(std::span<const std::byte>(shifted).subspan(1));
  REQUIRE(decoded.ok());
  return decoded.value();
}

}  // namespace

TEST_CASE("wire codec: every client message round-trips") {
  const std::vector<client_message> all = {
      submit_query{1, 2, 3, 4, 5, "llama2-70b"}, query_accepted{6, 7}, query_rejected{8, reject_code::atgt, "x"},
      client_first_token{9, 10}, token_progress{11, 12}, query_finished{13, 14, 15, 16},
      query_failed{17, failure_code::deadline_exceeded, "late"}, wire_error{error_code::oversized, "big"}};
  for (const auto& m : all) {
    const client_message back = round_trip(m, [](auto b) { return decode_client(b); });
    CHECK(back.index() == m.index());
    CHECK(std::string(message_name(back)) == message_name(m));
  }
  const auto s = std::get<submit_query>(round_trip(all[0], [](auto b) { return decode_client(b); }));
  CHECK(s.client_query_id == 1);
  CHECK(s.prompt_tokens == 2);
  CHECK(s.max_output_tokens == 3);
  CHECK(s.ttft_slo_micros == 4);
  CHECK(s.atgt_slo_micros == 5);
  CHECK(s.model == "llama2-70b");
  const auto f = std::get<query_failed>(round_trip(all[6], [](auto b) { return decode_client(b); }));
  CHECK(f.reason == failure_code::deadline_exceeded);
  CHECK(f.detail == "late");
}

TEST_CASE("wire codec: every worker message round-trips") {
  heartbeat hb{4, 5, 6, 7, {{100, 3}, {101, 4}}, 3, {200, 201}};
  const std::vector<worker_message> all = {
      register_worker{"w", "llama2-70b", "a100-80gb", 4, 123456, 16}, registered{3, 9},
      assign_query{1, 2, 3, 4, 5}, cancel_query{6}, hb, worker_first_token{7, 8},
      query_completed{9, 10, 11}, engine_rejected{12, engine_reject_code::too_large, "no"},
      drain_worker{13}, shutdown_worker{"bye"}, wire_error{error_code::unknown_worker, "who?"}};
  for (const auto& m : all) {
    const worker_message back = round_trip(m, [](auto b) { return decode_worker(b); });
    CHECK(back.index() == m.index());
  }
  const auto h = std::get<heartbeat>(round_trip(all[4], [](auto b) { return decode_worker(b); }));
  CHECK(h.worker_id == 4);
  CHECK(h.running.size() == 2);
  CHECK(h.running[1].query_id == 101);
  CHECK(h.running[1].generated_tokens == 4);
  CHECK(h.waiting_count == 3);
  CHECK(h.waiting == std::vector<std::uint64_t>{200, 201});
  const auto a = std::get<assign_query>(round_trip(all[2], [](auto b) { return decode_worker(b); }));
  CHECK(a.output_tokens_hint == 3);
  CHECK(a.max_output_tokens == 4);
}

TEST_CASE("wire codec: garbage, truncation, wrong version and unknown enum values are typed errors") {
  const std::vector<std::byte> garbage(24, std::byte{0x5a});
  auto g = decode_client(garbage);
  REQUIRE(!g.ok());
  CHECK(g.error().code == codec::decode_errc::malformed);

  const auto bytes = encode(header, client_message{submit_query{1, 2, 3, 4, 5, "m"}});
  auto cut = decode_client(bytes.bytes().first(bytes.size() - 8));
  REQUIRE(!cut.ok());

  codec::envelope_header old = header;
  old.protocol_version = 99;
  auto v = decode_client(encode(old, client_message{query_accepted{1, 2}}).bytes());
  REQUIRE(!v.ok());
  CHECK(v.error().code == codec::decode_errc::version_mismatch);
  CHECK(to_error_code(v.error().code) == error_code::version_mismatch);

  // A reject reason from a newer peer: refused, not mapped to a neighbour.
  codec::envelope_builder<wire::client::Envelope> b(header);
  auto r = b.envelope().initQueryRejected();
  r.setClientQueryId(1);
  r.setReason(static_cast<wire::client::RejectReason>(42));
  auto unknown = decode_client(b.encode().bytes());
  REQUIRE(!unknown.ok());
  CHECK(unknown.error().code == codec::decode_errc::unknown_message);
}
