#pragma once
// A request trace: arrival time and true lengths of each query, in arrival order.

#include <cstdint>
#include <vector>

namespace aladdin {

struct trace_record {
  double arrival_s = 0;    // seconds since the first arrival of the trace
  int input_tokens = 0;
  int output_tokens = 0;   // the truth: hidden from every policy except the oracle
};

using trace = std::vector<trace_record>;

}  // namespace aladdin
