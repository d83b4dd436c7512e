// The two provisioners (actors/node/fleet_roster.hpp) without CAF — local_fleet with real child
// processes (a shell standing in for `aladdin worker`), static_fleet — and the provisioner
// actor that drives one, on the deterministic scheduler.

#include <doctest/doctest.h>

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/actor/actor_fixture.hpp"
#include "tests/support/node_fixtures.hpp"

using namespace aladdin;
using namespace aladdin::node;
using aladdin::test::actor_fixture;
using aladdin::test::eventually;
using aladdin::test::temp_dir;
using order = fleet_order::kind;

namespace {

// A worker that prints its arguments and runs until it is stopped.
spawn_spec stays_up() { return {"/bin/sh", {"-c", "echo \"$@\"; exec sleep 600", "sh"}, "", false, {}}; }

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

struct quiet_log : node_log {
  quiet_log() { set_level(level::quiet); }
};

}  // namespace

TEST_CASE("local fleet: one process per launch, named and logged; drains the newest, retires and stops the idle") {
  temp_dir dir("local-fleet");
  quiet_log log;
  local_fleet_options o;
  o.command = stays_up();
  o.log_dir = dir.str() + "/workers";
  local_fleet fleet(o, log);
  fleet.start(0);
  CHECK(std::filesystem::is_directory(o.log_dir));

  fleet.set_target(2);
  CHECK(fleet.reconcile(0).empty());  // launches are the fleet's own business
  REQUIRE(fleet.pid_of("local-1"));
  REQUIRE(fleet.pid_of("local-2"));
  CHECK(fleet.stats().target == 2);
  CHECK(fleet.stats().launching == 2);
  // Each got the command line with its name appended, its output in its own log file.
  CHECK(eventually([&] { return read_all(o.log_dir + "/local-1.log").find("--name local-1") != std::string::npos; }));
  CHECK(eventually([&] { return read_all(o.log_dir + "/local-2.log").find("--name local-2") != std::string::npos; }));

  fleet.registered("local-1", 1);
  fleet.registered("local-2", 1);
  CHECK(fleet.stats().active == 2);
  fleet.set_target(1);
  CHECK(fleet.reconcile(2) == std::vector<fleet_order>{{order::drain, "local-2"}});
  CHECK(fleet.stats().draining == 1);
  fleet.idle("local-2");
  CHECK(fleet.reconcile(3) == std::vector<fleet_order>{{order::retire, "local-2"}});
  // Retired: its process was asked to stop, and is reaped by a later round.
  CHECK(eventually([&] {
    (void)fleet.reconcile(4);
    return !fleet.pid_of("local-2");
  }));
  CHECK(fleet.pid_of("local-1"));
  CHECK(fleet.stats().active == 1);
}

TEST_CASE("local fleet: a lost worker's process is killed and a fresh one started; the rest stop with the fleet") {
  temp_dir dir("local-fleet-lost");
  quiet_log log;
  local_fleet_options o;
  o.command = stays_up();
  o.log_dir = dir.str();
  pid_t second = 0;
  {
    local_fleet fleet(o, log);
    fleet.start(0);
    fleet.set_target(1);
    (void)fleet.reconcile(0);
    REQUIRE(fleet.pid_of("local-1"));
    const pid_t first = *fleet.pid_of("local-1");
    fleet.registered("local-1", 1);
    fleet.lost("local-1");  // stopped beating, still runs: of no use
    CHECK(fleet.reconcile(2).empty());
    REQUIRE(fleet.pid_of("local-2"));
    second = *fleet.pid_of("local-2");
    CHECK(eventually([&] {
      (void)fleet.reconcile(3);
      return !fleet.pid_of("local-1");
    }));
    CHECK_FALSE(process_exists(first));
    CHECK(process_exists(second));
  }
  CHECK_FALSE(process_exists(second));  // the node stopped: so did the workers it started
}

TEST_CASE("local fleet: a command that cannot start stops launching after max_failures in a row") {
  quiet_log log;
  local_fleet_options o;
  o.command = {"/nonexistent/aladdin", {"worker"}, "", false, {}};
  o.max_failures = 3;
  local_fleet fleet(o, log);
  fleet.start(0);
  fleet.set_target(1);
  for (int round = 0; round < 5; ++round) CHECK(fleet.reconcile(round).empty());
  CHECK(fleet.roster().gave_up());
  CHECK(fleet.roster().knows("local-3"));
  CHECK_FALSE(fleet.roster().knows("local-4"));
  CHECK(fleet.stats().launching == 0);
}

TEST_CASE("local fleet: workers of a previous run are expected back under their names") {
  quiet_log log;
  local_fleet_options o;
  o.command = {"/nonexistent/aladdin", {"worker"}, "", false, {}};
  o.expected_back = {"local-7"};
  local_fleet fleet(o, log);
  fleet.start(10);
  CHECK(fleet.roster().state("local-7") == member_state::launching);
  fleet.registered("local-7", 11);
  fleet.set_target(1);
  CHECK(fleet.reconcile(12).empty());
  CHECK(fleet.stats().active == 1);
  CHECK_FALSE(fleet.pid_of("local-7"));  // not this node's child: nothing to reap or kill
}

TEST_CASE("static fleet: waits for its names, whatever the target, and orders nothing") {
  static_fleet fleet({"a", "b"}, 10);
  fleet.start(0);
  fleet.set_target(5);
  CHECK(fleet.stats().target == 2);
  CHECK(fleet.reconcile(0).empty());
  fleet.registered("a", 1);
  CHECK(fleet.stats().active == 1);
  fleet.lost("a");
  CHECK(fleet.stats().active == 0);
  CHECK(fleet.reconcile(100).empty());
}

namespace {

// A fleet that answers the next reconcile with the orders a test gives it.
class scripted_fleet final : public worker_provisioner {
 public:
  explicit scripted_fleet(std::vector<fleet_order>* next) : worker_provisioner(fleet_roster("local", false, 10)), next_(next) {}
  void start(double) override {}
  void set_target(int workers) override { roster_.set_target(workers); }
  std::vector<fleet_order> reconcile(double) override { return std::exchange(*next_, {}); }

 private:
  std::vector<fleet_order>* next_;
};

struct placement_calls {
  std::vector<std::string> drained, retired;
};

caf::behavior placement_recorder(caf::event_based_actor*, placement_calls* into) {
  return {
      [=](drain_request& r) { into->drained.push_back(r.name); },
      [=](retire_request& r) { into->retired.push_back(r.name); },
  };
}

}  // namespace

TEST_CASE("provisioner actor: passes the target and placement's events on, and the fleet's orders to placement") {
  actor_fixture f;
  placement_calls calls;
  std::vector<fleet_order> next;
  auto placement = f.keep(f.sys.spawn(placement_recorder, &calls));
  auto provisioner = f.keep(spawn_provisioner(f.sys, f.services.log, std::make_unique<scripted_fleet>(&next), placement));
  f.run();
  next = {{order::drain, "w2"}, {order::retire, "w3"}};
  caf::anon_send(provisioner, target_msg{3});
  f.run();
  CHECK(calls.drained == std::vector<std::string>{"w2"});
  CHECK(calls.retired == std::vector<std::string>{"w3"});
  caf::anon_send(provisioner, roster_event{roster_event::kind::registered, "w1"});
  f.run();
  const auto s = f.stats_of<provisioner_stats>(provisioner);
  CHECK(s.target == 3);
  CHECK(s.active == 1);
  // The tick reconciles too, without any message from outside.
  next = {{order::drain, "w1"}};
  f.advance(std::chrono::milliseconds(500));
  CHECK(calls.drained == std::vector<std::string>{"w2", "w1"});
}
