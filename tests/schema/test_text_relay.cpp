// The worker channel's text relay (schema/worker_channel.hpp): an assignment's engine request,
// queryText chunks and a completion's finish reason and prompt length. The codec refuses a
// request whose api and body disagree and enum values from a newer peer; split_text cuts at
// UTF-8 boundaries within the chunk limit, and encode never sends a chunk the peer refuses.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "message_samples.hpp"

namespace aladdin::test {
namespace {

namespace wc = worker_channel;

const codec::envelope_header header{codec::protocol_version, "test", 3, 9};

codec::result<wc::received> as_worker(const codec::encoded_message& e) {
  return wc::decode(e.bytes(), wc::party::worker);
}

TEST_CASE("text relay: an assignment without a request has api none and no body") {
  const wc::assign_query plain{1, 100, 20, 0, 5};
  auto back = as_worker(wc::encode(header, plain));
  REQUIRE(back.ok());
  const auto& a = std::get<wc::assign_query>(back.value().body);
  CHECK(a.request.api == wc::engine_api::none);
  CHECK(a.request.body.empty());
  CHECK(a == plain);
}

TEST_CASE("text relay: a request whose api and body disagree is malformed") {
  {
    codec::envelope_builder<worker_wire::Envelope> b(header);
    auto r = b.envelope().initAssignQuery().initRequest();
    r.setApi(worker_wire::EngineRequest::Api::NONE);
    r.setBody("{\"prompt\":\"x\"}");
    auto d = as_worker(b.encode());
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == codec::decode_errc::malformed);
    CHECK(d.error().detail.find("api none") != std::string::npos);
  }
  {
    codec::envelope_builder<worker_wire::Envelope> b(header);
    b.envelope().initAssignQuery().initRequest().setApi(worker_wire::EngineRequest::Api::COMPLETIONS);
    auto d = as_worker(b.encode());
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == codec::decode_errc::malformed);
    CHECK(d.error().detail.find("empty body") != std::string::npos);
  }
}

TEST_CASE("text relay: an api or finish reason from a newer peer is refused") {
  {
    codec::envelope_builder<worker_wire::Envelope> b(header);
    auto r = b.envelope().initAssignQuery().initRequest();
    r.setApi(static_cast<worker_wire::EngineRequest::Api>(3));
    r.setBody("{}");
    auto d = as_worker(b.encode());
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == codec::decode_errc::unknown_message);
    CHECK(d.error().detail.find("api") != std::string::npos);
  }
  {
    codec::envelope_builder<worker_wire::Envelope> b(header);
    b.envelope().initQueryCompleted().setFinishReason(static_cast<worker_wire::FinishReason>(3));
    auto d = wc::decode(b.encode().bytes(), wc::party::control_plane);
    REQUIRE_FALSE(d.ok());
    CHECK(d.error().code == codec::decode_errc::unknown_message);
    CHECK(d.error().detail.find("finish reason") != std::string::npos);
  }
}

TEST_CASE("text relay: queryText travels to the control plane only") {
  const wc::message t = wc::query_text{4, 0, "hello", 1};
  CHECK(wc::direction_of(t) == wc::direction::to_control_plane);
  CHECK(std::string(wc::message_name(t)) == "queryText");
  auto wrong = as_worker(wc::encode(header, t));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == codec::decode_errc::unknown_message);
  auto right = wc::decode(wc::encode(header, t).bytes(), wc::party::control_plane);
  REQUIRE(right.ok());
  CHECK(right.value().body == t);
}

TEST_CASE("text relay: split_text keeps every piece within the limit and on a character boundary") {
  CHECK(wc::split_text("").empty());
  CHECK(wc::split_text("abc", 8) == std::vector<std::string>{"abc"});
  CHECK(wc::split_text("abcdefghij", 4) == std::vector<std::string>{"abcd", "efgh", "ij"});
  // "é" is 2 bytes, "€" 3: a cut never lands inside either.
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xc3\xa9z";  // a é € é z
  const auto pieces = wc::split_text(text, 4);
  std::string joined;
  for (const auto& p : pieces) {
    CHECK(p.size() <= 4);
    CHECK_FALSE(p.empty());
    CHECK((static_cast<unsigned char>(p.front()) & 0xC0) != 0x80);
    joined += p;
  }
  CHECK(joined == text);
  CHECK(pieces == std::vector<std::string>{"a\xc3\xa9", "\xe2\x82\xac", "\xc3\xa9z"});
  // Malformed input (continuation bytes only) is still cut, never into an empty piece.
  const std::string junk(10, '\x80');
  std::size_t total = 0;
  for (const auto& p : wc::split_text(junk, 4)) {
    CHECK_FALSE(p.empty());
    total += p.size();
  }
  CHECK(total == junk.size());
}

TEST_CASE("text relay: the largest body and chunk fit one frame; a longer chunk is cut") {
  const wc::assign_query big{1, 100, 0, 0, 5,
                             {wc::engine_api::completions, std::string(wc::max_request_body_bytes, 'x')}};
  const auto e = wc::encode(header, big);
  CHECK(e.bytes().size() <= codec::decode_limits::channel().max_bytes);
  auto back = as_worker(e);
  REQUIRE(back.ok());
  CHECK(std::get<wc::assign_query>(back.value().body) == big);

  std::string long_text(wc::max_text_chunk_bytes - 1, 'y');
  long_text += "\xe2\x82\xac" + std::string(100, 'w');  // a 3-byte character across the limit
  auto cut = wc::decode(wc::encode(header, wc::query_text{2, 0, long_text, 9}).bytes(),
                        wc::party::control_plane);
  REQUIRE(cut.ok());
  const auto& t = std::get<wc::query_text>(cut.value().body);
  CHECK(t.text == std::string(wc::max_text_chunk_bytes - 1, 'y'));
  CHECK(t.tokens == 9);
}

TEST_CASE("text relay: finish reasons and apis have OpenAI's and the schema's spellings") {
  CHECK(std::string(wc::to_string(wc::finish_reason::stop)) == "stop");
  CHECK(std::string(wc::to_string(wc::finish_reason::length)) == "length");
  CHECK(std::string(wc::to_string(wc::finish_reason::unknown)) == "unknown");
  CHECK(std::string(wc::to_string(wc::engine_api::chat_completions)) == "chatCompletions");
  CHECK(std::string(wc::to_string(wc::engine_api::completions)) == "completions");
}

}  // namespace
}  // namespace aladdin::test
