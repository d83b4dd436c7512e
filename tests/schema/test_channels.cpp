// The channel modules (schema/client_channel.hpp, schema/worker_channel.hpp): every message of
// both channels round-trips field by field through the one codec from unaligned buffers; the
// codec reads what the schema's builders wrote; and wrong-direction, unknown-enum, oversized,
// truncated, wrong-version and garbage frames are typed errors.

#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "byte_buffers.hpp"
#include "message_samples.hpp"

namespace aladdin::test {
namespace {

namespace cc = client_channel;
namespace wc = worker_channel;

const codec::envelope_header header{codec::protocol_version, "test", 3, 9};

// The parties that may receive `m`: one, or both for an error.
std::vector<wc::party> receivers(const wc::message& m) {
  std::vector<wc::party> out;
  for (auto p : {wc::party::control_plane, wc::party::worker})
    if (wc::may_receive(p, m)) out.push_back(p);
  return out;
}
std::vector<cc::party> receivers(const cc::message& m) {
  std::vector<cc::party> out;
  for (auto p : {cc::party::client, cc::party::intake})
    if (cc::may_receive(p, m)) out.push_back(p);
  return out;
}

// Encodes, places the bytes at every misalignment (ZeroMQ TCP frames are usually off an 8-byte
// boundary), decodes as `receiver` and checks the header and every field (defaulted ==).
template <class Channel, class Message, class Party>
void check_round_trip(const Message& m, Party receiver) {
  const auto encoded = Channel::encode(header, m);
  for (std::size_t misalign = 1; misalign < 8; ++misalign) {
    placed_bytes placed(encoded.bytes(), misalign);
    auto back = Channel::decode(placed.span(), receiver);
    REQUIRE_MESSAGE(back.ok(), Channel::message_name(m) << ": "
                                                          << (back.ok() ? "" : back.error().detail));
    CHECK(back.value().header == header);
    CHECK(back.value().body.index() == m.index());
    CHECK(std::string(Channel::message_name(back.value().body)) == Channel::message_name(m));
    CHECK(back.value().body == m);
  }
}

struct worker_ops {
  using message = wc::message;
  static constexpr wc::party parties[] = {wc::party::control_plane, wc::party::worker};
  static auto encode(const codec::envelope_header& h, const wc::message& m) { return wc::encode(h, m); }
  static auto decode(std::span<const std::byte> b, wc::party p) { return wc::decode(b, p); }
  static const char* message_name(const wc::message& m) { return wc::message_name(m); }
};
struct client_ops {
  using message = cc::message;
  static constexpr cc::party parties[] = {cc::party::client, cc::party::intake};
  static auto encode(const codec::envelope_header& h, const cc::message& m) { return cc::encode(h, m); }
  static auto decode(std::span<const std::byte> b, cc::party p) { return cc::decode(b, p); }
  static const char* message_name(const cc::message& m) { return cc::message_name(m); }
};

// The samples plus the values they do not show: every enumerant, long lists.
std::vector<wc::message> all_worker_messages() {
  std::vector<wc::message> all;
  for (auto& [name, m] : worker_plain_samples()) all.push_back(m);
  all.push_back(wc::engine_rejected{10, wc::engine_reject_code::invalid, "draining"});
  for (int c = 0; c <= static_cast<int>(wc::error_code::unknown_worker); ++c)
    all.push_back(wc::wire_error{static_cast<wc::error_code>(c), "code " + std::to_string(c)});
  // The worker's former codec's samples (tests/worker/test_worker_wire.cpp).
  all.push_back(wc::registered{17, 99});
  all.push_back(wc::assign_query{1ull << 40, 1234, 200, 512, 1'700'000'000'000'123});
  all.push_back(wc::cancel_query{77});
  all.push_back(wc::drain_worker{1'700'000'005'000'000});
  all.push_back(wc::shutdown_worker{"scale down"});
  all.push_back(wc::wire_error{wc::error_code::unknown_worker, "restarted"});
  all.push_back(wc::register_worker{"host-1", "llama2-70b", "a100-80gb", 4, 459'000, 16, 1.0, 2048});
  all.push_back(wc::first_token{8, 1'700'000'000'000'789});
  all.push_back(wc::query_completed{8, 321, 1'700'000'000'100'000});
  all.push_back(wc::engine_rejected{9, wc::engine_reject_code::too_large, "prompt too long"});
  all.push_back(wc::engine_rejected{11, wc::engine_reject_code::stream_broken, "connection reset"});
  all.push_back(wc::wire_error{wc::error_code::malformed, "garbage"});
  // Extremes.
  all.push_back(wc::assign_query{~0ull, 0xffffffffu, 0xffffffffu, 0xffffffffu, ~0ull});
  all.push_back(wc::register_worker{"", "", "", 0xffff, ~0ull, 0xffffffffu, 1e6, 0xffffffffu});
  all.push_back(wc::drain_worker{0});
  all.push_back(wc::shutdown_worker{""});
  all.push_back(wc::heartbeat{});  // empty lists
  // The text relay: every api and finish reason, empty and longest chunks, a body near its limit.
  all.push_back(wc::assign_query{5, 10, 0, 0, 1, {wc::engine_api::completions, R"({"prompt":"x"})"}});
  all.push_back(wc::assign_query{6, 10, 0, 0, 1,
                                 {wc::engine_api::chat_completions,
                                  std::string(wc::max_request_body_bytes, 'b')}});
  for (int f = 0; f <= static_cast<int>(wc::finish_reason::length); ++f)
    all.push_back(wc::query_completed{7, 3, 4, static_cast<wc::finish_reason>(f), 0xffffffffu});
  all.push_back(wc::query_text{8, 0, "", 0});
  all.push_back(wc::query_text{~0ull, 0xffffffffu, std::string(wc::max_text_chunk_bytes, 't'), 0xffffffffu});
  all.push_back(wc::query_text{9, 1, "caf\xc3\xa9 \xe2\x82\xac", 2});
  return all;
}

std::vector<cc::message> all_client_messages() {
  std::vector<cc::message> all;
  for (auto& [name, m] : client_plain_samples()) all.push_back(m);
  for (int r = 0; r <= static_cast<int>(cc::reject_code::over_context); ++r)
    all.push_back(cc::query_rejected{static_cast<std::uint64_t>(r), static_cast<cc::reject_code>(r), "why"});
  for (int f = 0; f <= static_cast<int>(cc::failure_code::unschedulable); ++f)
    all.push_back(cc::query_failed{static_cast<std::uint64_t>(f), static_cast<cc::failure_code>(f), "why"});
  for (int c = 0; c <= static_cast<int>(cc::error_code::unknown_worker); ++c)
    all.push_back(cc::wire_error{static_cast<cc::error_code>(c), "code " + std::to_string(c)});
  all.push_back(cc::submit_query{~0ull, 0xffffffffu, 0xffffffffu, ~0ull, ~0ull, ""});
  return all;
}

wc::heartbeat busy_heartbeat() {
  wc::heartbeat hb;
  hb.worker_id = 3;
  hb.at_micros = 1'700'000'000'000'456;
  hb.kv_blocks_used = 120;
  hb.kv_blocks_total = 28000;
  for (std::uint32_t i = 0; i < 300; ++i) hb.running.push_back({1000 + i, i});
  hb.waiting_count = 5000;
  for (std::uint64_t i = 0; i < 4096; ++i) hb.waiting.push_back(9000 + i);
  return hb;
}

TEST_CASE("schema channel: the plain samples cover every message of both channels") {
  std::set<std::size_t> worker_kinds, client_kinds;
  for (const auto& [name, m] : worker_plain_samples()) {
    worker_kinds.insert(m.index());
    CHECK(std::string(wc::message_name(m)) == name);
  }
  for (const auto& [name, m] : client_plain_samples()) {
    client_kinds.insert(m.index());
    CHECK(std::string(cc::message_name(m)) == name);
  }
  CHECK(worker_kinds.size() == std::variant_size_v<wc::message>);
  CHECK(client_kinds.size() == std::variant_size_v<cc::message>);
  // Every union member of the schema has a plain struct, but the reserved tokenProgress.
  CHECK(std::variant_size_v<wc::message> == worker_samples().size());
  CHECK(std::variant_size_v<cc::message> == client_samples().size() - 1);
}

TEST_CASE("schema channel: every worker message round-trips field by field, unaligned") {
  for (const auto& m : all_worker_messages()) {
    const auto parties = receivers(m);
    REQUIRE(!parties.empty());
    for (auto p : parties) check_round_trip<worker_ops>(m, p);
  }
  check_round_trip<worker_ops>(wc::message{busy_heartbeat()}, wc::party::control_plane);
}

TEST_CASE("schema channel: every client message round-trips field by field, unaligned") {
  for (const auto& m : all_client_messages()) {
    const auto parties = receivers(m);
    REQUIRE(!parties.empty());
    for (auto p : parties) check_round_trip<client_ops>(m, p);
  }
}

TEST_CASE("schema channel: the codecs read what the schema's builders wrote") {
  // Field by field against the generated builders: a field the codec mixes up (say, two
  // fields of one type swapped in both directions) passes a round trip but fails here.
  const auto worker_plain = worker_plain_samples();
  for (const auto& s : worker_samples()) {
    const auto encoded = encode_sample(s);
    for (auto p : {wc::party::control_plane, wc::party::worker}) {
      const auto& expected = worker_plain.at(s.name);
      if (!wc::may_receive(p, expected)) continue;
      auto d = wc::decode(placed_bytes(encoded.bytes(), 3).span(), p);
      REQUIRE_MESSAGE(d.ok(), s.name << ": " << (d.ok() ? "" : d.error().detail));
      CHECK_MESSAGE(d.value().body == expected, s.name);
      CHECK(d.value().header == sample_header());
    }
  }
  const auto client_plain = client_plain_samples();
  for (const auto& s : client_samples()) {
    const auto encoded = encode_sample(s);
    for (auto p : {cc::party::client, cc::party::intake}) {
      auto d = cc::decode(placed_bytes(encoded.bytes(), 5).span(), p);
      if (s.name == "tokenProgress") {
        // Reserved: refused by every receiver, not silently dropped.
        REQUIRE_FALSE(d.ok());
        CHECK(d.error().code == codec::decode_errc::unknown_message);
        CHECK(d.error().detail.find("tokenProgress") != std::string::npos);
        continue;
      }
      const auto& expected = client_plain.at(s.name);
      if (!cc::may_receive(p, expected)) continue;
      REQUIRE_MESSAGE(d.ok(), s.name << ": " << (d.ok() ? "" : d.error().detail));
      CHECK_MESSAGE(d.value().body == expected, s.name);
    }
  }
}

TEST_CASE("schema channel: field values of the node's and the worker's former codecs survive") {
  // What tests/actor/test_wire_codec.cpp checked field by field.
  const auto bytes = cc::encode(header, cc::submit_query{1, 2, 3, 4, 5, "llama2-70b"});
  auto s = cc::decode(placed_bytes(bytes.bytes(), 1).span(), cc::party::intake);
  REQUIRE(s.ok());
  const auto& q = std::get<cc::submit_query>(s.value().body);
  CHECK(q.client_query_id == 1);
  CHECK(q.prompt_tokens == 2);
  CHECK(q.max_output_tokens == 3);
  CHECK(q.ttft_slo_micros == 4);
  CHECK(q.atgt_slo_micros == 5);
  CHECK(q.model == "llama2-70b");

  const auto failed = cc::encode(header, cc::query_failed{17, cc::failure_code::deadline_exceeded, "late"});
  auto f = cc::decode(placed_bytes(failed.bytes(), 1).span(), cc::party::client);
  REQUIRE(f.ok());
  CHECK(std::get<cc::query_failed>(f.value().body).reason == cc::failure_code::deadline_exceeded);
  CHECK(std::get<cc::query_failed>(f.value().body).detail == "late");

  const auto beat = wc::encode(header, wc::heartbeat{4, 5, 6, 7, {{100, 3}, {101, 4}}, 3, {200, 201}});
  auto h = wc::decode(placed_bytes(beat.bytes(), 1).span(), wc::party::control_plane);
  REQUIRE(h.ok());
  const auto& hb = std::get<wc::heartbeat>(h.value().body);
  CHECK(hb.worker_id == 4);
  CHECK(hb.at_micros == 5);
  CHECK(hb.running.size() == 2);
  CHECK(hb.running[1].query_id == 101);
  CHECK(hb.running[1].generated_tokens == 4);
  CHECK(hb.waiting_count == 3);
  CHECK(hb.waiting == std::vector<std::uint64_t>{200, 201});

  const auto assign = wc::encode(header, wc::assign_query{1, 2, 3, 4, 5});
  auto a = wc::decode(placed_bytes(assign.bytes(), 1).span(), wc::party::worker);
  REQUIRE(a.ok());
  CHECK(std::get<wc::assign_query>(a.value().body).output_tokens_hint == 3);
  CHECK(std::get<wc::assign_query>(a.value().body).max_output_tokens == 4);
  CHECK(std::get<wc::assign_query>(a.value().body).arrival_micros == 5);
}

TEST_CASE("schema channel: a message travelling the wrong way is an unknown message") {
  auto r = wc::decode(wc::encode(header, wc::first_token{1, 2}).bytes(), wc::party::worker);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == codec::decode_errc::unknown_message);
  CHECK(r.error().detail.find("firstToken") != std::string::npos);
  CHECK(r.error().answerable);
  CHECK(channel_common::error_for(r.error()).code == wc::error_code::unknown_message);

  auto back = wc::decode(wc::encode(header, wc::cancel_query{1}).bytes(), wc::party::control_plane);
  REQUIRE_FALSE(back.ok());
  CHECK(back.error().code == codec::decode_errc::unknown_message);

  // Every one-way member, at the party that never receives it, on both channels.
  int refused = 0;
  for (const auto& m : all_worker_messages()) {
    for (auto p : {wc::party::control_plane, wc::party::worker}) {
      if (wc::may_receive(p, m)) continue;
      auto d = wc::decode(wc::encode(header, m).bytes(), p);
      REQUIRE_FALSE(d.ok());
      CHECK(d.error().code == codec::decode_errc::unknown_message);
      CHECK(d.error().detail.find(wc::message_name(m)) != std::string::npos);
      ++refused;
    }
  }
  for (const auto& m : all_client_messages()) {
    for (auto p : {cc::party::client, cc::party::intake}) {
      if (cc::may_receive(p, m)) continue;
      auto d = cc::decode(cc::encode(header, m).bytes(), p);
      REQUIRE_FALSE(d.ok());
      CHECK(d.error().code == codec::decode_errc::unknown_message);
      CHECK(d.error().detail.find(cc::message_name(m)) != std::string::npos);
      ++refused;
    }
  }
  CHECK(refused > 20);
  // Who sends what, as the schema's comments say.
  CHECK(wc::direction_of(wc::register_worker{}) == wc::direction::to_control_plane);
  CHECK(wc::direction_of(wc::shutdown_worker{}) == wc::direction::to_worker);
  CHECK(wc::direction_of(wc::wire_error{}) == wc::direction::both);
  CHECK(cc::direction_of(cc::submit_query{}) == cc::direction::to_intake);
  CHECK(cc::direction_of(cc::query_finished{}) == cc::direction::to_client);
  CHECK(cc::direction_of(cc::wire_error{}) == cc::direction::both);
}

TEST_CASE("schema channel: enum values from a newer peer are refused, never mapped to a neighbour") {
  {
    codec::envelope_builder<client_wire::Envelope> b(header);
    auto r = b.envelope().initQueryRejected();
    r.setClientQueryId(1);
    r.setReason(static_cast<client_wire::RejectReason>(42));
    auto unknown = cc::decode(b.encode().bytes(), cc::party::client);
    REQUIRE(!unknown.ok());
    CHECK(unknown.error().code == codec::decode_errc::unknown_message);
    CHECK(unknown.error().answerable);
  }
  {
    codec::envelope_builder<client_wire::Envelope> b(header);
    b.envelope().initQueryFailed().setReason(static_cast<client_wire::FailureReason>(7));
    auto unknown = cc::decode(b.encode().bytes(), cc::party::client);
    REQUIRE(!unknown.ok());
    CHECK(unknown.error().code == codec::decode_errc::unknown_message);
  }
  {
    // The worker's codec used to map this to `invalid`.
    codec::envelope_builder<worker_wire::Envelope> b(header);
    b.envelope().initQueryRejected().setReason(static_cast<worker_wire::EngineRejectReason>(3));
    auto unknown = wc::decode(b.encode().bytes(), wc::party::control_plane);
    REQUIRE(!unknown.ok());
    CHECK(unknown.error().code == codec::decode_errc::unknown_message);
    CHECK(unknown.error().detail.find("engine reject reason") != std::string::npos);
  }
  {
    // An error code from a newer peer (the worker's codec used to map it to `internal`): refused,
    // and flagged so that the receiver does not answer an error with an error.
    codec::envelope_builder<worker_wire::Envelope> b(header);
    b.envelope().initError().setCode(static_cast<wire::ErrorCode>(6));
    for (auto p : {wc::party::control_plane, wc::party::worker}) {
      auto unknown = wc::decode(b.encode().bytes(), p);
      REQUIRE(!unknown.ok());
      CHECK(unknown.error().code == codec::decode_errc::unknown_message);
      CHECK_FALSE(unknown.error().answerable);
    }
    codec::envelope_builder<client_wire::Envelope> c(header);
    c.envelope().initError().setCode(static_cast<wire::ErrorCode>(99));
    auto client_unknown = cc::decode(c.encode().bytes(), cc::party::intake);
    REQUIRE(!client_unknown.ok());
    CHECK(client_unknown.error().code == codec::decode_errc::unknown_message);
    CHECK_FALSE(client_unknown.error().answerable);
  }
}

TEST_CASE("schema channel: garbage, truncation, emptiness and a wrong version are typed errors") {
  const std::vector<std::byte> garbage(24, std::byte{0x5a});
  auto g = cc::decode(garbage, cc::party::intake);
  REQUIRE(!g.ok());
  CHECK(g.error().code == codec::decode_errc::malformed);
  const std::vector<std::byte> odd(13, std::byte{0x5a});
  auto o = wc::decode(odd, wc::party::worker);
  REQUIRE_FALSE(o.ok());
  CHECK(channel_common::error_for(o.error()).code == wc::error_code::malformed);

  const auto bytes = cc::encode(header, cc::submit_query{1, 2, 3, 4, 5, "m"});
  auto cut = cc::decode(bytes.bytes().first(bytes.size() - 8), cc::party::intake);
  REQUIRE(!cut.ok());
  for (const auto& m : all_worker_messages()) {
    const auto full = wc::encode(header, m);
    for (std::size_t n = 0; n < full.size(); n += 8) {
      auto d = wc::decode(full.bytes().first(n), receivers(m).front());
      CHECK_FALSE(d.ok());
    }
  }

  auto e = wc::decode(std::span<const std::byte>{}, wc::party::worker);
  REQUIRE_FALSE(e.ok());
  CHECK(channel_common::error_for(e.error()).code == wc::error_code::malformed);

  codec::envelope_header old = header;
  old.protocol_version = 99;
  auto v = cc::decode(cc::encode(old, cc::query_accepted{1, 2}).bytes(), cc::party::client);
  REQUIRE(!v.ok());
  CHECK(v.error().code == codec::decode_errc::version_mismatch);
  CHECK(channel_common::to_error_code(v.error().code) == cc::error_code::version_mismatch);
  old.protocol_version = codec::protocol_version + 1;
  auto wv = wc::decode(wc::encode(old, wc::drain_worker{0}).bytes(), wc::party::worker);
  REQUIRE_FALSE(wv.ok());
  CHECK(channel_common::error_for(wv.error()).code == wc::error_code::version_mismatch);
}

TEST_CASE("schema channel: oversized frames are refused, and the worker's largest heartbeat fits") {
  const std::vector<std::byte> big(codec::decode_limits::channel().max_bytes + 8);
  auto o = wc::decode(big, wc::party::worker);
  REQUIRE_FALSE(o.ok());
  CHECK(channel_common::error_for(o.error()).code == wc::error_code::oversized);
  auto c = cc::decode(big, cc::party::intake);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == codec::decode_errc::oversized);

  // The largest heartbeat the worker sends (worker_core_options::max_heartbeat_waiting_ids) stays
  // within the channel's limit, in one segment (the encoder sizes the first for the lists).
  const auto encoded = wc::encode(header, busy_heartbeat());
  CHECK(encoded.size() <= codec::decode_limits::channel().max_bytes);
  CHECK((word_at(copy_bytes(encoded.bytes()), 0) & 0xffffffff) == 0);  // segment count − 1

  // One of 5000 running queries is over it; a larger limit takes the same bytes.
  wc::heartbeat huge;
  for (std::uint64_t i = 0; i < 5000; ++i) huge.running.push_back({i, 1});
  const auto large = wc::encode(header, huge);
  REQUIRE(large.size() > codec::decode_limits::channel().max_bytes);
  auto over = wc::decode(large.bytes(), wc::party::control_plane);
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code == codec::decode_errc::oversized);
  codec::decode_limits roomy;
  roomy.max_bytes = static_cast<std::size_t>(wc::max_transport_bytes);
  auto fits = wc::decode(large.bytes(), wc::party::control_plane, roomy);
  REQUIRE(fits.ok());
  CHECK(std::get<wc::heartbeat>(fits.value().body) == huge);

  // The transport cap of both channels sits above the codec's limit, so that a frame between the
  // two is answered "oversized" instead of costing its sender the connection.
  CHECK(wc::max_transport_bytes == 1 << 20);
  CHECK(cc::max_transport_bytes == wc::max_transport_bytes);
  CHECK(static_cast<std::size_t>(wc::max_transport_bytes) > codec::decode_limits::channel().max_bytes);
}

// `x` encoded and decoded at a party that receives it.
template <class Ops, class T>
T through_codec(const T& x) {
  const typename Ops::message m = x;
  auto d = Ops::decode(Ops::encode(header, m).bytes(), receivers(m).front());
  REQUIRE_MESSAGE(d.ok(), (d.ok() ? "" : d.error().detail));
  return std::get<T>(d.value().body);
}

TEST_CASE("schema channel: every text is bounded on encode") {
  const std::string z(5000, 'z');
  auto bounded = [](const std::string& s) { return s.size() < 300 && s.rfind("zzz", 0) == 0; };
  const auto r = through_codec<worker_ops>(wc::register_worker{z, z, z, 4, 1, 16});
  CHECK(bounded(r.worker_name));
  CHECK(bounded(r.model));
  CHECK(bounded(r.gpu));
  CHECK(bounded(through_codec<worker_ops>(wc::shutdown_worker{z}).reason));
  CHECK(bounded(through_codec<worker_ops>(wc::engine_rejected{1, wc::engine_reject_code::invalid, z}).detail));
  CHECK(bounded(through_codec<worker_ops>(wc::wire_error{wc::error_code::internal, z}).detail));
  CHECK(bounded(through_codec<client_ops>(cc::submit_query{1, 2, 3, 4, 5, z}).model));
  CHECK(bounded(through_codec<client_ops>(cc::query_rejected{1, cc::reject_code::kv, z}).detail));
  CHECK(bounded(through_codec<client_ops>(cc::query_failed{1, cc::failure_code::internal, z}).detail));
  CHECK(bounded(through_codec<client_ops>(cc::wire_error{cc::error_code::malformed, z}).detail));
}

TEST_CASE("schema channel: the error envelope carries the decode error, bounded") {
  const std::string long_detail(1000, 'x');
  auto w = wc::decode(wc::encode_error(header, codec::decode_errc::oversized, long_detail).bytes(),
                      wc::party::worker);
  REQUIRE(w.ok());
  const auto& we = std::get<wc::wire_error>(w.value().body);
  CHECK(we.code == wc::error_code::oversized);
  CHECK(we.detail.size() < 300);
  auto c = cc::decode(cc::encode_error(header, codec::decode_errc::unknown_message, "?").bytes(),
                      cc::party::client);
  REQUIRE(c.ok());
  CHECK(std::get<cc::wire_error>(c.value().body) == cc::wire_error{cc::error_code::unknown_message, "?"});
  CHECK(std::string(channel_common::to_string(cc::error_code::unknown_worker)) == "unknown_worker");
}

// Decodes every plain sample of one channel as the other channel at each of its parties; counts
// what decoded and what was refused (with a typed error).
template <class From, class To, class Samples>
void decode_as_other(const Samples& samples, int& decoded, int& refused) {
  for (const auto& [name, m] : samples) {
    const auto bytes = From::encode(header, m);
    for (auto p : To::parties) {
      auto d = To::decode(bytes.bytes(), p);
      if (d.ok()) {
        ++decoded;
        continue;
      }
      ++refused;
      CHECK((d.error().code == codec::decode_errc::unknown_message ||
             d.error().code == codec::decode_errc::malformed));
    }
  }
}

TEST_CASE("schema channel: a frame of one channel decoded as the other is a value or a typed error") {
  int decoded = 0;
  int refused = 0;
  decode_as_other<worker_ops, client_ops>(worker_plain_samples(), decoded, refused);
  decode_as_other<client_ops, worker_ops>(client_plain_samples(), decoded, refused);
  CHECK(decoded + refused ==
        static_cast<int>(2 * (worker_plain_samples().size() + client_plain_samples().size())));
  CHECK(refused > 0);
}

}  // namespace
}  // namespace aladdin::test
