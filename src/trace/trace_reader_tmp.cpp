// TEMPORARY stand-in for trace_reader.cpp (being written on another branch) so that this
// branch links. Minimal; deleted before merge.

#include <algorithm>
#include <fstream>
#include <string>

#include "trace/trace_reader.hpp"

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

double seconds_of_day(std::string_view ts) {
  // "2023-11-16 18:15:46.6805900": day number ignored beyond the day of month.
  const auto day = to_double(ts.substr(8, 2)).value_or(0);
  const auto h = to_double(ts.substr(11, 2)).value_or(0);
  const auto m = to_double(ts.substr(14, 2)).value_or(0);
  const auto s = to_double(ts.substr(17)).value_or(0);
  return day * 86400 + h * 3600 + m * 60 + s;
}

}  // namespace

trace read_trace(std::istream& in, const std::string& source_name, trace_format format) {
  trace t;
  if (format == trace_format::mooncake) throw input_error(source_name + ": mooncake not in tmp");
  csv_reader r(in, source_name);
  std::vector<std::string_view> f;
  std::size_t line = 0;
  const bool azure = format == trace_format::azure;
  const auto c0 = r.column(azure ? "TIMESTAMP" : "arrival_s");
  const auto c1 = r.column(azure ? "ContextTokens" : "input_tokens");
  const auto c2 = r.column(azure ? "GeneratedTokens" : "output_tokens");
  while (r.next(&f, &line)) {
    trace_record rec;
    rec.arrival_s = azure ? seconds_of_day(f[c0]) : to_double(f[c0]).value_or(0);
    rec.input_tokens = static_cast<int>(to_integer(f[c1]).value_or(0));
    rec.output_tokens = static_cast<int>(to_integer(f[c2]).value_or(0));
    t.push_back(rec);
  }
  std::stable_sort(t.begin(), t.end(),
                   [](const auto& a, const auto& b) { return a.arrival_s < b.arrival_s; });
  if (!t.empty()) {
    const double t0 = t.front().arrival_s;
    for (auto& rec : t) rec.arrival_s -= t0;
  }
  return t;
}

trace read_trace_file(const std::string& path, trace_format format) {
  std::ifstream in(path);
  if (!in) throw input_error(path + ": cannot open");
  return read_trace(in, path, format);
}

void scale_rate(trace& t, double factor) {
  for (auto& r : t) r.arrival_s /= factor;
}

}  // namespace aladdin
