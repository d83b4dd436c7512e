// The engine agent end to end: HTTP client → the node's front door → `aladdin worker --vllm` →
// the fake engine (`aladdin worker --emulate --http`, vLLM's API and metric names) over HTTP →
// back. A streamed chat gets the engine's text, finish_reason and usage through the node; a
// token-count client is refused by the agent, not lost; an engine killed mid-stream makes the
// agent stop heartbeating and exit, the node loses the worker, and the client's stream ends
// with an explicit outcome — nothing hangs. Waits are on the events, with generous bounds.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/caf/control_node.hpp"
#include "actors/http/http_client.hpp"
#include "actors/loadgen/http_loadgen.hpp"
#include "actors/worker/vllm_metrics.hpp"
#include "actors/node/process_launcher.hpp"
#include "api/openai.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/test_client.hpp"

using namespace aladdin;
using namespace aladdin::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// One HTTP exchange seen through actors/http's client.
struct exchange {
  std::mutex mu;
  std::condition_variable cv;
  unsigned status = 0;
  std::string body;
  bool done = false;
  std::optional<http::client_error> error;

  http::request_callbacks callbacks() {
    return {[this](const http::response_head& h) {
              std::lock_guard<std::mutex> l(mu);
              status = h.status;
            },
            [this](std::string_view d) {
              std::lock_guard<std::mutex> l(mu);
              body.append(d);
              cv.notify_all();
            },
            [this](const std::optional<http::client_error>& e) {
              std::lock_guard<std::mutex> l(mu);
              done = true;
              error = e;
              cv.notify_all();
            }};
  }
  template <class P>
  bool wait(P pred, std::chrono::seconds limit = 60s) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, limit, [&] { return pred(*this); });
  }
};

http::client_request chat(std::uint16_t port, unsigned max_tokens) {
  http::client_request r;
  r.method = "POST";
  r.host = "127.0.0.1";
  r.port = port;
  r.target = "/v1/chat/completions";
  r.content_type = "application/json";
  r.body = json{{"model", "llama2-70b"},
                {"messages", json::array({{{"role", "user"}, {"content", "Tell me a story"}}})},
                {"max_tokens", max_tokens},
                {"stream", true},
                {"stream_options", {{"include_usage", true}}}}
               .dump();
  return r;
}

struct fleet {
  temp_dir dir;
  node::control_node node;
  node::child_process engine;
  std::string engine_url;
  node::child_process agent;

  static node::serve_options options(const std::string& d) {
    node::serve_options o = loopback_node(d, "agent-1");
    o.http = "127.0.0.1:0";
    o.heartbeat_timeout_s = 1;
    o.max_wait_s = 2;  // a query with no worker left fails instead of waiting forever
    return o;
  }

  explicit fleet(const std::vector<std::string>& engine_flags = {}) : dir("engine-agent"), node(options(dir.str())) {
    node.start();
    node::spawn_spec e;
    e.program = ALADDIN_BINARY;
    e.args = {"worker", "--emulate", "--http", "0", "--model", "llama2-70b", "--gpu", "a100-80gb", "--tp", "4"};
    e.args.insert(e.args.end(), engine_flags.begin(), engine_flags.end());
    e.pipe_stdout = true;
    e.log_file = dir.str() + "/engine.log";
    engine = node::child_process::spawn(e);
    const auto url = engine.read_line(15s);
    REQUIRE(url.has_value());
    engine_url = *url;
    node::spawn_spec a;
    a.program = ALADDIN_BINARY;
    a.args = {"worker", "--vllm", engine_url, "--name", "agent-1", "--connect", node.worker_endpoint(),
              "--model", "llama2-70b", "--gpu", "a100-80gb", "--tp", "4",
              "--metrics-interval", "100ms", "--engine-lost-after", "1s"};
    a.log_file = dir.str() + "/agent.log";
    agent = node::child_process::spawn(a);
    REQUIRE(eventually([&] { return node.stats().workers == 1; }, 30s));
  }
  ~fleet() {
    agent.stop(5s);
    engine.stop(5s);
    node.stop();
  }
};

}  // namespace

TEST_CASE("engine agent: a streamed chat through the node, the agent and the fake engine") {
  fleet f;
  http::http_client client;
  exchange x;
  client.send(chat(port_of(f.node.http_url()), 8), x.callbacks());
  REQUIRE(x.wait([](exchange& e) { return e.done; }));
  CHECK_FALSE(x.error.has_value());
  CHECK(x.status == 200);
  api::sse_reader reader;
  const auto events = reader.feed(x.body);
  REQUIRE(events.size() >= 3);
  CHECK(events.back() == "[DONE]");
  std::string text;
  std::optional<std::string> finish;
  std::optional<api::usage> usage;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto d = api::decode_chunk(events[i]);
    REQUIRE_MESSAGE(d.ok, events[i]);
    text += d.ok->text;
    if (d.ok->finish_reason) finish = d.ok->finish_reason;
    if (d.ok->usage_) usage = d.ok->usage_;
  }
  // The fake engine's words: 8 of them, each " word".
  CHECK(std::count(text.begin(), text.end(), ' ') == 8);
  CHECK(finish == "length");
  REQUIRE(usage);
  CHECK(usage->completion_tokens == 8);
  CHECK(usage->prompt_tokens > 0);  // as the engine counted it
}

TEST_CASE("engine agent: a token-count client is refused by the agent with a reason, not lost") {
  fleet f;
  test_client c(f.node.client_endpoint(), "agent-token-client");
  c.submit(1, 100, 10);
  REQUIRE(c.receive_until([&] {
    return c.count<client_channel::query_failed>() + c.count<client_channel::query_rejected>() > 0;
  }, 30s));
  bool explained = false;
  for (const auto& q : c.all<client_channel::query_failed>())
    explained = explained || q.detail.find("engine needs text") != std::string::npos;
  for (const auto& q : c.all<client_channel::query_rejected>())
    explained = explained || q.detail.find("engine needs text") != std::string::npos;
  CHECK(explained);
}

TEST_CASE("engine agent: an engine killed mid-stream loses the worker; the stream ends explicitly") {
  fleet f;
  http::http_client client;
  exchange x;
  client.send(chat(port_of(f.node.http_url()), 2000), x.callbacks());
  // Generated words have come through (not just the role chunk): the engine is mid-stream.
  REQUIRE(x.wait([](exchange& e) { return e.body.find("\"content\":\" ") != std::string::npos; }));
  f.engine.kill();
  REQUIRE(f.engine.wait_for(10s).has_value());
  // The agent finds the engine gone, stops heartbeating and exits 1.
  const auto agent_exit = f.agent.wait_for(30s);
  REQUIRE(agent_exit.has_value());
  CHECK(*agent_exit == 1);
  CHECK(eventually([&] { return f.node.stats().workers == 0; }, 30s));
  // The client hears an outcome: its stream ends (an error event or a closed stream), no hang.
  REQUIRE(x.wait([](exchange& e) { return e.done; }, 60s));
  // An explicit outcome: the connection failed, or the node said what happened in the stream.
  CHECK((x.error.has_value() || x.body.find("error") != std::string::npos));
}

TEST_CASE("engine agent: a client that leaves mid-stream cancels the engine's request through the node and the agent") {
  fleet f;
  http::http_client client;
  exchange x;
  const auto id = client.send(chat(port_of(f.node.http_url()), 2000), x.callbacks());
  // Generated words (each " word"), not just the role chunk: the engine is streaming.
  REQUIRE(x.wait([](exchange& e) { return e.body.find("\"content\":\" ") != std::string::npos; }));
  client.cancel(id);
  REQUIRE(x.wait([](exchange& e) { return e.done; }));
  // The engine sees its client (the agent) go: node → cancelQuery → agent closes the stream.
  std::string why;
  const auto engine = http::parse_http_url(f.engine_url, &why);
  REQUIRE(engine.has_value());
  auto cancelled = [&] {
    exchange m;
    http::client_request r;
    r.host = engine->host;
    r.port = engine->port;
    r.target = "/metrics";
    client.send(std::move(r), m.callbacks());
    if (!m.wait([](exchange& e) { return e.done; })) return false;
    return m.body.find("aladdin_engine_cancelled_total 1") != std::string::npos;
  };
  CHECK(eventually(cancelled, 30s));
  // The worker serves on.
  exchange next;
  client.send(chat(port_of(f.node.http_url()), 3), next.callbacks());
  REQUIRE(next.wait([](exchange& e) { return e.done; }));
  CHECK(next.status == 200);
  CHECK(next.body.find("[DONE]") != std::string::npos);
}

TEST_CASE("engine agent: an engine that hangs (answers nothing more) is lost too; nothing hangs") {
  // The agent's scrapes (every 100 ms) and the chat below are requests too: the engine stops
  // answering shortly after the agent registered.
  fleet f({"--http-stall-after", "30"});
  http::http_client client;
  std::vector<std::unique_ptr<exchange>> xs;
  for (int i = 0; i < 3; ++i) {
    xs.push_back(std::make_unique<exchange>());
    client.send(chat(port_of(f.node.http_url()), 2000), xs.back()->callbacks());
  }
  const auto agent_exit = f.agent.wait_for(60s);
  REQUIRE(agent_exit.has_value());
  CHECK(*agent_exit == 1);
  CHECK(eventually([&] { return f.node.stats().workers == 0; }, 30s));
  for (auto& x : xs) {
    REQUIRE(x->wait([](exchange& e) { return e.done; }, 60s));
    CHECK((x->error.has_value() || x->body.find("error") != std::string::npos));
  }
}

// ---- aladdin loadgen --http against the fake engine directly (no node) ---------------------

namespace {

struct fake_engine {
  temp_dir dir{"http-loadgen"};
  node::child_process proc;
  http::http_url url;
  explicit fake_engine(const std::vector<std::string>& extra = {}) {
    node::spawn_spec e;
    e.program = ALADDIN_BINARY;
    e.args = {"worker", "--emulate", "--http", "0", "--time-scale", "20"};
    e.args.insert(e.args.end(), extra.begin(), extra.end());
    e.pipe_stdout = true;
    e.log_file = dir.str() + "/engine.log";
    proc = node::child_process::spawn(e);
    const auto line = proc.read_line(15s);
    REQUIRE(line.has_value());
    std::string why;
    const auto u = http::parse_http_url(*line, &why);
    REQUIRE_MESSAGE(u.has_value(), why);
    url = *u;
  }
  ~fake_engine() { proc.stop(5s); }
};

trace small_trace() {
  trace t;
  for (int i = 0; i < 12; ++i) t.push_back({0.05 * i, 100 + 10 * i, 5 + i, 0, 0});
  return t;
}

}  // namespace

TEST_CASE("http loadgen: every request of a trace streams from the fake engine with exact token counts") {
  fake_engine engine;
  node::http_loadgen_options o;
  o.url = engine.url;
  o.time_scale = 20;
  const trace t = small_trace();
  const auto r = node::run_http_loadgen(o, t);
  CHECK(r.sent == t.size());
  CHECK(r.completed == t.size());
  CHECK(r.failed == 0);
  std::uint64_t out = 0, in = 0;
  for (const auto& q : t) {
    out += static_cast<std::uint64_t>(q.output_tokens);
    in += static_cast<std::uint64_t>(q.input_tokens);
  }
  CHECK(r.output_tokens == out);  // max_tokens with ignore_eos: exactly the trace's
  CHECK(r.prompt_tokens == in);   // token ids: the engine counts them exactly
  CHECK(r.ttft.mean > 0);
  CHECK(r.e2e.median >= r.ttft.median);
  CHECK(r.tpot.mean > 0);
  CHECK(r.itl.median > 0);
  CHECK(r.request_goodput <= r.request_throughput);
  // No SLO given: every completed request is good.
  CHECK(r.good == r.completed);
  const auto j = nlohmann::json::parse(r.json());
  CHECK(j["completed"] == t.size());
  CHECK(j.contains("p99_ttft_ms"));
}

TEST_CASE("http loadgen: a dead endpoint and a hung engine are failures by reason, and the run ends") {
  std::uint16_t port = 0;
  {
    fake_engine gone;
    port = gone.url.port;
  }  // stopped: nothing listens there now
  node::http_loadgen_options o;
  o.url = {"127.0.0.1", port, ""};
  o.time_scale = 20;
  auto r = node::run_http_loadgen(o, small_trace());
  CHECK(r.completed == 0);
  CHECK(r.failed == small_trace().size());
  CHECK(r.failed_by.count("connect failed") == 1);

  fake_engine hung({"--http-stall-after", "3"});
  o.url = hung.url;
  o.drain_timeout_s = 2;
  r = node::run_http_loadgen(o, small_trace());
  CHECK(r.completed == 3);
  CHECK(r.failed == small_trace().size() - 3);
  CHECK(r.failed_by.count("stopped") == 1);  // still open at the drain timeout
}

TEST_CASE("http loadgen: the report's arithmetic, as vllm bench serve --goodput defines it") {
  std::vector<node::request_record> recs(4);
  // ok, ttft 0.1, e2e 1.1, 11 tokens: tpot 0.1
  recs[0] = {true, "", 0.1, 1.1, 11, 50, {0.1, 0.1}};
  // ok, ttft 0.5, e2e 0.9, 5 tokens: tpot 0.1
  recs[1] = {true, "", 0.5, 0.9, 5, 50, {0.3}};
  // ok, one token: no tpot
  recs[2] = {true, "", 0.2, 0.2, 1, 50, {}};
  recs[3] = {false, "http 400", 0, 0.01, 0, 0, {}};
  node::http_loadgen_options o;
  o.slo_ttft_s = 0.3;
  o.slo_tpot_s = 0.2;
  const auto r = node::summarize(recs, 5, 2.0, o);
  CHECK(r.sent == 4);
  CHECK(r.completed == 3);
  CHECK(r.failed == 1);
  CHECK(r.failed_by.at("http 400") == 1);
  CHECK(r.good == 2);  // the second misses the TTFT SLO
  CHECK(r.request_throughput == doctest::Approx(1.5));
  CHECK(r.request_goodput == doctest::Approx(1.0));
  CHECK(r.output_tokens == 17);
  CHECK(r.output_token_throughput == doctest::Approx(8.5));
  CHECK(r.total_token_throughput == doctest::Approx((17 + 150) / 2.0));
  CHECK(r.ttft.mean == doctest::Approx((0.1 + 0.5 + 0.2) / 3));
  CHECK(r.ttft.median == doctest::Approx(0.2));
  CHECK(r.ttft.p99 == doctest::Approx(0.5));
  CHECK(r.tpot.mean == doctest::Approx(0.1));
  CHECK(r.itl.mean == doctest::Approx((0.1 + 0.1 + 0.3) / 3));
  CHECK(r.e2e.p99 == doctest::Approx(1.1));
}

TEST_CASE("fake engine: vLLM's metric names, health, whole answers, and vLLM's context-length refusal") {
  fake_engine engine;
  http::http_client client;
  auto call = [&](std::string method, std::string target, std::string body) {
    auto x = std::make_unique<exchange>();
    http::client_request r;
    r.method = std::move(method);
    r.host = engine.url.host;
    r.port = engine.url.port;
    r.target = std::move(target);
    if (!body.empty()) r.content_type = "application/json";
    r.body = std::move(body);
    client.send(std::move(r), x->callbacks());
    REQUIRE(x->wait([](exchange& e) { return e.done; }));
    REQUIRE_FALSE(x->error.has_value());
    return x;
  };
  const auto health = call("GET", "/health", "");
  CHECK(health->status == 200);
  const auto metrics = call("GET", "/metrics", "");
  CHECK(metrics->status == 200);
  const auto m = worker::parse_vllm_metrics(metrics->body);  // what the agent reads
  CHECK(m.kv_usage.has_value());
  CHECK(m.running.has_value());
  CHECK(m.waiting.has_value());
  REQUIRE(m.num_gpu_blocks.has_value());
  CHECK(*m.num_gpu_blocks > 0);
  CHECK(metrics->body.find("vllm:gpu_cache_usage_perc") != std::string::npos);

  const auto whole = call("POST", "/v1/completions", R"({"model":"llama2-70b","prompt":[5,6,7],"max_tokens":4})");
  CHECK(whole->status == 200);
  const auto d = api::decode_response(whole->body);
  REQUIRE(d.ok);
  CHECK(d.ok->finish_reason == "length");
  REQUIRE(d.ok->usage_);
  CHECK(d.ok->usage_->prompt_tokens == 3);
  CHECK(d.ok->usage_->completion_tokens == 4);

  const auto too_long = call("POST", "/v1/completions", R"({"model":"llama2-70b","prompt":[1],"max_tokens":5000})");
  CHECK(too_long->status == 400);
  CHECK(too_long->body.find("maximum context length is 4096") != std::string::npos);
  const auto unknown = call("POST", "/v1/completions", R"({"model":"other","prompt":"x"})");
  CHECK(unknown->status == 404);
  const auto bad = call("POST", "/v1/chat/completions", "{");
  CHECK(bad->status == 400);
}
