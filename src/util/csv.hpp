#pragma once
// Line-oriented CSV reading with line numbers, for the profile and trace readers. Handles
// plain comma-separated fields (no quoting: none of the formats aladdin reads uses it) and
// CRLF line ends. Errors name the file and the line.

#include <istream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace aladdin {

// A bad input file: the message names the file, the line and what was wrong.
class input_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<std::string_view> split_csv_line(std::string_view line);
std::string_view trim(std::string_view s);

// Numbers from a field; nullopt when the field is not entirely a finite number.
std::optional<double> to_double(std::string_view field);
std::optional<long long> to_integer(std::string_view field);

// Reads a CSV stream with a header row; each row is handed to the callback with its 1-based
// line number. Blank lines are skipped.
class csv_reader {
 public:
  csv_reader(std::istream& in, std::string source_name);

  const std::vector<std::string>& header() const { return header_; }
  // Index of a column by name; throws input_error naming the missing column.
  std::size_t column(std::string_view name) const;
  std::optional<std::size_t> find_column(std::string_view name) const;

  // Next data row; false at end of input. Rows with a different field count throw.
  bool next(std::vector<std::string_view>* fields, std::size_t* line_number);

  const std::string& source() const { return source_; }
  [[noreturn]] void fail(std::size_t line, const std::string& what) const;

 private:
  std::istream& in_;
  std::string source_;
  std::vector<std::string> header_;
  std::string line_;
  std::size_t line_number_ = 0;
};

}  // namespace aladdin
