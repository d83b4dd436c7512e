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

[[noreturn]] void run_beast(int port_fd, int ctl_fd, const options& o) {
  aladdin::http::server_options so;
  so.threads = o.beast_threads;
  aladdin::http::http_server server(so, [](aladdin::http::http_request req,
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
  server.start();
  const std::uint16_t port = server.port();
  if (::write(port_fd, &port, sizeof port) != sizeof port) _exit(3);
  char c;
  while (::read(ctl_fd, &c, 1) > 0) {
  }
  _exit(0);  // the streams are not closed one by one: the process ends
}

std::mutex hold_mu;
std::condition_variable hold_cv;

[[noreturn]] void run_httplib(int port_fd, int ctl_fd, const options& o) {
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
  std::thread t([server] { server->listen_after_bind(); });
  const std::uint16_t p = static_cast<std::uint16_t>(port);
  if (::write(port_fd, &p, sizeof p) != sizeof p) _exit(3);
  char c;
  while (::read(ctl_fd, &c, 1) > 0) {
  }
  _exit(0);
}

struct child {
  pid_t pid = -1;
  int ctl_fd = -1;
  std::uint16_t port = 0;
};

child spawn(const std::string& name, const options& o) {
  int port_pipe[2], ctl_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(ctl_pipe) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(port_pipe[0]);
    ::close(ctl_pipe[1]);
    if (name == "beast") run_beast(port_pipe[1], ctl_pipe[0], o);
    run_httplib(port_pipe[1], ctl_pipe[0], o);
  }
  ::close(port_pipe[1]);
  ::close(ctl_pipe[0]);
  child c;
  c.pid = pid;
  c.ctl_fd = ctl_pipe[1];
  if (::read(port_pipe[0], &c.port, sizeof c.port) != sizeof c.port) {
    throw std::runtime_error(name + ": the server did not start");
  }
  ::close(port_pipe[0]);
  return c;
}

void reap(child& c) {
  ::close(c.ctl_fd);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
}

// ---- what /proc says about the child -------------------------------------------------------

long status_field_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0) return std::stol(line.substr(n + 1));
  }
  return -1;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close_paren = all.rfind(')');
  std::istringstream rest(all.substr(close_paren + 2));
  std::string tok;
  unsigned long utime = 0, stime = 0;
  for (int field = 3; rest >> tok; ++field) {
    if (field == 14) utime = std::stoul(tok);
    if (field == 15) {
      stime = std::stoul(tok);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// ---- the load generator ----------------------------------------------------------------------

// One keep-alive connection sending GET /ping as soon as the previous answer is in.
struct ping_conn : std::enable_shared_from_this<ping_conn> {
  ping_conn(asio::io_context& io, std::uint64_t& done, std::uint64_t& bad, const bool& stop)
      : sock(io), done_(done), bad_(bad), stop_(stop) {}
  tcp::socket sock;
  asio::streambuf buf;
  std::string req = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::uint64_t& done_;
  std::uint64_t& bad_;
  const bool& stop_;

  void start(const tcp::endpoint& ep) {
    sock.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        if (!self->stop_) ++self->bad_;
        return;
      }
      self->sock.set_option(tcp::no_delay(true));
      self->send();
    });
  }
  void send() {
    if (stop_) return;
    asio::async_write(sock, asio::buffer(req), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) {
        if (!self->stop_) ++self->bad_;
        return;
      }
      self->read_head();
    });
  }
  void read_head() {
    asio::async_read_until(sock, buf, "\r\n\r\n", [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (ec) {
        if (!self->stop_) ++self->bad_;
        return;
      }
      std::string head(asio::buffers_begin(self->buf.data()), asio::buffers_begin(self->buf.data()) + static_cast<std::ptrdiff_t>(n));
      self->buf.consume(n);
      std::size_t len = 0;
      for (std::size_t at = 0; (at = head.find('\n', at)) != std::string::npos; ++at) {
        if (strncasecmp(head.c_str() + at + 1, "content-length:", 15) == 0) {
          len = std::stoul(head.substr(at + 16));
        }
      }
      if (head.compare(0, 12, "HTTP/1.1 200") != 0) ++self->bad_;
      self->read_body(len);
    });
  }
  void read_body(std::size_t len) {
    if (buf.size() >= len) {
      buf.consume(len);
      ++done_;
      return send();
    }
    asio::async_read(sock, buf, asio::transfer_exactly(len - buf.size()),
                     [self = shared_from_this(), len](boost::system::error_code ec, std::size_t) {
                       if (ec) {
                         if (!self->stop_) ++self->bad_;
                         return;
                       }
                       self->buf.consume(len);
                       ++self->done_;
                       self->send();
                     });
  }
};

struct load_result {
  double req_per_s = 0;
  double cpu_us_per_req = 0;
  std::uint64_t bad = 0;
};

load_result closed_loop(std::uint16_t port, pid_t server, const options& o) {
  asio::io_context io;
  std::uint64_t done = 0, bad = 0;
  bool stop = false;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  std::vector<std::shared_ptr<ping_conn>> conns;
  for (int i = 0; i < o.connections; ++i) {
    conns.push_back(std::make_shared<ping_conn>(io, done, bad, stop));
    conns.back()->start(ep);
  }
  // Warm up, then count over the window.
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500)) io.run_for(std::chrono::milliseconds(50));
  const std::uint64_t done0 = done;
  const double cpu0 = cpu_seconds(server);
  const auto t1 = std::chrono::steady_clock::now();
  const auto window = std::chrono::duration<double>(o.seconds);
  while (std::chrono::steady_clock::now() - t1 < window) io.run_for(std::chrono::milliseconds(50));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  const std::uint64_t n = done - done0;
  const double cpu = cpu_seconds(server) - cpu0;
  stop = true;
  for (auto& c : conns) {
    boost::system::error_code ignored;
    c->sock.close(ignored);
  }
  io.run_for(std::chrono::milliseconds(200));
  load_result r;
  r.req_per_s = static_cast<double>(n) / elapsed;
  r.cpu_us_per_req = n ? cpu * 1e6 / static_cast<double>(n) : 0;
  r.bad = bad;
  return r;
}

// Idle SSE streams: each is counted once its first event has arrived, and then held open.
struct stream_conn : std::enable_shared_from_this<stream_conn> {
  explicit stream_conn(asio::io_context& io) : sock(io) {}
  tcp::socket sock;
  asio::streambuf buf;
  std::string req = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
  bool open = false;
  bool failed = false;
  std::string close_reason;
  char drain[512];

  void start(const tcp::endpoint& ep, std::function<void()> next) {
    sock.async_connect(ep, [self = shared_from_this(), next](boost::system::error_code ec) {
      if (ec) {
        self->failed = true;
        return next();
      }
      asio::async_write(self->sock, asio::buffer(self->req), [self, next](boost::system::error_code wec, std::size_t) {
        if (wec) {
          self->failed = true;
          return next();
        }
        asio::async_read_until(self->sock, self->buf, "\n\n", [self, next](boost::system::error_code rec, std::size_t) {
          if (rec) {
            self->failed = true;
          } else {
            self->open = true;
            self->hold();
          }
          next();
        });
      });
    });
  }
  void hold() {
    sock.async_read_some(asio::buffer(drain), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) {
        self->open = false;
        self->close_reason = ec.message();
        return;
      }
      self->hold();
    });
  }
};

struct stream_result {
  int held = 0;
  int failed = 0;
  double kib_per_stream = 0;
  long threads = 0;
  double idle_cpu_percent = 0;
  load_result during;
};

stream_result hold_streams(std::uint16_t port, pid_t server, const options& o) {
  asio::io_context io;
  const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  const long rss0 = status_field_kib(server, "VmRSS:");
  std::vector<std::shared_ptr<stream_conn>> conns;
  int next = 0, finished = 0;
  // Opening at most this many at once: Debian's httplib is compiled with a listen backlog of 5,
  // and a burst of connects would measure SYN retries, not memory.
  const int in_flight = o.open_in_flight;
  std::function<void()> open_next = [&] {
    ++finished;
    if (next < o.streams) {
      conns.push_back(std::make_shared<stream_conn>(io));
      ++next;
      conns.back()->start(ep, open_next);
    }
  };
  for (int i = 0; i < in_flight && next < o.streams; ++i) {
    conns.push_back(std::make_shared<stream_conn>(io));
    ++next;
    conns.back()->start(ep, open_next);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (finished < o.streams && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(50));
  }
  io.run_for(std::chrono::milliseconds(500));  // let the server settle
  stream_result r;
  for (auto& c : conns) {
    r.held += c->open ? 1 : 0;
    r.failed += c->failed ? 1 : 0;
  }
  const long rss1 = status_field_kib(server, "VmRSS:");
  r.threads = status_field_kib(server, "Threads:");
  r.kib_per_stream = r.held ? static_cast<double>(rss1 - rss0) / r.held : 0;
  // What holding them costs with no traffic at all (httplib polls each stream's thread).
  const double idle0 = cpu_seconds(server);
  const auto i0 = std::chrono::steady_clock::now();
  io.run_for(std::chrono::seconds(3));
  r.idle_cpu_percent = (cpu_seconds(server) - idle0) * 100 /
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - i0).count();
  // Requests while the streams stay open (their io_context is not run meanwhile: they are idle).
  r.during = closed_loop(port, server, o);
  for (auto& c : conns) {
    boost::system::error_code ignored;
    c->sock.close(ignored);
  }
  io.run_for(std::chrono::milliseconds(200));
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
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "aladdin_bench_http: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--seconds") o.seconds = std::stod(value());
      else if (a == "--connections") o.connections = std::stoi(value());
      else if (a == "--streams") o.streams = std::stoi(value());
      else if (a == "--beast-threads") o.beast_threads = std::stoi(value());
      else if (a == "--open-in-flight") o.open_in_flight = std::stoi(value());
      else if (a == "--servers") o.servers = split(value());
      else {
        std::fprintf(stderr, "aladdin_bench_http: unknown flag %s\n", a.c_str());
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "aladdin_bench_http: bad value for %s\n", a.c_str());
      return 2;
    }
  }
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
    child c = spawn(name, o);
    const load_result idle = closed_loop(c.port, c.pid, o);
    const stream_result st = hold_streams(c.port, c.pid, o);
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
