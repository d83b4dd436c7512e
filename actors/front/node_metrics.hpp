#pragma once
// The node's counters in the Prometheus text exposition format (version 0.0.4), for `GET
// /metrics` on the front door: one function per source, so that a metrics registry can replace
// them without touching the front door. Names are prefixed `aladdin_`; counters end in
// `_total`.

#include <string>

#include "actors/front/front_door.hpp"
#include "actors/node/node_stats.hpp"

namespace aladdin::node {

std::string prometheus_text(const node_stats& s);
std::string prometheus_text(const front_door_counters& c);

}  // namespace aladdin::node
