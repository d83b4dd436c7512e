#include "actors/node/command_fleet.hpp"

#include <algorithm>
#include <filesystem>

namespace aladdin::node {

command_fleet::command_fleet(command_fleet_options options, node_log& log)
    : worker_provisioner(fleet_roster("worker", true, options.startup_timeout_s, {}, options.max_failures)),
      options_(std::move(options)),
      log_(log) {}

command_fleet::~command_fleet() {
  // Commands still running when the node stops are stopped with it (child_process kills and
  // reaps); the workers they started are not: they outlive the node.
  for (auto& j : jobs_)
    if (j->child.valid() && j->child.running())
      log_.warn("worker %s: %s command still running at shutdown, killed", j->worker.c_str(), name_of(j->what));
}

void command_fleet::start(double now_s) {
  for (const auto& name : options_.expected_back) roster_.expect(name, now_s);
  if (!options_.log_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.log_dir, ec);
  }
}

void command_fleet::lost(const std::string& name) {
  roster_.lost(name);
  // The worker stopped beating: release whatever the start command acquired.
  run(name, action::stop, -1);
}

void command_fleet::run(const std::string& worker, action what, double now_s) {
  if (what == action::stop && options_.stop_command.empty()) return;
  auto j = std::make_unique<job>();
  j->worker = worker;
  j->what = what;
  // now_s < 0 (from lost(), which has no clock): the next reconcile starts it.
  j->retry_at_s = now_s < 0 ? 0 : -1;
  if (now_s >= 0) attempt(*j, now_s);
  jobs_.push_back(std::move(j));
}

void command_fleet::attempt(job& j, double now_s) {
  ++j.attempts;
  j.started_s = now_s;
  j.retry_at_s = -1;
  spawn_spec s;
  s.program = options_.shell;
  s.args = {"-c", j.what == action::start ? options_.start_command : options_.stop_command};
  s.env = options_.env;
  s.env.emplace_back("ALADDIN_WORKER_NAME", j.worker);
  s.env.emplace_back("ALADDIN_ACTION", name_of(j.what));
  if (!options_.log_dir.empty()) s.log_file = options_.log_dir + "/" + j.worker + "." + name_of(j.what) + ".log";
  try {
    j.child = child_process::spawn(s);
    log_.debug("worker %s: %s command, attempt %d (pid %d)", j.worker.c_str(), name_of(j.what), j.attempts, j.child.pid());
  } catch (const std::exception& e) {
    j.child = child_process{};
    j.spawn_error = e.what();  // failed() decides on the next reconcile
  }
}

bool command_fleet::failed(job& j, const std::string& why, double now_s) {
  j.last_failure = why;
  if (j.attempts <= options_.retries) {
    log_.warn("worker %s: %s command %s (attempt %d of %d); trying again in %g s", j.worker.c_str(), name_of(j.what),
              why.c_str(), j.attempts, options_.retries + 1, options_.retry_delay_s);
    j.retry_at_s = now_s + options_.retry_delay_s;
    return true;
  }
  const std::string log_hint = options_.log_dir.empty() ? std::string{} : ", output in " + options_.log_dir + "/" + j.worker + "." + name_of(j.what) + ".log";
  log_.error("worker %s: %s command failed after %d attempts: %s (command: %s%s)", j.worker.c_str(), name_of(j.what),
             j.attempts, why.c_str(), j.what == action::start ? options_.start_command.c_str() : options_.stop_command.c_str(),
             log_hint.c_str());
  if (j.what == action::start) roster_.exited(j.worker);  // a failed launch: the roster replaces it
  return false;
}

std::vector<fleet_order> command_fleet::reconcile(double now_s) {
  // The commands: finished, timed out, or due for another attempt.
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    job& j = **it;
    bool keep = true;
    if (j.retry_at_s >= 0) {
      if (j.retry_at_s <= now_s) attempt(j, now_s);
    } else if (!j.child.valid()) {
      keep = failed(j, "could not be started: " + j.spawn_error, now_s);
    } else if (!j.child.running()) {
      const int status = j.child.exit_status().value_or(-1);
      j.last_status = status;
      if (status == 0) {
        log_.info("worker %s: %s command done", j.worker.c_str(), name_of(j.what));
        keep = false;
      } else {
        keep = failed(j, "exited with status " + std::to_string(status), now_s);
      }
    } else if (now_s - j.started_s > options_.command_timeout_s) {
      j.child.kill();
      (void)j.child.wait_for(std::chrono::milliseconds(1000));
      char why[96];
      std::snprintf(why, sizeof why, "timed out after %g s (killed)", options_.command_timeout_s);
      keep = failed(j, why, now_s);
    }
    it = keep ? std::next(it) : jobs_.erase(it);
  }
  const std::vector<roster_action> actions = roster_.reconcile(now_s);
  for (const auto& a : actions) {
    switch (a.what) {
      case roster_action::kind::launch: run(a.name, action::start, now_s); break;
      case roster_action::kind::retire:
      case roster_action::kind::kill: run(a.name, action::stop, now_s); break;
      case roster_action::kind::drain: break;  // placement's to do
    }
  }
  return orders_of(actions);
}

}  // namespace aladdin::node
