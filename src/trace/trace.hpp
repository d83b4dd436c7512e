#pragma once
// A request trace: arrival time and true lengths of each query, in arrival order, and the SLO of
// each query when the trace carries one (per-query SLO classes).

#include <cstdint>
#include <vector>

#include "model/slo.hpp"

namespace aladdin {

struct trace_record {
  double arrival_s = 0;    // seconds since the first arrival of the trace
  int input_tokens = 0;
  int output_tokens = 0;   // the truth: hidden from every policy except the oracle
  // This query's own SLO, seconds; 0: the run's SLO (each part separately).
  double slo_ttft_s = 0;
  double slo_atgt_s = 0;
};

using trace = std::vector<trace_record>;

// The SLO a record is judged by: its own where it has one, else `run` (field by field).
inline slo_target slo_of(const trace_record& r, const slo_target& run) {
  return {r.slo_ttft_s > 0 ? r.slo_ttft_s : run.ttft_s, r.slo_atgt_s > 0 ? r.slo_atgt_s : run.atgt_s};
}

}  // namespace aladdin
