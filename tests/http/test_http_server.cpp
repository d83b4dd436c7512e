// The generic HTTP/1.1 server (actors/http/http_server.hpp) over real loopback sockets, driven by
// a raw-socket client that sends exact bytes: whole and streamed answers, keep-alive and
// pipelining, the server's own refusals (413, 431, 400), timeouts, client disconnects noticed
// while an answer is pending, and writers that outlive their connection or the server.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "actors/http/http_server.hpp"
#include "tests/support/raw_http_client.hpp"

using namespace aladdin::http;
using aladdin::test::raw_http_client;

namespace {

constexpr auto generous = std::chrono::seconds(20);

// Waits for a condition another thread makes true (bounded; not a timing assertion).
template <class P>
bool eventually(P pred) {
  const auto until = std::chrono::steady_clock::now() + generous;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// A handler that answers each path its own way, and keeps the last writer for the test.
struct echo_handler {
  std::mutex mu;
  writer_ptr last;
  http_request last_request;
  std::promise<void> disconnected;
  std::promise<void> held;

  request_handler fn() {
    return [this](http_request req, writer_ptr w) {
      {
        std::lock_guard<std::mutex> lock(mu);
        last = w;
        last_request = req;
      }
      if (req.path() == "/echo") {
        http_response r;
        r.body = req.method + " " + req.target + " " + req.body;
        r.headers.emplace_back("X-Seen", std::string(req.header("X-Test").value_or("none")));
        w->respond(std::move(r));
      } else if (req.path() == "/stream") {
        w->start_stream(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
        w->write("data: one\n\n");
        w->write("");  // ignored: an empty chunk would end the body
        w->write("data: two\n\n");
        w->finish();
        w->write("data: after the end\n\n");  // ignored
      } else if (req.path() == "/hold") {
        w->on_disconnect([this] { disconnected.set_value(); });
        w->start_stream(200, "text/event-stream");
        w->write("data: first\n\n");
        held.set_value();
      } else if (req.path() == "/later") {
        std::thread([w] {
          http_response r;
          r.body = "from another thread";
          w->respond(std::move(r));
        }).detach();
      } else if (req.path() == "/throw") {
        throw std::runtime_error("boom");
      } else {
        http_response r;
        r.status = 404;
        r.body = "no such path";
        w->respond(std::move(r));
      }
    };
  }
};

server_options small_limits() {
  server_options o;
  o.threads = 2;
  o.max_body_bytes = 1024;
  o.max_header_bytes = 2048;
  return o;
}

}  // namespace

TEST_CASE("http server: answers whole responses on one keep-alive connection, headers by any case") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  raw_http_client c(s.port());
  c.send(raw_http_client::request("POST", "/echo?x=1", "hello", {"x-TEST: yes"}));
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "POST /echo?x=1 hello");
  CHECK(r.header("x-seen") == "yes");
  CHECK(r.header("content-type") == "application/json");
  c.send(raw_http_client::request("GET", "/nope"));
  r = c.read_response();
  CHECK(r.status == 404);
  CHECK(r.body == "no such path");
  CHECK(s.counters().connections_accepted == 1);
  CHECK(s.counters().requests == 2);
}

TEST_CASE("http server: pipelined requests are answered in order") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  raw_http_client c(s.port());
  c.send(raw_http_client::request("GET", "/echo?a") + raw_http_client::request("GET", "/echo?b"));
  CHECK(c.read_response().body == "GET /echo?a ");
  CHECK(c.read_response().body == "GET /echo?b ");
}

TEST_CASE("http server: a stream is chunked, ends with the last chunk, and the connection is reused") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  raw_http_client c(s.port());
  c.send(raw_http_client::request("GET", "/stream"));
  auto r = c.read_response();
  CHECK(r.status == 200);
  CHECK(r.chunked);
  CHECK(r.header("content-type") == "text/event-stream");
  CHECK(r.header("cache-control") == "no-cache");
  CHECK(!r.header("content-length"));
  REQUIRE(r.chunks.size() == 2);
  CHECK(r.chunks[0] == "data: one\n\n");
  CHECK(r.chunks[1] == "data: two\n\n");
  c.send(raw_http_client::request("GET", "/echo"));
  CHECK(c.read_response().body == "GET /echo ");
}

TEST_CASE("http server: an answer may come later from another thread") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  raw_http_client c(s.port());
  c.send(raw_http_client::request("GET", "/later"));
  CHECK(c.read_response().body == "from another thread");
}

TEST_CASE("http server: a body over the limit is refused with 413 from its Content-Length, then closed") {
  echo_handler h;
  auto o = small_limits();
  o.error_body = [](unsigned status, std::string reason) {
    http_response r;
    r.status = status;
    r.body = "{\"reason\":\"" + reason + "\"}";
    return r;
  };
  http_server s(o, h.fn());
  s.start();
  raw_http_client c(s.port());
  // Only the head is sent: the refusal must not wait for a body it will never read.
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  auto r = c.read_response();
  CHECK(r.status == 413);
  CHECK(r.body.find("over the limit of 1024 bytes") != std::string::npos);
  CHECK(r.header("connection") == "close");
  CHECK(c.wait_closed());
  CHECK(s.counters().refused == 1);
  CHECK(s.counters().requests == 0);
}

TEST_CASE("http server: Expect 100-continue is answered before the body is read") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  raw_http_client c(s.port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
  auto cont = c.read_response(true);
  CHECK(cont.status == 100);
  c.send("abc");
  CHECK(c.read_response().body == "POST /echo abc");
}

TEST_CASE("http server: a header block over the limit gets 431, garbage gets 400, and the server keeps serving") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  {
    raw_http_client c(s.port());
    c.send("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    CHECK(c.read_response().status == 431);
    CHECK(c.wait_closed());
  }
  {
    raw_http_client c(s.port());
    c.send("NOT HTTP AT ALL\r\n\r\n");
    auto r = c.read_response();
    CHECK(r.status == 400);
    CHECK(r.body.find("malformed HTTP request") != std::string::npos);
    CHECK(c.wait_closed());
  }
  raw_http_client c(s.port());
  c.send(raw_http_client::request("GET", "/echo"));
  CHECK(c.read_response().status == 200);
}

TEST_CASE("http server: a handler that throws gets a 500, the connection lives on") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  raw_http_client c(s.port());
  c.send(raw_http_client::request("GET", "/throw"));
  auto r = c.read_response();
  CHECK(r.status == 500);
  CHECK(r.body.find("boom") != std::string::npos);
  c.send(raw_http_client::request("GET", "/echo"));
  CHECK(c.read_response().status == 200);
}

TEST_CASE("http server: a client that sends no complete header is closed after the header timeout") {
  echo_handler h;
  auto o = small_limits();
  o.header_timeout = std::chrono::milliseconds(100);
  http_server s(o, h.fn());
  s.start();
  raw_http_client c(s.port());
  c.send("GET /echo HTTP/1.1\r\n");  // and nothing more
  CHECK(c.wait_closed());
  CHECK(eventually([&] { return s.counters().timeouts == 1; }));
  CHECK(s.counters().requests == 0);
}

TEST_CASE("http server: a client gone mid-stream is noticed, and the writer turns into a no-op") {
  echo_handler h;
  http_server s(small_limits(), h.fn());
  s.start();
  auto disconnected = h.disconnected.get_future();
  auto held = h.held.get_future();
  {
    raw_http_client c(s.port());
    c.send(raw_http_client::request("GET", "/hold"));
    auto head = c.read_response(true);
    CHECK(head.status == 200);
    CHECK(c.read_chunk() == "data: first\n\n");
    REQUIRE(held.wait_for(generous) == std::future_status::ready);
  }  // the client closes its socket
  REQUIRE(disconnected.wait_for(generous) == std::future_status::ready);
  writer_ptr w;
  {
    std::lock_guard<std::mutex> lock(h.mu);
    w = h.last;
  }
  CHECK(w->closed());
  w->write("data: nobody listens\n\n");  // must not crash or reach anyone
  w->finish();
  // A callback registered after the fact runs at once.
  bool late = false;
  w->on_disconnect([&] { late = true; });
  CHECK(late);
  CHECK(s.counters().disconnects == 1);
}

TEST_CASE("http server: writers that outlive the server do nothing") {
  echo_handler h;
  auto s = std::make_unique<http_server>(small_limits(), h.fn());
  s->start();
  auto held = h.held.get_future();
  raw_http_client c(s->port());
  c.send(raw_http_client::request("GET", "/hold"));
  REQUIRE(held.wait_for(generous) == std::future_status::ready);
  s.reset();
  writer_ptr w;
  {
    std::lock_guard<std::mutex> lock(h.mu);
    w = h.last;
  }
  CHECK(w->closed());
  w->write("data: late\n\n");
  w->finish();
  bool called = false;
  w->on_disconnect([&] { called = true; });
  CHECK(called);
}

TEST_CASE("http server: a port in use is an error naming the address") {
  echo_handler h;
  http_server a(small_limits(), h.fn());
  a.start();
  auto o = small_limits();
  o.port = a.port();
  o.host = "127.0.0.1";
  http_server b(o, h.fn());
  try {
    b.start();
    FAIL("bound a port in use");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(a.port())) != std::string::npos);
  }
  auto bad = small_limits();
  bad.host = "not-an-address";
  http_server d(bad, h.fn());
  CHECK_THROWS_AS(d.start(), std::runtime_error);
}

TEST_CASE("http types: serialized heads carry exactly one framing header") {
  const auto whole = serialize(http_response{201, "application/json", {{"Retry-After", "2"}}, "{}"}, false);
  CHECK(whole == "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nRetry-After: 2\r\n"
                 "Content-Length: 2\r\n\r\n{}");
  const auto head = serialize_head(200, "text/event-stream", {}, true, 0, true);
  CHECK(head == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                "Connection: close\r\n\r\n");
  CHECK(chunk("hello, world!!!!x") == "11\r\nhello, world!!!!x\r\n");
  CHECK(chunk("").empty());
  http_request r;
  r.target = "/v1/models?x=y";
  r.headers = {{"x-slo-ttft-ms", "200"}};
  CHECK(r.path() == "/v1/models");
  CHECK(r.header("X-SLO-TTFT-MS") == "200");
  CHECK(!r.header("x-other"));
}
