#include "sim/ceiling.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace aladdin::sim {

lone_latency latency_alone(const ground_truth& truth, int input_tokens, int output_tokens) {
  lone_latency l;
  l.ttft_s = truth.prompt_s(input_tokens);
  if (output_tokens > 1) {
    double sum = 0;
    for (int g = 1; g < output_tokens; ++g) sum += truth.decode_s(1, static_cast<double>(input_tokens) + g);
    l.atgt_s = sum / (output_tokens - 1);
  }
  return l;
}

double workload_ceiling::best_fraction() const {
  double best = shapes.empty() ? 1.0 : 0.0;
  for (const auto& s : shapes) best = std::max(best, s.fraction);
  return best;
}

int workload_ceiling::best_tp() const {
  int tp = 0;
  double best = -1;
  for (const auto& s : shapes)
    if (s.fraction > best) best = s.fraction, tp = s.tp;
  return tp;
}

workload_ceiling achievable_ceiling(const trace& arrivals, const slo_target& run_slo,
                                    std::span<const ceiling_shape> shapes, const model_spec& model) {
  workload_ceiling w;
  w.queries = arrivals.size();
  for (const trace_record& r : arrivals) w.over_context += !model.fits_context(r.input_tokens, r.output_tokens);
  for (const ceiling_shape& shape : shapes) {
    if (shape.truth == nullptr) throw std::invalid_argument("achievable ceiling: a shape without ground truth");
    shape_ceiling c;
    c.tp = shape.truth->config().tp;
    for (const trace_record& r : arrivals) {
      if (!model.fits_context(r.input_tokens, r.output_tokens)) continue;
      ++c.admitted;
      if (static_cast<double>(r.input_tokens) + r.output_tokens > shape.kv_capacity_tokens) {
        ++c.over_kv;
        continue;
      }
      const slo_target slo = slo_of(r, run_slo);
      const lone_latency alone = latency_alone(*shape.truth, r.input_tokens, r.output_tokens);
      const bool ttft_ok = alone.ttft_s <= slo.ttft_s, atgt_ok = alone.atgt_s <= slo.atgt_s;
      c.missed_ttft += !ttft_ok;
      c.missed_atgt += !atgt_ok;
      c.achievable += ttft_ok && atgt_ok;
    }
    c.fraction = c.admitted > 0 ? static_cast<double>(c.achievable) / static_cast<double>(c.admitted) : 1.0;
    w.shapes.push_back(c);
  }
  return w;
}

void scale_slos(trace& arrivals, const ground_truth& reference, double k) {
  if (!(k > 0) || !std::isfinite(k)) throw std::invalid_argument("slo scale must be a positive number");
  for (trace_record& r : arrivals) {
    const lone_latency alone = latency_alone(reference, r.input_tokens, r.output_tokens);
    r.slo_ttft_s = k * alone.ttft_s;
    r.slo_atgt_s = r.output_tokens > 1 ? k * alone.atgt_s : 0;
  }
}

trace within_context(const trace& arrivals, const model_spec& model, std::size_t* over_context) {
  trace kept;
  kept.reserve(arrivals.size());
  std::size_t over = 0;
  for (const trace_record& r : arrivals) {
    if (model.fits_context(r.input_tokens, r.output_tokens)) kept.push_back(r);
    else ++over;
  }
  if (over_context) *over_context = over;
  return kept;
}

}  // namespace aladdin::sim
