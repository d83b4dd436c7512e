// libFuzzer target: an `aladdin serve --config` TOML file, applied by node::apply_config
// (actors/node/serve_options.hpp) and then checked by node::validate, as `serve` does.
// Properties: never throws or crashes; an error is one line that names the file.

#include <sstream>
#include <string>

#include "actors/node/serve_options.hpp"
#include "fuzz_support.hpp"

using namespace aladdin;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  node::serve_options o;
  const std::string err = node::apply_config(o, in, "fuzz.toml");
  if (!err.empty()) {
    fuzz::require(err.rfind("fuzz.toml:", 0) == 0, "a config error that does not name the file and line");
    fuzz::require(err.find('\n') == std::string::npos, "a config error of more than one line");
    return 0;
  }
  (void)node::validate(o);
  return 0;
}
