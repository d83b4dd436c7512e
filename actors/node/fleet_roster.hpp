#pragma once
// The provisioner's bookkeeping: which workers the node has asked for, which registered, and
// what to do to reach the planned count. Plain C++, driven by the provisioner actor (which
// owns the processes) and by what placement tells it (registered, lost, idle).
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
#include <string>
#include <vector>

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

}  // namespace aladdin::node
