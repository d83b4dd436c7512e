#include "trace/trace_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "trace/trace_parsing.hpp"

namespace aladdin {

std::optional<trace_format> parse_trace_format(std::string_view name) {
  if (name == "azure") return trace_format::azure;
  if (name == "mooncake") return trace_format::mooncake;
  if (name == "csv") return trace_format::csv;
  return std::nullopt;
}

std::string_view to_string(trace_format f) {
  switch (f) {
    case trace_format::azure: return "azure";
    case trace_format::mooncake: return "mooncake";
    case trace_format::csv: return "csv";
  }
  return "?";
}

namespace {

std::string where(const std::string& source, std::size_t line) {
  return source + ":" + std::to_string(line) + ": ";
}

// A token count from a text field: an integer (or integral float) in [1, INT_MAX]. Every
// request has at least one prompt token and produces at least one token, so 0 means a broken
// export, not a real request.
int token_count(std::string_view field, std::string_view what, const std::string& at) {
  field = trim(field);
  if (field.empty()) throw input_error(at + std::string(what) + " is missing");
  const auto v = to_integer(field);
  if (!v)
    throw input_error(at + std::string(what) + " '" + std::string(field) +
                      "' is not a whole number");
  if (*v < 1)
    throw input_error(at + std::string(what) + " is " + std::to_string(*v) + ", must be >= 1");
  if (*v > INT_MAX)
    throw input_error(at + std::string(what) + " " + std::to_string(*v) + " is too large");
  return static_cast<int>(*v);
}

// A per-query SLO in seconds: empty (the run's SLO, returned as 0) or a positive finite number.
double slo_seconds(std::string_view field, std::string_view what, const std::string& at) {
  field = trim(field);
  if (field.empty()) return 0;
  const auto v = to_double(field);
  if (!v || !std::isfinite(*v) || *v <= 0)
    throw input_error(at + std::string(what) + " '" + std::string(field) +
                      "' is not a positive number of seconds");
  return *v;
}

// Arrivals are collected as offsets from the first record read (which keeps precision when
// the raw clock is large), then sorted stably and shifted so that the earliest is at 0.
void finish(trace& t) {
  std::stable_sort(t.begin(), t.end(), [](const trace_record& a, const trace_record& b) {
    return a.arrival_s < b.arrival_s;
  });
  if (t.empty()) return;
  const double first = t.front().arrival_s;
  for (auto& r : t) r.arrival_s -= first;
}

trace read_azure(std::istream& in, const std::string& source) {
  csv_reader reader(in, source);
  const std::size_t c_time = reader.column("TIMESTAMP");
  const std::size_t c_input = reader.column("ContextTokens");
  const std::size_t c_output = reader.column("GeneratedTokens");
  trace t;
  std::vector<std::string_view> f;
  std::size_t line = 0;
  std::optional<trace_parsing::timestamp> first;
  while (reader.next(&f, &line)) {
    const std::string at = where(source, line);
    std::string why;
    if (trim(f[c_time]).empty()) throw input_error(at + "TIMESTAMP is missing");
    const auto ts = trace_parsing::parse_timestamp(trim(f[c_time]), &why);
    if (!ts)
      throw input_error(at + "bad TIMESTAMP '" + std::string(trim(f[c_time])) + "': " + why);
    if (!first) first = ts;
    trace_record r;
    r.arrival_s = trace_parsing::seconds_between(*first, *ts);
    r.input_tokens = token_count(f[c_input], "ContextTokens", at);
    r.output_tokens = token_count(f[c_output], "GeneratedTokens", at);
    t.push_back(r);
  }
  return t;
}

trace read_csv(std::istream& in, const std::string& source) {
  csv_reader reader(in, source);
  const std::size_t c_time = reader.column("arrival_s");
  const std::size_t c_input = reader.column("input_tokens");
  const std::size_t c_output = reader.column("output_tokens");
  // Per-query SLO classes, optional: seconds, > 0; an empty field means the run's SLO.
  const std::optional<std::size_t> c_slo_ttft = reader.find_column("slo_ttft_s");
  const std::optional<std::size_t> c_slo_atgt = reader.find_column("slo_atgt_s");
  trace t;
  std::vector<std::string_view> f;
  std::size_t line = 0;
  std::optional<double> first;
  while (reader.next(&f, &line)) {
    const std::string at = where(source, line);
    const auto field = trim(f[c_time]);
    if (field.empty()) throw input_error(at + "arrival_s is missing");
    // Any finite time is accepted (the trace is re-based on its earliest arrival anyway).
    const auto arrival = to_double(field);
    if (!arrival) throw input_error(at + "arrival_s '" + std::string(field) + "' is not a number");
    if (!first) first = *arrival;
    trace_record r;
    r.arrival_s = *arrival - *first;
    r.input_tokens = token_count(f[c_input], "input_tokens", at);
    r.output_tokens = token_count(f[c_output], "output_tokens", at);
    if (c_slo_ttft) r.slo_ttft_s = slo_seconds(f[*c_slo_ttft], "slo_ttft_s", at);
    if (c_slo_atgt) r.slo_atgt_s = slo_seconds(f[*c_slo_atgt], "slo_atgt_s", at);
    t.push_back(r);
  }
  return t;
}

trace read_mooncake(std::istream& in, const std::string& source) {
  using trace_parsing::json_member;
  trace t;
  std::string text;
  std::size_t line = 0;
  std::vector<json_member> members;
  std::optional<double> first_ms;
  while (std::getline(in, text)) {
    ++line;
    std::string_view l = text;
    if (line == 1 && l.substr(0, 3) == "\xEF\xBB\xBF") l.remove_prefix(3);
    if (trim(l).empty()) continue;
    const std::string at = where(source, line);
    if (auto e = trace_parsing::parse_flat_json_object(l, &members); !e.empty())
      throw input_error(at + "not a JSON object: " + e);
    auto number = [&](std::string_view key) -> const json_member& {
      for (const auto& m : members) {
        if (m.key != key) continue;
        if (m.type == json_member::kind::number) return m;
        // Some exporters quote numbers; accept them when the text is a number.
        if (m.type == json_member::kind::string && to_double(m.text)) return m;
        throw input_error(at + "\"" + std::string(key) + "\" is not a number");
      }
      throw input_error(at + "missing key \"" + std::string(key) + "\"");
    };
    const auto& ts = number("timestamp");
    const auto& in_len = number("input_length");
    const auto& out_len = number("output_length");
    const double ms = ts.type == json_member::kind::number ? ts.number : *to_double(ts.text);
    if (!first_ms) first_ms = ms;
    trace_record r;
    r.arrival_s = (ms - *first_ms) / 1000.0;
    r.input_tokens = token_count(in_len.text, "input_length", at);
    r.output_tokens = token_count(out_len.text, "output_length", at);
    t.push_back(r);
  }
  if (in.bad()) throw input_error(source + ": read error");
  return t;
}

}  // namespace

trace read_trace(std::istream& in, const std::string& source_name, trace_format format) {
  trace t;
  switch (format) {
    case trace_format::azure: t = read_azure(in, source_name); break;
    case trace_format::csv: t = read_csv(in, source_name); break;
    case trace_format::mooncake: t = read_mooncake(in, source_name); break;
  }
  if (in.bad()) throw input_error(source_name + ": read error");
  finish(t);
  return t;
}

trace read_trace_file(const std::string& path, trace_format format) {
  const bool gz_name = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw input_error(path + ": is a directory, not a trace file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path + ": cannot open (" + std::strerror(errno) + ")");
  // Compression is recognised by its magic bytes too, so a renamed file gets the same clear
  // message instead of a confusing parse error on line 1.
  char magic[2] = {0, 0};
  in.read(magic, 2);
  const bool gz_magic = in.gcount() == 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
                        static_cast<unsigned char>(magic[1]) == 0x8b;
  if (gz_name || gz_magic)
    throw input_error(path + ": gzip-compressed traces are not supported; decompress it first "
                             "(for example: gunzip -c " + path + " > trace.csv)");
  in.clear();
  in.seekg(0);
  return read_trace(in, path, format);
}

void scale_rate(trace& t, double factor) {
  if (!(factor > 0) || !std::isfinite(factor))
    throw std::invalid_argument("scale_rate: factor must be a positive number, got " +
                                std::to_string(factor));
  if (t.empty()) return;
  const double origin = t.front().arrival_s;
  for (auto& r : t) r.arrival_s = origin + (r.arrival_s - origin) / factor;
}

}  // namespace aladdin
