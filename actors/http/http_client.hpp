#pragma once
// A generic asynchronous HTTP/1.1 client (Boost.Beast/Asio, as the server beside it): a
// keep-alive connection pool per host, response bodies delivered piece by piece as they arrive
// (chunked or Content-Length: a Server-Sent Events stream is read as it is written), timeouts,
// cancellation of one request, TCP_NODELAY on every connection. It knows no API on top: the
// engine agent's OpenAI requests and metrics scrapes, and later the etcd client, sit on it.
//
// Contract:
// - The client owns one io_context and one thread; send() and cancel() may be called from any
//   thread and never block. Callbacks run on the client's thread, in order: on_head once (status
//   and headers), on_data zero or more times (the decoded body, in order), then on_done exactly
//   once — with no error when the whole body arrived, else with why it did not. on_done also
//   follows a failure before any head (no on_head then), and a cancel(). Callbacks must not
//   block; they may call send() and cancel().
// - Connections: a request takes an idle connection to its host:port when one is pooled and
//   still open (a pooled connection the server has closed is noticed before use and dropped, so
//   a request is never written to a dead connection and never sent twice), else opens a new one
//   (connect_timeout covers resolving and connecting). A connection goes back to the pool when
//   its response ended with keep-alive; at most max_idle_per_host wait there.
// - Timeouts: the response head must arrive within head_timeout of the request being written;
//   then each piece of the body within idle_timeout of the last. A timeout closes the connection
//   and ends the request with client_errc::timeout.
// - cancel(id) closes that request's connection (the server sees the client go) and ends it
//   with client_errc::cancelled; an id that already ended is ignored.
// - A body larger than max_body_bytes ends the request with too_large (connection closed).
// - stop() (and the destructor) ends every pending request with client_errc::stopped, then
//   joins the thread (not when called from a callback); send() after stop() ends the request at
//   once with stopped. Destroy the client from another thread than its own.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "actors/http/http_types.hpp"

namespace aladdin::http {

// An http:// address split into its parts: "http://host:port/base" → host, port (80 when
// omitted), base path without a trailing '/' ("" for none).
struct http_url {
  std::string host;
  std::uint16_t port = 80;
  std::string base_path;
  friend bool operator==(const http_url&, const http_url&) = default;
};
// nullopt and a reason in *error for anything else (https, no host, a bad port, a query string).
std::optional<http_url> parse_http_url(std::string_view url, std::string* error);

struct client_options {
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds head_timeout{30'000};
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_body_bytes = 64u << 20;
  std::size_t max_idle_per_host = 256;
  std::size_t max_header_bytes = 64u << 10;
};

struct client_request {
  std::string method = "GET";
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";
  std::string content_type;  // with a body; empty: none sent
  header_list headers;       // extra; not Host / Content-Length / Connection
  std::string body;
};

struct response_head {
  unsigned status = 0;
  header_list headers;  // names lower-case
  bool keep_alive = true;
};

enum class client_errc : std::uint8_t {
  connect_failed,  // resolve or connect failed, or did not finish within connect_timeout
  timeout,         // head or body piece late
  closed,          // the server closed or reset the connection before the body ended
  protocol,        // bytes that are not HTTP/1.1
  too_large,       // body over max_body_bytes (or header over max_header_bytes)
  cancelled,       // cancel()
  stopped,         // the client stopped
};
const char* to_string(client_errc e);

struct client_error {
  client_errc code = client_errc::closed;
  std::string detail;
};

struct request_callbacks {
  std::function<void(const response_head&)> on_head;
  std::function<void(std::string_view)> on_data;
  std::function<void(const std::optional<client_error>&)> on_done;
};

using request_id = std::uint64_t;

struct client_counters {
  std::uint64_t requests = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
  std::uint64_t stale_dropped = 0;  // pooled connections found closed before use
};

class http_client {
 public:
  explicit http_client(client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  request_id send(client_request request, request_callbacks callbacks);
  void cancel(request_id id);
  void stop();
  client_counters counters() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace aladdin::http
