// The node's OpenAI-compatible HTTP front door end to end: a control node with --http, real
// emulated workers (`aladdin worker --emulate`, which relay synthetic text) or the fake worker
// where a test must hold a query, and a raw-socket HTTP client sending exact bytes. Streaming and
// whole completions and chat, the API's errors, overload (429), and a client that disconnects
// mid-stream, whose query is cancelled on its worker.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "actors/caf/control_node.hpp"
#include "api/openai.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/raw_http_client.hpp"

using namespace aladdin;
using namespace aladdin::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

std::string post(const std::string& path, const std::string& body, const std::vector<std::string>& headers = {}) {
  std::vector<std::string> h = headers;
  h.push_back("Content-Type: application/json");
  return raw_http_client::request("POST", path, body, h);
}

// The events of a whole SSE body.
std::vector<std::string> events_of(const std::string& body) {
  api::sse_reader r;
  return r.feed(body);
}

node::serve_options emulated_node(const std::string& dir) {
  node::serve_options o = loopback_node(dir, "");
  o.provisioner = node::provisioner_kind::local;
  o.workers = 1;
  o.worker_command = ALADDIN_BINARY;
  o.time_scale = 20;
  o.heartbeat_timeout_s = 2;
  o.http = "127.0.0.1:0";
  return o;
}

}  // namespace

TEST_CASE("http front door: completions and chat, whole and streamed, with the emulated worker's text") {
  temp_dir dir("http-emulated");
  node::control_node n(emulated_node(dir.str()));
  n.start();
  const std::uint16_t port = port_of(n.http_url());
  REQUIRE(eventually([&] { return n.stats().workers == 1; }, 30s));

  raw_http_client c(port);
  c.send(raw_http_client::request("GET", "/ready"));
  CHECK(c.read_response().status == 200);
  c.send(raw_http_client::request("GET", "/v1/models"));
  CHECK(json::parse(c.read_response().body)["data"][0]["id"] == "llama2-70b");

  SUBCASE("a whole completion has text, usage and finish_reason length at max_tokens") {
    c.send(post("/v1/completions", R"({"model":"llama2-70b","prompt":[1,2,3,4,5,6,7],"max_tokens":6})"));
    const auto r = c.read_response();
    REQUIRE(r.status == 200);
    const json j = json::parse(r.body);
    CHECK(j["object"] == "text_completion");
    CHECK(!j["choices"][0]["text"].get<std::string>().empty());
    CHECK(j["choices"][0]["finish_reason"] == "length");
    CHECK(j["usage"]["prompt_tokens"] == 7);  // token ids are counted exactly
    CHECK(j["usage"]["completion_tokens"] == 6);
  }

  SUBCASE("a streamed chat: role first, text chunks, finish_reason, usage, [DONE]") {
    c.send(post("/v1/chat/completions",
                R"({"model":"Llama-2-70B","messages":[{"role":"user","content":"Say something"}],
                    "max_tokens":5,"stream":true,"stream_options":{"include_usage":true}})",
                {"x-slo-ttft-ms: 5000", "x-slo-tpot-ms: 500"}));
    const auto r = c.read_response();
    REQUIRE(r.status == 200);
    CHECK(r.chunked);
    CHECK(r.header("content-type") == "text/event-stream");
    const auto events = events_of(r.body);
    REQUIRE(events.size() >= 4);
    CHECK(events.back() == "[DONE]");
    const auto first = api::decode_chunk(events.front());
    REQUIRE(first.ok);
    CHECK(first.ok->role == "assistant");
    std::string text;
    std::optional<std::string> finish;
    std::optional<api::usage> usage;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) {
      const auto d = api::decode_chunk(events[i]);
      REQUIRE(d.ok);
      CHECK(d.ok->head.id == first.ok->head.id);
      text += d.ok->text;
      if (d.ok->finish_reason) finish = d.ok->finish_reason;
      if (d.ok->usage_) usage = d.ok->usage_;
    }
    CHECK(!text.empty());
    CHECK(finish == "length");
    REQUIRE(usage);
    CHECK(usage->completion_tokens == 5);
    CHECK(usage->prompt_tokens > 0);
  }

  SUBCASE("the keep-alive connection serves a stream and then a whole answer") {
    c.send(post("/v1/completions", R"({"model":"llama2-70b","prompt":"Once upon a time","max_tokens":3,"stream":true})"));
    const auto s = c.read_response();
    REQUIRE(s.status == 200);
    CHECK(events_of(s.body).back() == "[DONE]");
    c.send(post("/v1/chat/completions", R"({"model":"llama2-70b","messages":[{"role":"user","content":"Hi"}],"max_tokens":2})"));
    const auto w = c.read_response();
    REQUIRE(w.status == 200);
    const auto d = api::decode_response(w.body);
    REQUIRE(d.ok);
    CHECK(!d.ok->text.empty());
  }
  n.stop();
}

TEST_CASE("http front door: with --engine http the local workers are agents before HTTP engines, end to end") {
  temp_dir dir("http-engine");
  node::serve_options o = emulated_node(dir.str());
  o.local_engine = "http";
  node::control_node n(o);
  n.start();
  const std::uint16_t port = port_of(n.http_url());
  REQUIRE(eventually([&] { return n.stats().workers == 1; }, 30s));
  raw_http_client c(port);
  // HTTP client -> node -> worker agent -> the emulated engine over HTTP -> back.
  c.send(post("/v1/completions", R"({"model":"llama2-70b","prompt":[5,6,7,8],"max_tokens":4,"stream":true,
                                      "stream_options":{"include_usage":true}})"));
  const auto r = c.read_response();
  REQUIRE(r.status == 200);
  const auto events = events_of(r.body);
  REQUIRE(!events.empty());
  CHECK(events.back() == "[DONE]");
  std::optional<api::usage> usage;
  std::string text;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto d = api::decode_chunk(events[i]);
    REQUIRE(d.ok);
    text += d.ok->text;
    if (d.ok->usage_) usage = d.ok->usage_;
  }
  CHECK(!text.empty());
  REQUIRE(usage);
  CHECK(usage->prompt_tokens == 4);
  CHECK(usage->completion_tokens == 4);
  n.stop();
  // The worker was the agent: its log names the engine it fronted.
  std::string logs;
  for (const auto& e : std::filesystem::directory_iterator(dir.str() + "/workers")) {
    std::ifstream in(e.path());
    logs += std::string(std::istreambuf_iterator<char>(in), {});
  }
  CHECK(logs.find("fronts the engine at http://127.0.0.1:") != std::string::npos);
}

TEST_CASE("http front door: the API's errors have OpenAI's shape and status, and the node keeps serving") {
  temp_dir dir("http-errors");
  node::serve_options o = loopback_node(dir.str(), "fake-1");
  o.http = "127.0.0.1:0";
  node::control_node n(o);
  n.start();
  raw_http_client c(port_of(n.http_url()));
  auto error_of = [&](const std::string& request) {
    c.send(request);
    auto r = c.read_response();
    const json j = json::parse(r.body);
    REQUIRE(j.contains("error"));
    for (const char* k : {"message", "type", "param", "code"}) CHECK(j["error"].contains(k));
    return std::make_pair(r.status, j["error"]);
  };
  auto [s1, e1] = error_of(post("/v1/completions", "{\"model\": \"llama2-70b\", \"prompt\": "));
  CHECK(s1 == 400);
  CHECK(e1["message"].get<std::string>().find("not valid JSON") != std::string::npos);
  auto [s2, e2] = error_of(post("/v1/chat/completions", R"({"model":"llama2-70b"})"));
  CHECK(s2 == 400);
  CHECK(e2["param"] == "messages");
  auto [s3, e3] = error_of(post("/v1/completions", R"({"model":"gpt-4o","prompt":"x"})"));
  CHECK(s3 == 404);
  CHECK(e3["code"] == "model_not_found");
  auto [s4, e4] = error_of(post("/v1/completions", R"({"model":"llama2-70b","prompt":[1,2,3],"max_tokens":4094})"));
  CHECK(s4 == 400);
  CHECK(e4["message"].get<std::string>().find("4096") != std::string::npos);
  CHECK(e4["message"].get<std::string>().find("3 in the prompt, 4094 for the completion") != std::string::npos);
  auto [s5, e5] = error_of(post("/v1/completions", R"({"model":"llama2-70b","prompt":"x"})", {"x-slo-ttft-ms: soon"}));
  CHECK(s5 == 400);
  CHECK(e5["param"] == "x-slo-ttft-ms");
  auto [s8, e8] = error_of(post("/v1/completions", R"({"model":"llama2-70b","prompt":"x"})", {"x-slo-class: gold"}));
  CHECK(s8 == 400);
  CHECK(e8["param"] == "x-slo-class");
  auto [s6, e6] = error_of(raw_http_client::request("GET", "/v1/completions"));
  CHECK(s6 == 405);
  auto [s7, e7] = error_of(raw_http_client::request("GET", "/v2/nothing"));
  CHECK(s7 == 404);
  // Not ready: no worker has registered.
  c.send(raw_http_client::request("GET", "/ready"));
  CHECK(c.read_response().status == 503);
  c.send(raw_http_client::request("GET", "/health"));
  CHECK(c.read_response().status == 200);
  {
    // A body over the relay's limit: 413 from its Content-Length, and the connection closes.
    raw_http_client big(port_of(n.http_url()));
    big.send(post("/v1/completions", R"({"model":"llama2-70b","prompt":")" + std::string(70000, 'a') + "\"}"));
    const auto r = big.read_response();
    CHECK(r.status == 413);
    CHECK(json::parse(r.body)["error"]["code"] == "request_too_large");
  }
  c.send(raw_http_client::request("GET", "/metrics"));
  const auto m = c.read_response();
  CHECK(m.status == 200);
  CHECK(m.body.find("aladdin_http_requests_total{outcome=\"invalid\"} 6") != std::string::npos);
  // Refused at the door, so the node accepted none (the node's own series, actors/node/node_metrics).
  CHECK(m.body.find("aladdin_queries_total{outcome=\"accepted\",reason=\"\"} 0") != std::string::npos);
  n.stop();
}

TEST_CASE("http front door: a client that disconnects mid-stream has its query cancelled on the worker") {
  temp_dir dir("http-cancel");
  node::serve_options o = loopback_node(dir.str(), "fake-1");
  o.http = "127.0.0.1:0";
  node::control_node n(o);
  n.start();
  fake_worker_options fo;
  fo.endpoint = n.worker_endpoint();
  fo.complete = false;  // holds every query: the stream stays open
  fake_worker w(fo);
  w.start();
  REQUIRE(eventually([&] { return w.registered(); }, 10s));
  {
    raw_http_client c(port_of(n.http_url()));
    c.send(post("/v1/chat/completions",
                R"({"model":"llama2-70b","messages":[{"role":"user","content":"Hold on"}],"stream":true})"));
    const auto head = c.read_response(true);
    REQUIRE(head.status == 200);
    const auto role = c.read_chunk();  // the stream is open: the query was accepted
    REQUIRE(role);
    REQUIRE(eventually([&] { return w.assigned() == 1; }, 10s));
    // The request travelled to the worker with the client's body.
    const auto a = w.assignments().front();
    CHECK(a.request.api == worker_channel::engine_api::chat_completions);
    CHECK(json::parse(a.request.body)["messages"][0]["content"] == "Hold on");
  }  // the client goes away
  CHECK(eventually([&] { return w.cancelled() == 1; }, 10s));
  CHECK(eventually([&] { return n.stats().placed == 1; }, 10s));
  // Its capacity is free again and the node serves the next request (answered at once).
  w.set_completing(true);
  raw_http_client c(port_of(n.http_url()));
  c.send(post("/v1/completions", R"({"model":"llama2-70b","prompt":"x","max_tokens":3})"));
  CHECK(c.read_response().status == 200);
  c.send(raw_http_client::request("GET", "/metrics"));
  CHECK(c.read_response().body.find("aladdin_http_requests_total{outcome=\"disconnected\"} 1") != std::string::npos);
  w.stop();
  n.stop();
}

TEST_CASE("http front door: overload is 429 with Retry-After; a waiting query's client leaving cancels it") {
  temp_dir dir("http-overload");
  node::serve_options o = loopback_node(dir.str(), "fake-1");  // fake-1 never comes: queries wait
  o.http = "127.0.0.1:0";
  o.max_waiting = 1;
  node::control_node n(o);
  n.start();
  const auto port = port_of(n.http_url());
  auto first = std::make_unique<raw_http_client>(port);
  first->send(post("/v1/completions", R"({"model":"llama2-70b","prompt":"wait for me","max_tokens":3})"));
  REQUIRE(eventually([&] { return n.stats().waiting == 1; }, 10s));
  raw_http_client second(port);
  second.send(post("/v1/completions", R"({"model":"llama2-70b","prompt":"and me","max_tokens":3})"));
  const auto r = second.read_response();
  CHECK(r.status == 429);
  CHECK(r.header("retry-after") == "1");
  CHECK(json::parse(r.body)["error"]["type"] == "rate_limit_error");
  first.reset();  // the waiting query's client leaves: it fails (cancelled), and leaves the queue
  CHECK(eventually([&] { return n.stats().waiting == 0; }, 10s));
  raw_http_client c(port);
  c.send(raw_http_client::request("GET", "/metrics"));
  CHECK(c.read_response().body.find("aladdin_http_requests_total{outcome=\"disconnected\"} 1") != std::string::npos);
  n.stop();
}
