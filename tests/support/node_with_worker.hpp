#pragma once
// A started control node with one default fake worker registered with it: the set-up of most
// end-to-end tests. The worker stops before the node (members are destroyed in reverse order).

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "actors/caf/control_node.hpp"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"

namespace aladdin::test {

struct node_with_worker {
  node::control_node node;
  std::unique_ptr<fake_worker> worker;

  // `options` should wait for a static worker named as the fake worker ("fake-1" by default).
  explicit node_with_worker(node::serve_options options, fake_worker_options worker_options = {})
      : node(std::move(options)) {
    node.start();
    worker_options.endpoint = node.worker_endpoint();
    worker = std::make_unique<fake_worker>(worker_options);
    worker->start();
    REQUIRE(eventually([&] { return worker->registered(); }));
  }
};

}  // namespace aladdin::test
