// Chooses the front door's HTTP server library by measurement: Boost.Beast/Asio (through
// actors/http/http_server.hpp, the module the node uses) against cpp-httplib 0.11 (a thread per
// connection, TCP_NODELAY set on), both answering the same tiny JSON and holding the same idle
// Server-Sent-Event streams, with the load from this same run.
//
// Each server runs alone in a forked child process, so that its resident memory, threads and CPU
// time can be read from /proc/<pid> apart from the load generator's. The load generator (this
// process, one Asio thread) runs, per server:
//   1. closed-loop keep-alive requests from --connections connections for --seconds: req/s and
//      the server's CPU microseconds per request;
//   2. --streams SSE streams opened and held (each has received its first event): resident
//      memory per stream, threads of the server, and its CPU use over 3 s with no traffic;
//   3. step 1 again while the streams are held.
// The figures are ratios in one run on one machine; on a shared VM they move from run to run.
//
//   ./build/aladdin_bench_http [--seconds 5] [--connections 64] [--streams 10000]
//                              [--servers beast,httplib] [--beast-threads 1] [--open-in-flight 4]

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <httplib.h>

#include "actors/http/http_server.hpp"
#include "bench/http/http_load.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr const char* ping_body = R"({"object":"ping","ok":true})";
constexpr const char* first_event = "data: {\"object\":\"hello\"}\n\n";

struct options {
  double seconds = 5;
  int connections = 64;
  int streams = 10000;
  int beast_threads = 1;
  int open_in_flight = 4;
  std::vector<std::string> servers{"beast", "httplib"};
};

// ---- the servers, each in its own child process --------------------------------------------

// Each starts its server in the child process (bench::spawn_server) and returns its port; the
// server lives as long as the process.
std::uint16_t start_beast(const options& o) {
  aladdin::http::server_options so;
  so.threads = o.beast_threads;
  auto* server = new aladdin::http::http_server(so, [](aladdin::http::http_request req,
                                                       aladdin::http::writer_ptr w) {
    if (req.path() == "/stream") {
      w->start_stream(200, "text/event-stream");
      w->write(first_event);  // and the stream stays open
      return;
    }
    aladdin::http::http_response r;
    r.body = ping_body;
    w->respond(std::move(r));
  });
  server->start();
  return server->port();
}

std::mutex hold_mu;
std::condition_variable hold_cv;

std::uint16_t start_httplib(const options& o) {
  auto* server = new httplib::Server;
  server->set_tcp_nodelay(true);
  server->set_keep_alive_max_count(1u << 30);
  server->set_keep_alive_timeout(60);
  // A thread per connection is how httplib serves: every held stream needs one of its own.
  const std::size_t pool = static_cast<std::size_t>(o.streams + o.connections + 8);
  server->new_task_queue = [pool] { return new httplib::ThreadPool(pool); };
  server->Get("/ping", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(ping_body, "application/json");
  });
  server->Get("/stream", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/event-stream", [](std::size_t offset, httplib::DataSink& sink) {
      if (offset == 0) return sink.write(first_event, std::strlen(first_event));
      // Idle: the provider blocks its thread until the client goes (httplib polls it again).
      std::unique_lock<std::mutex> lock(hold_mu);
      hold_cv.wait_for(lock, std::chrono::seconds(1));
      return sink.is_writable();
    });
  });
  const int port = server->bind_to_any_port("127.0.0.1");
  if (port <= 0) _exit(4);
  new std::thread([server] { server->listen_after_bind(); });
  return static_cast<std::uint16_t>(port);
}

aladdin::bench::server_child spawn(const std::string& name, const options& o) {
  return aladdin::bench::spawn_server(name, [&] { return name == "beast" ? start_beast(o) : start_httplib(o); });
}

using aladdin::bench::reap;

using aladdin::bench::closed_loop;
using aladdin::bench::load_result;

struct stream_result {
  int held = 0;
  int failed = 0;
  double kib_per_stream = 0;
  long threads = 0;
  double idle_cpu_percent = 0;
  load_result during;
};

const char* ping_request = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const char* stream_request = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";

stream_result hold(const tcp::endpoint& ep, pid_t server, const options& o) {
  const long rss0 = aladdin::bench::rss_kib(server);
  // Opening at most --open-in-flight at once: Debian's httplib is compiled with a listen
  // backlog of 5, and a burst of connects would measure SYN retries, not memory.
  auto streams = aladdin::bench::hold_streams(ep, stream_request, o.streams, o.open_in_flight);
  stream_result r;
  r.held = streams.open();
  r.failed = streams.failed();
  const long rss1 = aladdin::bench::rss_kib(server);
  r.threads = aladdin::bench::threads_of(server);
  r.kib_per_stream = r.held ? static_cast<double>(rss1 - rss0) / r.held : 0;
  // What holding them costs with no traffic at all (httplib polls each stream's thread).
  const double idle0 = aladdin::bench::cpu_seconds(server);
  const auto i0 = std::chrono::steady_clock::now();
  streams.run_for(std::chrono::seconds(3));
  r.idle_cpu_percent = (aladdin::bench::cpu_seconds(server) - idle0) * 100 /
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - i0).count();
  // Requests while the streams stay open (idle).
  r.during = closed_loop(ep, ping_request, o.connections, o.seconds, server);
  streams.close();
  return r;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (const int rc = aladdin::bench::parse_flags(
          argc, argv, "aladdin_bench_http",
          {{"--seconds", [&](const std::string& v) { o.seconds = std::stod(v); }},
           {"--connections", [&](const std::string& v) { o.connections = std::stoi(v); }},
           {"--streams", [&](const std::string& v) { o.streams = std::stoi(v); }},
           {"--beast-threads", [&](const std::string& v) { o.beast_threads = std::stoi(v); }},
           {"--open-in-flight", [&](const std::string& v) { o.open_in_flight = std::stoi(v); }},
           {"--servers", [&](const std::string& v) { o.servers = split(v); }}});
      rc >= 0)
    return rc;
  for (const auto& s : o.servers) {
    if (s != "beast" && s != "httplib") {
      std::fprintf(stderr, "aladdin_bench_http: --servers takes beast,httplib (got %s)\n", s.c_str());
      return 2;
    }
  }
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &nofile);
  ::signal(SIGPIPE, SIG_IGN);

  std::printf("%d connections closed-loop for %.1f s; %d idle SSE streams; one load thread; %u cores\n",
              o.connections, o.seconds, o.streams, std::thread::hardware_concurrency());
  std::printf("%-8s %10s %11s %9s %7s %12s %8s %14s %16s\n", "server", "req/s", "cpu us/req", "streams",
              "failed", "KiB/stream", "threads", "idle cpu %", "req/s w/ streams");
  std::vector<double> rates, cpu;
  for (const auto& name : o.servers) {
    aladdin::bench::server_child c = spawn(name, o);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), c.port);
    const load_result idle = closed_loop(ep, ping_request, o.connections, o.seconds, c.pid);
    const stream_result st = hold(ep, c.pid, o);
    std::printf("%-8s %10.0f %11.1f %9d %7d %12.1f %8ld %14.1f %16.0f%s\n", name.c_str(), idle.req_per_s,
                idle.cpu_us_per_req, st.held, st.failed, st.kib_per_stream, st.threads,
                st.idle_cpu_percent, st.during.req_per_s, (idle.bad || st.during.bad) ? "  (some requests failed)" : "");
    std::fflush(stdout);
    rates.push_back(idle.req_per_s);
    cpu.push_back(idle.cpu_us_per_req);
    reap(c);
  }
  if (rates.size() == 2 && rates[1] > 0 && cpu[1] > 0) {
    std::printf("%s / %s: req/s %.2fx, cpu per request %.2fx\n", o.servers[0].c_str(),
                o.servers[1].c_str(), rates[0] / rates[1], cpu[0] / cpu[1]);
  }
  return 0;
}
