// The provisioner's decisions alone.

#include <doctest/doctest.h>

#include <algorithm>

#include "actors/node/fleet_roster.hpp"

using namespace aladdin::node;
using kind = roster_action::kind;

namespace {

std::size_t count(const std::vector<roster_action>& actions, kind k) {
  return static_cast<std::size_t>(std::count_if(actions.begin(), actions.end(), [&](const roster_action& a) { return a.what == k; }));
}

}  // namespace

TEST_CASE("fleet roster: local launches up to the target, drains the newest when it drops, retires the idle") {
  fleet_roster r("local", true, 30);
  r.set_target(3);
  auto a = r.reconcile(0);
  REQUIRE(a.size() == 3);
  CHECK(a[0] == roster_action{kind::launch, "local-1"});
  CHECK(a[2] == roster_action{kind::launch, "local-3"});
  CHECK(r.reconcile(1).empty());  // launching counts: nothing more to start
  for (const char* n : {"local-1", "local-2", "local-3"}) r.registered(n, 2);
  CHECK(r.count(member_state::active) == 3);
  r.set_target(1);
  a = r.reconcile(3);
  REQUIRE(a.size() == 2);
  CHECK(a[0] == roster_action{kind::drain, "local-3"});
  CHECK(a[1] == roster_action{kind::drain, "local-2"});
  r.idle("local-3");
  a = r.reconcile(4);
  REQUIRE(a.size() == 1);
  CHECK(a[0] == roster_action{kind::retire, "local-3"});
  CHECK(r.live() == 1);
}

TEST_CASE("fleet roster: a lost worker is replaced under a fresh name") {
  fleet_roster r("local", true, 30);
  r.set_target(1);
  (void)r.reconcile(0);
  r.registered("local-1", 1);
  r.lost("local-1");
  const auto a = r.reconcile(2);
  REQUIRE(a.size() == 1);
  CHECK(a[0] == roster_action{kind::launch, "local-2"});
}

TEST_CASE("fleet roster: a worker that does not register in time is killed and replaced, until launching gives up") {
  fleet_roster r("local", true, 10, {}, 3);
  r.set_target(1);
  CHECK(count(r.reconcile(0), kind::launch) == 1);
  auto a = r.reconcile(11);
  CHECK(count(a, kind::kill) == 1);
  CHECK(count(a, kind::launch) == 1);
  r.exited("local-2");  // died at once
  a = r.reconcile(12);
  CHECK(count(a, kind::launch) == 1);
  r.exited("local-3");
  CHECK(r.gave_up());
  CHECK(r.reconcile(13).empty());
}

TEST_CASE("fleet roster: workers of a previous run are expected back, and numbering continues above them") {
  fleet_roster r("local", true, 10);
  r.expect("local-4", 0);
  r.set_target(2);
  auto a = r.reconcile(0);
  REQUIRE(a.size() == 1);
  CHECK(a[0] == roster_action{kind::launch, "local-5"});
  r.registered("local-4", 1);
  CHECK(r.state("local-4") == member_state::active);
}

TEST_CASE("fleet roster: static waits for its names and starts or stops nothing") {
  fleet_roster r("local", false, 10, {"a", "b"});
  CHECK(r.target() == 2);
  r.set_target(5);
  CHECK(r.reconcile(0).empty());
  r.registered("a", 1);
  CHECK(r.count(member_state::active) == 1);
  CHECK(r.reconcile(20).empty());  // b is late: given up on, but never killed
  CHECK(r.state("b") == member_state::gone);
}
