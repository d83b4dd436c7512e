// engine_agent_core on a fake clock, fed vLLM's real shapes (SSE chunks of /v1/completions and
// /v1/chat/completions with continuous usage, error JSON, /metrics exposition): registration
// after the first scrape with the KV size from vllm:cache_config_info; assignments become
// streaming calls; chunks become firstToken / queryText / queryCompleted; HTTP errors and bad
// chunks become queryRejected; token-count clients are refused; cancel closes the stream;
// heartbeats carry the engine's KV use and queue; a broken stream is held until the engine is
// probed; an engine that stops answering is lost. Also the metrics parser.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/worker/engine_agent_core.hpp"
#include "actors/worker/vllm_metrics.hpp"

using namespace aladdin;
using namespace aladdin::worker;
namespace wc = aladdin::worker_channel;
using nlohmann::json;

namespace {

constexpr micros t0 = 1'700'000'000'000'000;

const char* metrics_text = R"(# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="meta-llama/Llama-2-7b"} 2.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="meta-llama/Llama-2-7b"} 7.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="meta-llama/Llama-2-7b"} 0.25
vllm:cache_config_info{block_size="16",cache_dtype="auto",gpu_memory_utilization="0.9",num_cpu_blocks="None",num_gpu_blocks="1000",sliding_window="None"} 1.0
vllm:prompt_tokens_total{engine="0",model_name="meta-llama/Llama-2-7b"} 1234.0
)";

agent_options options() {
  agent_options o;
  o.identity = {"agent-1", "llama2-7b", "a100-80gb", 1};
  o.session.heartbeat_interval = 100'000;
  o.scrape_interval = 500'000;
  o.engine_lost_after = 2'000'000;
  return o;
}

// A chat chunk as vLLM streams it with continuous_usage_stats.
std::string chat_chunk(const std::string& text, unsigned completion, const char* finish = nullptr) {
  json j = {{"id", "chatcmpl-1"}, {"object", "chat.completion.chunk"}, {"created", 1}, {"model", "m"}};
  json choice = {{"index", 0}, {"delta", {{"content", text}}}, {"logprobs", nullptr},
                 {"finish_reason", finish ? json(finish) : json(nullptr)}};
  j["choices"] = json::array({choice});
  j["usage"] = {{"prompt_tokens", 12}, {"completion_tokens", completion}, {"total_tokens", 12 + completion}};
  return "data: " + j.dump() + "\n\n";
}

std::string completion_chunk(const std::string& text, const char* finish = nullptr) {
  json j = {{"id", "cmpl-1"}, {"object", "text_completion"}, {"created", 1}, {"model", "m"}};
  j["choices"] = json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr},
                               {"finish_reason", finish ? json(finish) : json(nullptr)}}});
  return "data: " + j.dump() + "\n\n";
}

std::string usage_chunk(unsigned prompt, unsigned completion) {
  json j = {{"id", "cmpl-1"}, {"object", "text_completion"}, {"created", 1}, {"model", "m"},
            {"choices", json::array()},
            {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", completion}}}};
  return "data: " + j.dump() + "\n\n";
}

wc::assign_query chat_assign(std::uint64_t id, std::uint32_t max_out = 0) {
  return {id, 12, 0, max_out, t0,
          {wc::engine_api::chat_completions,
           R"({"model":"llama2-7b","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":99})"}};
}

struct harness {
  engine_agent_core core{options(), t0};
  micros now = t0;
  std::vector<wc::message> sent;
  std::vector<engine_call> calls;

  void collect() {
    for (auto& m : core.take_outbound()) sent.push_back(std::move(m));
    for (auto& c : core.take_calls()) calls.push_back(std::move(c));
  }
  // Started, scraped once, registered.
  void up() {
    core.start(now);
    collect();
    REQUIRE(calls.size() == 1);
    REQUIRE(calls[0].what == engine_call::kind::scrape);
    core.scrape_done(std::string(metrics_text), "", now);
    core.handle(wc::registered{4, 2}, now);
    collect();
    REQUIRE(core.registered());
  }
  void deliver(const wc::message& m) {
    core.handle(m, now);
    collect();
  }
  template <class T>
  std::vector<T> all() const {
    std::vector<T> out;
    for (const auto& m : sent)
      if (const auto* p = std::get_if<T>(&m)) out.push_back(*p);
    return out;
  }
  const engine_call* last_call(engine_call::kind k) const {
    for (auto it = calls.rbegin(); it != calls.rend(); ++it)
      if (it->what == k) return &*it;
    return nullptr;
  }
};

}  // namespace

TEST_CASE("engine agent: registers after the first scrape, with the KV cache vLLM reports") {
  harness h;
  h.core.start(h.now);
  h.collect();
  CHECK(h.sent.empty());  // nothing before the engine answers
  REQUIRE(h.calls.size() == 1);
  CHECK(h.calls[0].what == engine_call::kind::scrape);
  h.core.scrape_done(std::string(metrics_text), "", h.now);
  h.collect();
  REQUIRE(h.sent.size() == 1);
  const auto reg = std::get<wc::register_worker>(h.sent[0]);
  CHECK(reg.worker_name == "agent-1");
  CHECK(reg.model == "llama2-7b");
  CHECK(reg.kv_capacity_tokens == 16'000);
  CHECK(reg.block_size == 16);
  CHECK(reg.time_scale == 1.0);
  CHECK(reg.max_batched_tokens == 2048);  // vLLM V1 chunks, by default with 2048 tokens
}

TEST_CASE("engine agent: registration says the engine's chunk budget as configured (0: prefill-first)") {
  for (std::uint32_t budget : {0u, 512u, 8192u}) {
    auto o = options();
    o.max_batched_tokens = budget;
    engine_agent_core c(o, t0);
    c.start(t0);
    c.scrape_done(std::string(metrics_text), "", t0);
    const auto out = c.take_outbound();
    REQUIRE(out.size() == 1);
    CHECK(std::get<wc::register_worker>(out[0]).max_batched_tokens == budget);
  }
}

TEST_CASE("engine agent: registration says the engine's time scale (1 unless told)") {
  auto o = options();
  o.time_scale = 10;
  engine_agent_core c(o, t0);
  c.start(t0);
  c.scrape_done(std::string(metrics_text), "", t0);
  const auto out = c.take_outbound();
  REQUIRE(out.size() == 1);
  CHECK(std::get<wc::register_worker>(out[0]).time_scale == 10);
  o.time_scale = 0;
  CHECK_THROWS_AS(engine_agent_core(o, t0), std::invalid_argument);
}

TEST_CASE("engine agent: an engine whose /metrics has no KV size stops it with a clear reason") {
  harness h;
  h.core.start(h.now);
  h.core.scrape_done(std::string("vllm:num_requests_running 0\n"), "", h.now);
  CHECK(h.core.finished());
  CHECK(h.core.fatal().find("--kv-tokens") != std::string::npos);
  // Given the size, the same engine is fine.
  auto o = options();
  o.kv_capacity_tokens = 32'000;
  engine_agent_core c(o, t0);
  c.start(t0);
  c.scrape_done(std::string("vllm:num_requests_running 0\n"), "", t0);
  CHECK_FALSE(c.finished());
  const auto out = c.take_outbound();
  REQUIRE(out.size() == 1);
  CHECK(std::get<wc::register_worker>(out[0]).kv_capacity_tokens == 32'000);
}

TEST_CASE("engine agent: an assignment becomes a streaming call with usage and the node's max tokens") {
  harness h;
  h.up();
  h.deliver(chat_assign(7, 64));
  const engine_call* c = h.last_call(engine_call::kind::stream);
  REQUIRE(c != nullptr);
  CHECK(c->query_id == 7);
  CHECK(c->path == "/v1/chat/completions");
  const json body = json::parse(c->body);
  CHECK(body["stream"] == true);
  CHECK(body["stream_options"]["include_usage"] == true);
  CHECK(body["stream_options"]["continuous_usage_stats"] == true);
  CHECK(body["max_tokens"] == 64);
  CHECK_FALSE(body.contains("max_completion_tokens"));
  CHECK(body["messages"][0]["content"] == "hi");
  CHECK(body["model"] == "llama2-7b");

  wc::assign_query plain{8, 12, 0, 0, t0, {wc::engine_api::completions, R"({"model":"m","prompt":[1,2,3]})"}};
  h.deliver(plain);
  c = h.last_call(engine_call::kind::stream);
  REQUIRE(c != nullptr);
  CHECK(c->path == "/v1/completions");
  CHECK_FALSE(json::parse(c->body).contains("max_tokens"));  // the engine's own limit
}

TEST_CASE("engine agent: the engine's served model name replaces the catalogue's in the body") {
  auto o = options();
  o.served_model = "meta-llama/Llama-2-7b-hf";
  engine_agent_core c(o, t0);
  c.start(t0);
  c.scrape_done(std::string(metrics_text), "", t0);
  c.handle(wc::registered{1, 1}, t0);
  c.handle(chat_assign(3), t0);
  std::string body;
  for (const auto& call : c.take_calls())
    if (call.what == engine_call::kind::stream) body = call.body;
  REQUIRE_FALSE(body.empty());
  CHECK(json::parse(body)["model"] == "meta-llama/Llama-2-7b-hf");
}

TEST_CASE("engine agent: chunks become firstToken, seq-numbered queryText and queryCompleted") {
  harness h;
  h.up();
  h.deliver(chat_assign(7));
  h.now += 1000;
  h.core.stream_head(7, 200, h.now);
  // A chunk split across reads, and two in one read.
  const std::string a = chat_chunk("Hello", 1);
  h.core.stream_data(7, a.substr(0, 10), h.now);
  h.collect();
  CHECK(h.all<wc::first_token>().empty());
  h.core.stream_data(7, a.substr(10), h.now);
  h.now += 20'000;
  h.core.stream_data(7, chat_chunk(" wor", 3) + chat_chunk("ld", 4, "stop"), h.now);
  h.core.stream_data(7, usage_chunk(12, 4) + "data: [DONE]\n\n", h.now);
  h.core.stream_done(7, std::nullopt, h.now);
  h.collect();
  const auto ft = h.all<wc::first_token>();
  REQUIRE(ft.size() == 1);
  CHECK(ft[0].at_micros == t0 + 1000);
  const auto texts = h.all<wc::query_text>();
  REQUIRE(texts.size() == 3);
  CHECK(texts[0].text == "Hello");
  CHECK(texts[1].text == " wor");
  CHECK(texts[2].text == "ld");
  for (std::uint32_t i = 0; i < 3; ++i) CHECK(texts[i].seq == i);
  CHECK(texts[0].tokens == 1);
  CHECK(texts[1].tokens == 2);  // continuous usage: 3 − 1
  CHECK(texts[2].tokens == 1);
  const auto done = h.all<wc::query_completed>();
  REQUIRE(done.size() == 1);
  CHECK(done[0].output_tokens == 4);
  CHECK(done[0].prompt_tokens == 12);
  CHECK(done[0].finish == wc::finish_reason::stop);
  CHECK(done[0].at_micros == h.now);
  CHECK(h.core.active_queries() == 0);
}

TEST_CASE("engine agent: without continuous usage a chunk with text counts one token") {
  harness h;
  h.up();
  h.deliver(wc::assign_query{3, 5, 0, 2, t0, {wc::engine_api::completions, R"({"model":"m","prompt":"x"})"}});
  h.core.stream_head(3, 200, h.now);
  h.core.stream_data(3, completion_chunk(" a") + completion_chunk(" b", "length") + "data: [DONE]\n\n", h.now);
  h.core.stream_done(3, std::nullopt, h.now);
  h.collect();
  const auto done = h.all<wc::query_completed>();
  REQUIRE(done.size() == 1);
  CHECK(done[0].output_tokens == 2);
  CHECK(done[0].finish == wc::finish_reason::length);
  CHECK(done[0].prompt_tokens == 0);  // the engine did not say
}

TEST_CASE("engine agent: a token-count assignment is refused: the engine needs text") {
  harness h;
  h.up();
  h.deliver(wc::assign_query{9, 100, 0, 10, t0});
  const auto r = h.all<wc::engine_rejected>();
  REQUIRE(r.size() == 1);
  CHECK(r[0].query_id == 9);
  CHECK(r[0].reason == wc::engine_reject_code::invalid);
  CHECK(r[0].detail.find("engine needs text") != std::string::npos);
  CHECK(h.last_call(engine_call::kind::stream) == nullptr);
}

TEST_CASE("engine agent: HTTP errors and unreadable chunks become queryRejected with the engine's words") {
  harness h;
  h.up();
  h.deliver(chat_assign(1));
  h.deliver(chat_assign(2));
  h.deliver(chat_assign(3));
  h.core.stream_head(1, 400, h.now);
  h.core.stream_data(1, R"({"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens.","type":"BadRequestError","param":null,"code":400})", h.now);
  h.core.stream_done(1, std::nullopt, h.now);
  h.core.stream_head(2, 500, h.now);
  h.core.stream_data(2, R"({"error":{"message":"engine dead","type":"InternalServerError"}})", h.now);
  h.core.stream_done(2, std::nullopt, h.now);
  h.core.stream_head(3, 200, h.now);
  h.core.stream_data(3, "data: {not json\n\n", h.now);
  h.core.stream_done(3, std::nullopt, h.now);
  h.collect();
  const auto r = h.all<wc::engine_rejected>();
  REQUIRE(r.size() == 3);
  CHECK(r[0].reason == wc::engine_reject_code::too_large);
  CHECK(r[0].detail.find("400") != std::string::npos);
  CHECK(r[0].detail.find("maximum context length") != std::string::npos);
  CHECK(r[1].reason == wc::engine_reject_code::invalid);
  CHECK(r[1].detail.find("engine dead") != std::string::npos);
  CHECK(r[2].reason == wc::engine_reject_code::invalid);
  CHECK(r[2].detail.find("cannot be read") != std::string::npos);
  CHECK(h.all<wc::query_completed>().empty());
  CHECK(h.core.active_queries() == 0);
}

TEST_CASE("engine agent: cancel closes the stream and nothing more is reported") {
  harness h;
  h.up();
  h.deliver(chat_assign(5));
  h.core.stream_head(5, 200, h.now);
  h.core.stream_data(5, chat_chunk("a", 1), h.now);
  h.deliver(wc::cancel_query{5});
  const engine_call* c = h.last_call(engine_call::kind::cancel);
  REQUIRE(c != nullptr);
  CHECK(c->query_id == 5);
  h.core.stream_data(5, chat_chunk("b", 2) + "data: [DONE]\n\n", h.now);
  h.core.stream_done(5, std::string("cancelled"), h.now);
  h.collect();
  CHECK(h.all<wc::query_text>().size() == 1);
  CHECK(h.all<wc::query_completed>().empty());
  CHECK(h.all<wc::engine_rejected>().empty());
  CHECK(h.core.stats().cancelled == 1);
}

TEST_CASE("engine agent: heartbeats carry the engine's KV use and queue, and the agent's queries") {
  harness h;
  h.up();
  h.deliver(chat_assign(1));
  h.deliver(chat_assign(2));
  h.core.stream_head(1, 200, h.now);
  h.core.stream_data(1, chat_chunk("x", 3), h.now);
  h.sent.clear();
  h.now += 100'000;
  h.core.advance(h.now);
  h.collect();
  const auto hbs = h.all<wc::heartbeat>();
  REQUIRE(hbs.size() == 1);
  const auto& hb = hbs[0];
  CHECK(hb.worker_id == 4);
  CHECK(hb.kv_blocks_total == 1000);
  CHECK(hb.kv_blocks_used == 250);  // 0.25 of 1000 blocks
  REQUIRE(hb.running.size() == 1);
  CHECK(hb.running[0].query_id == 1);
  CHECK(hb.running[0].generated_tokens == 3);
  CHECK(hb.waiting == std::vector<std::uint64_t>{2});
  CHECK(hb.waiting_count == 7);  // the engine's queue is longer than ours
}

TEST_CASE("engine agent: a broken stream is held until the engine is probed; an answering engine rejects it") {
  harness h;
  h.up();
  h.deliver(chat_assign(6));
  h.core.stream_head(6, 200, h.now);
  h.core.stream_data(6, chat_chunk("a", 1), h.now);
  h.calls.clear();
  h.core.stream_done(6, std::string("connection reset"), h.now);
  h.collect();
  CHECK(h.all<wc::engine_rejected>().empty());  // held
  REQUIRE(h.last_call(engine_call::kind::scrape) != nullptr);  // probed at once
  h.core.scrape_done(std::string(metrics_text), "", h.now);
  h.collect();
  const auto r = h.all<wc::engine_rejected>();
  REQUIRE(r.size() == 1);
  CHECK(r[0].detail.find("connection reset") != std::string::npos);
  CHECK(r[0].reason == wc::engine_reject_code::stream_broken);  // the node decides: re-place or fail
}

TEST_CASE("engine agent: an engine that stops answering is lost: no more heartbeats") {
  harness h;
  h.up();
  h.deliver(chat_assign(6));
  h.core.stream_done(6, std::string("connection refused"), h.now);
  // Scrapes fail from now on; each is answered at once by the (fake) client.
  micros end = h.now + 10'000'000;
  while (!h.core.finished() && h.now < end) {
    h.collect();
    for (const auto& c : h.calls)
      if (c.what == engine_call::kind::scrape) h.core.scrape_done(std::nullopt, "connection refused", h.now);
    h.calls.clear();
    if (h.core.finished()) break;
    h.now = std::max(h.now + 1, h.core.next_wake());
    h.core.advance(h.now);
  }
  REQUIRE(h.core.finished());
  CHECK(h.core.why_finished() == exit_reason::engine_lost);
  CHECK(h.core.lost_reason().find("connection refused") != std::string::npos);
  CHECK(h.now - t0 >= options().engine_lost_after);
  CHECK(h.now - t0 < options().engine_lost_after + 2 * options().scrape_interval);
  h.collect();
  h.sent.clear();
  h.core.advance(h.now + 1'000'000);
  h.collect();
  CHECK(h.sent.empty());  // silent: the node loses the worker and re-places its query
  CHECK(h.all<wc::engine_rejected>().empty());
}

TEST_CASE("engine agent: drain refuses new queries and finishes when the last stream ends") {
  harness h;
  h.up();
  h.deliver(chat_assign(1));
  h.deliver(wc::drain_worker{0});
  h.deliver(chat_assign(2));
  const auto r = h.all<wc::engine_rejected>();
  REQUIRE(r.size() == 1);
  CHECK(r[0].query_id == 2);
  CHECK_FALSE(h.core.finished());
  h.core.stream_head(1, 200, h.now);
  h.core.stream_data(1, chat_chunk("a", 1, "stop") + "data: [DONE]\n\n", h.now);
  h.core.stream_done(1, std::nullopt, h.now);
  CHECK(h.core.finished());
  CHECK(h.core.why_finished() == exit_reason::drained);
}

TEST_CASE("vllm metrics: names, labels, the older KV name, several engines, malformed lines") {
  const auto m = parse_vllm_metrics(metrics_text);
  REQUIRE(m.kv_usage.has_value());
  CHECK(*m.kv_usage == doctest::Approx(0.25));
  CHECK(*m.running == 2);
  CHECK(*m.waiting == 7);
  CHECK(*m.num_gpu_blocks == 1000);
  CHECK(*m.block_size == 16);
  CHECK(m.malformed_lines == 0);

  const auto old = parse_vllm_metrics(
      "vllm:gpu_cache_usage_perc{model_name=\"x\"} 0.5\n"
      "vllm:num_requests_running{engine=\"0\"} 1\nvllm:num_requests_running{engine=\"1\"} 2\n"
      "vllm:num_requests_waiting garbage\nvllm:oops{unclosed 1\nother_metric 3\n");
  CHECK(*old.kv_usage == doctest::Approx(0.5));
  CHECK(*old.running == 3);  // summed over engines
  CHECK_FALSE(old.waiting.has_value());
  CHECK(old.malformed_lines == 2);
  CHECK_FALSE(old.num_gpu_blocks.has_value());

  // The newer name wins over the older one when both are there.
  const auto both = parse_vllm_metrics("vllm:gpu_cache_usage_perc 0.9\nvllm:kv_cache_usage_perc 0.1\n");
  CHECK(*both.kv_usage == doctest::Approx(0.1));
  CHECK_FALSE(parse_vllm_metrics("").kv_usage.has_value());
}
