#pragma once
// Everything `aladdin serve` can be told, from flags or from a config file of the same keys.
//
// Config file: a simple INI, one `key = value` per line, keys are the flag names without `--`;
// blank lines and lines starting with `#` or `;` are ignored, and a `[serve]` section header is
// allowed (any other section is an error). Values are checked exactly as the flags are; a bad
// key or value is an error naming the file, the line and the key. Flags on the command line
// override the file.
//
// Time: durations that belong to the model (SLOs, planning interval, maximum wait) are model
// seconds; those that belong to processes and the network (heartbeat timeout, adoption grace,
// retry interval, worker start-up) are wall seconds. See actors/node/ticket.hpp.

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "actors/node/node_log.hpp"
#include "util/flags.hpp"

namespace aladdin::node {

// Who owns the workers: `--provisioner local` (this node starts emulated ones and stops them)
// or `--provisioner static` (someone else runs them; the node waits for their names).
enum class provisioner_kind : std::uint8_t { local, static_fleet };

// Options that are one of a few words (--provisioner, --sync, --log) are parsed here, once, into
// enums: nothing outside this file compares an option's text.
const char* to_string(provisioner_kind kind);  // "local" | "static", as the flag spells it
// --log for a command that declares its own flags (aladdin up): the words, and the level of one.
std::vector<std::string> log_level_names();
node_log::level log_level_of(std::string_view name);  // name: one of log_level_names()

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
  std::string model = "llama2-70b";
  std::string gpu = "a100-80gb";
  std::int64_t tp = 4;
  std::string worker_command;              // local: the worker binary (default: this binary)
  double startup_timeout_s = 60;           // wall: a started worker must register by then

  std::string policy = "aladdin";
  double time_scale = 1;                   // emulated workers run this many times faster
  double slo_ttft_s = 2.0;                 // model: what the planner sizes for
  double slo_atgt_s = 0.1;
  double plan_interval_s = 60;             // model
  double max_wait_s = 600;                 // model: waiting at the intake longer fails a query
  std::int64_t max_waiting = 100000;       // queries waiting at the intake before "overloaded"
  std::int64_t max_prompt_tokens = 0;      // 0: the model's context (model_spec::context_tokens)

  double heartbeat_timeout_s = 3;          // wall
  double adopt_grace_s = 5;                // wall: after a restart, for workers to report
  double retry_interval_s = 0.05;          // wall: waiting queries are retried this often
  bool sync_writes = false;                // --sync on: fsync every journal write
  double journal_retention_s = 3600;       // wall: ended queries are kept this long (0: forever)
  std::int64_t scheduler_threads = 2;
  node_log::level log = node_log::level::info;  // --log info|warn|quiet: what the node prints

  std::vector<std::string> static_worker_names() const;
  std::int64_t floor() const { return min_workers >= 0 ? min_workers : workers; }
  std::int64_t ceiling() const { return max_workers >= 0 ? max_workers : std::max(workers, floor()); }
};

// Applies a config file to `o`, every value checked exactly as its flag is. Returns an empty
// string on success, else one line naming file, line and key.
std::string apply_config_file(serve_options& o, const std::string& path);
// The same for a config read from `in`; `source` names it in errors.
std::string apply_config(serve_options& o, std::istream& in, const std::string& source);

// Splits "HOST:PORT" (an IPv4 address or a name, then a port 0..65535; 0: any free port).
// Returns an empty string on success, else what is wrong.
std::string split_host_port(std::string_view text, std::string& host, std::uint16_t& port);

// Checks what single flags cannot (combinations, policy names). Empty on success.
std::string validate(const serve_options& o);

// Parses argv (with --config applied first). Returns -1 to go on, else an exit code (0 after
// --help, 2 after an error, which has been printed as one line).
int parse_serve_options(int argc, char** argv, serve_options& o);

}  // namespace aladdin::node
