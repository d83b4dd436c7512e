// The asynchronous HTTP/1.1 client on Boost.Beast; the contract is in http_client.hpp.
//
// Everything runs on the client's one thread: send() and cancel() post there, so the request
// map and the pool need no lock. Each request is an exchange (shared, kept alive by the map and
// by its pending handlers) with one timer for whatever it waits on; the first of "done",
// "failed", "timed out" and "cancelled" ends it (finished_), and later handlers see that and
// return. The body is read through a buffer_body parser into a fixed piece buffer, so each read
// delivers what has arrived, decoded from chunked or Content-Length framing.
#include "actors/http/http_client.hpp"

#include <array>
#include <atomic>
#include <charconv>
#include <deque>
#include <limits>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace aladdin::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

const char* to_string(client_errc e) {
  switch (e) {
    case client_errc::connect_failed: return "connect failed";
    case client_errc::timeout: return "timeout";
    case client_errc::closed: return "connection closed";
    case client_errc::protocol: return "protocol error";
    case client_errc::too_large: return "too large";
    case client_errc::cancelled: return "cancelled";
    case client_errc::stopped: return "stopped";
  }
  return "unknown";
}

std::optional<http_url> parse_http_url(std::string_view url, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<http_url> {
    if (error) *error = "bad URL '" + std::string(url) + "': " + why;
    return std::nullopt;
  };
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, 8) == "https://") return fail("https is not supported (use http://)");
  if (url.substr(0, scheme.size()) != scheme) return fail("it must start with http://");
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (path.find_first_of("?#") != std::string_view::npos)
    return fail("a query string or fragment is not allowed");
  if (authority.find('@') != std::string_view::npos) return fail("credentials are not allowed");
  http_url out;
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return fail("junk after the IPv6 host");
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (host.empty()) return fail("no host");
  out.host = std::string(host);
  if (!authority.empty()) {  // ":port"
    const std::string_view p = authority.substr(1);
    unsigned v = 0;
    const auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || v == 0 || v > 65535)
      return fail("the port must be a number in 1..65535");
    out.port = static_cast<std::uint16_t>(v);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.base_path = std::string(path);
  return out;
}

namespace {

class exchange;

}  // namespace

struct http_client::state {
  client_options opts;
  asio::io_context ioc;
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
  std::atomic<bool> stopped{false};
  std::atomic<request_id> next_id{1};
  std::atomic<std::uint64_t> requests{0}, opened{0}, reused{0}, stale{0};
  // Client thread only.
  std::unordered_map<request_id, std::shared_ptr<exchange>> live;
  std::unordered_map<std::string, std::deque<tcp::socket>> idle;
};

namespace {

using state = http_client::state;

std::string pool_key(const client_request& r) { return r.host + ":" + std::to_string(r.port); }

// An idle pooled socket is still usable when reading it would block: closed (EOF), reset or
// sent stray bytes means it is not.
bool still_open(tcp::socket& s) {
  beast::error_code ec;
  s.non_blocking(true, ec);
  if (ec) return false;
  char c;
  const std::size_t n = s.read_some(asio::buffer(&c, 1), ec);
  beast::error_code ignored;
  s.non_blocking(false, ignored);
  return n == 0 && ec == asio::error::would_block;
}

class exchange : public std::enable_shared_from_this<exchange> {
 public:
  exchange(state* st, request_id id, client_request req, request_callbacks cb)
      : st_(st),
        id_(id),
        req_(std::move(req)),
        cb_(std::move(cb)),
        key_(pool_key(req_)),
        resolver_(st->ioc),
        timer_(st->ioc),
        socket_(st->ioc) {}

  void start() {
    auto& pool = st_->idle[key_];
    while (!pool.empty()) {
      tcp::socket s = std::move(pool.front());
      pool.pop_front();
      if (still_open(s)) {
        socket_ = std::move(s);
        st_->reused.fetch_add(1);
        write();
        return;
      }
      st_->stale.fetch_add(1);
    }
    connect();
  }

  void fail(client_errc code, std::string detail) {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    resolver_.cancel();
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto self = shared_from_this();
    st_->live.erase(id_);
    if (cb_.on_done) cb_.on_done(client_error{code, std::move(detail)});
  }

 private:
  void arm(std::chrono::milliseconds after, client_errc code, const char* what) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), code, what, after](beast::error_code ec) {
      if (ec || self->finished_) return;  // re-armed or cancelled
      self->fail(code, std::string(what) + " took longer than " + std::to_string(after.count()) + " ms");
    });
  }

  std::string where() const { return req_.host + ":" + std::to_string(req_.port); }

  void connect() {
    st_->opened.fetch_add(1);
    arm(st_->opts.connect_timeout, client_errc::connect_failed, "connecting");
    resolver_.async_resolve(
        req_.host, std::to_string(req_.port),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          if (self->finished_) return;
          if (ec) return self->fail(client_errc::connect_failed, "resolving " + self->where() + ": " + ec.message());
          asio::async_connect(self->socket_, results,
                              [self](beast::error_code ec2, const tcp::endpoint&) {
                                if (self->finished_) return;
                                if (ec2)
                                  return self->fail(client_errc::connect_failed,
                                                    "connecting to " + self->where() + ": " + ec2.message());
                                beast::error_code ignored;
                                self->socket_.set_option(tcp::no_delay(true), ignored);
                                self->write();
                              });
        });
  }

  void write() {
    out_.method_string(beast::string_view(req_.method.data(), req_.method.size()));
    out_.target(beast::string_view(req_.target.data(), req_.target.size()));
    out_.version(11);
    out_.set(bhttp::field::host, req_.host + ":" + std::to_string(req_.port));
    for (const auto& [name, value] : req_.headers) out_.set(name, value);
    if (!req_.content_type.empty()) out_.set(bhttp::field::content_type, req_.content_type);
    out_.body() = std::move(req_.body);
    out_.keep_alive(true);
    out_.prepare_payload();
    arm(st_->opts.head_timeout, client_errc::timeout, "the response head");
    bhttp::async_write(socket_, out_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->finished_) return;
      if (ec) return self->fail(client_errc::closed, "writing to " + self->where() + ": " + ec.message());
      self->read_head();
    });
  }

  void read_head() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(st_->opts.max_header_bytes));
    // Counted as delivered, against max_body_bytes.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    bhttp::async_read_header(socket_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (self->finished_) return;
                               if (ec) return self->read_failed(ec);
                               self->on_head();
                             });
  }

  void on_head() {
    const auto& h = parser_->get();
    response_head head;
    head.status = h.result_int();
    head.keep_alive = h.keep_alive();
    for (const auto& f : h) {
      const auto name = f.name_string();
      head.headers.emplace_back(lower_ascii(std::string_view(name.data(), name.size())),
                                std::string(f.value().data(), f.value().size()));
    }
    if (cb_.on_head) cb_.on_head(head);
    if (finished_) return;  // the callback cancelled
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return complete();
    auto& body = parser_->get().body();
    body.data = piece_.data();
    body.size = piece_.size();
    arm(st_->opts.idle_timeout, client_errc::timeout, "the next piece of the body");
    bhttp::async_read_some(socket_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             if (self->finished_) return;
                             if (ec == bhttp::error::need_buffer) ec = {};
                             const std::size_t n = self->piece_.size() - self->parser_->get().body().size;
                             if (n > 0) {
                               self->body_bytes_ += n;
                               if (self->body_bytes_ > self->st_->opts.max_body_bytes)
                                 return self->fail(client_errc::too_large,
                                                   "the body exceeds " +
                                                       std::to_string(self->st_->opts.max_body_bytes) + " bytes");
                               if (self->cb_.on_data) self->cb_.on_data(std::string_view(self->piece_.data(), n));
                               if (self->finished_) return;
                             }
                             if (ec) return self->read_failed(ec);
                             self->read_body();
                           });
  }

  void read_failed(beast::error_code ec) {
    const std::string what = "reading from " + where() + ": " + ec.message();
    if (ec == bhttp::error::header_limit || ec == bhttp::error::body_limit ||
        ec == bhttp::error::buffer_overflow)
      return fail(client_errc::too_large, what);
    const bool ended = ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
                       ec == asio::error::eof;
    if (!ended && ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
      return fail(client_errc::protocol, what);
    fail(client_errc::closed, what);
  }

  void complete() {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    const bool reusable = parser_->keep_alive() && buffer_.size() == 0;
    auto self = shared_from_this();
    st_->live.erase(id_);
    auto& pool = st_->idle[key_];
    if (reusable && pool.size() < st_->opts.max_idle_per_host && !st_->stopped.load()) {
      pool.push_back(std::move(socket_));
    } else {
      beast::error_code ignored;
      socket_.close(ignored);
    }
    if (cb_.on_done) cb_.on_done(std::nullopt);
  }

  state* st_;
  request_id id_;
  client_request req_;
  request_callbacks cb_;
  std::string key_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  tcp::socket socket_;
  bhttp::request<bhttp::string_body> out_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser_;
  std::array<char, 16 * 1024> piece_{};
  std::size_t body_bytes_ = 0;
  bool finished_ = false;
};

}  // namespace

http_client::http_client(client_options options) : state_(std::make_shared<state>()) {
  state_->opts = options;
  state_->thread = std::thread([st = state_.get()] { st->ioc.run(); });
}

http_client::~http_client() { stop(); }

request_id http_client::send(client_request request, request_callbacks callbacks) {
  const request_id id = state_->next_id.fetch_add(1);
  state_->requests.fetch_add(1);
  if (state_->stopped.load()) {
    if (callbacks.on_done) callbacks.on_done(client_error{client_errc::stopped, "the HTTP client has stopped"});
    return id;
  }
  asio::post(state_->ioc, [st = state_.get(), id, r = std::move(request), cb = std::move(callbacks)]() mutable {
    auto x = std::make_shared<exchange>(st, id, std::move(r), std::move(cb));
    if (st->stopped.load()) return x->fail(client_errc::stopped, "the HTTP client has stopped");
    st->live.emplace(id, x);
    x->start();
  });
  return id;
}

void http_client::cancel(request_id id) {
  asio::post(state_->ioc, [st = state_.get(), id] {
    auto it = st->live.find(id);
    if (it == st->live.end()) return;
    auto x = it->second;
    x->fail(client_errc::cancelled, "cancelled");
  });
}

void http_client::stop() {
  if (state_->stopped.exchange(true)) {
    if (state_->thread.joinable() && state_->thread.get_id() != std::this_thread::get_id())
      state_->thread.join();
    return;
  }
  asio::post(state_->ioc, [st = state_.get()] {
    std::vector<std::shared_ptr<exchange>> all;
    for (auto& [id, x] : st->live) all.push_back(x);
    for (auto& x : all) x->fail(client_errc::stopped, "the HTTP client has stopped");
    st->idle.clear();
    st->work.reset();
  });
  // From a callback (the client's own thread) the thread cannot be joined: it ends by itself
  // once the posted work has run, and the destructor of a later owner joins it.
  if (state_->thread.joinable() && state_->thread.get_id() != std::this_thread::get_id())
    state_->thread.join();
}

client_counters http_client::counters() const {
  return {state_->requests.load(), state_->opened.load(), state_->reused.load(), state_->stale.load()};
}

}  // namespace aladdin::http
