#pragma once
// Everything `aladdin serve` can be told, from flags, `ALADDIN_*` environment variables or a
// TOML config file, with one precedence: flag > environment > file > default.
//
// One table (serve_options.cpp, serve_option_keys()) maps every option's TOML key (a dotted
// path such as `node.listen` or `slo.ttft`), its flag (`--listen`) and its environment variable
// (`ALADDIN_LISTEN`: the flag's name in capitals, `-` as `_`). Every value, from any source,
// is checked by the flag's own parser; a bad value or an unknown key is an error naming the
// source (file and line, or the variable) and the key. The example is config/aladdin.example.toml.
//
// TOML values: strings as written; integers and floats as numbers; booleans as on/off (for
// the on/off options); arrays of strings joined by commas (static workers, SLO classes).
// Durations are strings with a unit ("2s", "100ms") or numbers of seconds.
//
// Time: durations that belong to the model (SLOs, planning interval, maximum wait) are model
// seconds; those that belong to processes and the network (heartbeat timeout, adoption grace,
// retry interval, worker start-up) are wall seconds. See actors/node/ticket.hpp.

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/node/node_log.hpp"
#include "model/hardware.hpp"
#include "util/flags.hpp"

namespace aladdin::node {

// Who owns the workers: `--provisioner local` (this node starts emulated ones and stops them),
// `--provisioner static` (someone else runs them; the node waits for their names) or
// `--provisioner command` (the operator's --start-command / --stop-command make them exist;
// actors/node/command_fleet.hpp).
enum class provisioner_kind : std::uint8_t { local, static_fleet, command };

// What an acknowledged query survives (`--durability`): the journal is written before a
// client hears queryAccepted (and before an assignment leaves, and before queryFinished), and
// the level says how far it is written by then.
//   wal     RocksDB's write-ahead log, not fsynced: survives a crash of the node process, not
//           of the machine (the OS may still hold the last writes).
//   fsync   the write-ahead log fsynced once per group of writes (group commit): survives a
//           crash of the machine too.
//   memory  the in-memory store: survives nothing; a restart starts with an empty journal.
enum class durability_level : std::uint8_t { wal, fsync, memory };

// Options that are one of a few words (--provisioner, --durability, --log) are parsed here,
// once, into enums: nothing outside this file compares an option's text.
const char* to_string(provisioner_kind kind);  // "local" | "static" | "command", as the flag spells it
const char* to_string(durability_level level);  // "wal" | "fsync" | "memory"
// --log for a command that declares its own flags (aladdin up): the words, and the level of one.
std::vector<std::string> log_level_names();
node_log::level log_level_of(std::string_view name);  // name: one of log_level_names()

// A named SLO class (`--slo-classes interactive:2s:100ms,batch:20s:200ms`): what a request that
// names it is judged by (the HTTP front door reads the name from a header).
struct slo_class {
  std::string name;
  double ttft_s = 0;  // model seconds
  double atgt_s = 0;
  friend bool operator==(const slo_class&, const slo_class&) = default;
};

struct serve_options {
  std::string config_file;
  std::string data_dir = "aladdin-data";
  std::string listen = "tcp://127.0.0.1:5555";
  std::string worker_listen = "tcp://127.0.0.1:5556";
  std::string http;                        // --http HOST:PORT: the OpenAI front door (empty: none)
  std::string node_name = "aladdin-node";

  provisioner_kind provisioner = provisioner_kind::local;
  std::int64_t workers = 2;                // local: workers to keep running
  std::string static_workers;              // static: comma-separated worker names to expect
  std::int64_t min_workers = -1;           // planner's floor (default: workers)
  std::int64_t max_workers = -1;           // planner's ceiling (default: workers)
  std::string model = "llama2-70b";        // a built-in name, or a new one with its architecture:
  std::int64_t model_layers = 0;           // 0: the built-in model's (all of these)
  std::int64_t model_hidden_size = 0;      // estimates the weights when model_parameters is 0
  std::int64_t model_kv_heads = 0;
  std::int64_t model_head_dim = 0;
  std::string model_dtype = "auto";        // auto (the model's) | fp32 | fp16 | bf16 | fp8 | int8
  std::int64_t model_context_tokens = 0;   // prompt + output limit
  double model_parameters = 0;             // weights
  std::string gpu = "a100-80gb";           // a built-in GPU type, or a new one with its memory:
  double gpu_memory_gib = 0;               // 0: the built-in GPU's
  std::int64_t tp = 4;
  std::string worker_command;              // local: the worker binary (default: this binary)
  // local: how the workers reach their emulated engines: "emulated" (in the worker process) or
  // "http" (the engine behind vLLM's HTTP API, the worker an agent in front of it, as with vLLM).
  std::string local_engine = "emulated";
  std::string start_command;               // command: sh -c, with the worker in ALADDIN_* variables
  std::string stop_command;                // command: sh -c (empty: nothing runs to stop one)
  double command_timeout_s = 60;           // wall, per attempt
  std::int64_t command_retries = 2;        // further attempts after a failed one
  double command_retry_delay_s = 1;        // wall
  double startup_timeout_s = 60;           // wall: a started worker must register by then

  std::string policy = "aladdin";
  double time_scale = 1;                   // emulated workers run this many times faster
  double slo_ttft_s = 2.0;                 // model: what the planner sizes for
  double slo_atgt_s = 0.1;
  std::string slo_classes;                 // name:ttft:atgt[,...]; see slo_class
  double plan_interval_s = 60;             // model
  double max_wait_s = 600;                 // model: waiting at the intake longer fails a query
  std::int64_t max_waiting = 100000;       // queries waiting at the intake before "overloaded"
  std::int64_t max_prompt_tokens = 0;      // 0: the model's context (model_spec::context_tokens)
  std::string decisions;                   // a CSV of every placement and its outcome (empty: none)

  double heartbeat_timeout_s = 3;          // wall
  double adopt_grace_s = 5;                // wall: after a restart, for workers to report
  double retry_interval_s = 0.05;          // wall: waiting queries are retried this often
  durability_level durability = durability_level::wal;  // --durability wal|fsync|memory
  double journal_retention_s = 3600;       // wall: ended queries are kept this long (0: forever)
  std::int64_t scheduler_threads = 2;
  double shutdown_timeout_s = 30;          // wall: on SIGTERM, running queries get this long
  node_log::level log = node_log::level::info;  // --log-level debug|info|warn|error|quiet
  node_log::format log_format = node_log::format::text;  // --log-format text|json

  std::vector<std::string> static_worker_names() const;
  // The parsed --slo-classes (validate() has checked them).
  std::vector<slo_class> slo_class_list() const;
  // The served model: the built-in one with the architecture options given in place of its
  // own, or for a name the catalogue does not know, the architecture alone (validate() checks
  // that every part is given); nullopt for an unknown name without one.
  std::optional<model_spec> model_facts() const;
  // The GPU type, with --gpu-memory in place of its own; nullopt for an unknown one without.
  std::optional<gpu_spec> gpu_facts() const;
  // Whether the architecture or GPU options change the catalogue's facts.
  bool overrides_catalogue() const;
  std::int64_t floor() const { return min_workers >= 0 ? min_workers : workers; }
  std::int64_t ceiling() const { return max_workers >= 0 ? max_workers : std::max(workers, floor()); }
};

// One row of the key table: the TOML key, the flag (without --) and the environment variable.
struct option_key {
  std::string toml;
  std::string flag;
  std::string env;
};
// Every option of `serve`, in the order --help lists them.
const std::vector<option_key>& serve_option_keys();

// Applies a TOML config file to `o`, every value checked exactly as its flag is. Returns an
// empty string on success, else one line naming file, line and key.
std::string apply_config_file(serve_options& o, const std::string& path);
// The same for a config read from `in`; `source` names it in errors.
std::string apply_config(serve_options& o, std::istream& in, const std::string& source);

// Reads an environment variable: nullptr when unset (std::getenv, or a map in tests).
using env_lookup = std::function<const char*(const char*)>;
// Applies every ALADDIN_* variable of the key table that `env` has. Empty on success, else one
// line naming the variable and the key.
std::string apply_environment(serve_options& o, const env_lookup& env);
// Splits "HOST:PORT" (an IPv4 address or a name, then a port 0..65535; 0: any free port).
// Returns an empty string on success, else what is wrong.
std::string split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

// Checks what single flags cannot (combinations, policy names). Empty on success.
std::string validate(const serve_options& o);

// Parses argv: the config file (--config, or ALADDIN_CONFIG), then the environment, then the
// flags. Returns -1 to go on, else an exit code (0 after --help, 2 after an error, which has
// been printed as one line).
int parse_serve_options(int argc, char** argv, serve_options& o);
int parse_serve_options(int argc, char** argv, serve_options& o, const env_lookup& env);

}  // namespace aladdin::node
