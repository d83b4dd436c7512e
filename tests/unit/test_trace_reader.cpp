#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "trace/trace_parsing.hpp"
#include "trace/trace_reader.hpp"

using aladdin::input_error;
using aladdin::trace_format;

namespace {

aladdin::trace read(const std::string& text, trace_format f, const std::string& name = "t.txt") {
  std::istringstream in(text);
  return aladdin::read_trace(in, name, f);
}

// The message of the input_error the text raises ("" when it raises none).
std::string error_of(const std::string& text, trace_format f, const std::string& name) {
  try {
    read(text, f, name);
  } catch (const input_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A scratch file that is removed at the end of the test.
struct scratch_file {
  std::filesystem::path path;
  scratch_file(const std::string& name, const std::string& bytes)
      : path(std::filesystem::temp_directory_path() / ("aladdin_test_trace_" + name)) {
    std::ofstream(path, std::ios::binary) << bytes;
  }
  ~scratch_file() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

TEST_CASE("format names") {
  for (auto f : {trace_format::azure, trace_format::mooncake, trace_format::csv})
    CHECK(aladdin::parse_trace_format(aladdin::to_string(f)) == f);
  CHECK_FALSE(aladdin::parse_trace_format("Azure").has_value());
  CHECK_FALSE(aladdin::parse_trace_format("").has_value());
}

TEST_CASE("calendar arithmetic and timestamps") {
  using namespace aladdin::trace_parsing;
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(1969, 12, 31) == -1);
  CHECK(days_from_civil(2000, 3, 1) == 11017);
  CHECK(days_from_civil(2023, 11, 16) == 19677);
  CHECK(days_from_civil(2024, 2, 29) == 19782);
  CHECK(days_from_civil(1600, 2, 29) == -135081);
  // Every day from 1896 to 2104 (leap centuries on both sides) follows the one before it.
  {
    const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    std::int64_t expected = days_from_civil(1896, 1, 1);
    bool consecutive = true;
    for (int y = 1896; y <= 2104; ++y)
      for (int m = 1; m <= 12; ++m) {
        const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        const int last = month_days[m - 1] + (m == 2 && leap ? 1 : 0);
        for (int d = 1; d <= last; ++d)
          consecutive = consecutive && days_from_civil(y, m, d) == expected++;
      }
    CHECK(consecutive);
  }

  auto t = parse_timestamp("2023-11-16 18:15:46.6805900");
  REQUIRE(t);
  CHECK(t->seconds == 1700158546);
  CHECK(t->fraction == doctest::Approx(0.68059));
  CHECK(parse_timestamp("2023-11-16T18:15:46")->fraction == 0);
  CHECK(parse_timestamp("2023-11-16 18:15:46.5")->fraction == 0.5);
  CHECK(parse_timestamp("2023-11-16 18:15:46.123456789012")->fraction ==
        doctest::Approx(0.123456789012));
  // Across a month and a year boundary.
  CHECK(seconds_between(*parse_timestamp("2023-11-30 23:59:59.75"),
                        *parse_timestamp("2023-12-01 00:00:00.25")) == doctest::Approx(0.5));
  CHECK(seconds_between(*parse_timestamp("2023-12-31 23:00:00"),
                        *parse_timestamp("2024-01-01 01:00:00")) == 7200);
  CHECK(parse_timestamp("2024-02-29 00:00:00"));

  std::string why;
  CHECK_FALSE(parse_timestamp("2023-02-29 00:00:00", &why));
  CHECK(contains(why, "day 29"));
  CHECK_FALSE(parse_timestamp("2023-13-01 00:00:00", &why));
  CHECK(contains(why, "month 13"));
  CHECK_FALSE(parse_timestamp("2023-11-16 24:00:00", &why));
  CHECK_FALSE(parse_timestamp("2023-11-16 18:15:46.", &why));
  CHECK_FALSE(parse_timestamp("2023-11-16 18:15", &why));
  CHECK_FALSE(parse_timestamp("2023-11-16 18:15:46.5Z", &why));
  CHECK_FALSE(parse_timestamp("1700158546", &why));
}

TEST_CASE("flat JSON objects") {
  using namespace aladdin::trace_parsing;
  std::vector<json_member> m;
  CHECK(parse_flat_json_object(
            R"( {"a": 1.5e2, "s": "x\"y\u00e9", "arr": [1, [2, "]"], {"k": null}], "b": true,)"
            R"( "n": -3, "a": 7} )",
            &m) == "");
  REQUIRE(m.size() == 5);
  CHECK(m[0].key == "a");
  CHECK(m[0].number == 7);  // the repeated key keeps its last value
  CHECK(m[1].text == "x\"y\xc3\xa9");
  CHECK(m[2].type == json_member::kind::other);
  CHECK(m[4].number == -3);
  CHECK(parse_flat_json_object("{}", &m) == "");
  CHECK(m.empty());
  CHECK_FALSE(parse_flat_json_object("{\"a\": 1", &m).empty());
  CHECK_FALSE(parse_flat_json_object("{\"a\" 1}", &m).empty());
  CHECK_FALSE(parse_flat_json_object("{\"a\": 01x}", &m).empty());
  CHECK_FALSE(parse_flat_json_object("{\"a\": [1, 2}", &m).empty());
  CHECK_FALSE(parse_flat_json_object("{\"a\": 1} x", &m).empty());
  CHECK_FALSE(parse_flat_json_object("[1]", &m).empty());
}

TEST_CASE("azure format") {
  const auto t = read(
      "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
      "2023-11-30 23:59:58.5000000,374,44\r\n"
      "2023-12-01 00:00:01.0000000,396,109\r\n"
      "\r\n"
      "2023-11-30 23:59:59.0000000,91,16\r\n",
      trace_format::azure);
  REQUIRE(t.size() == 3);
  CHECK(t[0].arrival_s == 0);
  CHECK(t[0].input_tokens == 374);
  CHECK(t[0].output_tokens == 44);
  // Out-of-order rows are sorted; the arrival is relative to the earliest.
  CHECK(t[1].arrival_s == doctest::Approx(0.5));
  CHECK(t[1].input_tokens == 91);
  CHECK(t[2].arrival_s == doctest::Approx(2.5));
  CHECK(t[2].output_tokens == 109);
}

TEST_CASE("csv format: columns by name, stable sort") {
  const auto t = read(
      "output_tokens,arrival_s,note,input_tokens\n"
      "10,5.0,a,100\n"
      "20,3.5,b,200\n"
      "30,5.0,c,300\n"
      "40,4,d,400.0\n",
      trace_format::csv);
  REQUIRE(t.size() == 4);
  CHECK(t[0].arrival_s == 0);
  CHECK(t[0].input_tokens == 200);
  CHECK(t[1].arrival_s == 0.5);
  CHECK(t[1].input_tokens == 400);
  CHECK(t[2].arrival_s == 1.5);
  CHECK(t[2].output_tokens == 10);  // equal arrivals keep the file's order
  CHECK(t[3].output_tokens == 30);
  CHECK(read("arrival_s,input_tokens,output_tokens\n", trace_format::csv).empty());
}

TEST_CASE("mooncake format") {
  const auto t = read(
      "{\"timestamp\": 27482, \"input_length\": 6955, \"output_length\": 52, "
      "\"hash_ids\": [46, 47, 48, 2353]}\n"
      "\n"
      "{\"hash_ids\": [], \"output_length\": 10, \"timestamp\": 30535, \"input_length\": 6472}\r\n"
      "{\"timestamp\": \"27000\", \"input_length\": 5, \"output_length\": 1.0, \"id\": \"q3\"}\n",
      trace_format::mooncake);
  REQUIRE(t.size() == 3);
  CHECK(t[0].arrival_s == 0);
  CHECK(t[0].input_tokens == 5);
  CHECK(t[0].output_tokens == 1);
  CHECK(t[1].arrival_s == doctest::Approx(0.482));
  CHECK(t[1].input_tokens == 6955);
  CHECK(t[2].arrival_s == doctest::Approx(3.535));
  CHECK(t[2].output_tokens == 10);
  CHECK(read("", trace_format::mooncake).empty());
}

TEST_CASE("malformed rows name the file and the line") {
  const std::string azure_header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  const std::string good = "2023-11-16 18:15:46.6805900,374,44\n";
  struct bad_case {
    trace_format format;
    std::string text;
    std::string where;
    std::string what;
  };
  const bad_case cases[] = {
      {trace_format::azure, azure_header + good + "2023-11-16 18:15:47.0,abc,44\n", "a.csv:3:",
       "ContextTokens 'abc'"},
      {trace_format::azure, azure_header + good + good + "2023-11-16 18:15:47.0,10,0\n",
       "a.csv:4:", "GeneratedTokens is 0"},
      {trace_format::azure, azure_header + "2023-11-16 18:15:47.0,-3,5\n", "a.csv:2:",
       "ContextTokens is -3"},
      {trace_format::azure, azure_header + good + "\n2023-11-16 18:15:47.0,10\n", "a.csv:4:",
       "expected 3 fields, found 2"},
      {trace_format::azure, azure_header + good + "2023-11-16 18:15:47.0,,5\n", "a.csv:3:",
       "ContextTokens is missing"},
      {trace_format::azure, azure_header + good + "2023-11-31 18:15:47.0,10,5\n", "a.csv:3:",
       "bad TIMESTAMP"},
      {trace_format::azure, azure_header + good + "2023-11-16 18:15:47.0,10,1.5\n", "a.csv:3:",
       "not a whole number"},
      {trace_format::csv, "arrival_s,input_tokens,output_tokens\n1,2,3\n1x,2,3\n", "a.csv:3:",
       "arrival_s '1x' is not a number"},
      {trace_format::csv, "arrival_s,input_tokens,output_tokens\n1,2,3,4\n", "a.csv:2:",
       "expected 3 fields"},
      {trace_format::mooncake,
       "{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3}\n"
       "{\"timestamp\": 1, \"input_length\": 2}\n",
       "a.csv:2:", "missing key \"output_length\""},
      {trace_format::mooncake,
       "\n{\"timestamp\": 1, \"input_length\": 0, \"output_length\": 3}\n", "a.csv:2:",
       "input_length is 0"},
      {trace_format::mooncake, "{\"timestamp\": 1, \"input_length\": 2, \"output_length\": 3,\n",
       "a.csv:1:", "not a JSON object"},
      {trace_format::mooncake,
       "{\"timestamp\": [1], \"input_length\": 2, \"output_length\": 3}\n", "a.csv:1:",
       "\"timestamp\" is not a number"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const std::string e = error_of(c.text, c.format, "a.csv");
    CHECK(contains(e, c.where));
    CHECK(contains(e, c.what));
  }
  // A missing column is named, with what the header has instead.
  const std::string e = error_of("time,ContextTokens,GeneratedTokens\n", trace_format::azure, "b");
  CHECK(contains(e, "missing column 'TIMESTAMP'"));
  CHECK(contains(error_of("", trace_format::azure, "empty.csv"), "empty.csv"));
}

TEST_CASE("scale_rate divides the inter-arrival times") {
  aladdin::trace t = read("arrival_s,input_tokens,output_tokens\n0,1,1\n1,1,1\n3,1,1\n",
                          trace_format::csv);
  aladdin::scale_rate(t, 4);
  CHECK(t[0].arrival_s == 0);
  CHECK(t[1].arrival_s == 0.25);
  CHECK(t[2].arrival_s == 0.75);
  aladdin::scale_rate(t, 0.5);
  CHECK(t[2].arrival_s == 1.5);
  CHECK_THROWS_AS(aladdin::scale_rate(t, 0), std::invalid_argument);
  CHECK_THROWS_AS(aladdin::scale_rate(t, -2), std::invalid_argument);
  aladdin::trace empty;
  aladdin::scale_rate(empty, 2);
  CHECK(empty.empty());
}

TEST_CASE("trace files: unreadable and compressed files are clear errors") {
  const std::string missing = "/nonexistent/dir/trace.csv";
  try {
    aladdin::read_trace_file(missing, trace_format::csv);
    FAIL("expected an input_error");
  } catch (const input_error& e) {
    CHECK(contains(e.what(), missing));
  }
  const scratch_file gz("named.csv.gz", "arrival_s,input_tokens,output_tokens\n0,1,1\n");
  try {
    aladdin::read_trace_file(gz.path.string(), trace_format::csv);
    FAIL("expected an input_error");
  } catch (const input_error& e) {
    CHECK(contains(e.what(), "not supported"));
    CHECK(contains(e.what(), gz.path.string()));
  }
  const scratch_file disguised("disguised.csv", std::string("\x1f\x8b\x08\x00", 4));
  CHECK_THROWS_WITH_AS(aladdin::read_trace_file(disguised.path.string(), trace_format::csv),
                       doctest::Contains("not supported"), input_error);
  const scratch_file plain("plain.csv", "arrival_s,input_tokens,output_tokens\n2,10,20\n");
  const auto t = aladdin::read_trace_file(plain.path.string(), trace_format::csv);
  REQUIRE(t.size() == 1);
  CHECK(t[0].output_tokens == 20);
}

TEST_CASE("the real Azure conversation trace") {
  const std::string path = ALADDIN_SHARED_DATA "/traces/AzureLLMInferenceTrace_conv.csv";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is absent");
    return;
  }
  const auto t = aladdin::read_trace_file(path, trace_format::azure);
  REQUIRE(t.size() == 19366);
  CHECK(t.front().arrival_s == 0);
  // 18:15:46.6805900 to 19:14:08.4025270.
  CHECK(t.back().arrival_s == doctest::Approx(3501.721937).epsilon(1e-9));
  CHECK(std::is_sorted(t.begin(), t.end(), [](const auto& a, const auto& b) {
    return a.arrival_s < b.arrival_s;
  }));
  int min_in = INT32_MAX, max_in = 0, min_out = INT32_MAX, max_out = 0;
  for (const auto& r : t) {
    min_in = std::min(min_in, r.input_tokens);
    max_in = std::max(max_in, r.input_tokens);
    min_out = std::min(min_out, r.output_tokens);
    max_out = std::max(max_out, r.output_tokens);
  }
  CHECK(min_in == 2);
  CHECK(max_in == 14050);
  CHECK(min_out == 7);
  CHECK(max_out == 1000);
}
