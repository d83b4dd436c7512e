#pragma once
// The node's log: the one logger of every aladdin process (src/util/log.hpp), owned by the
// node's context (no global logger), so that two nodes in one test process log differently.

#include "util/log.hpp"

namespace aladdin::node {

using node_log = aladdin::logger;

}  // namespace aladdin::node
