#pragma once
// The HTTP front door's own series in the Prometheus text exposition format (version 0.0.4),
// appended to the node's (control_node::render_prometheus, actors/node/node_metrics.hpp) on
// `GET /metrics`. Names are prefixed `aladdin_http_` / `aladdin_prompt_`; counters end in
// `_total`.

#include <string>

#include "actors/front/front_door.hpp"

namespace aladdin::node {

std::string prometheus_text(const front_door_counters& c);

}  // namespace aladdin::node
