// The csv trace format's optional per-query SLO columns.

#include <doctest/doctest.h>

#include <sstream>

#include "trace/trace_reader.hpp"

using namespace aladdin;

TEST_CASE("trace reader: csv rows may carry their own SLO in slo_ttft_s and slo_atgt_s") {
  std::istringstream in(
      "arrival_s,input_tokens,output_tokens,slo_ttft_s,slo_atgt_s\n"
      "0,100,10,0.5,0.05\n"
      "1,200,20,,\n"
      "2,300,30,1.5,\n");
  const trace t = read_trace(in, "slo.csv", trace_format::csv);
  REQUIRE(t.size() == 3);
  CHECK(t[0].slo_ttft_s == 0.5);
  CHECK(t[0].slo_atgt_s == 0.05);
  CHECK(t[1].slo_ttft_s == 0);  // empty: the run's SLO
  const slo_target run{2.0, 0.1};
  CHECK(slo_of(t[1], run) == run);
  CHECK(slo_of(t[2], run) == slo_target{1.5, 0.1});
  // Without the columns every record takes the run's SLO.
  std::istringstream plain("arrival_s,input_tokens,output_tokens\n0,100,10\n");
  CHECK(slo_of(read_trace(plain, "plain.csv", trace_format::csv)[0], run) == run);
}

TEST_CASE("trace reader: a bad per-query SLO names the file, the line and the column") {
  std::istringstream in("arrival_s,input_tokens,output_tokens,slo_ttft_s\n0,100,10,-1\n");
  try {
    (void)read_trace(in, "bad.csv", trace_format::csv);
    FAIL("a negative SLO was accepted");
  } catch (const input_error& e) {
    const std::string what = e.what();
    CHECK(what.find("bad.csv:2") != std::string::npos);
    CHECK(what.find("slo_ttft_s '-1'") != std::string::npos);
  }
}
