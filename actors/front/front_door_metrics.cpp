// The front door's counters as Prometheus text; see front_door_metrics.hpp.
#include "actors/front/front_door_metrics.hpp"

#include <cstdio>

namespace aladdin::node {

namespace {

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

// A family of one sample.
void metric(std::string& out, const char* name, const char* type, const char* help, double value,
            const char* labels = nullptr) {
  family(out, name, type, help).sample(labels ? labels : "", value);
}

double d(std::uint64_t v) { return static_cast<double>(v); }

}  // namespace

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
