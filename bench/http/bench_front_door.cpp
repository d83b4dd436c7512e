// The node's HTTP front door under load: a control node (actors/caf/control_node.hpp, --http)
// with fake workers that answer every assignment at once (tests/support/fake_worker.hpp), in a
// forked child process so that its CPU time and memory are its own; the HTTP load from this
// process (bench/http/http_load.hpp). Per run:
//   1. saturation: --connections keep-alive connections in a closed loop of non-streaming
//      `POST /v1/completions` (prompt as 8 token ids, max_tokens 1) for --seconds: req/s and the
//      node's CPU per request (the fake workers' share included: same process);
//   2. open loop at 1,000 req/s and at half the saturation rate, for --seconds each: latency
//      p50 / p99 from when a request was due to its answer's last byte, all of it the node's
//      and the client's (the workers answer at once);
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

struct child {
  pid_t pid = -1;
  int ctl_fd = -1;
  std::uint16_t port = 0;
};

// The node (and, with `workers` > 0, its fake workers) in a child process until the pipe closes.
[[noreturn]] void run_node(int port_fd, int ctl_fd, const options& o, int workers) {
  test::temp_dir dir("bench-front-door");
  std::string names;
  for (int i = 1; i <= std::max(workers, 1); ++i) names += (i > 1 ? ",fake-" : "fake-") + std::to_string(i);
  node::serve_options so = test::loopback_node(dir.str(), names);
  so.http = "127.0.0.1:0";
  so.heartbeat_timeout_s = 5;
  so.max_waiting = 1000000;
  so.max_wait_s = 1e9;
  std::unique_ptr<memory_store> mem;
  std::unique_ptr<node::control_node> n;
  if (o.store == "memory") {
    mem = std::make_unique<memory_store>();
    n = std::make_unique<node::control_node>(so, *mem);
  } else {
    n = std::make_unique<node::control_node>(so);
  }
  n->start();
  std::vector<std::unique_ptr<test::fake_worker>> fleet;
  for (int i = 1; i <= workers; ++i) {
    test::fake_worker_options fo;
    fo.endpoint = n->worker_endpoint();
    fo.name = "fake-" + std::to_string(i);
    fo.first_token_after = std::chrono::milliseconds(0);
    fo.complete_after = std::chrono::milliseconds(0);
    fleet.push_back(std::make_unique<test::fake_worker>(fo));
    fleet.back()->start();
  }
  if (workers > 0 && !test::eventually([&] { return n->stats().workers == static_cast<std::uint64_t>(workers); },
                                       std::chrono::seconds(30)))
    _exit(5);
  const std::string url = n->http_url();
  const auto port = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  if (::write(port_fd, &port, sizeof port) != sizeof port) _exit(3);
  char c;
  while (::read(ctl_fd, &c, 1) > 0) {
  }
  _exit(0);
}

child spawn(const options& o, int workers) {
  int port_pipe[2], ctl_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(ctl_pipe) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(port_pipe[0]);
    ::close(ctl_pipe[1]);
    run_node(port_pipe[1], ctl_pipe[0], o, workers);
  }
  ::close(port_pipe[1]);
  ::close(ctl_pipe[0]);
  child c;
  c.pid = pid;
  c.ctl_fd = ctl_pipe[1];
  if (::read(port_pipe[0], &c.port, sizeof c.port) != sizeof c.port) throw std::runtime_error("the node did not start");
  ::close(port_pipe[0]);
  return c;
}

void reap(child& c) {
  ::close(c.ctl_fd);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "aladdin_bench_front_door: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--seconds") o.seconds = std::stod(value());
      else if (a == "--connections") o.connections = std::stoi(value());
      else if (a == "--streams") o.streams = std::stoi(value());
      else if (a == "--workers") o.workers = std::stoi(value());
      else if (a == "--store") o.store = value();
      else {
        std::fprintf(stderr, "aladdin_bench_front_door: unknown flag %s\n", a.c_str());
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "aladdin_bench_front_door: bad value for %s\n", a.c_str());
      return 2;
    }
  }
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
  child c = spawn(o, o.workers);
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), c.port);
  const bench::load_result sat = bench::closed_loop(ep, completion, o.connections, o.seconds, c.pid);
  std::printf("saturation (%d connections, closed loop): %.0f req/s, node CPU %.1f us per request%s\n",
              o.connections, sat.req_per_s, sat.cpu_us_per_req, sat.bad ? " (some requests failed)" : "");
  std::fflush(stdout);
  for (const double rate : {1000.0, sat.req_per_s / 2}) {
    bench::open_loop_result ol = bench::open_loop(ep, completion, rate, o.seconds, c.pid);
    const double p50 = aladdin::quantile(ol.latencies_ms, 0.5), p99 = aladdin::quantile(ol.latencies_ms, 0.99);
    std::printf("open loop at %.0f req/s%s (%zu connections): latency p50 %.2f ms, p99 %.2f ms, node CPU %.1f us per request%s\n",
                rate, rate == 1000.0 ? "" : " (half saturation)", ol.connections, p50, p99, ol.cpu_us_per_req,
                ol.bad ? " (some requests failed)" : "");
    std::fflush(stdout);
  }
  reap(c);

  child idle = spawn(o, 0);
  const tcp::endpoint ep2(asio::ip::make_address("127.0.0.1"), idle.port);
  const long rss0 = bench::rss_kib(idle.pid);
  auto held = bench::hold_streams(ep2, stream, o.streams, 64);
  const long rss1 = bench::rss_kib(idle.pid);
  const int open = held.open();
  std::printf("streams held (no workers: accepted, journaled, waiting): %d of %d (%d failed), node RSS %.1f KiB per stream, %ld threads\n",
              open, o.streams, held.failed(), open ? static_cast<double>(rss1 - rss0) / open : 0.0,
              bench::threads_of(idle.pid));
  held.close();
  reap(idle);
  return 0;
}
