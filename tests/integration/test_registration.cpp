// Registration with a control node over real ZeroMQ: workers the node must not take are refused
// with the reason, and the worker it waits for still registers.

#include <doctest/doctest.h>

#include <string>

#include "actors/caf/control_node.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"

using namespace aladdin;
using namespace aladdin::test;

namespace {

fake_worker_options worker_named(const std::string& name, const std::string& endpoint, double time_scale = 1) {
  fake_worker_options o;
  o.name = name;
  o.endpoint = endpoint;
  o.time_scale = time_scale;
  return o;
}

}  // namespace

TEST_CASE("control node, static provisioner: a worker not in --static-workers, or at another --time-scale, is refused with why") {
  temp_dir dir("registration");
  node::serve_options o = loopback_node(dir.str(), "gpu-a,gpu-b");
  o.time_scale = 10;
  node::control_node n(o);
  n.start();

  fake_worker stranger(worker_named("gpu-c", n.worker_endpoint(), 10));
  stranger.start();
  REQUIRE(eventually([&] { return !stranger.last_error().empty(); }));
  CHECK(stranger.last_error().find("'gpu-c' is not one of this node's --static-workers (gpu-a,gpu-b)") !=
        std::string::npos);
  CHECK_FALSE(stranger.registered());

  fake_worker slow(worker_named("gpu-a", n.worker_endpoint(), 1));
  slow.start();
  REQUIRE(eventually([&] { return !slow.last_error().empty(); }));
  CHECK(slow.last_error().find("time scale 1 and this node at 10") != std::string::npos);
  CHECK(slow.last_error().find("--time-scale 10") != std::string::npos);
  CHECK_FALSE(slow.registered());

  fake_worker expected(worker_named("gpu-b", n.worker_endpoint(), 10));
  expected.start();
  CHECK(eventually([&] { return expected.registered(); }));
  CHECK(n.stats().workers == 1);
  CHECK_FALSE(stranger.registered());
  expected.stop();
  slow.stop();
  stranger.stop();
}
