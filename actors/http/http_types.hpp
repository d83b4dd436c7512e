#pragma once
// The HTTP/1.1 exchange as plain values: what a handler of actors/http/http_server.hpp is given
// (http_request) and answers with (http_response, or a stream), and the bytes they become on the
// wire (serialize_head, chunk). No sockets and no knowledge of any API on top (OpenAI's is
// src/api/openai.hpp); the server and the tests share these.
//
// Header names are kept lower-case (HTTP field names are case-insensitive), so a lookup is an
// exact match. serialize_head never emits a Content-Length and Transfer-Encoding together.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aladdin::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // path and query, as sent
  header_list headers;  // names lower-case, in arrival order
  std::string body;
  bool keep_alive = true;  // the client's wish (HTTP/1.1 default; "Connection: close" clears it)

  // The target without its query string.
  std::string_view path() const;
  // The first header of that name (any case), or nothing.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  header_list headers;  // extra headers (Retry-After, ...); not Content-Length / Connection
  std::string body;
};

// Lower-cases ASCII letters (header names).
std::string lower_ascii(std::string_view s);

// The status line and headers, ending with the blank line. With `chunked`, the body follows as
// chunk()s ending with last_chunk(); otherwise as exactly content_length bytes. `close` adds
// "Connection: close".
std::string serialize_head(unsigned status, std::string_view content_type, const header_list& extra,
                           bool chunked, std::size_t content_length, bool close);
// A whole response, head and body.
std::string serialize(const http_response& r, bool close);
// One chunk of a chunked body (empty data gives nothing: an empty chunk would end the body).
std::string chunk(std::string_view data);
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

// The reason phrase of a status ("Not Found"), or "Unknown".
std::string_view reason_phrase(unsigned status);

}  // namespace aladdin::http
