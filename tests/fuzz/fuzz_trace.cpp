// libFuzzer target: a trace file, read by read_trace (src/trace/trace_reader.hpp) in the
// format this build of the target names (ALADDIN_FUZZ_TRACE_FORMAT: azure, mooncake or csv;
// one executable per format). Properties: the reader returns a trace or throws input_error
// (any other exception escapes and is a finding); what it returns is sorted, starts at 0, and
// has finite, non-negative arrivals and positive lengths.

#include <cmath>
#include <sstream>
#include <string>

#include "fuzz_support.hpp"
#include "trace/trace_reader.hpp"

#ifndef ALADDIN_FUZZ_TRACE_FORMAT
#error "define ALADDIN_FUZZ_TRACE_FORMAT (azure, mooncake or csv)"
#endif
#define ALADDIN_FUZZ_STR2(x) #x
#define ALADDIN_FUZZ_STR(x) ALADDIN_FUZZ_STR2(x)

using namespace aladdin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const trace_format format = *parse_trace_format(ALADDIN_FUZZ_STR(ALADDIN_FUZZ_TRACE_FORMAT));
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  trace t;
  try {
    t = read_trace(in, "fuzz.trace", format);
  } catch (const input_error& e) {
    fuzz::require(std::string(e.what()).find("fuzz.trace") != std::string::npos,
                  "an input_error that does not name the file");
    return 0;
  }
  for (std::size_t i = 0; i < t.size(); ++i) {
    fuzz::require(std::isfinite(t[i].arrival_s) && t[i].arrival_s >= 0, "an arrival that is not finite and >= 0");
    fuzz::require(i == 0 || t[i - 1].arrival_s <= t[i].arrival_s, "arrivals out of order");
    fuzz::require(t[i].input_tokens > 0 && t[i].output_tokens > 0, "a length that is not positive");
  }
  fuzz::require(t.empty() || t.front().arrival_s == 0, "the first arrival is not at 0");
  return 0;
}
