// The node's HTTP front door under load: a control node (actors/caf/control_node.hpp, --http)
// with fake workers that answer every assignment at once (tests/support/fake_worker.hpp), in a
// forked child process so that its CPU time and memory are its own; the HTTP load from this
// process (bench/http/http_load.hpp). Per run:
//   1. saturation: --connections keep-alive connections in a closed loop of non-streaming
//      `POST /v1/completions` (prompt as 8 token ids, max_tokens 1) for --seconds: req/s and the
//      node's CPU per request (the fake workers' share included: same process);
//   2. open loop at 1,000 req/s and at half the saturation rate, for --seconds each: latency
//      p50 / p99 from when a request was due to its answer's last byte, all of it the node's
//      and the client's (the workers answer at once); then the same half-saturation rate against
//      a bare HTTP server (the same actors/http module, answering at once): the node's added
//      latency is the difference;
//   3. a second node without workers: --streams streaming chat requests held open (accepted and
//      journaled, then waiting): the node's resident memory per stream.
// Figures from a shared machine move from run to run.
//
//   ./build/aladdin_bench_front_door [--seconds 5] [--connections 64] [--streams 10000]
//                                    [--workers 4] [--store memory|rocksdb]

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actors/caf/control_node.hpp"
#include "actors/http/http_server.hpp"
#include "bench/http/http_load.hpp"
#include "storage/memory_store.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "util/quantile.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace aladdin;

namespace {

struct options {
  double seconds = 5;
  int connections = 64;
  int streams = 10000;
  int workers = 4;
  std::string store = "rocksdb";
};

std::string post(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The node (and, with `workers` > 0, its fake workers) in the child process bench::spawn_server
// forked; returns the front door's port. The node lives as long as the process.
std::uint16_t start_node(const options& o, int workers) {
  auto* dir = new test::temp_dir("bench-front-door");
  std::string names;
  for (int i = 1; i <= std::max(workers, 1); ++i) names += (i > 1 ? ",fake-" : "fake-") + std::to_string(i);
  node::serve_options so = test::loopback_node(dir->str(), names);
  so.http = "127.0.0.1:0";
  so.heartbeat_timeout_s = 5;
  so.max_waiting = 1000000;
  so.max_wait_s = 1e9;
  node::control_node* n = nullptr;
  if (o.store == "memory")
    n = new node::control_node(so, *new memory_store);
  else
    n = new node::control_node(so);
  n->start();
  for (int i = 1; i <= workers; ++i) {
    test::fake_worker_options fo;
    fo.endpoint = n->worker_endpoint();
    fo.name = "fake-" + std::to_string(i);
    fo.first_token_after = std::chrono::milliseconds(0);
    fo.complete_after = std::chrono::milliseconds(0);
    (new test::fake_worker(fo))->start();
  }
  if (workers > 0 && !test::eventually([&] { return n->stats().workers == static_cast<std::uint64_t>(workers); },
                                       std::chrono::seconds(30)))
    _exit(5);
  const std::string url = n->http_url();
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// The baseline the node's latency is measured against in the same run: the same HTTP server
// module (actors/http) answering every request at once with a completion of the node's size.
std::uint16_t start_bare_server() {
  static const std::string body =
      R"({"id":"cmpl-1","object":"text_completion","created":1764900000,"model":"llama2-70b",)"
      R"("choices":[{"index":0,"text":" word","logprobs":null,"finish_reason":"length"}],)"
      R"("usage":{"prompt_tokens":8,"completion_tokens":1,"total_tokens":9}})";
  auto* server = new http::http_server(http::server_options{}, [](http::http_request, http::writer_ptr w) {
    http::http_response r;
    r.body = body;
    w->respond(std::move(r));
  });
  server->start();
  return server->port();
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (const int rc = bench::parse_flags(
          argc, argv, "aladdin_bench_front_door",
          {{"--seconds", [&](const std::string& v) { o.seconds = std::stod(v); }},
           {"--connections", [&](const std::string& v) { o.connections = std::stoi(v); }},
           {"--streams", [&](const std::string& v) { o.streams = std::stoi(v); }},
           {"--workers", [&](const std::string& v) { o.workers = std::stoi(v); }},
           {"--store", [&](const std::string& v) { o.store = v; }}});
      rc >= 0)
    return rc;
  if (o.store != "memory" && o.store != "rocksdb") {
    std::fprintf(stderr, "aladdin_bench_front_door: --store takes memory or rocksdb\n");
    return 2;
  }
  if (o.workers < 1) {
    std::fprintf(stderr, "aladdin_bench_front_door: --workers must be at least 1\n");
    return 2;
  }
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &nofile);
  ::signal(SIGPIPE, SIG_IGN);

  const std::string completion =
      post("/v1/completions", R"({"model":"llama2-70b","prompt":[1,2,3,4,5,6,7,8],"max_tokens":1})");
  const std::string stream =
      post("/v1/chat/completions",
           R"({"model":"llama2-70b","messages":[{"role":"user","content":"hold this stream"}],"max_tokens":8,"stream":true})");

  std::printf("node with %d fake workers (answering at once), %s store, %u cores; load from one thread\n", o.workers,
              o.store.c_str(), std::thread::hardware_concurrency());
  bench::server_child c = bench::spawn_server("the node", [&] { return start_node(o, o.workers); });
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), c.port);
  const bench::load_result sat = bench::closed_loop(ep, completion, o.connections, o.seconds, c.pid);
  std::printf("saturation (%d connections, closed loop): %.0f req/s, node CPU %.1f us per request%s\n",
              o.connections, sat.req_per_s, sat.cpu_us_per_req, sat.bad ? " (some requests failed)" : "");
  std::fflush(stdout);
  double half_p50 = 0, half_p99 = 0;
  for (const double rate : {1000.0, sat.req_per_s / 2}) {
    bench::open_loop_result ol = bench::open_loop(ep, completion, rate, o.seconds, c.pid);
    const double p50 = aladdin::quantile(ol.latencies_ms, 0.5), p99 = aladdin::quantile(ol.latencies_ms, 0.99);
    std::printf("open loop at %.0f req/s%s (%zu connections): latency p50 %.2f ms, p99 %.2f ms, node CPU %.1f us per request%s\n",
                rate, rate == 1000.0 ? "" : " (half saturation)", ol.connections, p50, p99, ol.cpu_us_per_req,
                ol.bad ? " (some requests failed)" : "");
    std::fflush(stdout);
    half_p50 = p50;
    half_p99 = p99;
  }
  bench::reap(c);

  // What the client, the kernel's loopback and the HTTP server cost by themselves at that rate:
  // the node's added latency is its latency beyond this baseline's, quantile by quantile.
  bench::server_child bare = bench::spawn_server("the bare HTTP server", start_bare_server);
  const tcp::endpoint ep_bare(asio::ip::make_address("127.0.0.1"), bare.port);
  const bench::open_loop_result base = bench::open_loop(ep_bare, completion, sat.req_per_s / 2, o.seconds, bare.pid);
  const double b50 = aladdin::quantile(base.latencies_ms, 0.5), b99 = aladdin::quantile(base.latencies_ms, 0.99);
  std::printf("bare HTTP server (actors/http answering at once) at %.0f req/s: latency p50 %.2f ms, p99 %.2f ms%s\n",
              sat.req_per_s / 2, b50, b99, base.bad ? " (some requests failed)" : "");
  std::printf("added by the node at half saturation: p50 %.2f ms, p99 %.2f ms (node minus bare server)\n",
              half_p50 - b50, half_p99 - b99);
  std::fflush(stdout);
  bench::reap(bare);

  bench::server_child idle = bench::spawn_server("the node", [&] { return start_node(o, 0); });
  const tcp::endpoint ep2(asio::ip::make_address("127.0.0.1"), idle.port);
  const long rss0 = bench::rss_kib(idle.pid);
  auto held = bench::hold_streams(ep2, stream, o.streams, 64);
  const long rss1 = bench::rss_kib(idle.pid);
  const int open = held.open();
  std::printf("streams held (no workers: accepted, journaled, waiting): %d of %d (%d failed), node RSS %.1f KiB per stream, %ld threads\n",
              open, o.streams, held.failed(), open ? static_cast<double>(rss1 - rss0) / open : 0.0,
              bench::threads_of(idle.pid));
  held.close();
  bench::reap(idle);
  return 0;
}
