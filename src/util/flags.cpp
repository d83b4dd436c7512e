#include "util/flags.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace aladdin {

namespace {

bool parse_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string tmp(s);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (end != tmp.c_str() + tmp.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

template <class T>
bool parse_integer(std::string_view s, T* out) {
  if (s.empty()) return false;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return false;
  *out = v;
  return true;
}

std::string format_number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

bool parse_duration(std::string_view text, double* seconds) {
  struct unit {
    std::string_view suffix;
    double scale;
  };
  // Longest suffixes first so "ms" is not read as "s".
  static constexpr unit units[] = {{"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0}, {"m", 60.0},
                                   {"h", 3600.0}};
  double scale = 1.0;
  std::string_view number = text;
  for (const auto& u : units) {
    if (text.size() > u.suffix.size() && text.substr(text.size() - u.suffix.size()) == u.suffix) {
      scale = u.scale;
      number = text.substr(0, text.size() - u.suffix.size());
      break;
    }
  }
  double v = 0;
  if (!parse_double(number, &v) || v < 0) return false;
  *seconds = v * scale;
  return true;
}

flag_set::flag_set(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {
  flag h;
  h.name = "help";
  h.help = "show this help";
  h.takes_value = false;
  h.apply = [](std::string_view) { return std::string{}; };
  flags_.push_back(std::move(h));
}

void flag_set::add(flag f) { flags_.push_back(std::move(f)); }

flag_set::flag* flag_set::find(std::string_view name) {
  for (auto& f : flags_)
    if (f.name == name) return &f;
  return nullptr;
}

bool flag_set::given(std::string_view name) const {
  for (const auto& f : flags_)
    if (f.name == name) return f.seen;
  return false;
}

void flag_set::add_string(std::string name, std::string* out, std::string help, bool required) {
  flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.value_hint = "TEXT";
  f.required = required;
  f.default_text = *out;
  f.apply = [out](std::string_view v) -> std::string {
    if (v.empty()) return "empty value";
    *out = std::string(v);
    return {};
  };
  add(std::move(f));
}

void flag_set::add_choice(std::string name, std::string* out, std::vector<std::string> choices,
                          std::string help) {
  flag f;
  f.name = std::move(name);
  std::string joined;
  for (const auto& c : choices) joined += (joined.empty() ? "" : "|") + c;
  f.help = std::move(help);
  f.value_hint = joined;
  f.default_text = *out;
  f.apply = [out, choices = std::move(choices), joined](std::string_view v) -> std::string {
    for (const auto& c : choices)
      if (c == v) {
        *out = c;
        return {};
      }
    return "'" + std::string(v) + "' is not one of " + joined;
  };
  add(std::move(f));
}

void flag_set::add_double(std::string name, double* out, std::string help, double min, double max,
                          bool required) {
  flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.value_hint = "NUMBER";
  f.required = required;
  f.default_text = format_number(*out);
  f.apply = [out, min, max](std::string_view v) -> std::string {
    double d = 0;
    if (!parse_double(v, &d)) return "'" + std::string(v) + "' is not a number";
    if (d < min || d > max)
      return std::string(v) + " is outside [" + format_number(min) + ", " + format_number(max) +
             "]";
    *out = d;
    return {};
  };
  add(std::move(f));
}

void flag_set::add_int(std::string name, std::int64_t* out, std::string help, std::int64_t min,
                       std::int64_t max, bool required) {
  flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.value_hint = "INT";
  f.required = required;
  f.default_text = std::to_string(*out);
  f.apply = [out, min, max](std::string_view v) -> std::string {
    std::int64_t i = 0;
    if (!parse_integer(v, &i)) return "'" + std::string(v) + "' is not an integer";
    if (i < min || i > max)
      return std::string(v) + " is outside [" + std::to_string(min) + ", " + std::to_string(max) +
             "]";
    *out = i;
    return {};
  };
  add(std::move(f));
}

void flag_set::add_uint64(std::string name, std::uint64_t* out, std::string help) {
  flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.value_hint = "UINT";
  f.default_text = std::to_string(*out);
  f.apply = [out](std::string_view v) -> std::string {
    std::uint64_t i = 0;
    if (!parse_integer(v, &i)) return "'" + std::string(v) + "' is not a non-negative integer";
    *out = i;
    return {};
  };
  add(std::move(f));
}

void flag_set::add_duration(std::string name, double* seconds, std::string help, bool required) {
  flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.value_hint = "DURATION";
  f.required = required;
  f.default_text = format_number(*seconds) + "s";
  f.apply = [seconds](std::string_view v) -> std::string {
    if (!parse_duration(v, seconds))
      return "'" + std::string(v) + "' is not a duration (examples: 2s, 100ms, 250us)";
    return {};
  };
  add(std::move(f));
}

void flag_set::add_bool(std::string name, bool* out, std::string help) {
  flag f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.takes_value = false;
  f.apply = [out](std::string_view) -> std::string {
    *out = true;
    return {};
  };
  add(std::move(f));
}

flag_set::outcome flag_set::parse(int argc, char** argv) {
  const std::string prefix = "aladdin " + command_ + ": ";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      error_ = prefix + "unexpected argument '" + std::string(arg) + "' (flags start with --)";
      return outcome::error;
    }
    std::string_view body = arg.substr(2);
    std::string_view name = body;
    std::string_view value;
    bool inline_value = false;
    if (auto eq = body.find('='); eq != std::string_view::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      inline_value = true;
    }
    flag* f = find(name);
    if (f == nullptr) {
      error_ = prefix + "unknown flag --" + std::string(name) + " (see aladdin " + command_ +
               " --help)";
      return outcome::error;
    }
    if (f->name == "help") return outcome::help;
    if (f->takes_value && !inline_value) {
      if (i + 1 >= argc) {
        error_ = prefix + "--" + f->name + " needs a value";
        return outcome::error;
      }
      value = argv[++i];
    } else if (!f->takes_value && inline_value) {
      error_ = prefix + "--" + f->name + " takes no value";
      return outcome::error;
    }
    if (std::string why = f->apply(value); !why.empty()) {
      error_ = prefix + "bad value for --" + f->name + ": " + why;
      return outcome::error;
    }
    f->seen = true;
  }
  for (const auto& f : flags_) {
    if (f.required && !f.seen) {
      error_ = prefix + "--" + f.name + " is required";
      return outcome::error;
    }
  }
  return outcome::ok;
}

std::string flag_set::usage() const {
  std::ostringstream o;
  o << "usage: aladdin " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const auto& f : flags_) {
    std::string left = "  --" + f.name;
    if (f.takes_value) left += " " + f.value_hint;
    o << left;
    if (left.size() < 34)
      o << std::string(34 - left.size(), ' ');
    else
      o << "\n" << std::string(34, ' ');
    o << f.help;
    if (f.required)
      o << " (required)";
    else if (f.takes_value && !f.default_text.empty())
      o << " (default " << f.default_text << ")";
    o << "\n";
  }
  return o.str();
}

int parse_flags_or_exit_code(flag_set& flags, int argc, char** argv) {
  switch (flags.parse(argc, argv)) {
    case flag_set::outcome::ok: return -1;
    case flag_set::outcome::help: std::cout << flags.usage(); return 0;
    case flag_set::outcome::error: std::cerr << flags.error() << "\n"; return 2;
  }
  return 2;
}

}  // namespace aladdin
