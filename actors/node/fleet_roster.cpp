#include "actors/node/fleet_roster.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace aladdin::node {

const char* to_string(member_state s) {
  switch (s) {
    case member_state::launching: return "launching";
    case member_state::active: return "active";
    case member_state::draining: return "draining";
    case member_state::retired: return "retired";
    case member_state::gone: return "gone";
  }
  return "unknown";
}

fleet_roster::fleet_roster(std::string prefix, bool can_launch, double startup_timeout_s,
                           std::vector<std::string> expected, int max_failures)
    : prefix_(std::move(prefix)),
      can_launch_(can_launch),
      startup_timeout_s_(startup_timeout_s),
      max_failures_(max_failures) {
  for (const auto& n : expected) expect(n, 0);
  if (!can_launch_) target_ = static_cast<int>(expected.size());
}

std::string fleet_roster::next_name() {
  std::string name;
  do {
    name = prefix_ + "-" + std::to_string(next_index_++);
  } while (members_.count(name) != 0);
  return name;
}

void fleet_roster::expect(const std::string& name, double now_s) {
  auto& m = members_[name];
  m.state = member_state::launching;
  m.since_s = now_s;
  m.order = ++order_;
  // Keep numbering above names of a previous run ("<prefix>-<n>").
  if (name.rfind(prefix_ + "-", 0) == 0) {
    const std::uint64_t n = std::strtoull(name.c_str() + prefix_.size() + 1, nullptr, 10);
    next_index_ = std::max(next_index_, n + 1);
  }
}

void fleet_roster::launched(const std::string& name, double now_s) {
  auto& m = members_[name];
  m.state = member_state::launching;
  m.since_s = now_s;
  m.ours = true;
  m.order = ++order_;
}

void fleet_roster::registered(const std::string& name, double now_s) {
  auto& m = members_[name];
  if (m.order == 0) m.order = ++order_;  // a worker nobody asked for (static: an extra)
  // A draining worker that re-registers (it reconnected) keeps draining.
  if (m.state != member_state::draining) m.state = member_state::active;
  m.since_s = now_s;
  failures_ = 0;
}

void fleet_roster::lost(const std::string& name) {
  if (auto it = members_.find(name); it != members_.end()) it->second.state = member_state::gone;
}

void fleet_roster::idle(const std::string& name) {
  if (auto it = members_.find(name); it != members_.end() && it->second.state == member_state::draining)
    it->second.state = member_state::retired;
}

void fleet_roster::exited(const std::string& name) {
  auto it = members_.find(name);
  if (it == members_.end()) return;
  if (it->second.state == member_state::launching) ++failures_;
  if (it->second.state != member_state::retired) it->second.state = member_state::gone;
}

member_state fleet_roster::state(const std::string& name) const {
  const auto it = members_.find(name);
  return it == members_.end() ? member_state::gone : it->second.state;
}

int fleet_roster::count(member_state s) const {
  int n = 0;
  for (const auto& [name, m] : members_) n += m.state == s;
  return n;
}

int fleet_roster::live() const { return count(member_state::launching) + count(member_state::active); }

std::vector<roster_action> fleet_roster::reconcile(double now_s) {
  std::vector<roster_action> actions;
  // Late starters: give up on them (and, if ours, kill them) so they can be replaced.
  for (auto& [name, m] : members_) {
    if (m.state != member_state::launching || now_s - m.since_s <= startup_timeout_s_) continue;
    m.state = member_state::gone;
    if (m.ours) {
      ++failures_;
      actions.push_back({roster_action::kind::kill, name});
    }
  }
  // Retired workers are shut down once.
  for (auto& [name, m] : members_) {
    if (m.state != member_state::retired) continue;
    actions.push_back({roster_action::kind::retire, name});
    m.state = member_state::gone;
  }
  if (!can_launch_) return actions;

  int live_now = live();
  while (live_now < target_ && !gave_up()) {
    const std::string name = next_name();
    launched(name, now_s);
    actions.push_back({roster_action::kind::launch, name});
    ++live_now;
  }
  if (live_now > target_) {
    // Newest first: launching ones cost nothing to cancel, and the oldest keep their load.
    std::vector<std::pair<std::uint64_t, std::string>> candidates;
    for (const auto& [name, m] : members_)
      if (m.state == member_state::launching || m.state == member_state::active)
        candidates.emplace_back(m.order, name);
    std::sort(candidates.rbegin(), candidates.rend());
    for (const auto& [order, name] : candidates) {
      if (live_now <= target_) break;
      auto& m = members_[name];
      if (m.state == member_state::launching) {
        m.state = member_state::gone;
        if (m.ours) actions.push_back({roster_action::kind::kill, name});
      } else {
        m.state = member_state::draining;
        actions.push_back({roster_action::kind::drain, name});
      }
      --live_now;
    }
  }
  return actions;
}

// ---- the provisioners ------------------------------------------------------------------------
provisioner_stats worker_provisioner::stats() const {
  return {roster_.target(), roster_.count(member_state::launching), roster_.count(member_state::active),
          roster_.count(member_state::draining)};
}

std::vector<fleet_order> worker_provisioner::orders_of(const std::vector<roster_action>& actions) {
  std::vector<fleet_order> orders;
  for (const auto& a : actions) {
    if (a.what == roster_action::kind::drain) orders.push_back({fleet_order::kind::drain, a.name});
    if (a.what == roster_action::kind::retire) orders.push_back({fleet_order::kind::retire, a.name});
  }
  return orders;
}

static_fleet::static_fleet(std::vector<std::string> names, double startup_timeout_s)
    : worker_provisioner(fleet_roster("local", false, startup_timeout_s, std::move(names))) {}

std::vector<fleet_order> static_fleet::reconcile(double now_s) { return orders_of(roster_.reconcile(now_s)); }

local_fleet::local_fleet(local_fleet_options options, node_log& log)
    : worker_provisioner(fleet_roster("local", true, options.startup_timeout_s, {}, options.max_failures)),
      options_(std::move(options)),
      log_(log) {}

local_fleet::~local_fleet() {
  // The node is stopping: ask every worker we started to stop, then make sure.
  for (auto& [worker, c] : children_) c.terminate();
  for (auto& [worker, c] : children_) c.stop(std::chrono::milliseconds(2000));
}

void local_fleet::start(double now_s) {
  for (const auto& name : options_.expected_back) roster_.expect(name, now_s);
  if (!options_.log_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.log_dir, ec);
  }
}

void local_fleet::lost(const std::string& name) {
  roster_.lost(name);
  // A worker that stopped beating but still runs is of no use: make room for another.
  if (auto it = children_.find(name); it != children_.end()) it->second.kill();
}

void local_fleet::launch(const std::string& name) {
  spawn_spec s = options_.command;
  s.args.push_back("--name");
  s.args.push_back(name);
  if (!options_.log_dir.empty()) s.log_file = options_.log_dir + "/" + name + ".log";
  try {
    children_[name] = child_process::spawn(s);
    log_.info("started worker %s (pid %d)", name.c_str(), children_[name].pid());
  } catch (const std::exception& e) {
    log_.warn("cannot start worker %s: %s", name.c_str(), e.what());
    roster_.exited(name);
  }
}

std::vector<fleet_order> local_fleet::reconcile(double now_s) {
  // Reap what exited.
  for (auto it = children_.begin(); it != children_.end();) {
    if (it->second.running()) {
      ++it;
      continue;
    }
    if (roster_.state(it->first) == member_state::launching)
      log_.warn("worker %s exited (status %d) before registering", it->first.c_str(),
                it->second.exit_status().value_or(-1));
    roster_.exited(it->first);
    it = children_.erase(it);
  }
  const bool gave_up = roster_.gave_up();
  const std::vector<roster_action> actions = roster_.reconcile(now_s);
  for (const auto& a : actions) {
    auto child = children_.find(a.name);
    switch (a.what) {
      case roster_action::kind::launch: launch(a.name); break;
      case roster_action::kind::retire:
        if (child != children_.end()) child->second.terminate();
        break;
      case roster_action::kind::kill:
        if (child != children_.end()) child->second.kill();
        break;
      case roster_action::kind::drain: break;  // placement's to do
    }
  }
  if (!gave_up && roster_.gave_up())
    log_.warn("workers keep failing to start; not starting more (see %s)", options_.log_dir.c_str());
  return orders_of(actions);
}

std::optional<pid_t> local_fleet::pid_of(const std::string& name) const {
  const auto it = children_.find(name);
  if (it == children_.end()) return std::nullopt;
  return it->second.pid();
}

}  // namespace aladdin::node
