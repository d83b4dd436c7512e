#pragma once
// The provisioner's bookkeeping, and the two provisioners built on it. Plain C++: the
// provisioner actor (actors/caf/provisioner_actor.cpp) drives one worker_provisioner, feeding
// it the planner's target and what placement tells it (registered, lost, idle), and passes on
// to placement the orders that come back (drain, retire).
//
// fleet_roster: which workers the node has asked for, which registered, and what to do to
// reach the planned count.
//
//   local   the node starts workers itself. Fewer live workers than the target: launch new
//           ones (names <prefix>-<n>, never reused). More: drain the newest; a draining worker
//           that has nothing left is retired. A launched worker that does not register within
//           the start-up timeout is killed and replaced; after `max_failures` launches in a row
//           die before registering, launching stops (the command line is wrong, and retrying
//           forever would only hide it).
//   static  the workers are someone else's: the roster waits for the given names and starts,
//           drains or kills nothing.
//
// Workers known from a previous run (the registry, after a restart) are expected back under
// their names, like launched ones, for the start-up timeout.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/node/node_log.hpp"
#include "actors/node/node_stats.hpp"
#include "actors/node/process_launcher.hpp"

namespace aladdin::node {

enum class member_state : std::uint8_t { launching, active, draining, retired, gone };
const char* to_string(member_state s);

struct roster_action {
  enum class kind : std::uint8_t { launch, drain, retire, kill } what;
  std::string name;
  friend bool operator==(const roster_action&, const roster_action&) = default;
};

class fleet_roster {
 public:
  // local when `can_launch`; static otherwise, expecting `expected`.
  fleet_roster(std::string prefix, bool can_launch, double startup_timeout_s,
               std::vector<std::string> expected = {}, int max_failures = 5);

  void set_target(int workers) { target_ = workers; }
  int target() const { return target_; }

  // A worker from a previous run that should come back by itself.
  void expect(const std::string& name, double now_s);
  void launched(const std::string& name, double now_s);
  void registered(const std::string& name, double now_s);
  void lost(const std::string& name);
  void idle(const std::string& name);    // draining and empty
  void exited(const std::string& name);  // its process ended

  std::vector<roster_action> reconcile(double now_s);

  int live() const;  // launching or active
  int count(member_state s) const;
  bool knows(const std::string& name) const { return members_.count(name) != 0; }
  member_state state(const std::string& name) const;
  bool gave_up() const { return failures_ >= max_failures_; }

 private:
  struct member {
    member_state state = member_state::launching;
    double since_s = 0;
    bool ours = false;  // launched by this node (its process can be killed)
    std::uint64_t order = 0;
  };
  std::string next_name();

  std::string prefix_;
  bool can_launch_;
  double startup_timeout_s_;
  int max_failures_;
  int target_ = 0;
  int failures_ = 0;
  std::uint64_t next_index_ = 1;
  std::uint64_t order_ = 0;
  std::map<std::string, member> members_;
};

// ---- the provisioners ------------------------------------------------------------------------
// What placement must do for the provisioner.
struct fleet_order {
  enum class kind : std::uint8_t { drain, retire } what;
  std::string name;
  friend bool operator==(const fleet_order&, const fleet_order&) = default;
};

// One kind of fleet, behind the interface the provisioner actor drives. Every `now_s` is the
// actor's wall clock in seconds (virtual in the actor tests).
class worker_provisioner {
 public:
  virtual ~worker_provisioner() = default;
  // Once, when the actor starts.
  virtual void start(double now_s) = 0;
  // The planner's target.
  virtual void set_target(int workers) = 0;
  // What placement saw.
  void registered(const std::string& name, double now_s) { roster_.registered(name, now_s); }
  virtual void lost(const std::string& name) { roster_.lost(name); }
  void idle(const std::string& name) { roster_.idle(name); }  // draining and empty
  // Moves the fleet toward the target; what placement must do for that.
  virtual std::vector<fleet_order> reconcile(double now_s) = 0;

  provisioner_stats stats() const;
  const fleet_roster& roster() const { return roster_; }

 protected:
  explicit worker_provisioner(fleet_roster roster) : roster_(std::move(roster)) {}
  // The roster's drains and retirements, as orders for placement.
  static std::vector<fleet_order> orders_of(const std::vector<roster_action>& actions);
  fleet_roster roster_;
};

// `--provisioner static`: the workers are someone else's. Waits for the named ones, starts,
// drains or kills nothing; its size is its names, whatever the planner says.
class static_fleet final : public worker_provisioner {
 public:
  static_fleet(std::vector<std::string> names, double startup_timeout_s);
  void start(double) override {}
  void set_target(int) override {}
  std::vector<fleet_order> reconcile(double now_s) override;
};

// `--provisioner local`: starts emulated workers as child processes of the node, one per
// launch, reaps them, kills those that do not register in time or stopped beating, terminates
// retired ones, and stops every one it started when it is destroyed (the node stops).
struct local_fleet_options {
  spawn_spec command;     // a worker's command line; `--name <name>` is appended per worker
  std::string log_dir;    // stdout and stderr of each worker in <log_dir>/<name>.log; empty: inherited
  double startup_timeout_s = 60;
  std::vector<std::string> expected_back;  // workers a previous run started: expected under their names
  int max_failures = 5;   // launches in a row that die before registering, before it stops launching
};

class local_fleet final : public worker_provisioner {
 public:
  local_fleet(local_fleet_options options, node_log& log);
  ~local_fleet() override;
  local_fleet(const local_fleet&) = delete;
  local_fleet& operator=(const local_fleet&) = delete;

  void start(double now_s) override;  // expects the workers of a previous run; makes the log folder
  void set_target(int workers) override { roster_.set_target(workers); }
  void lost(const std::string& name) override;  // also kills its process: of no use, make room
  std::vector<fleet_order> reconcile(double now_s) override;

  // The process of a worker it started, while it runs (or until it is reaped).
  std::optional<pid_t> pid_of(const std::string& name) const;

 private:
  void launch(const std::string& name);
  local_fleet_options options_;
  node_log& log_;
  std::map<std::string, child_process> children_;
};

}  // namespace aladdin::node
