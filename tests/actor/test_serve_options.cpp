// aladdin serve's options: the TOML config file, ALADDIN_* environment variables, flags, their
// precedence (flag > environment > file > default) and their errors.

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "actors/node/serve_options.hpp"

using namespace aladdin;
using namespace aladdin::node;

namespace {

struct config_file {
  std::filesystem::path path;
  explicit config_file(const std::string& text) {
    // random_device, not rand(): every test runs in its own process, all with rand()'s one seed.
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("aladdin-serve-" + std::to_string(rd()) + std::to_string(rd()) + ".toml");
    std::ofstream(path) << text;
  }
  ~config_file() { std::filesystem::remove(path); }
};

std::string apply_text(serve_options& o, const std::string& text) {
  config_file f(text);
  return apply_config_file(o, f.path.string());
}

// An environment of our own: tests never read or change the process's.
struct fake_env {
  std::map<std::string, std::string> vars;
  env_lookup lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

int parse(std::vector<std::string> args, serve_options& o, const fake_env& env = {}) {
  args.insert(args.begin(), "serve");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_serve_options(static_cast<int>(argv.size()), argv.data(), o, env.lookup());
}

}  // namespace

TEST_CASE("serve options: a TOML config file sets options by section and key, as their flags would") {
  serve_options o;
  const std::string err = apply_text(o,
                                "# a node\n[provisioner]\nworkers = 5\ntime_scale = 20\n"
                                "[placement]\npolicy = 'jsq'\n[workers]\nheartbeat_timeout = \"250ms\"\n"
                                "[slo]\nttft = 1.5\n");
  CHECK(err.empty());
  CHECK(o.workers == 5);
  CHECK(o.policy == "jsq");
  CHECK(o.heartbeat_timeout_s == doctest::Approx(0.25));
  CHECK(o.slo_ttft_s == doctest::Approx(1.5));  // a number of seconds is a duration too
  CHECK(o.time_scale == 20);
  // Dotted keys and inline tables are the same keys.
  serve_options p;
  CHECK(apply_text(p, "node.listen = 'tcp://127.0.0.1:7000'\ngpu = { tp = 8 }\n").empty());
  CHECK(p.listen == "tcp://127.0.0.1:7000");
  CHECK(p.tp == 8);
}

TEST_CASE("serve options: the example config in the repo loads, and is a node that validates") {
  serve_options o;
  const std::string path = std::string(ALADDIN_SOURCE_DIR) + "/config/aladdin.example.toml";
  const std::string err = apply_config_file(o, path);
  REQUIRE_MESSAGE(err.empty(), err);
  CHECK(validate(o).empty());
  CHECK(o.model == "llama2-70b");
  CHECK(o.tp == 4);
  CHECK(o.max_workers == 8);
  CHECK(o.slo_atgt_s == doctest::Approx(0.1));
  CHECK(o.journal_retention_s == doctest::Approx(3600));
  CHECK(o.durability == durability_level::wal);
  const auto classes = o.slo_class_list();
  REQUIRE(classes.size() == 2);
  CHECK(classes[1] == slo_class{"batch", 20, 0.2});
  // Its architecture restates the model card's, so the catalogue's facts are unchanged.
  const auto facts = o.model_facts();
  const auto card = find_model("llama2-70b");
  REQUIRE(facts);
  CHECK(facts->kv_bytes_per_token() == card->kv_bytes_per_token());
  CHECK(facts->parameters == card->parameters);
  CHECK(facts->context_tokens == card->context_tokens);
}

TEST_CASE("serve options: the provisioner, journal.durability and the log options are parsed once, into what they mean") {
  serve_options o;
  CHECK(o.provisioner == provisioner_kind::local);
  CHECK(o.durability == durability_level::wal);
  CHECK(o.log == node_log::level::info);
  CHECK(o.log_format == node_log::format::text);
  CHECK(apply_text(o, "provisioner.kind = 'static'\njournal.durability = 'fsync'\nnode.log_level = 'quiet'\nnode.log_format = 'json'\n").empty());
  CHECK(o.log_format == node_log::format::json);
  CHECK(o.provisioner == provisioner_kind::static_fleet);
  CHECK(o.durability == durability_level::fsync);
  CHECK(o.log == node_log::level::quiet);
  CHECK(apply_text(o, "provisioner.workers = 3\n").empty());  // a file that does not name them leaves them
  CHECK(o.provisioner == provisioner_kind::static_fleet);
  CHECK(o.log == node_log::level::quiet);
  CHECK(std::string(to_string(o.provisioner)) == "static");
  CHECK(apply_text(o, "provisioner.kind = 'cloud'\n").find("key 'provisioner.kind'") != std::string::npos);
  CHECK(apply_text(o, "journal.durability = 'disk'\n").find("key 'journal.durability'") != std::string::npos);
  CHECK(log_level_of("quiet") == node_log::level::quiet);
  CHECK(log_level_names() == std::vector<std::string>{"debug", "info", "warn", "error", "quiet"});
  // --log is the old spelling of --log-level.
  serve_options p;
  CHECK(parse({"--log", "warn"}, p) == -1);
  CHECK(p.log == node_log::level::warn);
  CHECK(parse({"--log-level", "debug", "--log-format", "json"}, p) == -1);
  CHECK(p.log == node_log::level::debug);
  CHECK(p.log_format == node_log::format::json);
}

TEST_CASE("serve options: an unknown key or a bad value names the file, the line and the key") {
  serve_options o;
  std::string err = apply_text(o, "[provisioner]\nworkers = 2\nno_such_key = 1\n");
  CHECK(err.find(":3:") != std::string::npos);
  CHECK(err.find("unknown key 'provisioner.no_such_key'") != std::string::npos);
  err = apply_text(o, "\n\nprovisioner.workers = 'lots'\n");
  CHECK(err.find(":3:") != std::string::npos);
  CHECK(err.find("key 'provisioner.workers'") != std::string::npos);
  err = apply_text(o, "[placement]\npolicy = 'nonsense'\n");
  CHECK(err.find(":2:") != std::string::npos);
  CHECK(err.find("key 'placement.policy'") != std::string::npos);
  err = apply_text(o, "[other]\nx = 1\n");
  CHECK(err.find("unknown key 'other.x'") != std::string::npos);
  err = apply_text(o, "workers = 2\n");  // a key outside its section is unknown
  CHECK(err.find("unknown key 'workers'") != std::string::npos);
  err = apply_text(o, "config = 'x.toml'\n");
  CHECK(err.find("unknown key 'config'") != std::string::npos);
  err = apply_text(o, "slo.ttft = 1979-05-27\n");
  CHECK(err.find("key 'slo.ttft': dates") != std::string::npos);
  err = apply_text(o, "provisioner.static_workers = [1, 2]\n");
  CHECK(err.find("array of strings") != std::string::npos);
  // Not TOML at all: the parser's reason, with line and column.
  err = apply_text(o, "[node]\nlisten = \n");
  CHECK(err.find(":2:") != std::string::npos);
  err = apply_text(o, "just words\n");
  CHECK(!err.empty());
  CHECK(err.find('\n') == std::string::npos);
  CHECK(apply_config_file(o, "/nonexistent/aladdin.toml").find("cannot read config file") != std::string::npos);
}

TEST_CASE("serve options: flag beats environment beats file beats default") {
  config_file f("[provisioner]\nworkers = 5\n[placement]\npolicy = 'jsq'\nmax_waiting = 7\n");
  fake_env env;
  env.vars["ALADDIN_WORKERS"] = "4";
  env.vars["ALADDIN_POLICY"] = "p2c";
  serve_options o;
  CHECK(parse({"--workers", "3", "--config", f.path.string()}, o, env) == -1);
  CHECK(o.workers == 3);          // flag
  CHECK(o.policy == "p2c");       // environment over the file
  CHECK(o.max_waiting == 7);      // file
  CHECK(o.max_wait_s == 600);     // default
  // The config file may come from the environment too; --config beats it.
  env.vars["ALADDIN_CONFIG"] = f.path.string();
  serve_options p;
  CHECK(parse({}, p, env) == -1);
  CHECK(p.max_waiting == 7);
  serve_options q;
  CHECK(parse({"--config", "/nonexistent.toml"}, q, env) == 2);
}

TEST_CASE("serve options: a bad environment value names the variable and the key") {
  fake_env env;
  env.vars["ALADDIN_HEARTBEAT_TIMEOUT"] = "soon";
  serve_options o;
  const std::string err = apply_environment(o, env.lookup());
  CHECK(err.find("ALADDIN_HEARTBEAT_TIMEOUT") != std::string::npos);
  CHECK(err.find("key 'workers.heartbeat_timeout'") != std::string::npos);
  CHECK(parse({}, o, env) == 2);
}

TEST_CASE("serve options: the key table maps every flag to one TOML key and one ALADDIN_ variable") {
  const auto& keys = serve_option_keys();
  std::set<std::string> toml, flags, envs;
  for (const auto& k : keys) {
    CHECK(flags.insert(k.flag).second);
    CHECK(envs.insert(k.env).second);
    if (k.flag != "config") CHECK(toml.insert(k.toml).second);
    CHECK(k.env.rfind("ALADDIN_", 0) == 0);
  }
  // Every key of the table is read from a file (none is dead): a value goes to its flag's parser.
  for (const auto& k : keys) {
    if (k.flag == "config") continue;
    serve_options o;
    const std::string err = apply_text(o, k.toml + " = \"\\u0001\"\n");
    CHECK_MESSAGE(err.find("unknown key") == std::string::npos, k.toml);
  }
  CHECK(envs.count("ALADDIN_WORKER_LISTEN") == 1);
  CHECK(toml.count("node.worker_listen") == 1);
  CHECK(keys.size() > 30);
}

TEST_CASE("serve options: a model by architecture, a GPU by memory, SLO classes") {
  serve_options o;
  o.model = "my-model";
  CHECK(validate(o).find("unknown model my-model") != std::string::npos);
  CHECK(apply_text(o, "[model]\nlayers = 32\nkv_heads = 8\nhead_dim = 128\nhidden_size = 4096\n").empty());
  CHECK(validate(o).find("--model-context") != std::string::npos);
  o.model_context_tokens = 8192;
  CHECK(validate(o).empty());
  const auto m = o.model_facts();
  REQUIRE(m);
  CHECK(m->name == "my-model");
  CHECK(m->parameters == doctest::Approx(12.0 * 32 * 4096.0 * 4096.0));
  CHECK(m->kv_bytes_per_token() == doctest::Approx(2.0 * 32 * 8 * 128 * 2));
  CHECK(apply_text(o, "model.dtype = 'fp8'\n").empty());
  CHECK(o.model_facts()->kv_bytes_per_token() == doctest::Approx(2.0 * 32 * 8 * 128 * 1));
  CHECK(o.overrides_catalogue());
  CHECK_FALSE(serve_options{}.overrides_catalogue());

  o.gpu = "mi300x";
  CHECK(validate(o).find("unknown GPU type mi300x") != std::string::npos);
  CHECK(apply_text(o, "gpu.memory_gib = 192\n").empty());
  CHECK(validate(o).empty());
  CHECK(o.gpu_facts()->memory_bytes == doctest::Approx(192.0 * 1024 * 1024 * 1024));

  o.slo_classes = "a:1s:50ms, b:20s:200ms";
  CHECK(validate(o).empty());
  o.slo_classes = "a:1s:50ms,a:2s:50ms";
  CHECK(validate(o).find("given twice") != std::string::npos);
  o.slo_classes = "a:1s";
  CHECK(validate(o).find("name:ttft:atgt") != std::string::npos);
  o.slo_classes = "a:soon:50ms";
  CHECK(validate(o).find("name:ttft:atgt") != std::string::npos);
}

TEST_CASE("serve options: combinations single flags cannot check") {
  serve_options o;
  CHECK(validate(o).empty());
  o.provisioner = provisioner_kind::static_fleet;
  CHECK(validate(o).find("--static-workers") != std::string::npos);
  o.static_workers = " a, b ,,c";
  CHECK(validate(o).empty());
  CHECK(o.static_worker_names() == std::vector<std::string>{"a", "b", "c"});
  o.policy = "oracle";
  CHECK(validate(o).find("true output lengths") != std::string::npos);
  o.policy = "aladdin";
  o.min_workers = 4;
  o.max_workers = 2;
  CHECK(!validate(o).empty());
}

TEST_CASE("serve options: README.md documents every key of the table, its flag and its variable rule") {
  std::ifstream in(std::string(ALADDIN_SOURCE_DIR) + "/README.md");
  REQUIRE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string readme = buf.str();
  for (const auto& k : serve_option_keys()) {
    if (k.flag == "config") continue;
    CHECK_MESSAGE(readme.find("| `" + k.toml + "` | `--" + k.flag + "` |") != std::string::npos, k.toml);
  }
  CHECK(readme.find("ALADDIN_HEARTBEAT_TIMEOUT") != std::string::npos);
}
