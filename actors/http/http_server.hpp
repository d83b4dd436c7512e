#pragma once
// A generic asynchronous HTTP/1.1 server (Boost.Beast/Asio): one io_context run by N threads,
// keep-alive, a request size limit (413), header and body timeouts, TCP_NODELAY, whole or
// streamed (chunked, for Server-Sent Events) responses, and notice of a client that goes away
// before its answer is written, so that the work behind it can be cancelled. It knows no API:
// the node's OpenAI front door (actors/http/front_door.*) and the fake vLLM engine both sit on it.
// Beast was chosen by measurement against cpp-httplib (bench/http/, README "HTTP server").
//
// Contract:
// - The handler is called on a server thread once per request, with the parsed request and a
//   response_writer. It must not block; it answers now or later, from any thread, through the
//   writer: either respond() once, or start_stream(), any number of write(), then finish().
//   Calls after the exchange ended, or on a writer whose connection is gone, do nothing.
// - One exchange at a time per connection: the next request on a keep-alive connection is read
//   only when the answer to this one has been written. While an answer is pending the server
//   keeps reading the socket, so a client that closes is noticed at once: the writer's
//   on_disconnect callback runs (once, on a server thread), and closed() turns true. A client
//   that only half-closes its sending side counts as gone.
// - Bad requests are answered by the server itself, then the connection is closed: a body over
//   max_body_bytes 413, a header block over max_header_bytes 431, unparsable bytes 400, a header
//   not complete within header_timeout (counted from when the server starts waiting for the
//   request, so it also bounds an idle keep-alive connection) or a body not complete within
//   body_timeout: the connection is closed. The body of those answers comes from
//   server_options::error_body (the front door makes it OpenAI's error JSON).
// - "Expect: 100-continue" is answered before the body is read, unless the body is too large.
// - stop() (and the destructor) closes the listener and every connection and joins the
//   threads; writers that outlive the server stay safe to call and do nothing.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/http/http_types.hpp"

namespace aladdin::http {

class response_writer {
 public:
  virtual ~response_writer() = default;
  // The whole answer; ends the exchange.
  virtual void respond(http_response r) = 0;
  // The head of a chunked answer (Transfer-Encoding: chunked). Later write()s are its chunks.
  virtual void start_stream(unsigned status, std::string content_type, header_list headers = {}) = 0;
  // One piece of the stream body, sent as one chunk (empty data is ignored).
  virtual void write(std::string data) = 0;
  // Ends the stream (the last chunk). The connection stays open for the next request.
  virtual void finish() = 0;
  // Runs `f` once when the client has gone before the exchange ended (at once, on the calling
  // thread, if it has already gone). Replaces an earlier callback.
  virtual void on_disconnect(std::function<void()> f) = 0;
  // True once the client is known to have gone (or the server stopped).
  virtual bool closed() const = 0;
};

using writer_ptr = std::shared_ptr<response_writer>;
using request_handler = std::function<void(http_request, writer_ptr)>;

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port (see http_server::port())
  int threads = 1;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds body_timeout{30'000};
  int listen_backlog = 4096;
  // The answer the server gives on its own (413, 431, 400) for a status and a one-line reason.
  // Default: text/plain with the reason.
  std::function<http_response(unsigned status, std::string reason)> error_body;
};

// Counters of what the server has seen (monotonic; read any time).
struct server_counters {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t requests = 0;
  std::uint64_t refused = 0;       // answered by the server itself (413, 431, 400)
  std::uint64_t disconnects = 0;   // clients gone before their answer was written
  std::uint64_t timeouts = 0;      // header or body not in time
};

class http_server {
 public:
  http_server(server_options opts, request_handler handler);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds and starts the threads. Throws std::runtime_error naming the address when it cannot
  // bind (in use, bad host).
  void start();
  // The bound port (after start()).
  std::uint16_t port() const;
  server_counters counters() const;
  // Runs `f` on a server thread after what is queued there now (nothing once stopped): a
  // handler's way to act once per burst of requests instead of once per request.
  void post(std::function<void()> f);
  void stop();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace aladdin::http
