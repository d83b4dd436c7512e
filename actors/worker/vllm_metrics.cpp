#include "actors/worker/vllm_metrics.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace aladdin::worker {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<double> number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const std::string copy(s);  // strtod needs a terminated string; handles NaN, +Inf, 1e-3
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return v;
}

// The value of label `name` inside a `{...}` label set, unescaped enough for numbers.
std::optional<std::string_view> label(std::string_view labels, std::string_view name) {
  std::size_t pos = 0;
  while (pos < labels.size()) {
    const auto eq = labels.find('=', pos);
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = trim(labels.substr(pos, eq - pos));
    if (eq + 1 >= labels.size() || labels[eq + 1] != '"') return std::nullopt;
    std::size_t end = eq + 2;
    while (end < labels.size() && labels[end] != '"') end += labels[end] == '\\' ? 2 : 1;
    if (end >= labels.size()) return std::nullopt;
    if (key == name) return labels.substr(eq + 2, end - eq - 2);
    pos = end + 1;
    if (pos < labels.size() && labels[pos] == ',') ++pos;
  }
  return std::nullopt;
}

template <class T>
std::optional<T> integer(std::string_view s) {
  T v{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

vllm_metrics parse_vllm_metrics(std::string_view text) {
  vllm_metrics m;
  double kv_new = 0, kv_old = 0;
  int kv_new_n = 0, kv_old_n = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 5) != "vllm:") continue;  // not ours to read
    std::string_view name, labels, rest;
    const auto brace = line.find('{');
    const auto space = line.find(' ');
    if (brace != std::string_view::npos && (space == std::string_view::npos || brace < space)) {
      const auto close = line.rfind('}');
      if (close == std::string_view::npos || close < brace) {
        ++m.malformed_lines;
        continue;
      }
      name = line.substr(0, brace);
      labels = line.substr(brace + 1, close - brace - 1);
      rest = trim(line.substr(close + 1));
    } else {
      if (space == std::string_view::npos) {
        ++m.malformed_lines;
        continue;
      }
      name = line.substr(0, space);
      rest = trim(line.substr(space + 1));
    }
    // "value [timestamp]"
    const auto value_end = rest.find(' ');
    const auto value = number(rest.substr(0, value_end));
    if (!value) {
      ++m.malformed_lines;
      continue;
    }
    if (name == "vllm:kv_cache_usage_perc") {
      kv_new += *value;
      ++kv_new_n;
    } else if (name == "vllm:gpu_cache_usage_perc") {
      kv_old += *value;
      ++kv_old_n;
    } else if (name == "vllm:num_requests_running") {
      m.running = m.running.value_or(0) + *value;
    } else if (name == "vllm:num_requests_waiting") {
      m.waiting = m.waiting.value_or(0) + *value;
    } else if (name == "vllm:cache_config_info") {
      if (const auto b = label(labels, "num_gpu_blocks")) {
        if (const auto v = integer<std::uint64_t>(*b)) m.num_gpu_blocks = m.num_gpu_blocks.value_or(0) + *v;
      }
      if (const auto b = label(labels, "block_size")) {
        if (const auto v = integer<std::uint32_t>(*b)) m.block_size = *v;
      }
    }
  }
  if (kv_new_n > 0)
    m.kv_usage = kv_new / kv_new_n;
  else if (kv_old_n > 0)
    m.kv_usage = kv_old / kv_old_n;
  if (m.kv_usage && !(std::isfinite(*m.kv_usage) && *m.kv_usage >= 0)) m.kv_usage.reset();
  return m;
}

}  // namespace aladdin::worker
