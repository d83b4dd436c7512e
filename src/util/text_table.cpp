#include "util/text_table.hpp"

#include <algorithm>
#include <cstdio>

namespace aladdin {

std::string format_cell(const char* printf_format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, printf_format, value);
  return buf;
}

void print_table(std::ostream& o, const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& left) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], r[c].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      const std::string fill(width[c] - r[c].size(), ' ');
      if (c > 0) line += "  ";
      line += c < left.size() && left[c] ? r[c] + fill : fill + r[c];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    o << line << "\n";
  }
}

}  // namespace aladdin
