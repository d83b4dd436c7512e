#pragma once
// The HTTP load generator the benchmarks in bench/http/ share (one Asio thread, raw HTTP/1.1
// over keep-alive connections), and what /proc says about the server process under test (it
// runs in a forked child, so that its memory, threads and CPU time are its own).
//
// - closed_loop: `connections` connections each send `request` again as soon as its answer is
//   in, for `seconds` after a warm-up: answers per second and the server's CPU per answer.
// - open_loop: requests at a fixed rate for `seconds`, each on an idle connection of a fixed
//   pool (queued when none is idle): the latency of each, from when it was due to its last byte.
// - hold_streams: `n` streams opened (at most `in_flight` connecting at once) and held; each
//   counts once its first event ("\n\n" after the head) has arrived.
// Every answer must be "HTTP/1.1 200" with a Content-Length body, or it counts as bad.
//
// And what every such benchmark does around it: run the server under test in a forked child
// (spawn_server / reap: the child starts the server, says its port through a pipe and lives
// until the parent closes the other pipe), and read "--flag value" arguments (parse_flags).

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>

namespace aladdin::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline long proc_status_field(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0) return std::stol(line.substr(n + 1));
  }
  return -1;
}
inline long rss_kib(pid_t pid) { return proc_status_field(pid, "VmRSS:"); }
inline long threads_of(pid_t pid) { return proc_status_field(pid, "Threads:"); }

inline double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(all.substr(all.rfind(')') + 2));
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

// A server under test in a forked child process.
struct server_child {
  pid_t pid = -1;
  int ctl_fd = -1;
  std::uint16_t port = 0;
};

// Forks; the child calls `start` (which starts the server and returns its port, or exits),
// reports the port and then lives until reap() closes the control pipe. Throws naming `what`
// when the child reports no port.
inline server_child spawn_server(const std::string& what, const std::function<std::uint16_t()>& start) {
  int port_pipe[2], ctl_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(ctl_pipe) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(port_pipe[0]);
    ::close(ctl_pipe[1]);
    const std::uint16_t port = start();
    if (::write(port_pipe[1], &port, sizeof port) != sizeof port) _exit(3);
    char c;
    while (::read(ctl_pipe[0], &c, 1) > 0) {
    }
    _exit(0);  // whatever it holds (streams, threads) ends with the process
  }
  ::close(port_pipe[1]);
  ::close(ctl_pipe[0]);
  server_child c;
  c.pid = pid;
  c.ctl_fd = ctl_pipe[1];
  const bool started = ::read(port_pipe[0], &c.port, sizeof c.port) == sizeof c.port;
  ::close(port_pipe[0]);
  if (!started) throw std::runtime_error(what + " did not start");
  return c;
}

inline void reap(server_child& c) {
  ::close(c.ctl_fd);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
}

// "--name value" arguments, each given to its setter (which throws on a bad value). Returns -1
// when all were read, else the exit code after a one-line error naming the program and flag.
inline int parse_flags(int argc, char** argv, const char* program,
                       const std::map<std::string, std::function<void(const std::string&)>>& setters) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto it = setters.find(a);
    if (it == setters.end()) {
      std::fprintf(stderr, "%s: unknown flag %s\n", program, a.c_str());
      return 2;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", program, a.c_str());
      return 2;
    }
    try {
      it->second(argv[++i]);
    } catch (const std::exception&) {
      std::fprintf(stderr, "%s: bad value for %s\n", program, a.c_str());
      return 2;
    }
  }
  return -1;
}

// One keep-alive connection that sends a request and reads its answer, then calls `done`.
struct request_conn : std::enable_shared_from_this<request_conn> {
  request_conn(asio::io_context& io, std::string request) : sock(io), req(std::move(request)) {}
  tcp::socket sock;
  asio::streambuf buf;
  std::string req;
  bool open = false;
  // ok: a 200 with its body read.
  std::function<void(bool ok)> done;

  void connect(const tcp::endpoint& ep, std::function<void(bool)> then) {
    sock.async_connect(ep, [self = shared_from_this(), then](boost::system::error_code ec) {
      if (!ec) {
        self->sock.set_option(tcp::no_delay(true));
        self->open = true;
      }
      then(!ec);
    });
  }
  void send() {
    asio::async_write(sock, asio::buffer(req), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
      if (ec) return self->fail();
      self->read_head();
    });
  }
  void fail() {
    open = false;
    if (done) done(false);
  }
  void read_head() {
    asio::async_read_until(sock, buf, "\r\n\r\n", [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->fail();
      std::string head(asio::buffers_begin(self->buf.data()),
                       asio::buffers_begin(self->buf.data()) + static_cast<std::ptrdiff_t>(n));
      self->buf.consume(n);
      std::size_t len = 0;
      for (std::size_t at = 0; (at = head.find('\n', at)) != std::string::npos; ++at) {
        if (strncasecmp(head.c_str() + at + 1, "content-length:", 15) == 0) len = std::stoul(head.substr(at + 16));
      }
      const bool ok = head.compare(0, 12, "HTTP/1.1 200") == 0;
      self->read_body(len, ok);
    });
  }
  void read_body(std::size_t len, bool ok) {
    if (buf.size() >= len) {
      buf.consume(len);
      if (done) done(ok);
      return;
    }
    asio::async_read(sock, buf, asio::transfer_exactly(len - buf.size()),
                     [self = shared_from_this(), len, ok](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->fail();
                       self->buf.consume(len);
                       if (self->done) self->done(ok);
                     });
  }
  void close() {
    boost::system::error_code ignored;
    sock.close(ignored);
    open = false;
  }
};

struct load_result {
  double req_per_s = 0;
  double cpu_us_per_req = 0;  // of the server process
  std::uint64_t answered = 0;
  std::uint64_t bad = 0;
};

inline void run_for(asio::io_context& io, std::chrono::duration<double> d) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::nanoseconds>(d);
  while (std::chrono::steady_clock::now() < until) io.run_for(std::chrono::milliseconds(20));
}

inline load_result closed_loop(const tcp::endpoint& ep, const std::string& request, int connections, double seconds,
                               pid_t server) {
  asio::io_context io;
  std::uint64_t done = 0, bad = 0;
  bool stop = false;
  std::vector<std::shared_ptr<request_conn>> conns;
  for (int i = 0; i < connections; ++i) {
    auto c = std::make_shared<request_conn>(io, request);
    request_conn* raw = c.get();
    c->done = [&, raw](bool ok) {
      if (stop) return;
      if (!ok) {
        ++bad;
        return;
      }
      ++done;
      raw->send();
    };
    c->connect(ep, [&, raw](bool ok) {
      if (ok) raw->send();
      else ++bad;
    });
    conns.push_back(std::move(c));
  }
  run_for(io, std::chrono::milliseconds(500));  // warm-up
  const std::uint64_t done0 = done;
  const double cpu0 = cpu_seconds(server);
  const auto t0 = std::chrono::steady_clock::now();
  run_for(io, std::chrono::duration<double>(seconds));
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds(server) - cpu0;
  load_result r;
  r.answered = done - done0;
  r.req_per_s = static_cast<double>(r.answered) / elapsed;
  r.cpu_us_per_req = r.answered ? cpu * 1e6 / static_cast<double>(r.answered) : 0;
  stop = true;
  for (auto& c : conns) c->close();
  io.run_for(std::chrono::milliseconds(200));
  r.bad = bad;
  return r;
}

struct open_loop_result {
  std::vector<double> latencies_ms;  // of the answered requests
  std::uint64_t bad = 0;
  double cpu_us_per_req = 0;
  std::size_t connections = 0;  // the pool's size at the end
};

inline open_loop_result open_loop(const tcp::endpoint& ep, const std::string& request, double rate, double seconds,
                                  pid_t server, std::size_t pool = 256) {
  using clock = std::chrono::steady_clock;
  asio::io_context io;
  open_loop_result r;
  std::deque<std::shared_ptr<request_conn>> idle;
  std::vector<std::shared_ptr<request_conn>> all;
  std::deque<clock::time_point> backlog;  // requests due but not sent: no connection was idle
  bool stop = false;
  // Latency counts from when a request was due, not from when a connection was free, so that a
  // slow answer delays the measurement of the ones behind it too (no coordinated omission).
  std::function<void()> dispatch = [&] {
    while (!idle.empty() && !backlog.empty()) {
      auto c = idle.front();
      idle.pop_front();
      const auto due = backlog.front();
      backlog.pop_front();
      std::weak_ptr<request_conn> self = c;
      c->done = [&, self, due](bool ok) {
        if (stop) return;
        if (!ok) {
          ++r.bad;
          return;
        }
        r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - due).count());
        if (auto back = self.lock()) idle.push_back(std::move(back));
        dispatch();
      };
      c->send();
    }
  };
  for (std::size_t i = 0; i < pool; ++i) {
    auto c = std::make_shared<request_conn>(io, request);
    all.push_back(c);
    c->connect(ep, [c, &idle, &r](bool ok) {
      if (ok) idle.push_back(c);
      else ++r.bad;
    });
  }
  run_for(io, std::chrono::milliseconds(500));
  const double cpu0 = cpu_seconds(server);
  const auto t0 = clock::now();
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  for (std::uint64_t sent = 0; sent < total;) {
    const auto due = t0 + std::chrono::duration_cast<std::chrono::nanoseconds>(interval * static_cast<double>(sent));
    if (clock::now() < due) {
      io.run_until(due);
      if (io.stopped()) io.restart();
      continue;
    }
    backlog.push_back(due);
    ++sent;
    dispatch();
    io.poll();
    if (io.stopped()) io.restart();
  }
  run_for(io, std::chrono::seconds(1));  // the last answers
  r.cpu_us_per_req = r.latencies_ms.empty() ? 0
                                            : (cpu_seconds(server) - cpu0) * 1e6 / static_cast<double>(r.latencies_ms.size());
  r.bad += backlog.size();  // never sent
  stop = true;
  r.connections = all.size();
  for (auto& c : all) c->close();
  io.run_for(std::chrono::milliseconds(100));
  return r;
}

// An open SSE stream, counted once its first event has arrived.
struct stream_conn : std::enable_shared_from_this<stream_conn> {
  stream_conn(asio::io_context& io, std::string request) : sock(io), req(std::move(request)) {}
  tcp::socket sock;
  asio::streambuf buf;
  std::string req;
  bool open = false;
  bool failed = false;
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
        return;
      }
      self->hold();
    });
  }
};

// Streams held open; the io_context runs only when the caller runs it.
struct held_streams {
  struct state {
    asio::io_context io;
    std::vector<std::shared_ptr<stream_conn>> conns;
    tcp::endpoint ep;
    std::string request;
    int n = 0, next = 0, finished = 0;
  };
  std::shared_ptr<state> st = std::make_shared<state>();

  int open() const {
    int k = 0;
    for (const auto& c : st->conns) k += c->open ? 1 : 0;
    return k;
  }
  int failed() const {
    int k = 0;
    for (const auto& c : st->conns) k += c->failed ? 1 : 0;
    return k;
  }
  void run_for(std::chrono::duration<double> d) { aladdin::bench::run_for(st->io, d); }
  void close() {
    for (auto& c : st->conns) {
      boost::system::error_code ignored;
      c->sock.close(ignored);
    }
    st->io.run_for(std::chrono::milliseconds(200));
  }
};

inline void open_next_stream(const std::shared_ptr<held_streams::state>& st) {
  if (st->next >= st->n) return;
  ++st->next;
  st->conns.push_back(std::make_shared<stream_conn>(st->io, st->request));
  st->conns.back()->start(st->ep, [st] {
    ++st->finished;
    open_next_stream(st);
  });
}

// Opens `n` streams, at most `in_flight` connecting at once; returns once all have answered or
// failed (or two minutes passed).
inline held_streams hold_streams(const tcp::endpoint& ep, const std::string& request, int n, int in_flight) {
  held_streams h;
  h.st->ep = ep;
  h.st->request = request;
  h.st->n = n;
  for (int i = 0; i < in_flight; ++i) open_next_stream(h.st);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (h.st->finished < n && std::chrono::steady_clock::now() < deadline) h.st->io.run_for(std::chrono::milliseconds(50));
  h.st->io.run_for(std::chrono::milliseconds(500));  // let the server settle
  return h;
}

}  // namespace aladdin::bench
