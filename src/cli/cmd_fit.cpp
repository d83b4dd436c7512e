// aladdin fit: fits the latency model of every (model, GPU, TP) in a measured profile, reports
// train and validation error, and lists every row it left out and why.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "model/profile_fit.hpp"
#include "util/csv.hpp"
#include "util/flags.hpp"
#include "util/json.hpp"
#include "util/text_table.hpp"

namespace aladdin::cli {

namespace {

std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * fraction);
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string integer(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", std::floor(v));
  return buf;
}

void mape_or_null(json_writer& j, std::string_view key, double v) {
  j.key(key);
  if (std::isfinite(v)) j.value(v);
  else j.null();
}

void write_stats(json_writer& j, std::string_view key, const fit_stats& s) {
  j.key(key).begin_object();
  mape_or_null(j, "prefill_mape", s.prefill_mape);
  mape_or_null(j, "decode_mape", s.decode_mape);
  j.field("rows", s.rows);
  j.end_object();
}

void write_rejections(json_writer& j, std::string_view key, const std::vector<rejected_row>& r) {
  j.key(key).begin_array();
  for (const auto& x : r) {
    j.begin_object();
    j.field("line", x.line);
    j.field("phase", x.phase);
    j.field("reason", x.reason);
    j.end_object();
  }
  j.end_array();
}

// A coefficient in ms, or null when the phase could not be fitted.
void coefficient(json_writer& j, std::string_view key, bool fitted, double seconds) {
  j.key(key);
  if (fitted) j.value(seconds * 1e3);
  else j.null();
}

std::string to_json(const fit_result& result) {
  json_writer j;
  j.begin_object();
  j.key("configs").begin_array();
  for (const auto& f : result.configs) {
    j.begin_object();
    j.field("model", f.config.model);
    j.field("gpu", f.config.gpu);
    j.field("tp", f.config.tp);
    j.key("prefill").begin_object();
    coefficient(j, "k1_ms_per_token", f.prefill_fitted, f.prefill.k1);
    coefficient(j, "q1_ms_per_token2", f.prefill_fitted, f.prefill.q1);
    coefficient(j, "s1_ms_per_sequence", f.prefill_fitted, f.prefill.s1);
    coefficient(j, "c1_ms", f.prefill_fitted, f.prefill.c1);
    j.end_object();
    j.key("decode").begin_object();
    coefficient(j, "k2_ms_per_context_token", f.decode_fitted, f.decode.k2);
    coefficient(j, "c2_ms_per_sequence", f.decode_fitted, f.decode.c2);
    coefficient(j, "c3_ms", f.decode_fitted, f.decode.c3);
    j.end_object();
    write_stats(j, "train", f.train);
    write_stats(j, "validation", f.validation);
    write_rejections(j, "rejected_rows", f.rejected);
    std::string kv_note;
    const worker_profile p = to_worker_profile(f, "", &kv_note);
    if (kv_note.empty()) {
      j.key("kv").begin_object();
      j.field("bytes_per_token", p.kv.bytes_per_token);
      j.field("capacity_tokens", std::floor(p.kv.capacity_tokens));
      j.end_object();
    }
    j.key("notes").begin_array();
    for (const auto& n : f.notes) j.value(n);
    if (!kv_note.empty()) j.value(kv_note);
    j.end_array();
    j.end_object();
  }
  j.end_array();
  // Rows rejected before their configuration was known (model, hardware or tp unreadable).
  write_rejections(j, "rejected_rows", result.unassigned);
  j.end_object();
  return j.str();
}

void print_text(std::ostream& o, const fit_result& result, const std::string& file,
                double fraction, std::uint64_t seed) {
  o << "profile " << file << " (validation fraction " << number(fraction) << ", seed " << seed
    << ")\n\n";
  std::vector<std::vector<std::string>> t = {{"config", "train rows", "prefill MAPE",
                                              "decode MAPE", "validation rows", "prefill MAPE",
                                              "decode MAPE", "rejected"}};
  for (const auto& f : result.configs)
    t.push_back({f.config.label(), std::to_string(f.train.rows), percent(f.train.prefill_mape),
                 percent(f.train.decode_mape), std::to_string(f.validation.rows),
                 percent(f.validation.prefill_mape), percent(f.validation.decode_mape),
                 std::to_string(f.rejected.size())});
  print_table(o, t, {true});

  o << "\ncoefficients (ms):\n";
  std::vector<std::vector<std::string>> c = {
      {"config", "k1/token", "q1/token^2", "s1/sequence", "c1", "k2/context token",
       "c2/sequence", "c3", "KV capacity (tokens)"}};
  for (const auto& f : result.configs) {
    auto ms = [](bool fitted, double s) { return fitted ? number(s * 1e3) : std::string("-"); };
    std::string kv_note;
    const worker_profile p = to_worker_profile(f, "", &kv_note);
    c.push_back({f.config.label(), ms(f.prefill_fitted, f.prefill.k1),
                 ms(f.prefill_fitted, f.prefill.q1), ms(f.prefill_fitted, f.prefill.s1),
                 ms(f.prefill_fitted, f.prefill.c1), ms(f.decode_fitted, f.decode.k2),
                 ms(f.decode_fitted, f.decode.c2), ms(f.decode_fitted, f.decode.c3),
                 kv_note.empty() ? integer(p.kv.capacity_tokens) : "unknown"});
  }
  print_table(o, c, {true});

  std::size_t total = result.unassigned.size();
  for (const auto& f : result.configs) total += f.rejected.size();
  o << "\nrejected rows: " << total << "\n";
  std::vector<std::vector<std::string>> r;
  for (const auto& f : result.configs)
    for (const auto& x : f.rejected)
      r.push_back({"  " + f.config.label(), "line " + std::to_string(x.line), x.phase, x.reason});
  for (const auto& x : result.unassigned)
    r.push_back({"  (unknown config)", "line " + std::to_string(x.line), x.phase, x.reason});
  // The reason is free text: left-aligned, so it is printed after the aligned columns.
  std::vector<std::vector<std::string>> aligned;
  for (const auto& x : r) aligned.push_back({x[0], x[1], x[2]});
  std::vector<std::size_t> width(3, 0);
  for (const auto& x : aligned)
    for (std::size_t i = 0; i < 3; ++i) width[i] = std::max(width[i], x[i].size());
  for (const auto& x : r)
    o << x[0] << std::string(width[0] - x[0].size(), ' ') << "  "
      << std::string(width[1] - x[1].size(), ' ') << x[1] << "  " << x[2]
      << std::string(width[2] - x[2].size(), ' ') << "  " << x[3] << "\n";

  bool header = false;
  for (const auto& f : result.configs) {
    std::string kv_note;
    to_worker_profile(f, "", &kv_note);
    std::vector<std::string> notes = f.notes;
    if (!kv_note.empty()) notes.push_back(kv_note);
    for (const auto& n : notes) {
      if (!header) o << "\nnotes:\n";
      header = true;
      o << "  " << f.config.label() << ": " << n << "\n";
    }
  }
}

int run_fit(int argc, char** argv) {
  std::string profile;
  double fraction = 0.2;
  std::uint64_t seed = 1;
  bool json = false;
  flag_set flags(
      "fit",
      "Fits the latency model of every (model, GPU, TP) in a measured profile (CSV with\n"
      "columns model,hardware,prompt_size,batch_size,token_size,prompt_time,token_time,\n"
      "tensor_parallel; times in ms). Holds out a seeded fraction of each configuration's\n"
      "rows to report validation MAPE, and lists every row left out of a fit and why.");
  flags.add_string("profile", &profile, "measured profile CSV", true);
  flags.add_double("validate-fraction", &fraction,
                   "share of each configuration's rows held out for validation", 0.0, 0.9);
  flags.add_uint64("seed", &seed, "seed of the hold-out split");
  flags.add_bool("json", &json, "print one JSON object instead of tables");
  if (const int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;

  std::error_code ec;
  if (std::filesystem::is_directory(profile, ec)) {
    std::cerr << "aladdin fit: cannot read " << profile << ": it is a directory\n";
    return 1;
  }
  std::ifstream in(profile);
  if (!in) {
    std::cerr << "aladdin fit: cannot read " << profile << "\n";
    return 1;
  }
  parsed_profile parsed;
  try {
    parsed = parse_profile(in, profile);
  } catch (const input_error& e) {
    std::cerr << "aladdin fit: " << e.what() << "\n";
    return 1;
  }
  if (in.bad()) {
    std::cerr << "aladdin fit: error while reading " << profile << "\n";
    return 1;
  }
  fit_options options;
  options.validate_fraction = fraction;
  options.seed = seed;
  const fit_result result = fit_profiles(parsed, options);
  if (result.configs.empty()) {
    std::cerr << "aladdin fit: " << profile << ": no usable rows\n";
    return 1;
  }
  if (json)
    std::cout << to_json(result) << "\n";
  else
    print_text(std::cout, result, profile, fraction, seed);
  return 0;
}

}  // namespace

}  // namespace aladdin::cli

static const aladdin::cli::command_registration reg{
    "fit", "fit latency models from a measured profile", &aladdin::cli::run_fit};
