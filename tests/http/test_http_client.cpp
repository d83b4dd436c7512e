// The generic HTTP/1.1 client (actors/http/http_client.hpp) against the server beside it over
// real loopback sockets: whole and Content-Length bodies, streamed bodies delivered piece by
// piece as they are written (the server waits for the client to have seen a piece before it
// writes the next), keep-alive reuse and stale pooled connections, connect failures, head and
// body timeouts, cancel (the server sees the client go), body limits, stop, and URL parsing.
// Waits are on the events themselves with a generous bound, never on sleeps as assertions.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "actors/http/http_client.hpp"
#include "actors/http/http_server.hpp"

using namespace aladdin::http;

namespace {

constexpr auto generous = std::chrono::seconds(20);

// What one request saw, filled on the client's thread.
struct outcome {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<response_head> head;
  std::vector<std::string> pieces;
  bool done = false;
  std::optional<client_error> error;

  request_callbacks callbacks() {
    return {[this](const response_head& h) {
              std::lock_guard<std::mutex> l(mu);
              head = h;
              cv.notify_all();
            },
            [this](std::string_view d) {
              std::lock_guard<std::mutex> l(mu);
              pieces.emplace_back(d);
              cv.notify_all();
            },
            [this](const std::optional<client_error>& e) {
              std::lock_guard<std::mutex> l(mu);
              REQUIRE_FALSE(done);  // exactly once
              done = true;
              error = e;
              cv.notify_all();
            }};
  }
  template <class P>
  bool wait(P pred) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, generous, [&] { return pred(*this); });
  }
  bool wait_done() {
    return wait([](outcome& o) { return o.done; });
  }
  std::string body() {
    std::lock_guard<std::mutex> l(mu);
    return joined();
  }
  // The body so far, for wait()'s predicates (which run under the lock).
  std::string joined() const {
    std::string b;
    for (const auto& p : pieces) b += p;
    return b;
  }
};

client_request get(std::uint16_t port, std::string target) {
  client_request r;
  r.host = "127.0.0.1";
  r.port = port;
  r.target = std::move(target);
  return r;
}

// A server whose /stream writes a piece, then waits until the test releases the next one.
struct stepping_server {
  std::mutex mu;
  std::condition_variable cv;
  int released = 0;
  std::promise<void> gone;
  bool gone_set = false;
  writer_ptr held;
  bool stopping = false;             // the test is over: writers stop waiting
  std::vector<std::thread> writers;  // /stream's, joined before the server's members go
  http_server server;

  stepping_server(const stepping_server&) = delete;
  stepping_server& operator=(const stepping_server&) = delete;
  ~stepping_server() {
    server.stop();  // no handler runs from here on, so no writer starts
    {
      std::lock_guard<std::mutex> l(mu);
      stopping = true;
    }
    cv.notify_all();
    for (auto& t : writers) t.join();
  }

  stepping_server()
      : server({}, [this](http_request req, writer_ptr w) {
          if (req.path() == "/whole") {
            http_response r;
            r.content_type = "text/plain";
            r.body = "hello " + req.method + " " + req.body + " " +
                     std::string(req.header("x-test").value_or("none"));
            w->respond(std::move(r));
          } else if (req.path() == "/missing") {
            w->respond({404, "application/json", {}, R"({"error":"nope"})"});
          } else if (req.path() == "/big") {
            w->respond({200, "text/plain", {}, std::string(100'000, 'b')});
          } else if (req.path() == "/stream") {
            w->start_stream(200, "text/event-stream");
            w->on_disconnect([this] {
              std::lock_guard<std::mutex> l(mu);
              if (!gone_set) gone.set_value();
              gone_set = true;
            });
            std::lock_guard<std::mutex> l(mu);
            writers.emplace_back([this, w] {
              for (int i = 0; i < 3; ++i) {
                w->write("data: " + std::to_string(i) + "\n\n");
                std::unique_lock<std::mutex> l(mu);
                if (!cv.wait_for(l, generous, [&] { return released > i || w->closed() || stopping; })) return;
                if (w->closed() || stopping) return;
              }
              w->finish();
            });
          } else if (req.path() == "/silent") {
            std::lock_guard<std::mutex> l(mu);
            held = w;  // never answered
          }
        }) {
    server.start();
  }
  void release() {
    std::lock_guard<std::mutex> l(mu);
    ++released;
    cv.notify_all();
  }
  std::uint16_t port() const { return server.port(); }
};

// Waits until the server holds an unanswered /silent request.
bool eventually_held(stepping_server& s) {
  const auto until = std::chrono::steady_clock::now() + generous;
  for (;;) {
    {
      std::lock_guard<std::mutex> l(s.mu);
      if (s.held) return true;
    }
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

TEST_CASE("http client: a whole response, with the request's method, body and headers") {
  stepping_server s;
  http_client c;
  outcome o;
  auto r = get(s.port(), "/whole");
  r.method = "POST";
  r.content_type = "text/plain";
  r.body = "ping";
  r.headers.emplace_back("X-Test", "yes");
  c.send(r, o.callbacks());
  REQUIRE(o.wait_done());
  CHECK_FALSE(o.error.has_value());
  REQUIRE(o.head.has_value());
  CHECK(o.head->status == 200);
  CHECK(o.body() == "hello POST ping yes");
}

TEST_CASE("http client: an error status is a response, not a failure") {
  stepping_server s;
  http_client c;
  outcome o;
  c.send(get(s.port(), "/missing"), o.callbacks());
  REQUIRE(o.wait_done());
  CHECK_FALSE(o.error.has_value());
  CHECK(o.head->status == 404);
  CHECK(o.body() == R"({"error":"nope"})");
}

TEST_CASE("http client: a streamed body arrives piece by piece as it is written") {
  stepping_server s;
  http_client c;
  outcome o;
  c.send(get(s.port(), "/stream"), o.callbacks());
  for (int i = 0; i < 3; ++i) {
    // The server writes piece i+1 only after this release: seeing piece i first proves delivery
    // is incremental, not at the end.
    REQUIRE(o.wait([&](outcome& x) { return x.joined().find("data: " + std::to_string(i)) != std::string::npos; }));
    CHECK_FALSE(o.done);
    s.release();
  }
  REQUIRE(o.wait_done());
  CHECK_FALSE(o.error.has_value());
  CHECK(o.body() == "data: 0\n\ndata: 1\n\ndata: 2\n\n");
}

TEST_CASE("http client: keep-alive connections are reused, and a closed one is not written to") {
  stepping_server s;
  http_client c;
  for (int i = 0; i < 3; ++i) {
    outcome o;
    c.send(get(s.port(), "/whole"), o.callbacks());
    REQUIRE(o.wait_done());
    CHECK_FALSE(o.error.has_value());
  }
  CHECK(c.counters().connections_opened == 1);
  CHECK(c.counters().connections_reused == 2);
  CHECK(s.server.counters().connections_accepted == 1);
  // The server goes away and another takes the port's place: the pooled connection is dead.
  const auto port = s.port();
  s.server.stop();
  server_options again_at;
  again_at.port = port;
  http_server again(again_at, [](http_request, writer_ptr w) {
    w->respond({200, "text/plain", {}, "second"});
  });
  again.start();
  outcome o;
  c.send(get(port, "/x"), o.callbacks());
  REQUIRE(o.wait_done());
  CHECK_FALSE(o.error.has_value());
  CHECK(o.body() == "second");
  CHECK(c.counters().stale_dropped == 1);
}

TEST_CASE("http client: nothing listening is connect_failed") {
  std::uint16_t port = 0;
  {
    http_server probe({}, [](http_request, writer_ptr) {});
    probe.start();
    port = probe.port();
  }  // closed: nothing listens there now
  http_client c;
  outcome o;
  c.send(get(port, "/"), o.callbacks());
  REQUIRE(o.wait_done());
  REQUIRE(o.error.has_value());
  CHECK(o.error->code == client_errc::connect_failed);
  CHECK(o.error->detail.find(std::to_string(port)) != std::string::npos);
  CHECK_FALSE(o.head.has_value());
}

TEST_CASE("http client: a head that never comes, or a stream that stalls, times out") {
  stepping_server s;
  client_options opts;
  opts.head_timeout = std::chrono::milliseconds(200);
  opts.idle_timeout = std::chrono::milliseconds(200);
  http_client c(opts);
  outcome silent;
  c.send(get(s.port(), "/silent"), silent.callbacks());
  REQUIRE(silent.wait_done());
  REQUIRE(silent.error.has_value());
  CHECK(silent.error->code == client_errc::timeout);
  CHECK(silent.error->detail.find("head") != std::string::npos);

  outcome stalled;  // the first piece comes, the second waits for a release that never comes
  c.send(get(s.port(), "/stream"), stalled.callbacks());
  REQUIRE(stalled.wait_done());
  REQUIRE(stalled.error.has_value());
  CHECK(stalled.error->code == client_errc::timeout);
  CHECK(stalled.body() == "data: 0\n\n");
  // The server saw the client go.
  CHECK(s.gone.get_future().wait_for(generous) == std::future_status::ready);
}

TEST_CASE("http client: cancel closes the stream; the server sees the client go") {
  stepping_server s;
  http_client c;
  outcome o;
  const auto id = c.send(get(s.port(), "/stream"), o.callbacks());
  REQUIRE(o.wait([](outcome& x) { return !x.pieces.empty(); }));
  c.cancel(id);
  REQUIRE(o.wait_done());
  REQUIRE(o.error.has_value());
  CHECK(o.error->code == client_errc::cancelled);
  CHECK(s.gone.get_future().wait_for(generous) == std::future_status::ready);
  c.cancel(id);  // already ended: ignored
  // The client goes on serving others.
  outcome next;
  c.send(get(s.port(), "/whole"), next.callbacks());
  REQUIRE(next.wait_done());
  CHECK_FALSE(next.error.has_value());
}

TEST_CASE("http client: a body over the limit ends the request") {
  stepping_server s;
  client_options opts;
  opts.max_body_bytes = 10'000;
  http_client c(opts);
  outcome o;
  c.send(get(s.port(), "/big"), o.callbacks());
  REQUIRE(o.wait_done());
  REQUIRE(o.error.has_value());
  CHECK(o.error->code == client_errc::too_large);
}

TEST_CASE("http client: stop ends what is pending, and later sends at once") {
  stepping_server s;
  auto c = std::make_unique<http_client>();
  outcome o;
  c->send(get(s.port(), "/silent"), o.callbacks());
  REQUIRE(eventually_held(s));
  c->stop();
  REQUIRE(o.wait_done());
  REQUIRE(o.error.has_value());
  CHECK(o.error->code == client_errc::stopped);
  outcome late;
  c->send(get(s.port(), "/whole"), late.callbacks());
  REQUIRE(late.done);
  CHECK(late.error->code == client_errc::stopped);
}

TEST_CASE("http client: URLs") {
  std::string err;
  CHECK(parse_http_url("http://127.0.0.1:8000", &err) == http_url{"127.0.0.1", 8000, ""});
  CHECK(parse_http_url("http://engine/v1/", &err) == http_url{"engine", 80, "/v1"});
  CHECK(parse_http_url("http://[::1]:9/x", &err) == http_url{"::1", 9, "/x"});
  CHECK_FALSE(parse_http_url("https://a:1", &err));
  CHECK(err.find("https") != std::string::npos);
  CHECK_FALSE(parse_http_url("ftp://a", &err));
  CHECK(err.find("http://") != std::string::npos);
  CHECK_FALSE(parse_http_url("http://:80", &err));
  CHECK(err.find("no host") != std::string::npos);
  for (const char* bad : {"http://a:0", "http://a:65536", "http://a:x", "http://a:"}) {
    CHECK_FALSE(parse_http_url(bad, &err));
    CHECK(err.find("port") != std::string::npos);
  }
  CHECK_FALSE(parse_http_url("http://a/b?c=1", &err));
  CHECK_FALSE(parse_http_url("http://u@a", &err));
}
