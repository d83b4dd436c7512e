#pragma once
// Building blocks of the trace readers, exposed for their tests: calendar arithmetic for the
// Azure timestamps and a tolerant parser for the flat JSON objects of Mooncake traces. Written
// here rather than taken from a library because the core links the standard library only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aladdin::trace_parsing {

// Days from 1970-01-01 to the given proleptic Gregorian date (negative before). month 1..12.
std::int64_t days_from_civil(std::int64_t year, int month, int day);

// A point in time split into whole seconds since the epoch and the fraction of a second, so
// that differences between nearby timestamps keep all 7 fractional digits of the Azure trace
// (a double holding seconds since 1970 has only ~0.2 µs of resolution left).
struct timestamp {
  std::int64_t seconds = 0;
  double fraction = 0;  // [0, 1)
  double epoch_seconds() const { return static_cast<double>(seconds) + fraction; }
};

// "YYYY-MM-DD HH:MM:SS[.fraction]" (also with 'T' between date and time), UTC, any number of
// fraction digits. On failure returns nullopt and, when why is given, says what is wrong.
std::optional<timestamp> parse_timestamp(std::string_view text, std::string* why = nullptr);

// Seconds from a to b.
inline double seconds_between(const timestamp& a, const timestamp& b) {
  return static_cast<double>(b.seconds - a.seconds) + (b.fraction - a.fraction);
}

// One member of a flat JSON object. Numbers and strings keep their value; arrays, nested
// objects, true, false and null are accepted (so keys the reader ignores, such as Mooncake's
// hash_ids, cost nothing) but only their kind is kept.
struct json_member {
  enum class kind { number, string, other };
  std::string key;
  kind type = kind::other;
  double number = 0;
  std::string text;  // the string value (escapes decoded), or the raw number text
};

// Parses one JSON object. Returns an empty string on success, else what is wrong (with the
// byte offset). A repeated key keeps its last value, as most JSON readers do.
std::string parse_flat_json_object(std::string_view text, std::vector<json_member>* members);

}  // namespace aladdin::trace_parsing
