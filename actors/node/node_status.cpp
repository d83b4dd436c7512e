#include "actors/node/node_status.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "util/json.hpp"
#include "util/text_table.hpp"

namespace aladdin::node {

namespace cc = client_channel;

cc::status_reply status_of(const node_stats& s, const std::string& node_name, const std::string& shape, bool draining,
                           std::uint64_t request_id) {
  cc::status_reply r;
  r.request_id = request_id;
  r.node_name = node_name;
  r.shape = shape;
  r.draining = draining;
  r.waiting_queries = s.waiting;
  r.plan_epoch = s.plan.epoch;
  r.plan_target_workers = static_cast<std::uint32_t>(std::max(0, s.plan.workers));
  r.fleet_launching = static_cast<std::uint32_t>(std::max(0, s.fleet.launching));
  r.fleet_active = static_cast<std::uint32_t>(std::max(0, s.fleet.active));
  r.fleet_draining = static_cast<std::uint32_t>(std::max(0, s.fleet.draining));
  r.accepted = s.accepted;
  r.rejected = s.rejected;
  r.judged = s.judged;
  r.slo_met = s.slo_met;
  r.recent_judged = s.recent_judged;
  r.recent_met = s.recent_met;
  for (const worker_stats& w : s.worker_list) {
    if (r.workers.size() == cc::max_status_workers) break;
    r.workers.push_back({w.name, w.shape, w.draining, static_cast<std::uint32_t>(std::max(0, w.running)),
                         static_cast<std::uint32_t>(std::max(0, w.queued)),
                         static_cast<std::uint64_t>(std::max(0.0, w.kv_used_tokens)),
                         static_cast<std::uint64_t>(std::max(0.0, w.kv_capacity_tokens))});
  }
  return r;
}

namespace {

double ratio(std::uint64_t a, std::uint64_t b) { return b == 0 ? 0 : static_cast<double>(a) / static_cast<double>(b); }

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * x);
  return buf;
}

}  // namespace

std::string render_status_text(const cc::status_reply& s) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "node %s (%s)%s\n", s.node_name.c_str(), s.shape.c_str(),
                s.draining ? ", DRAINING: new queries are refused" : "");
  out += line;
  std::snprintf(line, sizeof line, "plan epoch %llu: target %u workers; fleet %u active, %u launching, %u draining\n",
                static_cast<unsigned long long>(s.plan_epoch), s.plan_target_workers, s.fleet_active, s.fleet_launching,
                s.fleet_draining);
  out += line;
  std::snprintf(line, sizeof line, "queries: %llu accepted, %llu rejected, %llu waiting for a worker\n",
                static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.rejected),
                static_cast<unsigned long long>(s.waiting_queries));
  out += line;
  if (s.judged == 0) {
    out += "attainment: no query completed yet\n";
  } else {
    std::snprintf(line, sizeof line, "attainment: %s of the last %llu completed (%s of all %llu)\n",
                  percent(ratio(s.recent_met, s.recent_judged)).c_str(), static_cast<unsigned long long>(s.recent_judged),
                  percent(ratio(s.slo_met, s.judged)).c_str(), static_cast<unsigned long long>(s.judged));
    out += line;
  }
  if (s.workers.empty()) {
    out += "no worker registered\n";
    return out;
  }
  std::vector<std::vector<std::string>> rows = {{"worker", "shape", "state", "running", "queued", "kv used", "kv capacity", "kv use"}};
  for (const auto& w : s.workers)
    rows.push_back({w.name, w.shape, w.draining ? "draining" : "active", std::to_string(w.running), std::to_string(w.queued),
                    std::to_string(w.kv_used_tokens), std::to_string(w.kv_capacity_tokens),
                    percent(ratio(w.kv_used_tokens, w.kv_capacity_tokens))});
  std::ostringstream table;
  print_table(table, rows, {true, true, true});
  out += table.str();
  return out;
}

std::string render_status_json(const cc::status_reply& s) {
  json_writer j;
  j.begin_object();
  j.field("node", s.node_name).field("shape", s.shape).field("draining", s.draining);
  j.field("waiting_queries", static_cast<std::int64_t>(s.waiting_queries));
  j.key("plan").begin_object();
  j.field("epoch", static_cast<std::int64_t>(s.plan_epoch)).field("target_workers", static_cast<std::int64_t>(s.plan_target_workers));
  j.end_object();
  j.key("fleet").begin_object();
  j.field("active", static_cast<std::int64_t>(s.fleet_active)).field("launching", static_cast<std::int64_t>(s.fleet_launching));
  j.field("draining", static_cast<std::int64_t>(s.fleet_draining));
  j.end_object();
  j.key("queries").begin_object();
  j.field("accepted", static_cast<std::int64_t>(s.accepted)).field("rejected", static_cast<std::int64_t>(s.rejected));
  j.end_object();
  j.key("attainment").begin_object();
  j.field("judged", static_cast<std::int64_t>(s.judged)).field("met", static_cast<std::int64_t>(s.slo_met));
  j.field("recent_judged", static_cast<std::int64_t>(s.recent_judged)).field("recent_met", static_cast<std::int64_t>(s.recent_met));
  j.field("recent", ratio(s.recent_met, s.recent_judged));
  j.end_object();
  j.key("workers").begin_array();
  for (const auto& w : s.workers) {
    j.begin_object();
    j.field("name", w.name).field("shape", w.shape).field("state", std::string(w.draining ? "draining" : "active"));
    j.field("running", static_cast<std::int64_t>(w.running)).field("queued", static_cast<std::int64_t>(w.queued));
    j.field("kv_used_tokens", static_cast<std::int64_t>(w.kv_used_tokens));
    j.field("kv_capacity_tokens", static_cast<std::int64_t>(w.kv_capacity_tokens));
    j.field("kv_use", ratio(w.kv_used_tokens, w.kv_capacity_tokens));
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

}  // namespace aladdin::node
