// OpenAI's HTTP API as plain C++; the contract is in openai.hpp.
#include "api/openai.hpp"

#include <cmath>
#include <limits>

namespace aladdin::api {

using nlohmann::json;

const char* to_string(api_kind a) {
  return a == api_kind::completions ? "completions" : "chat.completions";
}

// ---- errors ---------------------------------------------------------------------------------

api_error bad_request(std::string message, std::string param) {
  api_error e;
  e.status = 400;
  e.message = std::move(message);
  e.param = std::move(param);
  return e;
}

api_error model_not_found(std::string_view model) {
  api_error e;
  e.status = 404;
  e.message = "The model `" + std::string(model.substr(0, 128)) + "` does not exist";
  e.param = "model";
  e.code = "model_not_found";
  return e;
}

api_error body_too_large(std::size_t limit_bytes) {
  api_error e;
  e.status = 413;
  e.message = "The request body is larger than the limit of " + std::to_string(limit_bytes) + " bytes";
  e.code = "request_too_large";
  return e;
}

api_error over_context(std::uint32_t prompt_tokens, std::uint32_t max_tokens, std::string_view model,
                       std::uint32_t context_tokens) {
  api_error e;
  e.status = 400;
  e.message = "This model's maximum context length is " + std::to_string(context_tokens) +
              " tokens (" + std::string(model) + "). However, you requested " +
              std::to_string(static_cast<std::uint64_t>(prompt_tokens) + max_tokens) + " tokens (" +
              std::to_string(prompt_tokens) + " in the prompt, " + std::to_string(max_tokens) +
              " for the completion). Please reduce the prompt or the completion length.";
  e.param = "max_tokens";
  e.code = "context_length_exceeded";
  return e;
}

api_error overloaded(std::string message, unsigned retry_after_s) {
  api_error e;
  e.status = 429;
  e.message = std::move(message);
  e.type = "rate_limit_error";
  e.code = "overloaded";
  e.retry_after_s = retry_after_s;
  return e;
}

api_error unavailable(std::string message, unsigned retry_after_s) {
  api_error e;
  e.status = 503;
  e.message = std::move(message);
  e.type = "server_error";
  e.code = "unavailable";
  e.retry_after_s = retry_after_s;
  return e;
}

api_error server_error(std::string message) {
  api_error e;
  e.status = 500;
  e.message = std::move(message);
  e.type = "server_error";
  return e;
}

std::string encode_error(const api_error& e) {
  json err = {{"message", e.message},
              {"type", e.type},
              {"param", e.param.empty() ? json(nullptr) : json(e.param)},
              {"code", e.code.empty() ? json(nullptr) : json(e.code)}};
  return json{{"error", std::move(err)}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- requests -------------------------------------------------------------------------------

namespace {

// A positive integer that fits 32 bits, or an error naming the field.
std::optional<api_error> read_count(const json& v, const char* name, std::uint32_t& out) {
  if (!v.is_number_integer() && !v.is_number_unsigned()) {
    return bad_request(std::string("'") + name + "' must be an integer", name);
  }
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u == 0 || u > std::numeric_limits<std::uint32_t>::max()) {
      return bad_request(std::string("'") + name + "' must be between 1 and 4294967295", name);
    }
    out = static_cast<std::uint32_t>(u);
    return std::nullopt;
  }
  const auto i = v.get<std::int64_t>();
  if (i <= 0 || i > static_cast<std::int64_t>(std::numeric_limits<std::uint32_t>::max())) {
    return bad_request(std::string("'") + name + "' must be between 1 and 4294967295", name);
  }
  out = static_cast<std::uint32_t>(i);
  return std::nullopt;
}

std::optional<api_error> read_token_ids(const json& list, const char* param, std::vector<std::uint32_t>& out) {
  out.reserve(list.size());
  for (const auto& t : list) {
    if (!t.is_number_integer() || t.get<std::int64_t>() < 0 ||
        t.get<std::int64_t>() > static_cast<std::int64_t>(std::numeric_limits<std::uint32_t>::max())) {
      return bad_request("a token id in 'prompt' is not a non-negative integer", param);
    }
    out.push_back(static_cast<std::uint32_t>(t.get<std::int64_t>()));
  }
  return std::nullopt;
}

std::optional<api_error> read_prompt(const json& body, request& r) {
  const auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) return bad_request("'prompt' is required", "prompt");
  const json& p = *it;
  if (p.is_string()) {
    r.prompt_chars = p.get_ref<const std::string&>().size();
    return std::nullopt;
  }
  if (!p.is_array()) {
    return bad_request("'prompt' must be a string, a list of token ids, or a list of one of either", "prompt");
  }
  if (p.empty()) return bad_request("'prompt' must not be empty", "prompt");
  if (p.front().is_number()) {
    std::vector<std::uint32_t> ids;
    if (auto e = read_token_ids(p, "prompt", ids)) return e;
    r.prompt_token_ids = std::move(ids);
    return std::nullopt;
  }
  if (p.size() != 1) return bad_request("only one prompt per request is served (got " + std::to_string(p.size()) + ")", "prompt");
  const json& one = p.front();
  if (one.is_string()) {
    r.prompt_chars = one.get_ref<const std::string&>().size();
    return std::nullopt;
  }
  if (one.is_array() && !one.empty()) {
    std::vector<std::uint32_t> ids;
    if (auto e = read_token_ids(one, "prompt", ids)) return e;
    r.prompt_token_ids = std::move(ids);
    return std::nullopt;
  }
  return bad_request("'prompt' must be a string, a list of token ids, or a list of one of either", "prompt");
}

std::optional<api_error> read_messages(const json& body, request& r) {
  const auto it = body.find("messages");
  if (it == body.end() || it->is_null()) return bad_request("'messages' is required", "messages");
  if (!it->is_array() || it->empty()) return bad_request("'messages' must be a non-empty list", "messages");
  std::size_t chars = 0;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad_request(where + " must be an object", where);
    const auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return bad_request(where + ".role must be a string", where + ".role");
    chars += role->get_ref<const std::string&>().size();
    const auto content = m.find("content");
    if (content == m.end() || content->is_null()) continue;  // e.g. an assistant turn with tool calls
    if (content->is_string()) {
      chars += content->get_ref<const std::string&>().size();
    } else if (content->is_array()) {
      for (const auto& part : *content) {
        if (!part.is_object()) return bad_request(where + ".content parts must be objects", where + ".content");
        const auto type = part.find("type");
        const auto text = part.find("text");
        if (type == part.end() || !type->is_string()) {
          return bad_request(where + ".content parts need a 'type'", where + ".content");
        }
        if (*type != "text") {
          return bad_request(where + ".content part of type '" + type->get<std::string>() +
                                 "' is not served (text only)", where + ".content");
        }
        if (text == part.end() || !text->is_string()) {
          return bad_request(where + ".content text parts need a string 'text'", where + ".content");
        }
        chars += text->get_ref<const std::string&>().size();
      }
    } else {
      return bad_request(where + ".content must be a string or a list of parts", where + ".content");
    }
  }
  r.prompt_chars = chars;
  r.messages = it->size();
  return std::nullopt;
}

std::optional<api_error> read_slo_ms(const json& body, const char* name, std::optional<double>& out) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || !(it->get<double>() > 0) || !std::isfinite(it->get<double>())) {
    return bad_request(std::string("'") + name + "' must be a positive number of milliseconds", name);
  }
  out = it->get<double>();
  return std::nullopt;
}

}  // namespace

parse_result parse_request(api_kind api, std::string_view body) {
  parse_result out;
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    out.error = bad_request("The request body is not valid JSON");
    return out;
  }
  if (!j.is_object()) {
    out.error = bad_request("The request body must be a JSON object");
    return out;
  }
  request r;
  r.api = api;
  const auto model = j.find("model");
  if (model == j.end() || model->is_null()) {
    out.error = bad_request("'model' is required", "model");
    return out;
  }
  if (!model->is_string() || model->get_ref<const std::string&>().empty()) {
    out.error = bad_request("'model' must be a non-empty string", "model");
    return out;
  }
  r.model = model->get<std::string>();
  if (auto e = api == api_kind::completions ? read_prompt(j, r) : read_messages(j, r)) {
    out.error = std::move(*e);
    return out;
  }
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    const auto it = j.find(name);
    if (it == j.end() || it->is_null()) continue;
    std::uint32_t v = 0;
    if (auto e = read_count(*it, name, v)) {
      out.error = std::move(*e);
      return out;
    }
    r.max_tokens = r.max_tokens ? std::min(*r.max_tokens, v) : v;
  }
  if (const auto it = j.find("stream"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      out.error = bad_request("'stream' must be a boolean", "stream");
      return out;
    }
    r.stream = it->get<bool>();
  }
  if (const auto it = j.find("stream_options"); it != j.end() && !it->is_null()) {
    if (!r.stream) {
      out.error = bad_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
      return out;
    }
    if (!it->is_object()) {
      out.error = bad_request("'stream_options' must be an object", "stream_options");
      return out;
    }
    if (const auto u = it->find("include_usage"); u != it->end() && !u->is_null()) {
      if (!u->is_boolean()) {
        out.error = bad_request("'stream_options.include_usage' must be a boolean", "stream_options.include_usage");
        return out;
      }
      r.include_usage = u->get<bool>();
    }
  }
  if (const auto it = j.find("n"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() != 1) {
      out.error = bad_request("only 'n': 1 is served", "n");
      return out;
    }
  }
  if (auto e = read_slo_ms(j, "slo_ttft_ms", r.slo_ttft_ms)) {
    out.error = std::move(*e);
    return out;
  }
  if (auto e = read_slo_ms(j, "slo_tpot_ms", r.slo_tpot_ms)) {
    out.error = std::move(*e);
    return out;
  }
  if (const auto it = j.find("slo_class"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      out.error = bad_request("'slo_class' must be a class name", "slo_class");
      return out;
    }
    r.slo_class = it->get<std::string>();
  }
  r.body = std::move(j);
  out.ok = std::move(r);
  return out;
}

std::optional<api_error> slo_from_headers(const std::optional<std::string_view>& ttft,
                                          const std::optional<std::string_view>& tpot, slo_headers& out) {
  auto read = [](std::string_view v, const char* name, std::optional<double>& into) -> std::optional<api_error> {
    const std::string s(v);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !(d > 0) || !std::isfinite(d)) {
      return bad_request(std::string("header ") + name + " must be a positive number of milliseconds (got '" +
                         s.substr(0, 32) + "')", name);
    }
    into = d;
    return std::nullopt;
  };
  if (ttft) {
    if (auto e = read(*ttft, "x-slo-ttft-ms", out.ttft_ms)) return e;
  }
  if (tpot) {
    if (auto e = read(*tpot, "x-slo-tpot-ms", out.tpot_ms)) return e;
  }
  return std::nullopt;
}

slo_choice resolve_slo(const slo_headers& headers, const std::optional<std::string_view>& class_header,
                       const request& r, const std::vector<slo_class_ms>& classes) {
  slo_choice out;
  out.ttft_ms = headers.ttft_ms ? headers.ttft_ms : r.slo_ttft_ms;
  out.tpot_ms = headers.tpot_ms ? headers.tpot_ms : r.slo_tpot_ms;
  std::optional<std::string> name;
  const char* param = "x-slo-class";
  if (class_header) {
    name = std::string(*class_header);
  } else if (r.slo_class) {
    name = r.slo_class;
    param = "slo_class";
  }
  if (!name) return out;
  for (const auto& c : classes) {
    if (c.name != *name) continue;
    if (!out.ttft_ms) out.ttft_ms = c.ttft_ms;
    if (!out.tpot_ms) out.tpot_ms = c.tpot_ms;
    return out;
  }
  std::string known;
  for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c.name;
  out.error = bad_request("unknown SLO class '" + name->substr(0, 64) + "' (classes: " +
                              (known.empty() ? std::string("none configured") : known) + ")",
                          param);
  return out;
}

std::string engine_body(const request& r, std::string_view served_model) {
  json b = r.body;
  b["model"] = std::string(served_model);
  b.erase("slo_ttft_ms");
  b.erase("slo_tpot_ms");
  b.erase("slo_class");
  return b.dump(-1, ' ', false, json::error_handler_t::replace);
}

// ---- answers --------------------------------------------------------------------------------

namespace {

json usage_json(const usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", static_cast<std::uint64_t>(u.prompt_tokens) + u.completion_tokens}};
}

json finish_json(std::string_view f) { return f.empty() ? json(nullptr) : json(std::string(f)); }

json head_json(const answer_head& h, const char* object) {
  return {{"id", h.id}, {"object", object}, {"created", h.created}, {"model", h.model}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string encode_response(const answer_head& h, std::string_view text, std::string_view finish_reason,
                            const usage& u) {
  json choice;
  json j;
  if (h.api == api_kind::completions) {
    j = head_json(h, "text_completion");
    choice = {{"index", 0}, {"text", std::string(text)}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish_reason)}};
  } else {
    j = head_json(h, "chat.completion");
    choice = {{"index", 0},
              {"message", {{"role", "assistant"}, {"content", std::string(text)}}},
              {"logprobs", nullptr},
              {"finish_reason", finish_json(finish_reason)}};
  }
  j["choices"] = json::array({std::move(choice)});
  j["usage"] = usage_json(u);
  return dump(j);
}

std::string encode_chunk(const answer_head& h, std::string_view text, bool first, std::string_view finish_reason,
                         bool with_null_usage) {
  json j;
  json choice;
  if (h.api == api_kind::completions) {
    j = head_json(h, "text_completion");
    choice = {{"index", 0}, {"text", std::string(text)}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish_reason)}};
  } else {
    j = head_json(h, "chat.completion.chunk");
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && finish_reason.empty())) delta["content"] = std::string(text);
    choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish_reason)}};
  }
  j["choices"] = json::array({std::move(choice)});
  if (with_null_usage) j["usage"] = nullptr;
  return dump(j);
}

std::string encode_usage_chunk(const answer_head& h, const usage& u) {
  json j = head_json(h, h.api == api_kind::completions ? "text_completion" : "chat.completion.chunk");
  j["choices"] = json::array();
  j["usage"] = usage_json(u);
  return dump(j);
}

std::string encode_models(const std::vector<std::string>& models, std::int64_t created) {
  json data = json::array();
  for (const auto& m : models) {
    data.push_back({{"id", m}, {"object", "model"}, {"created", created}, {"owned_by", "aladdin"}});
  }
  return dump(json{{"object", "list"}, {"data", std::move(data)}});
}

std::string sse_event(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size() + 8);
  out += "data: ";
  out += json_text;
  out += "\n\n";
  return out;
}

// ---- reading answers back -------------------------------------------------------------------

namespace {

std::optional<usage> read_usage(const json& j) {
  const auto it = j.find("usage");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  usage u;
  if (const auto p = it->find("prompt_tokens"); p != it->end() && p->is_number_unsigned()) {
    u.prompt_tokens = p->get<std::uint32_t>();
  }
  if (const auto c = it->find("completion_tokens"); c != it->end() && c->is_number_unsigned()) {
    u.completion_tokens = c->get<std::uint32_t>();
  }
  return u;
}

decode_result decode_any(std::string_view text, bool whole) {
  decode_result out;
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    out.error = "not a JSON object";
    return out;
  }
  if (const auto e = j.find("error"); e != j.end() && e->is_object()) {
    const auto m = e->find("message");
    out.error = "error from the server: " + (m != e->end() && m->is_string() ? m->get<std::string>() : e->dump());
    return out;
  }
  chunk_view c;
  const auto object = j.find("object");
  if (object == j.end() || !object->is_string()) {
    out.error = "no 'object'";
    return out;
  }
  const std::string obj = object->get<std::string>();
  if (obj == "text_completion") {
    c.head.api = api_kind::completions;
  } else if (obj == (whole ? "chat.completion" : "chat.completion.chunk")) {
    c.head.api = api_kind::chat_completions;
  } else {
    out.error = "unexpected object '" + obj.substr(0, 64) + "'";
    return out;
  }
  if (const auto id = j.find("id"); id != j.end() && id->is_string()) c.head.id = id->get<std::string>();
  if (const auto m = j.find("model"); m != j.end() && m->is_string()) c.head.model = m->get<std::string>();
  if (const auto t = j.find("created"); t != j.end() && t->is_number_integer()) c.head.created = t->get<std::int64_t>();
  c.usage_ = read_usage(j);
  const auto choices = j.find("choices");
  if (choices != j.end() && !choices->is_null() && !choices->is_array()) {
    out.error = "'choices' is not a list";
    return out;
  }
  if (choices != j.end() && choices->is_array() && !choices->empty()) {
    const json& ch = choices->front();
    if (!ch.is_object()) {
      out.error = "a choice is not an object";
      return out;
    }
    if (c.head.api == api_kind::completions) {
      if (const auto t = ch.find("text"); t != ch.end() && t->is_string()) c.text = t->get<std::string>();
    } else {
      const auto d = ch.find(whole ? "message" : "delta");
      if (d != ch.end() && d->is_object()) {
        if (const auto t = d->find("content"); t != d->end() && t->is_string()) c.text = t->get<std::string>();
        if (const auto r = d->find("role"); r != d->end() && r->is_string()) c.role = r->get<std::string>();
      }
    }
    if (const auto f = ch.find("finish_reason"); f != ch.end() && f->is_string()) c.finish_reason = f->get<std::string>();
  } else if (whole) {
    out.error = "no choice in the answer";
    return out;
  }
  out.ok = std::move(c);
  return out;
}

}  // namespace

decode_result decode_chunk(std::string_view json_text) { return decode_any(json_text, false); }
decode_result decode_response(std::string_view json_text) { return decode_any(json_text, true); }

std::vector<std::string> sse_reader::feed(std::string_view bytes) {
  buffer_.append(bytes);
  std::vector<std::string> events;
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = buffer_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(buffer_.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {  // the end of an event
      if (has_data_) events.push_back(std::move(data_));
      data_.clear();
      has_data_ = false;
      continue;
    }
    if (line.front() == ':') continue;  // a comment
    const auto colon = line.find(':');
    const std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
      if (has_data_) data_ += '\n';
      data_ += value;
      has_data_ = true;
    }
  }
  buffer_.erase(0, start);
  return events;
}

}  // namespace aladdin::api
