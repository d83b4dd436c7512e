#include "util/csv.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace aladdin {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_csv_line(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      out.push_back(trim(line.substr(start)));
      break;
    }
    out.push_back(trim(line.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

std::optional<double> to_double(std::string_view field) {
  field = trim(field);
  if (field.empty()) return std::nullopt;
  std::string tmp(field);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<long long> to_integer(std::string_view field) {
  field = trim(field);
  if (field.empty()) return std::nullopt;
  long long v = 0;
  auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec != std::errc{} || p != field.data() + field.size()) {
    // Accept integral values written as floats ("128.0"), which some exporters produce.
    auto d = to_double(field);
    if (!d || *d != std::floor(*d) || std::fabs(*d) > 9e15) return std::nullopt;
    return static_cast<long long>(*d);
  }
  return v;
}

csv_reader::csv_reader(std::istream& in, std::string source_name)
    : in_(in), source_(std::move(source_name)) {
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (trim(line_).empty()) continue;
    std::string_view l = line_;
    if (line_number_ == 1 && l.size() >= 3 && l.substr(0, 3) == "\xEF\xBB\xBF") l.remove_prefix(3);
    for (auto f : split_csv_line(l)) header_.emplace_back(f);
    return;
  }
  throw input_error(source_ + ": empty file (expected a header row)");
}

std::optional<std::size_t> csv_reader::find_column(std::string_view name) const {
  for (std::size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return i;
  return std::nullopt;
}

std::size_t csv_reader::column(std::string_view name) const {
  if (auto i = find_column(name)) return *i;
  std::string have;
  for (const auto& h : header_) have += (have.empty() ? "" : ",") + h;
  throw input_error(source_ + ": missing column '" + std::string(name) + "' (header has: " + have +
                    ")");
}

bool csv_reader::next(std::vector<std::string_view>* fields, std::size_t* line_number) {
  while (std::getline(in_, line_)) {
    ++line_number_;
    if (trim(line_).empty()) continue;
    *fields = split_csv_line(line_);
    *line_number = line_number_;
    if (fields->size() != header_.size())
      fail(line_number_, "expected " + std::to_string(header_.size()) + " fields, found " +
                             std::to_string(fields->size()));
    return true;
  }
  return false;
}

void csv_reader::fail(std::size_t line, const std::string& what) const {
  throw input_error(source_ + ":" + std::to_string(line) + ": " + what);
}

}  // namespace aladdin
