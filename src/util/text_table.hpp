#pragma once
// Plain-text tables for the human output of the commands: columns sized to their widest cell,
// two spaces apart; chosen columns left-aligned (text), the others right-aligned (numbers).

#include <ostream>
#include <string>
#include <vector>

namespace aladdin {

// One number as a cell: printf_format has one conversion for a double ("%.2fx").
std::string format_cell(const char* printf_format, double value);

// left[c] says column c is left-aligned; columns past left.size() are right-aligned.
void print_table(std::ostream& o, const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& left);

}  // namespace aladdin
