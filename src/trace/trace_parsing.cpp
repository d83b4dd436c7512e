#include "trace/trace_parsing.hpp"

#include <cmath>
#include <cstdlib>

namespace aladdin::trace_parsing {

// The era-based algorithm: shifting the year to start in March puts the leap day last, so the
// day of the year follows from the month by a linear formula, and 400-year eras repeat exactly.
std::int64_t days_from_civil(std::int64_t year, int month, int day) {
  const std::int64_t y = year - (month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t year_of_era = y - era * 400;                               // [0, 399]
  const std::int64_t month_from_march = month > 2 ? month - 3 : month + 9;      // [0, 11]
  const std::int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;  // [0, 365]
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;  // [0, 146096]
  return era * 146097 + day_of_era - 719468;  // 719468: days from 0000-03-01 to 1970-01-01
}

namespace {

bool is_leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(std::int64_t y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

// Reads exactly `width` digits at text[*pos].
bool read_digits(std::string_view text, std::size_t* pos, std::size_t width, int* out) {
  if (*pos + width > text.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += width;
  *out = v;
  return true;
}

bool expect(std::string_view text, std::size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

}  // namespace

std::optional<timestamp> parse_timestamp(std::string_view text, std::string* why) {
  auto fail = [&](const std::string& reason) -> std::optional<timestamp> {
    if (why) *why = reason;
    return std::nullopt;
  };
  const char* shape = "expected YYYY-MM-DD HH:MM:SS[.fraction]";
  std::size_t p = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, &p, 4, &year) || !expect(text, &p, '-') ||
      !read_digits(text, &p, 2, &month) || !expect(text, &p, '-') ||
      !read_digits(text, &p, 2, &day))
    return fail(shape);
  if (p >= text.size() || (text[p] != ' ' && text[p] != 'T')) return fail(shape);
  ++p;
  if (!read_digits(text, &p, 2, &hour) || !expect(text, &p, ':') ||
      !read_digits(text, &p, 2, &minute) || !expect(text, &p, ':') ||
      !read_digits(text, &p, 2, &second))
    return fail(shape);
  double fraction = 0;
  if (p < text.size() && text[p] == '.') {
    ++p;
    // As an integer over a power of ten, so the value is one correctly rounded division; digits
    // past the 18th are below a double's resolution and are read but ignored.
    std::uint64_t numerator = 0;
    std::uint64_t denominator = 1;
    const std::size_t first = p;
    while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
      if (denominator < 1000000000000000000ULL) {
        numerator = numerator * 10 + static_cast<std::uint64_t>(text[p] - '0');
        denominator *= 10;
      }
      ++p;
    }
    if (p == first) return fail("no digits after the decimal point");
    fraction = static_cast<double>(numerator) / static_cast<double>(denominator);
    if (fraction >= 1) fraction = std::nextafter(1.0, 0.0);  // 0.999… rounded up
  }
  if (p != text.size())
    return fail("unexpected '" + std::string(text.substr(p)) + "' after the time");
  if (month < 1 || month > 12) return fail("month " + std::to_string(month) + " is not in 1..12");
  if (day < 1 || day > days_in_month(year, month))
    return fail("day " + std::to_string(day) + " does not exist in " + std::to_string(year) + "-" +
                (month < 10 ? "0" : "") + std::to_string(month));
  if (hour > 23 || minute > 59 || second > 60)  // 60: a leap second
    return fail("time " + std::string(text.substr(11, 8)) + " is out of range");
  timestamp t;
  t.seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  t.fraction = fraction;
  return t;
}

namespace {

class json_cursor {
 public:
  explicit json_cursor(std::string_view s) : s_(s) {}

  void skip_space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\r' || s_[p_] == '\n'))
      ++p_;
  }
  bool at_end() const { return p_ >= s_.size(); }
  char peek() const { return p_ < s_.size() ? s_[p_] : '\0'; }
  bool consume(char c) {
    if (peek() != c) return false;
    ++p_;
    return true;
  }
  std::size_t pos() const { return p_; }

  std::string error(const std::string& what) const {
    return what + " at byte " + std::to_string(p_ + 1);
  }

  // A string starting at the opening quote. \uXXXX escapes are decoded to UTF-8.
  std::string read_string(std::string* out) {
    if (!consume('"')) return error("expected '\"'");
    out->clear();
    while (true) {
      if (at_end()) return error("unterminated string");
      const char c = s_[p_++];
      if (c == '"') return {};
      if (static_cast<unsigned char>(c) < 0x20) return error("control character in string");
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (at_end()) return error("unterminated string");
      const char e = s_[p_++];
      switch (e) {
        case '"': *out += '"'; break;
        case '\\': *out += '\\'; break;
        case '/': *out += '/'; break;
        case 'b': *out += '\b'; break;
        case 'f': *out += '\f'; break;
        case 'n': *out += '\n'; break;
        case 'r': *out += '\r'; break;
        case 't': *out += '\t'; break;
        case 'u': {
          if (p_ + 4 > s_.size()) return error("short \\u escape");
          unsigned cp = 0;
          for (int i = 0; i < 4; ++i) {
            const char h = s_[p_++];
            cp <<= 4;
            if (h >= '0' && h <= '9') cp |= static_cast<unsigned>(h - '0');
            else if (h >= 'a' && h <= 'f') cp |= static_cast<unsigned>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') cp |= static_cast<unsigned>(h - 'A' + 10);
            else return error("bad \\u escape");
          }
          // Surrogate halves are kept as they are: no key or value the readers use has them.
          if (cp < 0x80) {
            *out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            *out += static_cast<char>(0xC0 | (cp >> 6));
            *out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            *out += static_cast<char>(0xE0 | (cp >> 12));
            *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            *out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default: return error(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  // A number by the JSON grammar (no leading '+', no bare '.5', no hex, no inf/nan).
  std::string read_number(std::string* raw, double* value) {
    const std::size_t start = p_;
    consume('-');
    auto digits = [&] {
      const std::size_t d = p_;
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') ++p_;
      return p_ - d;
    };
    if (digits() == 0) return error("expected a digit");
    if (consume('.') && digits() == 0) return error("expected a digit after '.'");
    if (peek() == 'e' || peek() == 'E') {
      ++p_;
      if (!consume('+')) consume('-');
      if (digits() == 0) return error("expected a digit in the exponent");
    }
    *raw = std::string(s_.substr(start, p_ - start));
    *value = std::strtod(raw->c_str(), nullptr);
    if (!std::isfinite(*value)) return error("number out of range");
    return {};
  }

  // Any value, kept only as its kind: for the members nobody reads.
  std::string skip_value(int depth) {
    if (depth > 64) return error("nesting too deep");
    skip_space();
    const char c = peek();
    if (c == '"') {
      std::string ignored;
      return read_string(&ignored);
    }
    if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++p_;
      skip_space();
      if (consume(close)) return {};
      while (true) {
        if (c == '{') {
          std::string key;
          skip_space();
          if (auto e = read_string(&key); !e.empty()) return e;
          skip_space();
          if (!consume(':')) return error("expected ':'");
        }
        if (auto e = skip_value(depth + 1); !e.empty()) return e;
        skip_space();
        if (consume(close)) return {};
        if (!consume(',')) return error(std::string("expected ',' or '") + close + "'");
      }
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (s_.substr(p_, word.size()) == word) {
        p_ += word.size();
        return {};
      }
    }
    std::string raw;
    double v = 0;
    return read_number(&raw, &v);
  }

 private:
  std::string_view s_;
  std::size_t p_ = 0;
};

}  // namespace

std::string parse_flat_json_object(std::string_view text, std::vector<json_member>* members) {
  members->clear();
  json_cursor c(text);
  c.skip_space();
  if (!c.consume('{')) return c.error("expected '{'");
  c.skip_space();
  if (!c.consume('}')) {
    while (true) {
      json_member m;
      c.skip_space();
      if (auto e = c.read_string(&m.key); !e.empty()) return e;
      c.skip_space();
      if (!c.consume(':')) return c.error("expected ':' after \"" + m.key + "\"");
      c.skip_space();
      const char v = c.peek();
      std::string e;
      if (v == '"') {
        m.type = json_member::kind::string;
        e = c.read_string(&m.text);
      } else if (v == '-' || (v >= '0' && v <= '9')) {
        m.type = json_member::kind::number;
        e = c.read_number(&m.text, &m.number);
      } else {
        m.type = json_member::kind::other;
        e = c.skip_value(0);
      }
      if (!e.empty()) return e;
      bool replaced = false;
      for (auto& old : *members)
        if (old.key == m.key) {
          old = m;
          replaced = true;
        }
      if (!replaced) members->push_back(std::move(m));
      c.skip_space();
      if (c.consume('}')) break;
      if (!c.consume(',')) return c.error("expected ',' or '}'");
    }
  }
  c.skip_space();
  if (!c.at_end()) return c.error("unexpected text after the object");
  return {};
}

}  // namespace aladdin::trace_parsing
