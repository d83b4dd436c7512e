#pragma once
// Readers for request traces. Every malformed row is an input_error naming the file and the
// line; nothing is skipped silently.
//
//   azure     TIMESTAMP,ContextTokens,GeneratedTokens   (Azure LLM inference trace 2023)
//   mooncake  JSON lines: {"timestamp": ms, "input_length": n, "output_length": n, ...}
//   csv       arrival_s,input_tokens,output_tokens      (header required; optional columns
//             slo_ttft_s,slo_atgt_s: the query's own SLO in seconds, empty = the run's)

#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include "trace/trace.hpp"
#include "util/csv.hpp"

namespace aladdin {

enum class trace_format { azure, mooncake, csv };

std::optional<trace_format> parse_trace_format(std::string_view name);
std::string_view to_string(trace_format f);

// Reads a whole trace; arrivals are made relative to the first one and sorted stably.
trace read_trace(std::istream& in, const std::string& source_name, trace_format format);
trace read_trace_file(const std::string& path, trace_format format);

// Divides inter-arrival times by factor (> 0): 4 replays the trace at four times its rate.
void scale_rate(trace& t, double factor);

}  // namespace aladdin
