#pragma once
// OpenAI's HTTP API as plain C++ (nlohmann-json; no sockets): what the node's front door
// accepts and answers, and what an HTTP client of an OpenAI-compatible engine parses back, in
// one module so that both ends share the shapes.
//
// - parse_request validates a `POST /v1/completions` or `/v1/chat/completions` body: a JSON
//   object with `model` (string); `prompt` (a string, a list of token ids, or a list of exactly
//   one of either) or `messages` (a non-empty list of {role, content}, content a string or a list
//   of {"type":"text","text":...} parts); optional `max_tokens` / `max_completion_tokens`
//   (positive integers; the smaller wins when both are set), `stream` (bool), `stream_options.
//   include_usage` (bool; only with stream), `n` (only 1), and aladdin's own `slo_ttft_ms` /
//   `slo_tpot_ms` (positive numbers) and `slo_class` (a class name). Everything else (temperature, top_p, stop, seed, ...)
//   passes through untouched in `body`. Errors are api_error values with OpenAI's status,
//   type, param and code; they never throw.
// - slo_from_headers reads the per-request SLO the way llm-d does: `x-slo-ttft-ms`,
//   `x-slo-tpot-ms` (milliseconds); a header wins over the body.
// - The encoders give OpenAI's documented shapes: `text_completion` / `chat.completion`
//   objects, stream chunks (`text_completion`, `chat.completion.chunk`: the first chat chunk
//   carries `delta.role`, the last one `finish_reason` and an empty delta; with include_usage
//   every chunk has `"usage": null` and one more chunk with `"choices": []` and the usage comes
//   before `data: [DONE]`), `/v1/models`, and the error object
//   `{"error":{"message","type","param","code"}}`.
// - decode_chunk / decode_response read those shapes back (an engine's stream or answer),
//   tolerating what OpenAI-compatible engines vary in (vLLM's `"choices": null` on the usage
//   chunk, missing `logprobs`); sse_reader splits a byte stream into SSE `data:` payloads.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace aladdin::api {

enum class api_kind : std::uint8_t { completions, chat_completions };
const char* to_string(api_kind a);  // "completions", "chat.completions"

// OpenAI's error object, with the HTTP status it goes with.
struct api_error {
  unsigned status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: null
  std::optional<unsigned> retry_after_s;  // 429 / 503: the Retry-After header
};

api_error bad_request(std::string message, std::string param = {});
api_error model_not_found(std::string_view model);
api_error body_too_large(std::size_t limit_bytes);
api_error over_context(std::uint32_t prompt_tokens, std::uint32_t max_tokens, std::string_view model,
                       std::uint32_t context_tokens);
api_error overloaded(std::string message, unsigned retry_after_s);   // 429
api_error unavailable(std::string message, unsigned retry_after_s);  // 503
api_error server_error(std::string message);                        // 500

// The JSON body of an error.
std::string encode_error(const api_error& e);

// A validated request.
struct request {
  api_kind api = api_kind::completions;
  std::string model;
  bool stream = false;
  bool include_usage = false;
  std::optional<std::uint32_t> max_tokens;     // max_tokens / max_completion_tokens
  std::optional<std::vector<std::uint32_t>> prompt_token_ids;  // the prompt as token ids
  std::size_t prompt_chars = 0;                // UTF-8 bytes of the prompt text (messages: their text)
  std::size_t messages = 0;                    // chat: how many
  std::optional<double> slo_ttft_ms, slo_tpot_ms;  // from the body
  std::optional<std::string> slo_class;            // from the body
  nlohmann::json body;                         // the whole body, as sent
};

struct parse_result {
  std::optional<request> ok;
  api_error error;
};

parse_result parse_request(api_kind api, std::string_view body);

// The per-request SLO from headers: nothing where a header is absent; an error where one is
// present but not a positive number of milliseconds.
struct slo_headers {
  std::optional<double> ttft_ms, tpot_ms;
};
std::optional<api_error> slo_from_headers(const std::optional<std::string_view>& ttft,
                                          const std::optional<std::string_view>& tpot, slo_headers& out);

// A named SLO class of the node (`--slo-classes`), in milliseconds.
struct slo_class_ms {
  std::string name;
  double ttft_ms = 0;
  double tpot_ms = 0;
};
// The request's SLO, each of TTFT and TPOT on its own: the header's milliseconds, else the
// body's, else the named class's (header `x-slo-class` over the body's `slo_class`), else
// nothing (the node's default class). An unknown class name is a 400 listing the classes.
struct slo_choice {
  std::optional<double> ttft_ms, tpot_ms;
  std::optional<api_error> error;
};
slo_choice resolve_slo(const slo_headers& headers, const std::optional<std::string_view>& class_header,
                       const request& r, const std::vector<slo_class_ms>& classes);

// The body sent on to an engine (EngineRequest.body): the client's, `model` set to
// `served_model`, aladdin's own fields (slo_ttft_ms, slo_tpot_ms) removed. The worker agent
// forces streaming itself.
std::string engine_body(const request& r, std::string_view served_model);

// ---- answers ------------------------------------------------------------------------------

struct usage {
  std::uint32_t prompt_tokens = 0;
  std::uint32_t completion_tokens = 0;
};

// What identifies one answer and is the same in each of its chunks.
struct answer_head {
  api_kind api = api_kind::completions;
  std::string id;       // "cmpl-..." or "chatcmpl-..."
  std::int64_t created = 0;  // Unix seconds
  std::string model;
};

// `finish_reason` is "stop" or "length" (or empty: null).
std::string encode_response(const answer_head& h, std::string_view text, std::string_view finish_reason,
                            const usage& u);
// One stream chunk (the JSON only). `first`: a chat chunk that carries the assistant role.
// `finish_reason` empty: null. `with_null_usage`: include_usage was asked.
std::string encode_chunk(const answer_head& h, std::string_view text, bool first,
                         std::string_view finish_reason, bool with_null_usage);
// The usage chunk that include_usage adds before [DONE] (choices: []).
std::string encode_usage_chunk(const answer_head& h, const usage& u);
// `GET /v1/models`.
std::string encode_models(const std::vector<std::string>& models, std::int64_t created);

// SSE framing: "data: <json>\n\n" and the terminator.
std::string sse_event(std::string_view json);
inline constexpr std::string_view sse_done = "data: [DONE]\n\n";

// ---- reading answers back (the client side) ------------------------------------------------

struct chunk_view {
  answer_head head;
  std::string text;            // delta.content or text; empty when none
  std::optional<std::string> role;           // chat: delta.role
  std::optional<std::string> finish_reason;  // when set
  std::optional<usage> usage_;               // when set (not null)
};
struct decode_result {
  std::optional<chunk_view> ok;
  std::string error;  // what was wrong
};
// One chunk's JSON (a `data:` payload other than [DONE]).
decode_result decode_chunk(std::string_view json);
// A whole (non-streamed) answer: its text is choices[0].text or choices[0].message.content.
decode_result decode_response(std::string_view json);

// Splits SSE bytes, fed in any pieces, into the payloads of `data:` lines (one per event;
// several data lines of one event are joined with "\n"). Comments and other fields are skipped.
class sse_reader {
 public:
  // Appends bytes; returns the events completed by them.
  std::vector<std::string> feed(std::string_view bytes);
  // Bytes held for an event not yet complete.
  std::size_t pending() const { return buffer_.size(); }

 private:
  std::string buffer_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace aladdin::api
