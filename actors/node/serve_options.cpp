#include "actors/node/serve_options.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

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
                                            {"static", provisioner_kind::static_fleet},
                                            {"command", provisioner_kind::command}};
  return w;
}
const words<durability_level>& durability_words() {
  static const words<durability_level> w = {{"wal", durability_level::wal},
                                            {"fsync", durability_level::fsync},
                                            {"memory", durability_level::memory}};
  return w;
}
const words<node_log::level>& log_words() {
  static const words<node_log::level> w = [] {
    words<node_log::level> out;
    for (const auto& name : log_level_words()) out.emplace_back(name, *log_level_named(name));
    return out;
  }();
  return w;
}
const words<node_log::format>& log_format_words_of() {
  static const words<node_log::format> w = {{"text", node_log::format::text}, {"json", node_log::format::json}};
  return w;
}

// --model-dtype: bytes per weight and KV value; auto keeps the model's own.
const words<int>& dtype_words() {
  static const words<int> w = {{"auto", 0}, {"fp32", 4}, {"fp16", 2}, {"bf16", 2}, {"fp8", 1}, {"int8", 1}};
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
               "over ZeroMQ. Every flag is also an environment variable (--heartbeat-timeout:\n"
               "ALADDIN_HEARTBEAT_TIMEOUT) and a key of the --config TOML file (README.md, \"Config\n"
               "file\"); a flag beats the environment, which beats the file."),
        o_(o),
        provisioner_(word_of(provisioner_words(), o.provisioner)),
        durability_(word_of(durability_words(), o.durability)),
        log_(word_of(log_words(), o.log)),
        log_format_(word_of(log_format_words_of(), o.log_format)) {
    add(with_config);
  }
  flag_set& flags() { return flags_; }
  const std::vector<option_key>& keys() const { return keys_; }
  void finish() {
    o_.provisioner = value_of(provisioner_words(), provisioner_);
    o_.durability = value_of(durability_words(), durability_);
    o_.log = value_of(log_words(), log_);
    o_.log_format = value_of(log_format_words_of(), log_format_);
  }

 private:
  void add(bool with_config);
  // One row of the key table; returns the flag's name for the flag_set call beside it.
  std::string key(std::string toml, std::string flag) {
    std::string env = "ALADDIN_";
    for (char c : flag) env += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    keys_.push_back({std::move(toml), flag, std::move(env)});
    return flag;
  }
  flag_set flags_;
  serve_options& o_;
  std::string provisioner_, durability_, log_, log_format_;
  std::vector<option_key> keys_;
};

// Applies a TOML document, or the environment, through `flags`; see apply_config_file.
std::string apply_config_text(serve_flags& bound, std::istream& in, const std::string& source);
std::string apply_config_path(serve_flags& bound, const std::string& path);
std::string apply_env(serve_flags& bound, const env_lookup& env);

}  // namespace

const char* to_string(provisioner_kind kind) { return word_of(provisioner_words(), kind).c_str(); }

const char* to_string(durability_level level) { return word_of(durability_words(), level).c_str(); }

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

// The key table: TOML key, flag, environment variable (derived from the flag), in one place.
std::vector<slo_class> serve_options::slo_class_list() const {
  std::vector<slo_class> out;
  std::string cur;
  for (char c : slo_classes + ",") {
    if (c != ',') {
      cur += c;
      continue;
    }
    std::string t = trim(cur);
    cur.clear();
    if (t.empty()) continue;
    slo_class k;
    const auto a = t.find(':');
    const auto b = a == std::string::npos ? a : t.find(':', a + 1);
    k.name = trim(t.substr(0, a));
    if (b == std::string::npos || !parse_duration(trim(t.substr(a + 1, b - a - 1)), &k.ttft_s) ||
        !parse_duration(trim(t.substr(b + 1)), &k.atgt_s))
      k.ttft_s = k.atgt_s = -1;  // validate() names it
    out.push_back(std::move(k));
  }
  return out;
}

std::optional<model_spec> serve_options::model_facts() const {
  std::optional<model_spec> m = find_model(model);
  if (!m) {
    if (model_layers == 0 && model_kv_heads == 0 && model_head_dim == 0) return std::nullopt;
    m = model_spec{};
    m->name = model;
  }
  if (model_layers > 0) m->layers = static_cast<int>(model_layers);
  if (model_kv_heads > 0) m->kv_heads = static_cast<int>(model_kv_heads);
  if (model_head_dim > 0) m->head_dim = static_cast<int>(model_head_dim);
  if (model_context_tokens > 0) m->context_tokens = static_cast<int>(model_context_tokens);
  if (const int bytes = value_of(dtype_words(), model_dtype); bytes > 0) m->bytes_per_value = bytes;
  if (model_parameters > 0) {
    m->parameters = model_parameters;
  } else if (model_hidden_size > 0) {
    // Attention (4 h^2) and MLP (8 h^2) per layer: the usual estimate, embeddings left out.
    const double h = static_cast<double>(model_hidden_size);
    m->parameters = 12.0 * static_cast<double>(m->layers) * h * h;
  }
  return m;
}

std::optional<gpu_spec> serve_options::gpu_facts() const {
  std::optional<gpu_spec> g = find_gpu(gpu);
  if (!g) {
    if (gpu_memory_gib <= 0) return std::nullopt;
    g = gpu_spec{gpu, 0};
  }
  if (gpu_memory_gib > 0) g->memory_bytes = gpu_memory_gib * 1024 * 1024 * 1024;
  return g;
}

bool serve_options::overrides_catalogue() const {
  return model_layers > 0 || model_hidden_size > 0 || model_kv_heads > 0 || model_head_dim > 0 ||
         model_dtype != "auto" || model_context_tokens > 0 || model_parameters > 0 || gpu_memory_gib > 0;
}

void serve_flags::add(bool with_config) {
  flag_set& f = flags_;
  serve_options& o = o_;
  if (with_config) f.add_string(key("", "config"), &o.config_file, "TOML config file of these options (environment and flags override it)");
  f.add_string(key("node.data_dir", "data-dir"), &o.data_dir, "state store directory (RocksDB)");
  f.add_string(key("node.listen", "listen"), &o.listen, "client endpoint (tcp://host:port; port 0: ephemeral)");
  f.add_string(key("node.worker_listen", "worker-listen"), &o.worker_listen, "worker endpoint");
  f.add_string(key("node.http", "http"), &o.http, "HOST:PORT of the OpenAI-compatible HTTP front door (default: none)");
  f.add_string(key("node.name", "node-name"), &o.node_name, "sender name in every envelope header");
  f.add_int(key("node.scheduler_threads", "scheduler-threads"), &o.scheduler_threads, "actor scheduler threads", 1, 64);
  f.add_duration(key("node.shutdown_timeout", "shutdown-timeout"), &o.shutdown_timeout_s,
                 "on SIGTERM/SIGINT: wall time running queries get to finish before the rest fail (shuttingDown)");
  f.add_choice(key("node.log_level", "log-level"), &log_, names_of(log_words()), "what the node prints on stderr, from this level up");
  f.add_choice(key("node.log_format", "log-format"), &log_format_, names_of(log_format_words_of()),
               "stderr lines as text or as JSON objects (one per line)");
  // The old spelling of --log-level (not in the key table: one key per option).
  f.add_choice("log", &log_, names_of(log_words()), "same as --log-level");

  f.add_string(key("model.name", "model"), &o.model, "model served: a built-in name, or a new one with its architecture");
  f.add_int(key("model.layers", "model-layers"), &o.model_layers, "architecture: transformer layers (default: the built-in model's)", 1, 1000);
  f.add_int(key("model.hidden_size", "model-hidden-size"), &o.model_hidden_size,
            "architecture: hidden size (estimates the weights as 12 x layers x hidden^2 without --model-parameters)", 1, 1000000);
  f.add_int(key("model.kv_heads", "model-kv-heads"), &o.model_kv_heads, "architecture: key/value heads", 1, 10000);
  f.add_int(key("model.head_dim", "model-head-dim"), &o.model_head_dim, "architecture: size of one head", 1, 100000);
  f.add_choice(key("model.dtype", "model-dtype"), &o.model_dtype, names_of(dtype_words()),
               "architecture: weight and KV value type (auto: the built-in model's)");
  f.add_int(key("model.context_tokens", "model-context"), &o.model_context_tokens,
            "architecture: longest prompt + output (default: the built-in model's)", 1, 100000000);
  f.add_double(key("model.parameters", "model-parameters"), &o.model_parameters, "architecture: number of weights", 0, 1e15);

  f.add_string(key("gpu.type", "gpu"), &o.gpu, "GPU type of the workers: a built-in one, or a new one with --gpu-memory");
  f.add_double(key("gpu.memory_gib", "gpu-memory"), &o.gpu_memory_gib, "memory of one GPU in GiB (default: the built-in type's)", 0, 1e6);
  f.add_int(key("gpu.tp", "tp"), &o.tp, "GPUs per worker (tensor-parallel degree)", 1, 64);

  f.add_duration(key("slo.ttft", "slo-ttft"), &o.slo_ttft_s, "TTFT SLO the planner sizes the fleet for, and a query without one gets");
  f.add_duration(key("slo.atgt", "slo-atgt"), &o.slo_atgt_s, "ATGT SLO the planner sizes the fleet for, and a query without one gets");
  f.add_string(key("slo.classes", "slo-classes"), &o.slo_classes, "named SLO classes, name:ttft:atgt[,...] (e.g. batch:20s:200ms)");

  std::vector<std::string> names;
  for (const auto& p : policies()) names.push_back(p.name);
  f.add_choice(key("placement.policy", "policy"), &o.policy, names, "placement policy");
  f.add_duration(key("placement.max_wait", "max-wait"), &o.max_wait_s, "model time a query may wait at the intake before it fails");
  f.add_int(key("placement.max_waiting", "max-waiting"), &o.max_waiting, "queries waiting at the intake before new ones are refused", 1, 100000000);
  f.add_int(key("placement.max_prompt_tokens", "max-prompt-tokens"), &o.max_prompt_tokens,
            "longest prompt accepted (default: the model's context)", 1, 10000000);
  f.add_duration(key("placement.retry_interval", "retry-interval"), &o.retry_interval_s, "wall time between retries of waiting queries");
  f.add_string(key("placement.decisions", "decisions"), &o.decisions,
               "append a CSV row per placement once it has ended: the chosen worker, what its schedule predicted "
               "(TTFT, decode iteration, KV peak, tightness), refusals and the outcome (simulate --decisions' columns)");

  f.add_duration(key("planner.interval", "plan-interval"), &o.plan_interval_s, "model time between planning rounds");
  f.add_int(key("planner.min_workers", "min-workers"), &o.min_workers, "the planner's floor (default: --workers)", -1, 10000);
  f.add_int(key("planner.max_workers", "max-workers"), &o.max_workers, "the planner's ceiling (default: --workers)", -1, 10000);

  f.add_choice(key("provisioner.kind", "provisioner"), &provisioner_, names_of(provisioner_words()),
               "local: start emulated workers here; static: wait for --static-workers; command: run --start-command/--stop-command");
  f.add_int(key("provisioner.workers", "workers"), &o.workers, "local, command: workers to keep running", 0, 10000);
  f.add_string(key("provisioner.static_workers", "static-workers"), &o.static_workers, "static: comma-separated worker names to expect");
  f.add_string(key("provisioner.worker_command", "worker-command"), &o.worker_command, "local: worker binary (default: this aladdin)");
  f.add_choice(key("provisioner.engine", "engine"), &o.local_engine, {"emulated", "http"},
               "local: emulated (the engine inside each worker) or http (each worker an agent in front of an "
               "emulated engine behind vLLM's HTTP API: the path of a real vLLM fleet)");
  f.add_string(key("provisioner.start_command", "start-command"), &o.start_command,
               "command: shell command that starts a worker (ALADDIN_WORKER_NAME, ALADDIN_MODEL, ... in its environment)");
  f.add_string(key("provisioner.stop_command", "stop-command"), &o.stop_command,
               "command: shell command that stops a worker (same environment; empty: none)");
  f.add_duration(key("provisioner.command_timeout", "command-timeout"), &o.command_timeout_s,
                 "command: wall time one run of a command may take before it is killed and counted failed");
  f.add_int(key("provisioner.command_retries", "command-retries"), &o.command_retries,
            "command: further attempts after a failed run", 0, 100);
  f.add_duration(key("provisioner.command_retry_delay", "command-retry-delay"), &o.command_retry_delay_s,
                 "command: wall time between attempts");
  f.add_duration(key("provisioner.startup_timeout", "startup-timeout"), &o.startup_timeout_s, "wall time for a started worker to register");
  f.add_double(key("provisioner.time_scale", "time-scale"), &o.time_scale, "emulated workers run this many times faster than real GPUs", 1e-3, 1e4);

  f.add_duration(key("workers.heartbeat_timeout", "heartbeat-timeout"), &o.heartbeat_timeout_s, "wall time without a heartbeat before a worker is lost");
  f.add_duration(key("workers.adopt_grace", "adopt-grace"), &o.adopt_grace_s, "wall time after a restart for workers to report their queries");

  f.add_choice(key("journal.durability", "durability"), &durability_, names_of(durability_words()),
               "how far the journal is written before a query is acknowledged: wal (survives a crash of the node), "
               "fsync (one fsync per group of writes: survives a crash of the machine), memory (survives nothing)");
  f.add_duration(key("journal.retention", "journal-retention"), &o.journal_retention_s,
                 "wall time ended queries stay in the journal (0: forever); compacted every tenth of it");
}

namespace {

// Errors are one line: control characters of a bad value are shown as '?'.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return s;
}

// Applies "--flag=value" through the flag parser; empty on success, else the parser's reason.
std::string apply_one(flag_set& flags, const std::string& flag, const std::string& value) {
  std::string arg = "--" + flag + "=" + value;
  std::string cmd = "serve";
  char* argv[] = {cmd.data(), arg.data()};
  if (flags.parse(2, argv) == flag_set::outcome::ok) return {};
  // The flag parser's message names the flag; keep its reason.
  std::string why = flags.error();
  if (auto colon = why.find(": "); colon != std::string::npos) why = why.substr(colon + 2);
  return why;
}

const option_key* find_toml_key(const std::vector<option_key>& keys, std::string_view path) {
  for (const auto& k : keys)
    if (!k.toml.empty() && k.toml == path) return &k;
  return nullptr;
}

// A TOML value as the text its flag parses; nullopt (with *why) for a type no option takes.
std::optional<std::string> flag_text(const toml::node& n, std::string* why) {
  if (auto v = n.as_string()) return v->get();
  if (auto v = n.as_integer()) return std::to_string(v->get());
  if (auto v = n.as_floating_point()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v->get());
    return std::string(buf);
  }
  if (auto v = n.as_boolean()) return std::string(v->get() ? "on" : "off");
  if (auto a = n.as_array()) {
    std::string joined;
    for (const auto& e : *a) {
      auto item = e.as_string();
      if (!item) {
        *why = "an array of strings is expected";
        return std::nullopt;
      }
      joined += (joined.empty() ? "" : ",") + item->get();
    }
    return joined;
  }
  *why = "dates and times are not values of any option";
  return std::nullopt;
}

std::string walk(serve_flags& bound, const toml::table& t, const std::string& prefix, const std::string& source) {
  for (const auto& [k, node] : t) {
    const std::string path = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto line = node.source().begin.line;
    const std::string where = source + ":" + std::to_string(line) + ": ";
    if (const option_key* key = find_toml_key(bound.keys(), path)) {
      std::string why;
      auto text = flag_text(node, &why);
      if (!text) return one_line(where + "key '" + path + "': " + why);
      if (why = apply_one(bound.flags(), key->flag, *text); !why.empty())
        return one_line(where + "key '" + path + "': " + why);
      continue;
    }
    if (auto sub = node.as_table()) {
      if (std::string err = walk(bound, *sub, path, source); !err.empty()) return err;
      continue;
    }
    return one_line(where + "unknown key '" + path + "'");
  }
  return {};
}

std::string apply_config_text(serve_flags& bound, std::istream& in, const std::string& source) {
  std::ostringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  try {
    const toml::table root = toml::parse(doc, source);
    return walk(bound, root, "", source);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return one_line(source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
                    std::string(e.description()));
  }
}

std::string apply_config_path(serve_flags& bound, const std::string& path) {
  std::ifstream in(path);
  if (!in) return "cannot read config file " + path;
  return apply_config_text(bound, in, path);
}

std::string apply_env(serve_flags& bound, const env_lookup& env) {
  for (const auto& k : bound.keys()) {
    if (k.flag == "config") continue;  // read before the file, by parse_serve_options
    const char* value = env(k.env.c_str());
    if (value == nullptr) continue;
    if (std::string why = apply_one(bound.flags(), k.flag, value); !why.empty())
      return one_line("environment " + k.env + " (key '" + k.toml + "'): " + why);
  }
  return {};
}

}  // namespace

const std::vector<option_key>& serve_option_keys() {
  static const std::vector<option_key> keys = [] {
    serve_options o;
    serve_flags bound(o, true);
    return bound.keys();
  }();
  return keys;
}

std::string apply_config(serve_options& o, std::istream& in, const std::string& source) {
  serve_flags bound(o, false);
  std::string err = apply_config_text(bound, in, source);
  if (err.empty()) bound.finish();
  return err;
}

std::string apply_config_file(serve_options& o, const std::string& path) {
  serve_flags bound(o, false);
  std::string err = apply_config_path(bound, path);
  if (err.empty()) bound.finish();
  return err;
}

std::string apply_environment(serve_options& o, const env_lookup& env) {
  serve_flags bound(o, false);
  std::string err = apply_env(bound, env);
  if (err.empty()) bound.finish();
  return err;
}

std::string validate(const serve_options& o) {
  const policy_info* p = find_policy(o.policy);
  if (p == nullptr) return "unknown policy " + o.policy;
  if (p->uses_true_lengths) return "--policy " + o.policy + " needs true output lengths, which a live node never knows";
  if (o.provisioner == provisioner_kind::static_fleet && o.static_worker_names().empty())
    return "--provisioner static needs --static-workers name[,name...]";
  if (o.provisioner == provisioner_kind::command && o.start_command.empty())
    return "--provisioner command needs --start-command";
  if (o.command_timeout_s <= 0) return "--command-timeout must be positive";
  if (o.floor() > o.ceiling()) return "--min-workers is above --max-workers";
  if (o.heartbeat_timeout_s <= 0) return "--heartbeat-timeout must be positive";
  if (o.retry_interval_s <= 0) return "--retry-interval must be positive";
  if (o.plan_interval_s <= 0) return "--plan-interval must be positive";
  if (o.data_dir.empty()) return "--data-dir must not be empty";
  const auto m = o.model_facts();
  if (!m) return "unknown model " + o.model + ": give its architecture (--model-layers, --model-kv-heads, --model-head-dim, --model-context, --model-parameters or --model-hidden-size)";
  if (m->layers <= 0) return "model " + o.model + " needs --model-layers";
  if (m->kv_heads <= 0) return "model " + o.model + " needs --model-kv-heads";
  if (m->head_dim <= 0) return "model " + o.model + " needs --model-head-dim";
  if (m->context_tokens <= 0) return "model " + o.model + " needs --model-context";
  if (m->parameters <= 0) return "model " + o.model + " needs --model-parameters or --model-hidden-size";
  if (!o.gpu_facts()) return "unknown GPU type " + o.gpu + ": give its memory (--gpu-memory GiB)";
  std::vector<std::string> seen;
  for (const auto& k : o.slo_class_list()) {
    if (k.name.empty() || k.ttft_s <= 0 || k.atgt_s <= 0)
      return "--slo-classes: '" + k.name + "' is not name:ttft:atgt with positive durations (e.g. batch:20s:200ms)";
    if (std::find(seen.begin(), seen.end(), k.name) != seen.end()) return "--slo-classes: class " + k.name + " is given twice";
    seen.push_back(k.name);
  }
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
  return parse_serve_options(argc, argv, o, [](const char* name) -> const char* { return std::getenv(name); });
}

int parse_serve_options(int argc, char** argv, serve_options& o, const env_lookup& env) {
  serve_flags bound(o, true);
  flag_set& flags = bound.flags();
  // The file first (--config wherever it is, else ALADDIN_CONFIG), then the environment, then
  // the flags: each overrides what came before.
  std::string path;
  if (const char* from_env = env("ALADDIN_CONFIG")) path = from_env;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) path = argv[i + 1];
    else if (a.substr(0, 9) == "--config=") path = std::string(a.substr(9));
  }
  if (!path.empty()) {
    if (std::string err = apply_config_path(bound, path); !err.empty()) {
      std::cerr << "aladdin serve: " << err << "\n";
      return 2;
    }
  }
  if (std::string err = apply_env(bound, env); !err.empty()) {
    std::cerr << "aladdin serve: " << err << "\n";
    return 2;
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
