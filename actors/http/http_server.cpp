// The asynchronous HTTP/1.1 server on Boost.Beast; the contract is in http_server.hpp.
//
// Each connection is a session on its own strand. A session reads one request (header, then
// body, each under its timeout), hands it to the handler with a writer, and while the answer is
// pending keeps one read open on the socket (the "watch"): bytes that arrive are kept for the
// next request, an error or end of stream means the client has gone. When the answer is written
// the watch is cancelled and the next request is read. Writers reach their session through a
// weak pointer and a gate (a mutex and an open flag) that stop() closes before the io_context
// is destroyed, so a writer that outlives the server posts nothing.
#include "actors/http/http_server.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace aladdin::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// What writers must check before they post into the io_context.
struct gate {
  std::mutex mu;
  bool open = false;
};

struct counters_atomic {
  std::atomic<std::uint64_t> accepted{0}, open{0}, requests{0}, refused{0}, disconnects{0},
      timeouts{0};
};

constexpr std::size_t watch_read_bytes = 4096;

}  // namespace

struct http_server::state {
  server_options opts;
  request_handler handler;
  std::shared_ptr<gate> gate_ = std::make_shared<gate>();
  counters_atomic counters;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool started = false;
  // Destroyed in stop(), the io_context last: its pending handlers own the sessions.
  std::unique_ptr<asio::io_context> ioc;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_retry;
};

namespace {

using state = http_server::state;

class session : public std::enable_shared_from_this<session> {
 public:
  session(state* st, tcp::socket socket)
      : st_(st),
        gate_(st->gate_),
        stream_(std::move(socket)),
        buffer_(st->opts.max_header_bytes + st->opts.max_body_bytes + 2 * watch_read_bytes) {
    st_->counters.open.fetch_add(1);
  }
  ~session() { st_->counters.open.fetch_sub(1); }

  void start() { read_header(); }

  // ---- called by writers, on the strand ---------------------------------------------------
  void respond(std::uint64_t ex, http_response r) {
    if (ex != exchange_ || !in_exchange_ || answered_ || streaming_ || gone_) return;
    answered_ = true;
    close_after_ = !keep_alive_;
    queue(serialize(r, close_after_));
  }
  void start_stream(std::uint64_t ex, unsigned status, std::string ct, header_list h) {
    if (ex != exchange_ || !in_exchange_ || answered_ || streaming_ || gone_) return;
    streaming_ = true;
    close_after_ = !keep_alive_;
    queue(serialize_head(status, ct, h, true, 0, close_after_));
  }
  void write(std::uint64_t ex, std::string data) {
    if (ex != exchange_ || !in_exchange_ || answered_ || !streaming_ || gone_ || data.empty()) return;
    queue(chunk(data));
  }
  void finish(std::uint64_t ex) {
    if (ex != exchange_ || !in_exchange_ || answered_ || !streaming_ || gone_) return;
    answered_ = true;
    queue(std::string(last_chunk));
  }
  void set_on_disconnect(std::uint64_t ex, std::function<void()> f) {
    if (gone_) {
      if (f) f();
      return;
    }
    if (ex != exchange_ || !in_exchange_) return;  // that exchange ended normally
    on_disconnect_ = std::move(f);
  }
  bool closed() const { return closed_.load(); }
  auto executor() { return stream_.get_executor(); }
  std::uint64_t exchange() const { return exchange_; }

 private:
  // ---- reading a request ------------------------------------------------------------------
  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(st_->opts.max_header_bytes));
    parser_->body_limit(st_->opts.max_body_bytes);
    stream_.expires_after(st_->opts.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return read_failed(ec);
    const auto& h = parser_->get();
    const auto expect = h[bhttp::field::expect];
    if (!parser_->is_done() && beast::iequals(expect, "100-continue")) {
      continue_ = std::string("HTTP/1.1 100 Continue\r\n\r\n");
      stream_.expires_after(st_->opts.body_timeout);
      asio::async_write(stream_, asio::buffer(continue_),
                        [self = shared_from_this()](beast::error_code wec, std::size_t) {
                          if (wec) return self->close();
                          self->read_body();
                        });
      return;
    }
    if (parser_->is_done()) return on_request();
    read_body();
  }

  void read_body() {
    stream_.expires_after(st_->opts.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec) return read_failed(ec);
    on_request();
  }

  void read_failed(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      st_->counters.timeouts.fetch_add(1);
      return close();
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == bhttp::error::partial_message) {
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return refuse(413, "request body over the limit of " +
                             std::to_string(st_->opts.max_body_bytes) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      return refuse(431, "request header block over the limit of " +
                             std::to_string(st_->opts.max_header_bytes) + " bytes");
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      return refuse(400, "malformed HTTP request: " + ec.message());
    }
    close();
  }

  void on_request() {
    auto msg = parser_->release();
    parser_.reset();
    http_request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.keep_alive = msg.keep_alive();
    req.headers.reserve(8);
    for (const auto& f : msg) {
      const auto n = f.name_string();
      const auto v = f.value();
      req.headers.emplace_back(lower_ascii(std::string_view(n.data(), n.size())),
                               std::string(v.data(), v.size()));
    }
    req.body = std::move(msg.body());
    keep_alive_ = req.keep_alive;
    stream_.expires_never();
    ++exchange_;
    in_exchange_ = true;
    answered_ = false;
    streaming_ = false;
    st_->counters.requests.fetch_add(1);
    watch();
    auto w = make_writer();
    try {
      st_->handler(std::move(req), std::move(w));
    } catch (const std::exception& e) {
      respond(exchange_, error_response(500, std::string("handler failed: ") + e.what()));
    }
  }

  std::shared_ptr<response_writer> make_writer();

  http_response error_response(unsigned status, std::string reason) const {
    if (st_->opts.error_body) return st_->opts.error_body(status, std::move(reason));
    http_response r;
    r.status = status;
    r.content_type = "text/plain";
    r.body = std::move(reason) + "\n";
    return r;
  }

  // Answers on the server's own account and closes the connection afterwards.
  void refuse(unsigned status, std::string reason) {
    st_->counters.refused.fetch_add(1);
    stream_.expires_after(st_->opts.body_timeout);  // bounds the write to a stuck client
    ++exchange_;
    in_exchange_ = true;
    streaming_ = false;
    answered_ = true;
    close_after_ = true;
    server_answer_ = true;
    queue(serialize(error_response(status, std::move(reason)), true));
  }

  // ---- watching the socket while an answer is pending ---------------------------------------
  void watch() {
    if (watching_ || gone_) return;
    if (buffer_.size() + watch_read_bytes > buffer_.max_size()) return;  // a flood: stop looking
    watching_ = true;
    stream_.socket().async_read_some(
        buffer_.prepare(watch_read_bytes),
        beast::bind_front_handler(&session::on_watch, shared_from_this()));
  }

  void on_watch(beast::error_code ec, std::size_t n) {
    watching_ = false;
    if (!ec) buffer_.commit(n);
    if (in_exchange_) {
      if (ec && ec != asio::error::operation_aborted) return gone();
      if (!ec) watch();
      return;
    }
    if (ec && ec != asio::error::operation_aborted) return close();
    if (!gone_) read_header();
  }

  // ---- writing ----------------------------------------------------------------------------
  void queue(std::string bytes) {
    out_.push_back(std::move(bytes));
    write_next();
  }

  void write_next() {
    if (writing_ || out_.empty() || gone_) return;
    writing_ = true;
    asio::async_write(stream_, asio::buffer(out_.front()),
                      beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    writing_ = false;
    if (!out_.empty()) out_.pop_front();
    if (ec) return gone();
    if (!out_.empty()) return write_next();
    if (answered_) end_exchange();
  }

  void end_exchange() {
    in_exchange_ = false;
    on_disconnect_ = nullptr;
    if (close_after_) return close();
    if (watching_) {
      beast::error_code ignored;
      stream_.socket().cancel(ignored);  // on_watch reads the next request
      return;
    }
    read_header();
  }

  // ---- the end of a connection ------------------------------------------------------------
  void gone() {
    if (gone_) return;
    const bool pending = in_exchange_ && !server_answer_;
    if (pending) st_->counters.disconnects.fetch_add(1);
    auto f = std::move(on_disconnect_);
    on_disconnect_ = nullptr;
    close();
    if (pending && f) f();
  }

  void close() {
    gone_ = true;
    closed_.store(true);
    out_.clear();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  state* st_;
  std::shared_ptr<gate> gate_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string continue_;
  std::deque<std::string> out_;
  std::function<void()> on_disconnect_;
  std::uint64_t exchange_ = 0;
  bool keep_alive_ = true;
  bool in_exchange_ = false;
  bool answered_ = false;
  bool streaming_ = false;
  bool close_after_ = false;
  bool server_answer_ = false;
  bool watching_ = false;
  bool writing_ = false;
  bool gone_ = false;
  std::atomic<bool> closed_{false};
};

class writer_impl final : public response_writer {
 public:
  writer_impl(std::shared_ptr<gate> g, std::weak_ptr<session> s, std::uint64_t ex)
      : gate_(std::move(g)), session_(std::move(s)), exchange_(ex) {}

  void respond(http_response r) override {
    post([ex = exchange_, r = std::move(r)](session& s) mutable { s.respond(ex, std::move(r)); });
  }
  void start_stream(unsigned status, std::string ct, header_list h) override {
    post([ex = exchange_, status, ct = std::move(ct), h = std::move(h)](session& s) mutable {
      s.start_stream(ex, status, std::move(ct), std::move(h));
    });
  }
  void write(std::string data) override {
    post([ex = exchange_, d = std::move(data)](session& s) mutable { s.write(ex, std::move(d)); });
  }
  void finish() override {
    post([ex = exchange_](session& s) { s.finish(ex); });
  }
  void on_disconnect(std::function<void()> f) override {
    if (closed()) {
      if (f) f();
      return;
    }
    if (!post([ex = exchange_, f](session& s) mutable { s.set_on_disconnect(ex, std::move(f)); })) {
      if (f) f();  // the connection (or the server) is already gone
    }
  }
  bool closed() const override {
    auto s = session_.lock();
    return !s || s->closed();
  }

 private:
  template <class F>
  bool post(F&& f) {
    std::lock_guard<std::mutex> lock(gate_->mu);
    if (!gate_->open) return false;
    auto s = session_.lock();
    if (!s) return false;
    auto ex = s->executor();
    asio::post(ex, [s = std::move(s), f = std::forward<F>(f)]() mutable { f(*s); });
    return true;
  }

  std::shared_ptr<gate> gate_;
  std::weak_ptr<session> session_;
  std::uint64_t exchange_;
};

std::shared_ptr<response_writer> session::make_writer() {
  return std::make_shared<writer_impl>(gate_, weak_from_this(), exchange_);
}

void do_accept(state* st) {
  st->acceptor->async_accept(asio::make_strand(*st->ioc), [st](beast::error_code ec,
                                                                tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !st->acceptor->is_open()) return;
    if (ec) {
      // Out of descriptors, say: try again shortly rather than spin.
      st->accept_retry->expires_after(std::chrono::milliseconds(50));
      st->accept_retry->async_wait([st](beast::error_code wec) {
        if (!wec) do_accept(st);
      });
      return;
    }
    st->counters.accepted.fetch_add(1);
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<session>(st, std::move(socket))->start();
    do_accept(st);
  });
}

}  // namespace

http_server::http_server(server_options opts, request_handler handler)
    : state_(std::make_shared<state>()) {
  state_->opts = std::move(opts);
  state_->handler = std::move(handler);
  if (state_->opts.threads < 1) state_->opts.threads = 1;
}

http_server::~http_server() { stop(); }

void http_server::start() {
  auto* st = state_.get();
  if (st->started) return;
  st->ioc = std::make_unique<asio::io_context>(st->opts.threads);
  const std::string where = st->opts.host + ":" + std::to_string(st->opts.port);
  try {
    const auto addr = asio::ip::make_address(st->opts.host);
    tcp::endpoint ep(addr, st->opts.port);
    st->acceptor = std::make_unique<tcp::acceptor>(*st->ioc);
    st->acceptor->open(ep.protocol());
    st->acceptor->set_option(asio::socket_base::reuse_address(true));
    st->acceptor->bind(ep);
    st->acceptor->listen(st->opts.listen_backlog);
    st->port = st->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    st->acceptor.reset();
    st->ioc.reset();
    throw std::runtime_error("http: cannot listen on " + where + ": " + e.what());
  }
  st->accept_retry = std::make_unique<asio::steady_timer>(*st->ioc);
  {
    std::lock_guard<std::mutex> lock(st->gate_->mu);
    st->gate_->open = true;
  }
  st->started = true;
  do_accept(st);
  for (int i = 0; i < st->opts.threads; ++i) {
    st->threads.emplace_back([st] { st->ioc->run(); });
  }
}

std::uint16_t http_server::port() const { return state_->port; }

server_counters http_server::counters() const {
  const auto& c = state_->counters;
  return {c.accepted.load(), c.open.load(), c.requests.load(),
          c.refused.load(),  c.disconnects.load(), c.timeouts.load()};
}

void http_server::post(std::function<void()> f) {
  std::lock_guard<std::mutex> lock(state_->gate_->mu);
  if (!state_->gate_->open) return;
  asio::post(*state_->ioc, std::move(f));
}

void http_server::stop() {
  auto* st = state_.get();
  if (!st->started) return;
  {
    std::lock_guard<std::mutex> lock(st->gate_->mu);
    st->gate_->open = false;
  }
  st->ioc->stop();
  for (auto& t : st->threads) t.join();
  st->threads.clear();
  st->accept_retry.reset();
  st->acceptor.reset();
  st->ioc.reset();  // destroys the pending handlers, and with them the sessions
  st->started = false;
}

}  // namespace aladdin::http
