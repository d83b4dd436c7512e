#pragma once
// Nearest-rank quantiles: the value at rank ⌈q·n⌉ (clamped to [1, n]) of a sample, 0 for an
// empty one. One definition for every report (simulator, decision records), so their p50/p99
// mean the same thing.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace aladdin {

// Of a sample already sorted ascending (sort once, ask many quantiles).
inline double sorted_quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const auto k = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(sorted.size()))) - 1;
  return sorted[k];
}

// Of any sample (sorts a copy).
inline double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  return sorted_quantile(values, q);
}

}  // namespace aladdin
