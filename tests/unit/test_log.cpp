// The one logger (src/util/log.hpp): ISO-8601 UTC timestamps, text and JSON lines, levels.

#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "util/json.hpp"
#include "util/log.hpp"

using namespace aladdin;

namespace {

// What a logger wrote to its FILE.
std::string written(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[512];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  return out;
}

}  // namespace

TEST_CASE("log: ISO-8601 UTC timestamps with milliseconds") {
  CHECK(iso8601_utc(0) == "1970-01-01T00:00:00.000Z");
  // 2026-12-04T21:40:01.123456Z
  CHECK(iso8601_utc(1796420401123456) == "2026-12-04T21:40:01.123Z");
}

TEST_CASE("log: a text line is time, level, process, message; a JSON line is one object of the same") {
  const std::int64_t t = 1796420401123456;
  CHECK(logger::line(logger::format::text, logger::level::warn, "serve", "worker w1 lost", t) ==
        "2026-12-04T21:40:01.123Z warn serve: worker w1 lost");
  CHECK(logger::line(logger::format::json, logger::level::info, "worker", "said \"hi\"\n", t) ==
        R"({"ts":"2026-12-04T21:40:01.123Z","level":"info","process":"worker","msg":"said \"hi\"\n"})");
}

TEST_CASE("log: levels filter from the one set up, quiet prints nothing, long messages are whole") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  logger log("loadgen", f);
  log.set_level(logger::level::warn);
  log.debug("d %d", 1);
  log.info("i %d", 2);
  log.warn("w %d", 3);
  log.error("e %s", "4");
  std::string out = written(f);
  CHECK(out.find(" d 1") == std::string::npos);
  CHECK(out.find(" i 2") == std::string::npos);
  CHECK(out.find(" warn loadgen: w 3\n") != std::string::npos);
  CHECK(out.find(" error loadgen: e 4\n") != std::string::npos);

  log.set_level(logger::level::debug);
  log.set_format(logger::format::json);
  const std::string big(2000, 'x');
  log.debug("%s", big.c_str());
  out = written(f);
  CHECK(out.find(R"("level":"debug","process":"loadgen","msg":")" + big + "\"}\n") != std::string::npos);

  log.set_level(logger::level::quiet);
  const std::size_t before = written(f).size();
  log.error("nothing");
  CHECK(written(f).size() == before);
  std::fclose(f);
}

TEST_CASE("log: the words of --log-level and --log-format") {
  CHECK(log_level_words() == std::vector<std::string>{"debug", "info", "warn", "error", "quiet"});
  CHECK(log_level_named("error") == logger::level::error);
  CHECK_FALSE(log_level_named("loud").has_value());
  CHECK(log_format_named("json") == logger::format::json);
  CHECK_FALSE(log_format_named("xml").has_value());
  CHECK(std::string(to_string(logger::level::debug)) == "debug");
}
