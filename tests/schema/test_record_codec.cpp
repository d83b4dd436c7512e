// Persisted records: every core struct survives encode → bytes (at any alignment) → decode, and a
// record this build cannot interpret is a typed error.

#include <doctest/doctest.h>

#include "byte_buffers.hpp"
#include <limits>

#include "model/hardware.hpp"
#include "schema/record_codec.hpp"

namespace aladdin::test {
namespace {

template <class T>
T through_bytes(const T& value, std::size_t misalign = 3) {
  const auto encoded = encode_record(value);
  placed_bytes placed(encoded.bytes(), misalign);
  auto decoded = decode_record<T>(placed.span());
  REQUIRE_MESSAGE(decoded.ok(), (decoded.ok() ? "" : decoded.error().detail));
  return std::move(decoded).value();
}

// Fitted profiles of every built-in model on every built-in GPU, with awkward coefficients: tiny,
// huge, negative (a fit may produce one) and zero.
std::vector<worker_profile> sample_profiles() {
  std::vector<worker_profile> out;
  double k = 1.0e-7;
  for (const auto& m : builtin_models()) {
    for (const auto& g : builtin_gpus()) {
      for (int tp : {1, 2, 8}) {
        worker_profile p;
        p.config = {m.name, g.name, tp};
        p.prefill = {k, k * k, -k, 0.0};
        p.decode = {std::numeric_limits<double>::denorm_min(), 1.0 / 3.0, 1e300};
        p.kv = kv_model::from_hardware(m, g, tp);
        p.source = "fit of " + p.config.label();
        out.push_back(p);
        k *= 1.7;
      }
    }
  }
  return out;
}

TEST_CASE("schema records: built-in models, GPUs and fitted profiles round-trip exactly") {
  for (const auto& m : builtin_models()) {
    const auto back = through_bytes(m);
    CHECK(back.name == m.name);
    CHECK(back.layers == m.layers);
    CHECK(back.kv_heads == m.kv_heads);
    CHECK(back.head_dim == m.head_dim);
    CHECK(back.bytes_per_value == m.bytes_per_value);
    CHECK(back.parameters == m.parameters);
    CHECK(back.context_tokens == m.context_tokens);
  }
  for (const auto& g : builtin_gpus()) {
    const auto back = through_bytes(g);
    CHECK(back.name == g.name);
    CHECK(back.memory_bytes == g.memory_bytes);
  }
  const auto profiles = sample_profiles();
  REQUIRE_FALSE(profiles.empty());
  for (const auto& p : profiles) {
    const auto back = through_bytes(p);
    CHECK(back.config == p.config);
    CHECK(back.prefill.k1 == p.prefill.k1);
    CHECK(back.prefill.q1 == p.prefill.q1);
    CHECK(back.prefill.s1 == p.prefill.s1);
    CHECK(back.prefill.c1 == p.prefill.c1);
    CHECK(back.decode.k2 == p.decode.k2);
    CHECK(back.decode.c2 == p.decode.c2);
    CHECK(back.decode.c3 == p.decode.c3);
    CHECK(back.kv.bytes_per_token == p.kv.bytes_per_token);
    CHECK(back.kv.capacity_tokens == p.kv.capacity_tokens);
    CHECK(back.source == p.source);
  }
}

TEST_CASE("schema records: workers, plans and journal entries round-trip in every state") {
  for (auto state : {worker_state::starting, worker_state::active, worker_state::draining,
                     worker_state::gone}) {
    worker_record w{worker_id{70000}, "gpu-9", {"llama2-70b", "a100-80gb", 8}, "tcp://h:1", state, 12};
    CHECK(through_bytes(w) == w);
  }

  plan_record plan{31, 123456789, {{{"llama2-70b", "a100-80gb", 2}, 5}, {{"bloom-176b", "a100-80gb", 8}, 1}},
                   18, "scale out for the evening peak"};
  CHECK(through_bytes(plan) == plan);
  CHECK(through_bytes(plan_record{}) == plan_record{});

  journal_entry e;
  e.id = query_id{1ULL << 40};
  e.client_id = "client-\x01-with-odd-bytes";
  e.client_query_id = 99;
  e.model = "llama2-70b";
  e.prompt_tokens = 4000;
  e.max_output_tokens = 512;
  e.ttft_slo_micros = 2'000'000;
  e.atgt_slo_micros = 100'000;
  e.accepted_micros = 5;
  e.accept_seq = 17;
  e.worker = worker_id{4};
  e.finish = {300, 9, 8, 7};
  e.failure = {failure_reason::deadline_exceeded, "too slow", 11};
  for (auto state : {journal_state::accepted, journal_state::dispatched, journal_state::finished,
                     journal_state::failed}) {
    e.state = state;
    CHECK(through_bytes(e) == e);
  }
  for (auto reason : {failure_reason::worker_lost, failure_reason::engine_rejected,
                      failure_reason::cancelled, failure_reason::deadline_exceeded,
                      failure_reason::shutting_down, failure_reason::internal}) {
    e.failure.reason = reason;
    CHECK(through_bytes(e, 0) == e);
  }
  // Text with an embedded NUL survives (std::string holds it; a C-string conversion would not).
  e.failure.detail = std::string("a\0b", 3);
  CHECK(through_bytes(e).failure.detail.size() == 3);
  // An HTTP client's request travels with its query, for re-placement after a restart.
  for (auto api : {request_api::completions, request_api::chat_completions}) {
    e.request = {api, R"({"model":"llama2-70b","prompt":"Hello"})"};
    CHECK(through_bytes(e) == e);
  }
  e.request = {};
  CHECK(through_bytes(e).request == stored_request{});
}

TEST_CASE("schema records: an enum value this build does not know is a typed error") {
  capnp::MallocMessageBuilder m;
  auto r = m.initRoot<records::JournalRecord>();
  r.setQueryId(1);
  r.setState(static_cast<records::JournalRecord::State>(9));
  const auto encoded = codec::encode(m);
  auto decoded = decode_record<journal_entry>(encoded.bytes());
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().code == codec::decode_errc::malformed);
  CHECK(decoded.error().detail.find("journal state") != std::string::npos);

  capnp::MallocMessageBuilder w;
  w.initRoot<records::WorkerRecord>().setState(static_cast<records::WorkerRecord::State>(4));
  CHECK_FALSE(decode_record<worker_record>(codec::encode(w).bytes()).ok());
}

TEST_CASE("schema records: bytes that are not a record are a typed error") {
  const std::string text = "definitely not a capnp record....";  // 33 bytes
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(text.data()), text.size());
  CHECK_FALSE(decode_record<plan_record>(bytes).ok());
  CHECK_FALSE(decode_record<plan_record>(bytes.first(32)).ok());
}

}  // namespace
}  // namespace aladdin::test
