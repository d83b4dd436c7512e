// The command provisioner (actors/node/command_fleet.hpp) without CAF: shell commands that write
// files stand in for an operator's start and stop hooks. Time is the reconcile's `now_s`
// (virtual); the commands are real processes, waited for by polling reconcile until they end.

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "actors/node/command_fleet.hpp"
#include "tests/support/node_fixtures.hpp"

using namespace aladdin;
using namespace aladdin::node;
using aladdin::test::eventually;
using aladdin::test::temp_dir;

namespace {

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t lines_of(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A log that keeps what it prints.
struct captured_log {
  std::FILE* file = std::tmpfile();
  node_log log{"serve", file};
  captured_log() { log.set_level(node_log::level::debug); }
  ~captured_log() { std::fclose(file); }
  std::string text() const {
    std::fflush(file);
    std::rewind(file);
    std::string out;
    char buf[512];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, file)) out.append(buf, n);
    return out;
  }
};

command_fleet_options options_in(const temp_dir& dir) {
  command_fleet_options o;
  o.env = {{"ALADDIN_MODEL", "llama2-70b"}, {"ALADDIN_GPU", "a100-80gb"}, {"ALADDIN_TP", "4"},
           {"ALADDIN_SHAPE", "llama2-70b/a100-80gb/tp4"}, {"ALADDIN_NODE_ENDPOINT", "tcp://127.0.0.1:5556"},
           {"ALADDIN_TIME_SCALE", "1"}};
  o.log_dir = dir.str() + "/workers";
  o.retry_delay_s = 0;
  return o;
}

// Reconciles at `now_s` until every command has ended.
bool settle(command_fleet& f, double now_s) {
  return eventually([&] {
    f.reconcile(now_s);
    return f.pending() == 0;
  });
}

}  // namespace

TEST_CASE("command provisioner: start commands run per worker with the worker in the environment; stop on retire") {
  temp_dir dir("command-fleet");
  const std::string started = dir.str() + "/started", stopped = dir.str() + "/stopped";
  command_fleet_options o = options_in(dir);
  o.start_command = "echo \"$ALADDIN_ACTION $ALADDIN_WORKER_NAME $ALADDIN_SHAPE $ALADDIN_NODE_ENDPOINT $ALADDIN_TP\" >> " + started;
  o.stop_command = "echo \"$ALADDIN_ACTION $ALADDIN_WORKER_NAME\" >> " + stopped;
  captured_log log;
  command_fleet f(o, log.log);
  f.start(0);
  f.set_target(2);
  REQUIRE(settle(f, 0));
  const std::string s = read_all(started);
  CHECK(s.find("start worker-1 llama2-70b/a100-80gb/tp4 tcp://127.0.0.1:5556 4\n") != std::string::npos);
  CHECK(s.find("start worker-2 llama2-70b/a100-80gb/tp4 tcp://127.0.0.1:5556 4\n") != std::string::npos);
  CHECK(lines_of(s) == 2);
  CHECK(f.stats().launching == 2);
  CHECK(log.text().find("worker worker-1: start command done") != std::string::npos);

  // Registered, then one too many: the newest drains, and once idle it is retired and stopped.
  f.registered("worker-1", 1);
  f.registered("worker-2", 1);
  f.set_target(1);
  const auto orders = f.reconcile(2);
  REQUIRE(orders.size() == 1);
  CHECK(orders[0] == fleet_order{fleet_order::kind::drain, "worker-2"});
  f.idle("worker-2");
  const auto retire = f.reconcile(3);
  REQUIRE(retire.size() == 1);
  CHECK(retire[0] == fleet_order{fleet_order::kind::retire, "worker-2"});
  REQUIRE(settle(f, 3));
  CHECK(read_all(stopped) == "stop worker-2\n");

  // A lost worker is stopped too (whatever the start command acquired is released).
  f.lost("worker-1");
  REQUIRE(settle(f, 4));
  CHECK(read_all(stopped) == "stop worker-2\nstop worker-1\n");
}

TEST_CASE("command provisioner: a failing start command is retried, then one error line, and the launch counts as failed") {
  temp_dir dir("command-fail");
  const std::string attempts = dir.str() + "/attempts";
  command_fleet_options o = options_in(dir);
  o.start_command = "echo try >> " + attempts + "; echo 'quota exceeded' >&2; exit 3";
  o.retries = 2;
  o.max_failures = 1;
  captured_log log;
  command_fleet f(o, log.log);
  f.start(0);
  f.set_target(1);
  REQUIRE(settle(f, 0));
  CHECK(lines_of(read_all(attempts)) == 3);  // the first and two retries
  const std::string text = log.text();
  CHECK(text.find("worker worker-1: start command exited with status 3 (attempt 1 of 3); trying again") != std::string::npos);
  CHECK(text.find(" error serve: worker worker-1: start command failed after 3 attempts: exited with status 3") != std::string::npos);
  CHECK(read_all(dir.str() + "/workers/worker-1.start.log").find("quota exceeded") != std::string::npos);
  // One failure is max_failures here: the roster stops launching instead of retrying forever.
  CHECK(f.roster().gave_up());
  f.reconcile(1);
  CHECK(f.pending() == 0);
  CHECK(lines_of(read_all(attempts)) == 3);
}

TEST_CASE("command provisioner: a command past its timeout is killed and counted as failed") {
  temp_dir dir("command-timeout");
  command_fleet_options o = options_in(dir);
  o.start_command = "exec sleep 600";
  o.command_timeout_s = 5;
  o.retries = 0;
  o.max_failures = 1;  // no replacement launch after the failure
  captured_log log;
  command_fleet f(o, log.log);
  f.start(0);
  f.set_target(1);
  f.reconcile(0);
  CHECK(f.pending() == 1);
  f.reconcile(4);  // within the timeout: still running
  CHECK(f.pending() == 1);
  f.reconcile(6);
  CHECK(f.pending() == 0);
  CHECK(log.text().find("start command failed after 1 attempts: timed out after 5 s (killed)") != std::string::npos);
}
