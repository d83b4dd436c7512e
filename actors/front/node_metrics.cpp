// The node's counters as Prometheus text; see node_metrics.hpp.
#include "actors/front/node_metrics.hpp"

#include <cstdio>

namespace aladdin::node {

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value,
            const char* labels = nullptr) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  if (labels) out += labels;
  char v[40];
  std::snprintf(v, sizeof v, " %.17g\n", value);
  out += v;
}

// One family with several labelled samples (the HELP and TYPE lines once).
struct family {
  std::string& out;
  const char* name;
  family(std::string& o, const char* n, const char* type, const char* help) : out(o), name(n) {
    out += "# HELP ";
    out += n;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += n;
    out += ' ';
    out += type;
    out += '\n';
  }
  void sample(const char* labels, double value) {
    out += name;
    out += labels;
    char v[40];
    std::snprintf(v, sizeof v, " %.17g\n", value);
    out += v;
  }
};

double d(std::uint64_t v) { return static_cast<double>(v); }

}  // namespace

std::string prometheus_text(const node_stats& s) {
  std::string out;
  out.reserve(4096);
  metric(out, "aladdin_queries_accepted_total", "counter", "Queries journaled and acknowledged by the intake.", d(s.accepted));
  metric(out, "aladdin_queries_rejected_total", "counter", "Queries refused by the intake, every reason.", d(s.rejected));
  metric(out, "aladdin_queries_placed_total", "counter", "Queries placed on a worker.", d(s.placed));
  metric(out, "aladdin_queries_waited_total", "counter", "Queries that waited at least once for a worker.", d(s.waited));
  metric(out, "aladdin_queries_expired_total", "counter", "Queries that waited longer than --max-wait.", d(s.expired));
  metric(out, "aladdin_queries_never_fit_total", "counter", "Queries no worker of the fleet could ever hold.", d(s.never_fit));
  family refusals(out, "aladdin_placement_refusals_total", "counter",
                  "Placement refusals by the constraint that excluded the most workers.");
  refusals.sample("{constraint=\"kv\"}", d(s.refused_kv));
  refusals.sample("{constraint=\"ttft\"}", d(s.refused_ttft));
  refusals.sample("{constraint=\"atgt\"}", d(s.refused_atgt));
  refusals.sample("{constraint=\"no_workers\"}", d(s.refused_no_workers));
  metric(out, "aladdin_waiting_queries", "gauge", "Queries waiting for a worker.", d(s.waiting));
  metric(out, "aladdin_workers", "gauge", "Registered workers, draining ones included.", d(s.workers));
  family fleet(out, "aladdin_fleet_workers", "gauge", "The provisioner's workers by state.");
  fleet.sample("{state=\"target\"}", s.fleet.target);
  fleet.sample("{state=\"launching\"}", s.fleet.launching);
  fleet.sample("{state=\"active\"}", s.fleet.active);
  fleet.sample("{state=\"draining\"}", s.fleet.draining);
  metric(out, "aladdin_plan_epoch", "gauge", "The plan epoch in force.", d(s.plan.epoch));
  metric(out, "aladdin_plan_target_workers", "gauge", "The planner's target for the node's shape.", s.plan.workers);
  family frames(out, "aladdin_frames_total", "counter", "Frames of the ZeroMQ bridge.");
  frames.sample("{direction=\"in\"}", d(s.frames_in));
  frames.sample("{direction=\"out\"}", d(s.frames_out));
  frames.sample("{direction=\"bad\"}", d(s.bad_frames));
  frames.sample("{direction=\"unroutable\"}", d(s.unroutable));
  return out;
}

std::string prometheus_text(const front_door_counters& c) {
  std::string out;
  out.reserve(2048);
  family req(out, "aladdin_http_requests_total", "counter", "OpenAI generation requests of the HTTP front door by outcome.");
  req.sample("{outcome=\"received\"}", d(c.requests));
  req.sample("{outcome=\"invalid\"}", d(c.invalid));
  req.sample("{outcome=\"refused\"}", d(c.refused));
  req.sample("{outcome=\"completed\"}", d(c.completed));
  req.sample("{outcome=\"failed\"}", d(c.failed));
  req.sample("{outcome=\"disconnected\"}", d(c.disconnects));
  metric(out, "aladdin_http_streams_open", "gauge", "Server-Sent-Event streams open now.", d(c.streams_open));
  metric(out, "aladdin_http_duplicate_chunks_total", "counter", "Text chunks dropped as duplicates (seq).", d(c.duplicate_chunks));
  metric(out, "aladdin_prompt_chars_per_token", "gauge", "The prompt-length estimate's calibrated ratio.", c.chars_per_token);
  metric(out, "aladdin_prompt_estimate_samples_total", "counter", "Engine prompt counts the estimate learnt from.", d(c.estimate_samples));
  return out;
}

}  // namespace aladdin::node
