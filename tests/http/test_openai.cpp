// The OpenAI module (src/api/openai.hpp): request validation and its errors, the SLO headers,
// the body sent on to engines, the answer and stream-chunk shapes, reading them back (as an
// engine's client does), SSE framing; and the calibrated token estimate.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "api/openai.hpp"
#include "api/token_estimate.hpp"

using namespace aladdin::api;
using nlohmann::json;

namespace {

request parse_ok(api_kind api, const std::string& body) {
  auto r = parse_request(api, body);
  INFO(r.error.message);
  REQUIRE(r.ok);
  return *r.ok;
}

api_error parse_err(api_kind api, const std::string& body) {
  auto r = parse_request(api, body);
  REQUIRE(!r.ok);
  return r.error;
}

}  // namespace

TEST_CASE("openai: a completions body with a text prompt, options passed through") {
  const auto r = parse_ok(api_kind::completions,
                          R"({"model":"llama2-70b","prompt":"Hello there","max_tokens":32,"temperature":0.2,
                              "stream":true,"stream_options":{"include_usage":true}})");
  CHECK(r.model == "llama2-70b");
  CHECK(r.prompt_chars == 11);
  CHECK(!r.prompt_token_ids);
  CHECK(r.max_tokens == 32u);
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.body["temperature"] == 0.2);
}

TEST_CASE("openai: a prompt of token ids is counted exactly, alone or as a list of one") {
  auto r = parse_ok(api_kind::completions, R"({"model":"m","prompt":[1,2,3,4]})");
  REQUIRE(r.prompt_token_ids);
  CHECK(r.prompt_token_ids->size() == 4);
  r = parse_ok(api_kind::completions, R"({"model":"m","prompt":[[7,8]]})");
  REQUIRE(r.prompt_token_ids);
  CHECK(*r.prompt_token_ids == std::vector<std::uint32_t>{7, 8});
  r = parse_ok(api_kind::completions, R"({"model":"m","prompt":["one text"]})");
  CHECK(r.prompt_chars == 8);
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":[1,-2]})").param == "prompt");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":["a","b"]})").message.find("only one prompt") !=
        std::string::npos);
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":[]})").status == 400);
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":{"x":1}})").param == "prompt");
}

TEST_CASE("openai: chat messages, string or text-part content, counted by their text") {
  const auto r = parse_ok(api_kind::chat_completions,
                          R"({"model":"m","messages":[{"role":"system","content":"Be brief."},
                              {"role":"user","content":[{"type":"text","text":"Hi"}]}],
                              "max_completion_tokens":10,"max_tokens":20})");
  CHECK(r.messages == 2);
  CHECK(r.prompt_chars == std::string("systemBe brief.userHi").size());
  CHECK(r.max_tokens == 10u);  // the smaller of the two
  CHECK(parse_err(api_kind::chat_completions, R"({"model":"m","messages":[]})").param == "messages");
  CHECK(parse_err(api_kind::chat_completions, R"({"model":"m","messages":[{"content":"x"}]})").param ==
        "messages[0].role");
  CHECK(parse_err(api_kind::chat_completions,
                  R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]})")
            .message.find("text only") != std::string::npos);
  CHECK(parse_err(api_kind::chat_completions, R"({"model":"m","prompt":"x"})").param == "messages");
}

TEST_CASE("openai: malformed or incomplete bodies are 400s naming the field") {
  auto e = parse_err(api_kind::completions, "{not json");
  CHECK(e.status == 400);
  CHECK(e.type == "invalid_request_error");
  CHECK(e.message.find("not valid JSON") != std::string::npos);
  CHECK(parse_err(api_kind::completions, "[1,2]").message.find("JSON object") != std::string::npos);
  CHECK(parse_err(api_kind::completions, R"({"prompt":"x"})").param == "model");
  CHECK(parse_err(api_kind::completions, R"({"model":7,"prompt":"x"})").param == "model");
  CHECK(parse_err(api_kind::completions, R"({"model":"m"})").param == "prompt");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","max_tokens":0})").param == "max_tokens");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","max_tokens":1.5})").param == "max_tokens");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","max_tokens":5000000000})").param == "max_tokens");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","stream":"yes"})").param == "stream");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","stream_options":{"include_usage":true}})").param ==
        "stream_options");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","n":2})").param == "n");
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","slo_ttft_ms":-1})").param == "slo_ttft_ms");
  const auto ok = parse_ok(api_kind::completions, R"({"model":"m","prompt":"x","slo_ttft_ms":250,"slo_tpot_ms":40})");
  CHECK(ok.slo_ttft_ms == 250.0);
  CHECK(ok.slo_tpot_ms == 40.0);
}

TEST_CASE("openai: SLO headers in milliseconds, refused when not positive numbers") {
  slo_headers h;
  CHECK(!slo_from_headers(std::string_view("200"), std::nullopt, h));
  CHECK(h.ttft_ms == 200.0);
  CHECK(!h.tpot_ms);
  slo_headers bad;
  auto e = slo_from_headers(std::nullopt, std::string_view("fast"), bad);
  REQUIRE(e);
  CHECK(e->param == "x-slo-tpot-ms");
  CHECK(e->message.find("'fast'") != std::string::npos);
  CHECK(slo_from_headers(std::string_view("0"), std::nullopt, bad));
  CHECK(slo_from_headers(std::string_view("12ms"), std::nullopt, bad));
}

TEST_CASE("openai: the SLO per field: header, then body, then the named class, then nothing") {
  const std::vector<slo_class_ms> classes = {{"interactive", 2000, 100}, {"batch", 20000, 200}};
  auto r = parse_ok(api_kind::completions, R"({"model":"m","prompt":"x","slo_tpot_ms":150,"slo_class":"batch"})");
  CHECK(r.slo_class == "batch");
  slo_headers h;
  h.ttft_ms = 500;
  auto c = resolve_slo(h, std::nullopt, r, classes);
  REQUIRE(!c.error);
  CHECK(c.ttft_ms == 500.0);  // the header
  CHECK(c.tpot_ms == 150.0);  // the body
  c = resolve_slo({}, std::string_view("interactive"), r, classes);  // the header's class wins over the body's
  CHECK(c.ttft_ms == 2000.0);
  CHECK(c.tpot_ms == 150.0);
  c = resolve_slo({}, std::nullopt, r, classes);
  CHECK(c.ttft_ms == 20000.0);
  const auto plain = parse_ok(api_kind::completions, R"({"model":"m","prompt":"x"})");
  c = resolve_slo({}, std::nullopt, plain, classes);
  CHECK(!c.ttft_ms);
  CHECK(!c.tpot_ms);
  c = resolve_slo({}, std::string_view("gold"), plain, classes);
  REQUIRE(c.error);
  CHECK(c.error->param == "x-slo-class");
  CHECK(c.error->message.find("interactive, batch") != std::string::npos);
  CHECK(parse_err(api_kind::completions, R"({"model":"m","prompt":"x","slo_class":5})").param == "slo_class");
}

TEST_CASE("openai: the engine body names the served model and drops aladdin's own fields") {
  const auto r = parse_ok(api_kind::completions, R"({"model":"Llama-2-70B","prompt":"x","top_p":0.9,"slo_ttft_ms":100,"slo_class":"b"})");
  const json b = json::parse(engine_body(r, "llama2-70b"));
  CHECK(b["model"] == "llama2-70b");
  CHECK(b["top_p"] == 0.9);
  CHECK(!b.contains("slo_ttft_ms"));
  CHECK(!b.contains("slo_class"));
  CHECK(b["prompt"] == "x");
}

TEST_CASE("openai: errors are OpenAI's object; over-context names both numbers; overload carries Retry-After") {
  const json e = json::parse(encode_error(model_not_found("gpt-9")));
  CHECK(e["error"]["message"].get<std::string>().find("gpt-9") != std::string::npos);
  CHECK(e["error"]["type"] == "invalid_request_error");
  CHECK(e["error"]["param"] == "model");
  CHECK(e["error"]["code"] == "model_not_found");
  CHECK(model_not_found("x").status == 404);
  const json plain = json::parse(encode_error(bad_request("nope")));
  CHECK(plain["error"]["param"].is_null());
  CHECK(plain["error"]["code"].is_null());
  const auto oc = over_context(4000, 200, "llama2-70b", 4096);
  CHECK(oc.status == 400);
  CHECK(oc.message.find("4096") != std::string::npos);
  CHECK(oc.message.find("4000 in the prompt") != std::string::npos);
  CHECK(oc.message.find("200 for the completion") != std::string::npos);
  CHECK(body_too_large(1024).status == 413);
  CHECK(overloaded("busy", 1).status == 429);
  CHECK(overloaded("busy", 1).retry_after_s == 1u);
  CHECK(unavailable("draining", 5).status == 503);
}

TEST_CASE("openai: whole answers in OpenAI's shapes, read back by decode_response") {
  answer_head h{api_kind::completions, "cmpl-7", 1700000000, "llama2-70b"};
  const json c = json::parse(encode_response(h, "four words of text", "length", {12, 4}));
  CHECK(c["object"] == "text_completion");
  CHECK(c["choices"][0]["text"] == "four words of text");
  CHECK(c["choices"][0]["finish_reason"] == "length");
  CHECK(c["choices"][0]["logprobs"].is_null());
  CHECK(c["usage"]["total_tokens"] == 16);
  h.api = api_kind::chat_completions;
  h.id = "chatcmpl-7";
  const std::string chat = encode_response(h, "hi", "stop", {3, 1});
  const json j = json::parse(chat);
  CHECK(j["object"] == "chat.completion");
  CHECK(j["choices"][0]["message"]["role"] == "assistant");
  CHECK(j["choices"][0]["message"]["content"] == "hi");
  const auto back = decode_response(chat);
  REQUIRE(back.ok);
  CHECK(back.ok->text == "hi");
  CHECK(back.ok->finish_reason == "stop");
  REQUIRE(back.ok->usage_);
  CHECK(back.ok->usage_->prompt_tokens == 3);
  CHECK(back.ok->head.id == "chatcmpl-7");
}

TEST_CASE("openai: stream chunks round-trip through decode_chunk, chat and completions") {
  answer_head h{api_kind::chat_completions, "chatcmpl-1", 1700000000, "m"};
  const std::string first = encode_chunk(h, "", true, "", true);
  const json fj = json::parse(first);
  CHECK(fj["object"] == "chat.completion.chunk");
  CHECK(fj["choices"][0]["delta"]["role"] == "assistant");
  CHECK(fj["choices"][0]["delta"]["content"] == "");
  CHECK(fj["choices"][0]["finish_reason"].is_null());
  CHECK(fj.contains("usage"));
  CHECK(fj["usage"].is_null());
  auto d = decode_chunk(first);
  REQUIRE(d.ok);
  CHECK(d.ok->role == "assistant");
  CHECK(!d.ok->finish_reason);
  CHECK(!d.ok->usage_);

  const std::string mid = encode_chunk(h, "Hello", false, "", false);
  CHECK(!json::parse(mid).contains("usage"));
  d = decode_chunk(mid);
  REQUIRE(d.ok);
  CHECK(d.ok->text == "Hello");
  CHECK(!d.ok->role);

  const json last = json::parse(encode_chunk(h, "", false, "length", false));
  CHECK(last["choices"][0]["delta"].empty());
  CHECK(last["choices"][0]["finish_reason"] == "length");

  const std::string u = encode_usage_chunk(h, {5, 2});
  CHECK(json::parse(u)["choices"].empty());
  d = decode_chunk(u);
  REQUIRE(d.ok);
  REQUIRE(d.ok->usage_);
  CHECK(d.ok->usage_->completion_tokens == 2);

  answer_head c{api_kind::completions, "cmpl-1", 1, "m"};
  d = decode_chunk(encode_chunk(c, " world", false, "stop", false));
  REQUIRE(d.ok);
  CHECK(d.ok->head.api == api_kind::completions);
  CHECK(d.ok->text == " world");
  CHECK(d.ok->finish_reason == "stop");
}

TEST_CASE("openai: decoding tolerates vLLM's null choices and refuses what is not a chunk") {
  auto d = decode_chunk(R"({"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":null,
                           "usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})");
  REQUIRE(d.ok);
  CHECK(d.ok->usage_->prompt_tokens == 9);
  CHECK(decode_chunk("[DONE]").error == "not a JSON object");
  CHECK(decode_chunk(R"({"object":"list"})").error.find("unexpected object") != std::string::npos);
  CHECK(decode_chunk(R"({"error":{"message":"boom"}})").error.find("boom") != std::string::npos);
  CHECK(decode_chunk(R"({"object":"text_completion","choices":5})").error.find("not a list") != std::string::npos);
  CHECK(!decode_response(R"({"object":"text_completion","choices":[]})").ok);
}

TEST_CASE("openai: the SSE reader splits events fed in any pieces") {
  answer_head h{api_kind::completions, "cmpl-2", 1, "m"};
  const std::string stream = sse_event(encode_chunk(h, "a", false, "", false)) + ": keep-alive comment\n\n" +
                             sse_event(encode_chunk(h, "b", false, "stop", false)) + std::string(sse_done);
  std::vector<std::string> events;
  sse_reader reader;
  for (char ch : stream) {  // one byte at a time
    for (auto& e : reader.feed(std::string_view(&ch, 1))) events.push_back(std::move(e));
  }
  REQUIRE(events.size() == 3);
  CHECK(decode_chunk(events[0]).ok->text == "a");
  CHECK(decode_chunk(events[1]).ok->finish_reason == "stop");
  CHECK(events[2] == "[DONE]");
  CHECK(reader.pending() == 0);
  sse_reader crlf;
  const auto two = crlf.feed("data: x\r\ndata: y\r\n\r\nevent: ping\r\n\r\ndata: z");
  REQUIRE(two.size() == 1);
  CHECK(two[0] == "x\ny");
  CHECK(crlf.feed("\n\n") == std::vector<std::string>{"z"});
}

TEST_CASE("openai: /v1/models lists the served models") {
  const json m = json::parse(encode_models({"llama2-70b"}, 5));
  CHECK(m["object"] == "list");
  CHECK(m["data"][0]["id"] == "llama2-70b");
  CHECK(m["data"][0]["object"] == "model");
}

TEST_CASE("token estimate: starts from its prior and converges to the engines' ratio") {
  token_estimator t;
  CHECK(t.estimate(0) == 0);
  CHECK(t.estimate(1) == 1);
  CHECK(t.estimate(400) == 100);  // 4 chars per token before any sample
  // Engines report 3 chars per token.
  for (int i = 0; i < 200; ++i) t.observe(3000, 1000);
  CHECK(t.samples() == 200);
  CHECK(t.chars_per_token() == doctest::Approx(3.0).epsilon(0.01));
  CHECK(t.estimate(3000) == doctest::Approx(1000).epsilon(0.01));
  t.observe(100, 0);  // unknown counts teach nothing
  CHECK(t.samples() == 200);
}

TEST_CASE("token estimate: weighted by size, so a long prompt moves it more than a short one") {
  token_estimator a, b;
  a.observe(40000, 20000);  // 2 chars per token, long
  b.observe(40, 20);        // the same ratio, short
  CHECK(a.chars_per_token() < b.chars_per_token());
  CHECK(b.chars_per_token() < 4.0);
  token_estimator c, d;  // deterministic
  for (int i = 1; i <= 50; ++i) {
    c.observe(static_cast<std::size_t>(i * 37), static_cast<std::uint32_t>(i * 9));
    d.observe(static_cast<std::size_t>(i * 37), static_cast<std::uint32_t>(i * 9));
  }
  CHECK(c.chars_per_token() == d.chars_per_token());
}
