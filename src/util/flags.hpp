#pragma once
// Command-line flags for the aladdin subcommands. Every flag is declared with its type and
// range, so that a bad value is rejected with a one-line message naming the flag, instead of
// being half-parsed. Accepts `--name value` and `--name=value`.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace aladdin {

// Parses a duration such as "2s", "100ms", "250us", "1.5m" or a bare number of seconds.
// Returns false (and leaves *seconds alone) on anything else, negatives included.
bool parse_duration(std::string_view text, double* seconds);

class flag_set {
 public:
  flag_set(std::string command, std::string summary);

  void add_string(std::string name, std::string* out, std::string help, bool required = false);
  void add_choice(std::string name, std::string* out, std::vector<std::string> choices,
                  std::string help);
  void add_double(std::string name, double* out, std::string help, double min, double max,
                  bool required = false);
  void add_int(std::string name, std::int64_t* out, std::string help, std::int64_t min,
               std::int64_t max, bool required = false);
  void add_uint64(std::string name, std::uint64_t* out, std::string help);
  void add_duration(std::string name, double* seconds, std::string help, bool required = false);
  // A presence flag: `--json` sets it.
  void add_bool(std::string name, bool* out, std::string help);

  enum class outcome { ok, help, error };
  // argv[0] is the subcommand's name. On error, error() holds the one-line message.
  outcome parse(int argc, char** argv);
  const std::string& error() const { return error_; }
  std::string usage() const;
  // Whether a flag was given on the command line.
  bool given(std::string_view name) const;

 private:
  struct flag {
    std::string name;
    std::string help;
    std::string value_hint;
    bool required = false;
    bool takes_value = true;
    bool seen = false;
    std::string default_text;
    // Returns an empty string on success, or the reason the value is bad.
    std::function<std::string(std::string_view)> apply;
  };
  flag* find(std::string_view name);
  void add(flag f);

  std::string command_;
  std::string summary_;
  std::vector<flag> flags_;
  std::string error_;
};

// Parses flags and handles --help and errors the same way for every subcommand: returns -1 when
// the caller should go on, otherwise the exit code (0 after --help, 2 after a bad flag).
int parse_flags_or_exit_code(flag_set& flags, int argc, char** argv);

}  // namespace aladdin
