#pragma once
// `--provisioner command`: the operator's own start and stop commands (the seam to Kubernetes,
// Slurm or a cloud API). The node decides when a worker is needed and what it is called, as
// for the local provisioner (fleet_roster); the commands make it exist and go away:
//
//   start  `sh -c <--start-command>` when the roster launches a worker. Exit 0 means "asked
//          for": the worker must then register under its name within --startup-timeout (as a
//          local one must), or it is stopped and replaced.
//   stop   `sh -c <--stop-command>` when the roster retires a worker (drained and empty), kills
//          one (it did not register in time) or placement loses one (no heartbeat).
//
// Each command runs with the worker in its environment, over the node's own:
//   ALADDIN_WORKER_NAME  the name it must register with
//   ALADDIN_MODEL, ALADDIN_GPU, ALADDIN_TP, ALADDIN_SHAPE (model/gpu/tpN)
//   ALADDIN_NODE_ENDPOINT  the node's worker endpoint (`aladdin worker --connect`)
//   ALADDIN_TIME_SCALE   the node's --time-scale (a worker at another is refused)
//   ALADDIN_ACTION       start | stop
// A command that exits non-zero, or runs past --command-timeout (it is killed), is tried again
// up to --command-retries more times, --command-retry-delay apart; then one log line (error)
// names the worker, the command, the attempts and the last exit status, and a start counts as a
// failed launch (after max_failures in a row the roster stops launching). stdout and stderr of
// every run go to <log_dir>/<name>.<action>.log.
//
// Commands run as child processes polled by reconcile(): nothing here blocks the provisioner
// actor. Workers outlive the node (like static ones): a restarted node expects them back.

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/node/fleet_roster.hpp"

namespace aladdin::node {

struct command_fleet_options {
  std::string start_command;
  std::string stop_command;           // empty: nothing runs to stop a worker
  double command_timeout_s = 60;      // wall, per attempt
  int retries = 2;                    // attempts after a failed one
  double retry_delay_s = 1;           // wall
  std::vector<std::pair<std::string, std::string>> env;  // the worker-independent variables
  std::string log_dir;                // empty: the commands' output is inherited
  double startup_timeout_s = 60;
  std::vector<std::string> expected_back;
  int max_failures = 5;
  std::string shell = "/bin/sh";
};

class command_fleet final : public worker_provisioner {
 public:
  command_fleet(command_fleet_options options, node_log& log);
  ~command_fleet() override;
  command_fleet(const command_fleet&) = delete;
  command_fleet& operator=(const command_fleet&) = delete;

  void start(double now_s) override;
  void set_target(int workers) override { roster_.set_target(workers); }
  void lost(const std::string& name) override;  // also runs the stop command
  std::vector<fleet_order> reconcile(double now_s) override;

  // Commands running or waiting for a retry (tests).
  std::size_t pending() const { return jobs_.size(); }

 private:
  enum class action : std::uint8_t { start, stop };
  struct job {
    std::string worker;
    action what = action::start;
    int attempts = 0;          // started so far
    double started_s = 0;      // of the current attempt
    double retry_at_s = -1;    // ≥ 0: waiting to be tried again
    int last_status = 0;
    std::string last_failure;
    std::string spawn_error;   // the shell itself could not be started
    child_process child;
  };
  void run(const std::string& worker, action what, double now_s);
  void attempt(job& j, double now_s);
  // A failed attempt: another one later, or the end of the job. False when the job ends.
  bool failed(job& j, const std::string& why, double now_s);
  static const char* name_of(action a) { return a == action::start ? "start" : "stop"; }

  command_fleet_options options_;
  node_log& log_;
  std::vector<std::unique_ptr<job>> jobs_;
};

}  // namespace aladdin::node
