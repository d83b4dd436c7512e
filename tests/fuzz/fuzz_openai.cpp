// libFuzzer target: what the OpenAI module (src/api/openai.hpp) reads from outside — a client's
// request body at the node's front door, and an engine's stream chunks, answers and SSE bytes at
// the worker agent. The first byte chooses which; the rest is the input. Properties: nothing
// throws; a parsed request names a model, has a positive max_tokens if any, and its engine body
// is a JSON object naming the served model; a refusal is a 400 with a message; a decoded chunk
// or answer says which API it is; SSE bytes give the same events however they are split.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/openai.hpp"
#include "fuzz_support.hpp"

using namespace aladdin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] % 5;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode) {
    case 0:
    case 1: {
      const auto kind = mode == 0 ? api::api_kind::completions : api::api_kind::chat_completions;
      const api::parse_result r = api::parse_request(kind, in);
      if (!r.ok) {
        fuzz::require(r.error.status == 400, "a refused body that is not a 400");
        fuzz::require(!r.error.message.empty(), "a refusal without a message");
        fuzz::require(!api::encode_error(r.error).empty(), "an error that does not encode");
        return 0;
      }
      fuzz::require(!r.ok->model.empty(), "a request without a model");
      fuzz::require(!r.ok->max_tokens || *r.ok->max_tokens > 0, "a max_tokens of 0");
      fuzz::require(!r.ok->include_usage || r.ok->stream, "include_usage without stream");
      const auto body = nlohmann::json::parse(api::engine_body(*r.ok, "served"), nullptr, false);
      fuzz::require(body.is_object() && body["model"] == "served", "an engine body that does not name the served model");
      fuzz::require(!body.contains("slo_ttft_ms") && !body.contains("slo_class"), "aladdin's fields reach the engine");
      return 0;
    }
    case 2:
    case 3: {
      const api::decode_result d = mode == 2 ? api::decode_chunk(in) : api::decode_response(in);
      fuzz::require(d.ok.has_value() != !d.error.empty(), "a decode that is both or neither ok and an error");
      return 0;
    }
    default: {
      api::sse_reader whole;
      const std::vector<std::string> at_once = whole.feed(in);
      api::sse_reader split;
      std::vector<std::string> pieces;
      const std::size_t cut = in.empty() ? 0 : static_cast<std::size_t>(data[0]) % in.size();
      for (auto& e : split.feed(in.substr(0, cut))) pieces.push_back(std::move(e));
      for (auto& e : split.feed(in.substr(cut))) pieces.push_back(std::move(e));
      fuzz::require(at_once == pieces, "SSE events depend on how the bytes were split");
      fuzz::require(whole.pending() == split.pending(), "SSE leftovers depend on how the bytes were split");
      return 0;
    }
  }
}
