#include "actors/node/serve_options.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <utility>

#include "placement/registry.hpp"

namespace aladdin::node {

namespace {

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// The words of the options that are enums, and what each means.
template <class E>
using words = std::vector<std::pair<std::string, E>>;
const words<provisioner_kind>& provisioner_words() {
  static const words<provisioner_kind> w = {{"local", provisioner_kind::local},
                                            {"static", provisioner_kind::static_fleet}};
  return w;
}
const words<bool>& sync_words() {
  static const words<bool> w = {{"on", true}, {"off", false}};
  return w;
}
const words<node_log::level>& log_words() {
  static const words<node_log::level> w = {
      {"info", node_log::level::info}, {"warn", node_log::level::warn}, {"quiet", node_log::level::quiet}};
  return w;
}

template <class E>
const std::string& word_of(const words<E>& w, E value) {
  for (const auto& [text, v] : w)
    if (v == value) return text;
  return w.front().first;
}
template <class E>
E value_of(const words<E>& w, std::string_view text) {
  for (const auto& [t, v] : w)
    if (t == text) return v;
  return w.front().second;
}
template <class E>
std::vector<std::string> names_of(const words<E>& w) {
  std::vector<std::string> names;
  for (const auto& [text, v] : w) names.push_back(text);
  return names;
}

// Every option of `o` as a flag. An enum is read as its word (flag_set checks it is one of
// them) and parsed into `o` by finish(), after the flags and any config file are applied.
class serve_flags {
 public:
  serve_flags(serve_options& o, bool with_config)
      : flags_("serve",
               "Runs a control node: query intake, placement, worker proxies, planning and a\n"
               "provisioner, with its state in RocksDB. Clients and workers speak Cap'n Proto\n"
               "over ZeroMQ."),
        o_(o),
        provisioner_(word_of(provisioner_words(), o.provisioner)),
        sync_(word_of(sync_words(), o.sync_writes)),
        log_(word_of(log_words(), o.log)) {
    add(with_config);
  }
  flag_set& flags() { return flags_; }
  void finish() {
    o_.provisioner = value_of(provisioner_words(), provisioner_);
    o_.sync_writes = value_of(sync_words(), sync_);
    o_.log = value_of(log_words(), log_);
  }

 private:
  void add(bool with_config);
  flag_set flags_;
  serve_options& o_;
  std::string provisioner_, sync_, log_;
};

// Applies a config file's lines through `flags`; see apply_config_file.
std::string apply_config_lines(flag_set& flags, std::istream& in, const std::string& path);
std::string apply_config_path(flag_set& flags, const std::string& path);

}  // namespace

const char* to_string(provisioner_kind kind) { return word_of(provisioner_words(), kind).c_str(); }

std::vector<std::string> log_level_names() { return names_of(log_words()); }

node_log::level log_level_of(std::string_view name) { return value_of(log_words(), name); }

std::vector<std::string> serve_options::static_worker_names() const {
  std::vector<std::string> names;
  std::string cur;
  for (char c : static_workers + ",") {
    if (c == ',') {
      if (auto t = trim(cur); !t.empty()) names.push_back(t);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return names;
}

void serve_flags::add(bool with_config) {
  flag_set& f = flags_;
  serve_options& o = o_;
  if (with_config) f.add_string("config", &o.config_file, "key = value file of these options (flags override it)");
  f.add_string("data-dir", &o.data_dir, "state store directory (RocksDB)");
  f.add_string("listen", &o.listen, "client endpoint (tcp://host:port; port 0: ephemeral)");
  f.add_string("worker-listen", &o.worker_listen, "worker endpoint");
  f.add_string("http", &o.http, "HOST:PORT of the OpenAI-compatible HTTP front door (default: none)");
  f.add_string("node-name", &o.node_name, "sender name in every envelope header");
  f.add_choice("provisioner", &provisioner_, names_of(provisioner_words()),
               "local: start emulated workers here; static: wait for --static-workers");
  f.add_int("workers", &o.workers, "local: workers to keep running", 0, 10000);
  f.add_string("static-workers", &o.static_workers, "static: comma-separated worker names to expect");
  f.add_int("min-workers", &o.min_workers, "the planner's floor (default: --workers)", -1, 10000);
  f.add_int("max-workers", &o.max_workers, "the planner's ceiling (default: --workers)", -1, 10000);
  f.add_string("model", &o.model, "model served");
  f.add_string("gpu", &o.gpu, "GPU type of the workers");
  f.add_int("tp", &o.tp, "GPUs per worker (tensor-parallel degree)", 1, 64);
  f.add_string("worker-command", &o.worker_command, "local: worker binary (default: this aladdin)");
  f.add_duration("startup-timeout", &o.startup_timeout_s, "local: wall time for a started worker to register");
  std::vector<std::string> names;
  for (const auto& p : policies()) names.push_back(p.name);
  f.add_choice("policy", &o.policy, names, "placement policy");
  f.add_double("time-scale", &o.time_scale, "emulated workers run this many times faster than real GPUs", 1e-3, 1e4);
  f.add_duration("slo-ttft", &o.slo_ttft_s, "TTFT SLO the planner sizes the fleet for");
  f.add_duration("slo-atgt", &o.slo_atgt_s, "ATGT SLO the planner sizes the fleet for");
  f.add_duration("plan-interval", &o.plan_interval_s, "model time between planning rounds");
  f.add_duration("max-wait", &o.max_wait_s, "model time a query may wait at the intake before it fails");
  f.add_int("max-waiting", &o.max_waiting, "queries waiting at the intake before new ones are refused", 1, 100000000);
  f.add_int("max-prompt-tokens", &o.max_prompt_tokens, "longest prompt accepted (default: the model's context)", 1,
            10000000);
  f.add_duration("heartbeat-timeout", &o.heartbeat_timeout_s, "wall time without a heartbeat before a worker is lost");
  f.add_duration("adopt-grace", &o.adopt_grace_s, "wall time after a restart for workers to report their queries");
  f.add_duration("retry-interval", &o.retry_interval_s, "wall time between retries of waiting queries");
  f.add_choice("sync", &sync_, names_of(sync_words()), "fsync every journal write (off: survives a crash of the node, not of the machine)");
  f.add_duration("journal-retention", &o.journal_retention_s,
                 "wall time ended queries stay in the journal (0: forever); compacted every tenth of it");
  f.add_int("scheduler-threads", &o.scheduler_threads, "actor scheduler threads", 1, 64);
  f.add_choice("log", &log_, names_of(log_words()), "what the node prints on stderr");
}

namespace {

std::string apply_config_lines(flag_set& flags, std::istream& in, const std::string& path) {
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      if (t == "[serve]") continue;
      return where + "unknown section " + t + " (only [serve] is allowed)";
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos) return where + "expected key = value, got '" + t + "'";
    const std::string key = trim(t.substr(0, eq));
    const std::string value = trim(t.substr(eq + 1));
    if (key.empty()) return where + "missing key before '='";
    if (key == "config" || key == "help") return where + "key '" + key + "' is not allowed in a config file";
    std::string arg = "--" + key + "=" + value;
    std::string cmd = "serve";
    char* argv[] = {cmd.data(), arg.data()};
    if (flags.parse(2, argv) != flag_set::outcome::ok) {
      // The flag parser's message names the flag; add where it came from.
      std::string why = flags.error();
      if (auto colon = why.find(": "); colon != std::string::npos) why = why.substr(colon + 2);
      return where + "key '" + key + "': " + why;
    }
  }
  return {};
}

std::string apply_config_path(flag_set& flags, const std::string& path) {
  std::ifstream in(path);
  if (!in) return "cannot read config file " + path;
  return apply_config_lines(flags, in, path);
}

}  // namespace

std::string apply_config(serve_options& o, std::istream& in, const std::string& source) {
  serve_flags bound(o, false);
  std::string err = apply_config_lines(bound.flags(), in, source);
  if (err.empty()) bound.finish();
  return err;
}

std::string apply_config_file(serve_options& o, const std::string& path) {
  serve_flags bound(o, false);
  std::string err = apply_config_path(bound.flags(), path);
  if (err.empty()) bound.finish();
  return err;
}

std::string validate(const serve_options& o) {
  const policy_info* p = find_policy(o.policy);
  if (p == nullptr) return "unknown policy " + o.policy;
  if (p->uses_true_lengths) return "--policy " + o.policy + " needs true output lengths, which a live node never knows";
  if (o.provisioner == provisioner_kind::static_fleet && o.static_worker_names().empty())
    return "--provisioner static needs --static-workers name[,name...]";
  if (o.floor() > o.ceiling()) return "--min-workers is above --max-workers";
  if (o.heartbeat_timeout_s <= 0) return "--heartbeat-timeout must be positive";
  if (o.retry_interval_s <= 0) return "--retry-interval must be positive";
  if (o.plan_interval_s <= 0) return "--plan-interval must be positive";
  if (o.data_dir.empty()) return "--data-dir must not be empty";
  if (!o.http.empty()) {
    std::string host;
    std::uint16_t port = 0;
    if (std::string err = split_host_port(o.http, host, port); !err.empty()) return "--http " + o.http + ": " + err;
  }
  return {};
}

std::string split_host_port(std::string_view text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return "expected HOST:PORT";
  host = std::string(text.substr(0, colon));
  const std::string_view digits = text.substr(colon + 1);
  if (host.empty()) return "the host is empty";
  if (digits.empty() || digits.size() > 5) return "the port must be a number 0..65535";
  unsigned long v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return "the port must be a number 0..65535";
    v = v * 10 + static_cast<unsigned long>(c - '0');
  }
  if (v > 65535) return "the port must be a number 0..65535";
  port = static_cast<std::uint16_t>(v);
  return {};
}

int parse_serve_options(int argc, char** argv, serve_options& o) {
  serve_flags bound(o, true);
  flag_set& flags = bound.flags();
  // --config first, wherever it is, so that every other flag overrides the file.
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    std::string path;
    if (a == "--config" && i + 1 < argc) path = argv[i + 1];
    else if (a.substr(0, 9) == "--config=") path = std::string(a.substr(9));
    else continue;
    if (std::string err = apply_config_path(flags, path); !err.empty()) {
      std::cerr << "aladdin serve: " << err << "\n";
      return 2;
    }
  }
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;
  bound.finish();
  if (std::string err = validate(o); !err.empty()) {
    std::cerr << "aladdin serve: " << err << "\n";
    return 2;
  }
  return -1;
}

}  // namespace aladdin::node
