#pragma once
// The node's status snapshot (client_channel::status_reply: workers, shapes, KV use, waiting
// queue, the planner's target, recent attainment), built in one place from the actors' counters
// and rendered in one place: as one screen of text (`aladdin status`) and as JSON (the HTTP
// front door's /status, `aladdin status --json`).

#include <string>

#include "actors/node/node_stats.hpp"
#include "schema/client_channel.hpp"

namespace aladdin::node {

client_channel::status_reply status_of(const node_stats& s, const std::string& node_name, const std::string& shape,
                                       bool draining, std::uint64_t request_id = 0);

std::string render_status_text(const client_channel::status_reply& s);
std::string render_status_json(const client_channel::status_reply& s);

}  // namespace aladdin::node
