// The codec: every message of every channel survives a round trip, and every kind of bad input
// becomes a typed error instead of an exception or a crash.

#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "byte_buffers.hpp"
#include "hostile.capnp.h"
#include "message_samples.hpp"
#include "util/rng.hpp"

namespace aladdin::test {
namespace {

using codec::decode_errc;
using codec::decode_envelope;

template <class Envelope>
codec::decoded<Envelope> round_trip(const sample<Envelope>& s) {
  const auto encoded = encode_sample(s);
  CHECK(encoded.size() % 8 == 0);
  auto decoded = decode_envelope<Envelope>(encoded.bytes());
  REQUIRE_MESSAGE(decoded.ok(), s.name << ": " << (decoded.ok() ? "" : decoded.error().detail));
  CHECK(codec::read_header(decoded.value().root().getHeader()) == sample_header());
  return std::move(decoded).value();
}

template <class Envelope>
const sample<Envelope>& find(const std::vector<sample<Envelope>>& all, const std::string& name) {
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.name == name; });
  REQUIRE(it != all.end());
  return *it;
}

TEST_CASE("schema codec: every union member of each channel has a sample") {
  // A new message without a sample (and so without round-trip and fuzz coverage) fails here.
  CHECK(capnp::Schema::from<client_wire::Envelope>().getUnionFields().size() ==
        client_samples().size());
  CHECK(capnp::Schema::from<worker_wire::Envelope>().getUnionFields().size() ==
        worker_samples().size());
  std::set<unsigned> client_kinds;
  for (const auto& s : client_samples()) {
    client_kinds.insert(static_cast<unsigned>(round_trip(s).root().which()));
  }
  CHECK(client_kinds.size() == client_samples().size());
  std::set<unsigned> worker_kinds;
  for (const auto& s : worker_samples()) {
    worker_kinds.insert(static_cast<unsigned>(round_trip(s).root().which()));
  }
  CHECK(worker_kinds.size() == worker_samples().size());
}

TEST_CASE("schema codec: client messages round-trip field by field") {
  using W = client_wire::Envelope::Which;
  const auto all = client_samples();
  {
    auto d = round_trip(find(all, "submitQuery"));
    REQUIRE(d.root().which() == W::SUBMIT_QUERY);
    auto m = d.root().getSubmitQuery();
    CHECK(m.getClientQueryId() == 77);
    CHECK(m.getPromptTokens() == 1234);
    CHECK(m.getMaxOutputTokens() == 0);
    CHECK(m.getTtftSloMicros() == 2'000'000);
    CHECK(m.getAtgtSloMicros() == 100'000);
    CHECK(codec::str(m.getModel()) == "llama2-70b");
  }
  {
    auto d = round_trip(find(all, "queryAccepted"));
    REQUIRE(d.root().which() == W::QUERY_ACCEPTED);
    CHECK(d.root().getQueryAccepted().getClientQueryId() == 77);
    CHECK(d.root().getQueryAccepted().getQueryId() == 5001);
  }
  {
    auto d = round_trip(find(all, "queryRejected"));
    REQUIRE(d.root().which() == W::QUERY_REJECTED);
    auto m = d.root().getQueryRejected();
    CHECK(m.getClientQueryId() == 78);
    CHECK(m.getReason() == client_wire::RejectReason::KV);
    CHECK(codec::str(m.getDetail()) == "no worker has 40000 free KV tokens");
  }
  {
    auto d = round_trip(find(all, "firstToken"));
    REQUIRE(d.root().which() == W::FIRST_TOKEN);
    CHECK(d.root().getFirstToken().getQueryId() == 5001);
    CHECK(d.root().getFirstToken().getAtMicros() == 1'700'000'000'000'000);
  }
  {
    auto d = round_trip(find(all, "tokenProgress"));
    REQUIRE(d.root().which() == W::TOKEN_PROGRESS);
    CHECK(d.root().getTokenProgress().getQueryId() == 5001);
    CHECK(d.root().getTokenProgress().getGeneratedTokens() == 64);
  }
  {
    auto d = round_trip(find(all, "queryFinished"));
    REQUIRE(d.root().which() == W::QUERY_FINISHED);
    auto m = d.root().getQueryFinished();
    CHECK(m.getQueryId() == 5001);
    CHECK(m.getOutputTokens() == 321);
    CHECK(m.getTtftMicros() == 180'000);
    CHECK(m.getAtgtMicros() == 42'000);
  }
  {
    auto d = round_trip(find(all, "queryFailed"));
    REQUIRE(d.root().which() == W::QUERY_FAILED);
    auto m = d.root().getQueryFailed();
    CHECK(m.getQueryId() == 5002);
    CHECK(m.getReason() == client_wire::FailureReason::WORKER_LOST);
    CHECK(codec::str(m.getDetail()) == "worker 3 lost");
  }
  {
    auto d = round_trip(find(all, "error"));
    REQUIRE(d.root().which() == W::ERROR);
    CHECK(d.root().getError().getCode() == wire::ErrorCode::OVERSIZED);
    CHECK(codec::str(d.root().getError().getDetail()) == "70000 bytes, limit 65536");
  }
}

TEST_CASE("schema codec: worker messages round-trip field by field") {
  using W = worker_wire::Envelope::Which;
  const auto all = worker_samples();
  {
    auto d = round_trip(find(all, "registerWorker"));
    REQUIRE(d.root().which() == W::REGISTER_WORKER);
    auto m = d.root().getRegisterWorker();
    CHECK(codec::str(m.getWorkerName()) == "gpu-node-7");
    CHECK(codec::str(m.getModel()) == "llama2-70b");
    CHECK(codec::str(m.getGpu()) == "a100-80gb");
    CHECK(m.getTp() == 4);
    CHECK(m.getKvCapacityTokens() == 400'000);
    CHECK(m.getBlockSize() == 16);
  }
  {
    auto d = round_trip(find(all, "registered"));
    REQUIRE(d.root().which() == W::REGISTERED);
    CHECK(d.root().getRegistered().getWorkerId() == 12);
    CHECK(d.root().getRegistered().getEpoch() == 9);
  }
  {
    auto d = round_trip(find(all, "assignQuery"));
    REQUIRE(d.root().which() == W::ASSIGN_QUERY);
    auto m = d.root().getAssignQuery();
    CHECK(m.getQueryId() == 5001);
    CHECK(m.getPromptTokens() == 1234);
    CHECK(m.getOutputTokensHint() == 250);
    CHECK(m.getMaxOutputTokens() == 4096);
    CHECK(m.getArrivalMicros() == 1'000'000);
    REQUIRE(m.hasRequest());
    CHECK(m.getRequest().getApi() == worker_wire::EngineRequest::Api::CHAT_COMPLETIONS);
    CHECK(codec::str(m.getRequest().getBody()) ==
          R"({"model":"llama2-70b","messages":[{"role":"user","content":"hi"}]})");
  }
  {
    auto d = round_trip(find(all, "cancelQuery"));
    REQUIRE(d.root().which() == W::CANCEL_QUERY);
    CHECK(d.root().getCancelQuery().getQueryId() == 5003);
  }
  {
    auto d = round_trip(find(all, "heartbeat"));
    REQUIRE(d.root().which() == W::HEARTBEAT);
    auto m = d.root().getHeartbeat();
    CHECK(m.getWorkerId() == 12);
    CHECK(m.getAtMicros() == 2'000'000);
    CHECK(m.getKvBlocksUsed() == 900);
    CHECK(m.getKvBlocksTotal() == 25'000);
    CHECK(m.getWaitingCount() == 2);
    REQUIRE(m.getRunning().size() == 3);
    for (unsigned i = 0; i < 3; ++i) {
      CHECK(m.getRunning()[i].getQueryId() == 6000 + i);
      CHECK(m.getRunning()[i].getGeneratedTokens() == 10 * (i + 1));
    }
    REQUIRE(m.getWaiting().size() == 2);
    CHECK(m.getWaiting()[0] == 7000);
    CHECK(m.getWaiting()[1] == 7001);
  }
  {
    auto d = round_trip(find(all, "firstToken"));
    REQUIRE(d.root().which() == W::FIRST_TOKEN);
    CHECK(d.root().getFirstToken().getQueryId() == 5001);
    CHECK(d.root().getFirstToken().getAtMicros() == 1'180'000);
  }
  {
    auto d = round_trip(find(all, "queryCompleted"));
    REQUIRE(d.root().which() == W::QUERY_COMPLETED);
    auto m = d.root().getQueryCompleted();
    CHECK(m.getQueryId() == 5001);
    CHECK(m.getOutputTokens() == 321);
    CHECK(m.getAtMicros() == 9'000'000);
    CHECK(m.getFinishReason() == worker_wire::FinishReason::LENGTH);
    CHECK(m.getPromptTokens() == 1234);
  }
  {
    auto d = round_trip(find(all, "queryText"));
    REQUIRE(d.root().which() == W::QUERY_TEXT);
    auto m = d.root().getQueryText();
    CHECK(m.getQueryId() == 5001);
    CHECK(m.getSeq() == 3);
    CHECK(codec::str(m.getText()) == " the quick");
    CHECK(m.getTokens() == 2);
  }
  {
    auto d = round_trip(find(all, "queryRejected"));
    REQUIRE(d.root().which() == W::QUERY_REJECTED);
    auto m = d.root().getQueryRejected();
    CHECK(m.getQueryId() == 5004);
    CHECK(m.getReason() == worker_wire::EngineRejectReason::TOO_LARGE);
    CHECK(codec::str(m.getDetail()) == "prompt 200000 > max_model_len");
  }
  {
    auto d = round_trip(find(all, "drain"));
    REQUIRE(d.root().which() == W::DRAIN);
    CHECK(d.root().getDrain().getDeadlineMicros() == 60'000'000);
  }
  {
    auto d = round_trip(find(all, "shutdown"));
    REQUIRE(d.root().which() == W::SHUTDOWN);
    CHECK(codec::str(d.root().getShutdown().getReason()) == "plan epoch 10 releases this worker");
  }
  {
    auto d = round_trip(find(all, "error"));
    REQUIRE(d.root().which() == W::ERROR);
    CHECK(d.root().getError().getCode() == wire::ErrorCode::VERSION_MISMATCH);
    CHECK(codec::str(d.root().getError().getDetail()) == "protocol version 2, this build speaks 1");
  }
}

TEST_CASE("schema codec: the error reply carries the decode error code") {
  const std::string long_detail(1000, 'x');
  const auto reply = codec::encode_error<client_wire::Envelope>(sample_header(), decode_errc::oversized,
                                                                long_detail);
  auto d = decode_envelope<client_wire::Envelope>(reply.bytes());
  REQUIRE(d.ok());
  REQUIRE(d.value().root().which() == client_wire::Envelope::Which::ERROR);
  CHECK(d.value().root().getError().getCode() == wire::ErrorCode::OVERSIZED);
  CHECK(d.value().root().getError().getDetail().size() < 300);  // bounded

  const auto worker_reply =
      codec::encode_error<worker_wire::Envelope>(sample_header(), decode_errc::unknown_message, "?");
  auto w = decode_envelope<worker_wire::Envelope>(worker_reply.bytes());
  REQUIRE(w.ok());
  CHECK(w.value().root().getError().getCode() == wire::ErrorCode::UNKNOWN_MESSAGE);
}

TEST_CASE("schema codec: input at any alignment decodes, and the owning decode outlives it") {
  const auto encoded = encode_sample(client_samples()[0]);
  for (std::size_t misalign = 0; misalign < 8; ++misalign) {
    std::optional<codec::decoded<client_wire::Envelope>> kept;
    {
      placed_bytes placed(encoded.bytes(), misalign);
      auto in_place = codec::decode_envelope_in_place<client_wire::Envelope>(placed.span());
      REQUIRE(in_place.ok());
      // In place only where the reader can use the bytes as they are.
      CHECK(in_place.value().borrows_input() == (misalign == 0));
      CHECK(in_place.value().root().getSubmitQuery().getPromptTokens() == 1234);

      auto owned = decode_envelope<client_wire::Envelope>(placed.span());
      REQUIRE(owned.ok());
      CHECK_FALSE(owned.value().borrows_input());
      kept.emplace(std::move(owned).value());
    }  // the input is gone; the owning decode must not care (ASan checks this)
    CHECK(kept->root().getSubmitQuery().getPromptTokens() == 1234);
    CHECK(codec::str(kept->root().getSubmitQuery().getModel()) == "llama2-70b");
  }
}

TEST_CASE("schema codec: sizes that are empty, not whole words, or too large are rejected") {
  const auto encoded = encode_sample(client_samples()[0]);
  CHECK(decode_envelope<client_wire::Envelope>({}).error().code == decode_errc::malformed);

  auto bytes = copy_bytes(encoded.bytes());
  bytes.resize(bytes.size() + 3);
  auto odd = decode_envelope<client_wire::Envelope>(bytes);
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.error().code == decode_errc::malformed);
  CHECK(odd.error().detail.find("8-byte") != std::string::npos);

  bytes.resize(encoded.size() + 8);  // one whole word of trailing garbage
  auto trailing = decode_envelope<client_wire::Envelope>(bytes);
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.error().code == decode_errc::malformed);

  // A heartbeat listing 5000 running queries is about 80 KiB: over the channel limit.
  codec::envelope_builder<worker_wire::Envelope> big(sample_header());
  auto running = big.envelope().initHeartbeat().initRunning(5000);
  for (unsigned i = 0; i < running.size(); ++i) running[i].setQueryId(i);
  const auto large = big.encode();
  REQUIRE(large.size() > 64 * 1024);
  auto over = decode_envelope<worker_wire::Envelope>(large.bytes());
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code == decode_errc::oversized);
  // The limit is configurable; the same bytes decode under a larger one.
  codec::decode_limits roomy;
  roomy.max_bytes = 1 << 20;
  auto fits = decode_envelope<worker_wire::Envelope>(large.bytes(), roomy);
  REQUIRE(fits.ok());
  CHECK(fits.value().root().getHeartbeat().getRunning().size() == 5000);
  CHECK(fits.value().root().getHeartbeat().getRunning()[4999].getQueryId() == 4999);
}

TEST_CASE("schema codec: every truncation of a valid message is a typed error") {
  for (const auto& s : worker_samples()) {
    const auto encoded = encode_sample(s);
    const auto full = encoded.bytes();
    for (std::size_t n = 0; n < full.size(); ++n) {
      auto d = decode_envelope<worker_wire::Envelope>(full.first(n));
      CHECK_FALSE(d.ok());
      if (!d.ok()) CHECK(d.error().code == decode_errc::malformed);
    }
  }
}

TEST_CASE("schema codec: random bytes never decode and never crash") {
  rng r(7);
  int decoded = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::byte> bytes(8 * (1 + r.below(64)));
    for (auto& b : bytes) b = static_cast<std::byte>(r.below(256));
    // Half the time, make the segment table plausible so the reader gets further.
    if (i % 2 == 0) {
      set_word(bytes, 0, (bytes.size() / 8 - 1) << 32);
    }
    auto d = decode_envelope<client_wire::Envelope>(bytes);
    if (d.ok()) ++decoded;
  }
  CHECK(decoded == 0);
}

TEST_CASE("schema codec: a protocol version other than ours is version_mismatch") {
  auto h = sample_header();
  h.protocol_version = codec::protocol_version + 1;
  codec::envelope_builder<client_wire::Envelope> b(h);
  b.envelope().initTokenProgress().setQueryId(1);
  auto d = decode_envelope<client_wire::Envelope>(b.encode().bytes());
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == decode_errc::version_mismatch);
  CHECK(d.error().detail.find("version 2") != std::string::npos);
}

TEST_CASE("schema codec: an envelope without a header is malformed") {
  capnp::MallocMessageBuilder m;
  m.initRoot<worker_wire::Envelope>().initCancelQuery().setQueryId(3);
  const auto encoded = codec::encode(m);
  auto d = decode_envelope<worker_wire::Envelope>(encoded.bytes());
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == decode_errc::malformed);
  CHECK(d.error().detail.find("header") != std::string::npos);
}

// Layout of a single-segment flat message: word 0 is the segment table, word 1 the root pointer,
// and the envelope's struct follows at word 2 (its one data word holds the union discriminant),
// then its pointers (header first). The tests check this before patching.
constexpr std::size_t root_data_word = 2;
constexpr std::size_t header_pointer_word = 3;

TEST_CASE("schema codec: a union member from a newer peer is unknown_message") {
  auto bytes = copy_bytes(encode_sample(find(client_samples(), "error")).bytes());
  REQUIRE(word_at(bytes, 1) == ((std::uint64_t{2} << 48) | (std::uint64_t{1} << 32)));  // 1 data word, 2 pointers, offset 0
  REQUIRE((word_at(bytes, root_data_word) & 0xffff) ==
          static_cast<std::uint64_t>(client_wire::Envelope::Which::ERROR));
  set_word(bytes, root_data_word, 200);
  auto d = decode_envelope<client_wire::Envelope>(bytes);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == decode_errc::unknown_message);
}

TEST_CASE("schema codec: a pointer of the wrong kind is malformed") {
  auto bytes = copy_bytes(encode_sample(client_samples()[0]).bytes());
  const auto header_ptr = word_at(bytes, header_pointer_word);
  REQUIRE((header_ptr & 3) == 0);  // a struct pointer
  set_word(bytes, header_pointer_word, header_ptr | 1);  // now claims to be a list
  auto d = decode_envelope<client_wire::Envelope>(bytes);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == decode_errc::malformed);
}

TEST_CASE("schema codec: text without its NUL terminator is caught at decode, not at first read") {
  auto bytes = copy_bytes(encode_sample(find(client_samples(), "submitQuery")).bytes());
  const std::string model = "llama2-70b";
  auto at = std::search(bytes.begin(), bytes.end(), model.begin(), model.end(),
                        [](std::byte b, char c) { return b == static_cast<std::byte>(c); });
  REQUIRE(at != bytes.end());
  auto nul = at + static_cast<std::ptrdiff_t>(model.size());
  REQUIRE(*nul == std::byte{0});
  *nul = std::byte{'x'};
  auto d = decode_envelope<client_wire::Envelope>(bytes);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().code == decode_errc::malformed);
}

TEST_CASE("schema codec: nesting deeper than the limit is malformed") {
  auto nested = [](unsigned depth) {
    capnp::MallocMessageBuilder m;
    auto e = m.initRoot<test_wire::HostileEnvelope>();
    codec::write_header(e.initHeader(), sample_header());
    auto node = e.initNest();
    for (unsigned i = 0; i < depth; ++i) {
      node.setDepth(i);
      node = node.initChild();
    }
    return codec::encode(m);
  };
  auto shallow = decode_envelope<test_wire::HostileEnvelope>(nested(8).bytes());
  CHECK(shallow.ok());
  auto deep = decode_envelope<test_wire::HostileEnvelope>(nested(40).bytes());
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().code == decode_errc::malformed);
}

TEST_CASE("schema codec: pointers aliasing one blob exceed the traversal limit") {
  // 2000 list elements all pointing at the same 1000-byte blob: about 2.1 K words on the wire,
  // 250 K words to read. A size limit cannot see this; the traversal limit does.
  constexpr unsigned elements = 2000;
  constexpr unsigned blob_bytes = 1000;
  // One segment, so that relative pointer offsets are all we need to forge.
  capnp::MallocMessageBuilder m(4096, capnp::AllocationStrategy::FIXED_SIZE);
  auto e = m.initRoot<test_wire::HostileEnvelope>();
  codec::write_header(e.initHeader(), sample_header());
  auto blobs = e.initBlobs(elements);
  std::vector<capnp::byte> blob(blob_bytes, 0xab);
  blobs.set(0, capnp::Data::Reader(blob.data(), blob.size()));
  auto bytes = copy_bytes(codec::encode(m).bytes());
  REQUIRE((word_at(bytes, 0) & 0xffffffff) == 0);  // segment count − 1

  // Find element 0's pointer (a byte list of blob_bytes); the other elements follow it, null.
  const std::size_t segment_start = 1;  // after the segment table
  std::size_t first = 0;
  for (std::size_t w = segment_start; w < bytes.size() / 8; ++w) {
    const auto ptr = word_at(bytes, w);
    if ((ptr & 3) == 1 && ((ptr >> 32) & 7) == 2 && (ptr >> 35) == blob_bytes) {
      first = w;
      break;
    }
  }
  REQUIRE(first != 0);
  const auto first_ptr = word_at(bytes, first);
  const auto first_offset = static_cast<std::int32_t>(static_cast<std::uint32_t>(first_ptr)) >> 2;
  for (unsigned i = 1; i < elements; ++i) {
    REQUIRE(word_at(bytes, first + i) == 0);
    const std::int32_t offset = first_offset - static_cast<std::int32_t>(i);
    const auto low = (static_cast<std::uint32_t>(offset) << 2) | 1u;
    set_word(bytes, first + i, (first_ptr & 0xffffffff00000000ULL) | low);
  }

  auto amplified = decode_envelope<test_wire::HostileEnvelope>(bytes);
  REQUIRE_FALSE(amplified.ok());
  CHECK(amplified.error().code == decode_errc::malformed);
  CHECK(amplified.error().detail.find("traversal") != std::string::npos);

  // The aliasing is well-formed; only the budget stopped it.
  codec::decode_limits generous;
  generous.traversal_factor = 1000;
  auto allowed = decode_envelope<test_wire::HostileEnvelope>(bytes, generous);
  REQUIRE(allowed.ok());
  CHECK(allowed.value().root().getBlobs()[elements - 1].size() == blob_bytes);
}

TEST_CASE("schema codec: a message of one channel decoded as another does not crash") {
  // Same header layout, different union. Every client member's number is also a worker member's,
  // so every client message decodes as some worker message, which must be safe to read, or is
  // refused as malformed where the shapes disagree (a client's queryRejected detail Text sits
  // where a worker's assignQuery has its request struct); a worker member numbered past the
  // client union is, to a client, a newer peer's message.
  std::size_t shapes_disagree = 0;
  for (const auto& s : client_samples()) {
    auto d = decode_envelope<worker_wire::Envelope>(encode_sample(s).bytes());
    if (!d.ok()) {
      CHECK_MESSAGE(d.error().code == decode_errc::malformed, s.name << ": " << d.error().detail);
      ++shapes_disagree;
      continue;
    }
    CHECK_NOTHROW((void)kj::str(d.value().root()));
  }
  CHECK(shapes_disagree < client_samples().size());
  const auto client_members = capnp::Schema::from<client_wire::Envelope>().getUnionFields().size();
  std::size_t decoded = 0;
  std::size_t unknown = 0;
  for (const auto& s : worker_samples()) {
    const auto encoded = encode_sample(s);
    const auto which =
        static_cast<unsigned>(decode_envelope<worker_wire::Envelope>(encoded.bytes()).value().root().which());
    auto d = decode_envelope<client_wire::Envelope>(encoded.bytes());
    if (which < client_members) {
      if (d.ok()) {
        CHECK_NOTHROW((void)kj::str(d.value().root()));
      } else {
        CHECK_MESSAGE(d.error().code == decode_errc::malformed, s.name << ": " << d.error().detail);
      }
      ++decoded;
    } else {
      REQUIRE_FALSE(d.ok());
      CHECK(d.error().code == decode_errc::unknown_message);
      ++unknown;
    }
  }
  CHECK(decoded == client_members);
  // error (@11) and queryText (@12): the client union ends at statusReply @10
  CHECK(unknown == worker_samples().size() - client_members);
  CHECK(unknown == 2);
}

}  // namespace
}  // namespace aladdin::test
