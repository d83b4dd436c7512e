// libFuzzer target: a measured profile CSV (Splitwise format), read by parse_profile
// (src/model/profile_fit.hpp). Properties: parsing returns rows
// and rejections or throws input_error (a missing column); any other exception escapes and is
// a finding; every rejection names its line.

#include <sstream>
#include <string>

#include "fuzz_support.hpp"
#include "model/profile_fit.hpp"
#include "util/csv.hpp"

using namespace aladdin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  parsed_profile p;
  try {
    p = parse_profile(in, "fuzz.csv");
  } catch (const input_error& e) {
    fuzz::require(std::string(e.what()).find("fuzz.csv") != std::string::npos,
                  "an input_error that does not name the file");
    return 0;
  }
  for (const auto& r : p.rejected) fuzz::require(r.rejection.line > 0, "a rejection without its line");
  return 0;
}
