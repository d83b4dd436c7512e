#pragma once
// A query's latency SLOs: the one struct placement, planning, the simulator and the node share.

namespace aladdin {

struct slo_target {
  double ttft_s = 2.0;   // time to first token
  double atgt_s = 0.1;   // average time per output token after the first

  friend bool operator==(const slo_target&, const slo_target&) = default;
};

}  // namespace aladdin
