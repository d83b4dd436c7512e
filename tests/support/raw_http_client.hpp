#pragma once
// A blocking HTTP/1.1 client on a raw loopback socket, for tests: it sends exactly the bytes a
// test gives it (malformed ones too) and parses what comes back — whole bodies by
// Content-Length, chunked bodies chunk by chunk (so a test can read a stream as it arrives).
// Every wait is bounded by a generous timeout (an std::runtime_error), never a sleep.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace aladdin::test {

struct raw_response {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;                                         // chunks joined, when chunked
  std::vector<std::string> chunks;
  bool chunked = false;

  std::optional<std::string> header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

class raw_http_client {
 public:
  explicit raw_http_client(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(20))
      : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("raw_http_client: socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      throw std::runtime_error("raw_http_client: connect to port " + std::to_string(port));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~raw_http_client() { close(); }
  raw_http_client(const raw_http_client&) = delete;
  raw_http_client& operator=(const raw_http_client&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("raw_http_client: send failed");
      off += static_cast<std::size_t>(n);
    }
  }

  // A request with a body (Content-Length set) and extra header lines ("Name: value").
  static std::string request(const std::string& method, const std::string& target,
                             const std::string& body = {},
                             const std::vector<std::string>& extra_headers = {}) {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& h : extra_headers) r += h + "\r\n";
    if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n" + body;
    return r;
  }

  // Reads a status line and headers; then, unless `head_only`, the whole body.
  raw_response read_response(bool head_only = false) {
    raw_response r;
    const std::string head = read_until("\r\n\r\n");
    parse_head(head, r);
    if (head_only) return r;
    if (r.chunked) {
      while (auto c = read_chunk()) {
        r.body += *c;
        r.chunks.push_back(std::move(*c));
      }
    } else if (auto cl = r.header("content-length")) {
      r.body = read_exact(std::stoul(*cl));
    }
    return r;
  }

  // The next chunk of a chunked body; nothing at the last chunk.
  std::optional<std::string> read_chunk() {
    const std::string size_line = read_until("\r\n");
    const std::size_t n = std::stoul(size_line, nullptr, 16);
    if (n == 0) {
      read_until("\r\n");
      return std::nullopt;
    }
    std::string data = read_exact(n);
    read_exact(2);
    return data;
  }

  // True when the server closes the connection (reads and drops anything before that).
  bool wait_closed() {
    char buf[4096];
    for (;;) {
      wait_readable();
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return true;
    }
  }

 private:
  void wait_readable() {
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    if (rc <= 0) throw std::runtime_error("raw_http_client: no answer within the timeout");
  }

  void fill() {
    wait_readable();
    char buf[8192];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("raw_http_client: connection closed by the server");
    pending_.append(buf, static_cast<std::size_t>(n));
  }

  std::string read_until(const std::string& delim) {
    for (;;) {
      const auto at = pending_.find(delim);
      if (at != std::string::npos) {
        std::string out = pending_.substr(0, at);
        pending_.erase(0, at + delim.size());
        return out;
      }
      fill();
    }
  }

  std::string read_exact(std::size_t n) {
    while (pending_.size() < n) fill();
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    return out;
  }

  static void parse_head(const std::string& head, raw_response& r) {
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    const auto sp = status_line.find(' ');
    if (sp == std::string::npos) throw std::runtime_error("raw_http_client: bad status line");
    r.status = static_cast<unsigned>(std::stoul(status_line.substr(sp + 1, 3)));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      if (name == "transfer-encoding" && value == "chunked") r.chunked = true;
      r.headers.emplace_back(std::move(name), std::move(value));
    }
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string pending_;
};

}  // namespace aladdin::test
