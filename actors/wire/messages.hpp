#pragma once
// The node's own vocabulary around the two channels: who a peer is, what the bridge hands to the
// actors, and what the actors hand back to be sent. The messages themselves are the channel
// modules' plain structs (schema/client_channel.hpp, schema/worker_channel.hpp); actors never
// see Cap'n Proto: decoding happens once, on the bridge thread, with the codec's limits;
// encoding happens there too, where the per-connection sequence numbers live.

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "schema/client_channel.hpp"
#include "schema/worker_channel.hpp"

namespace aladdin::node {

// The ZeroMQ routing id of a peer (bytes, not text). Clients choose theirs; it is journaled so
// that replies reach a client that reconnects with the same id.
using routing_id = std::string;

enum class channel : std::uint8_t { client, worker };

// A submission together with the client it came from.
struct client_submit {
  routing_id client;
  client_channel::submit_query query;
  // What an HTTP client asked (the front door fills it; a Cap'n Proto client sends token
  // counts only: api none). Journaled with the query and sent to the worker in AssignQuery.
  worker_channel::engine_request request;
};

// What a worker sends once registered, as the actors see it. query_text (the generated text of
// a query whose client sent text) goes to the node's text relay (actors/node/text_relay.hpp).
using worker_event = std::variant<worker_channel::heartbeat, worker_channel::first_token,
                                  worker_channel::query_completed, worker_channel::engine_rejected,
                                  worker_channel::query_text>;

// One frame for the bridge to send.
struct outbound_frame {
  channel to = channel::client;
  routing_id peer;
  std::variant<client_channel::message, worker_channel::message> message;

  static outbound_frame client(routing_id peer, client_channel::message m) {
    return {channel::client, std::move(peer), std::move(m)};
  }
  static outbound_frame worker(routing_id peer, worker_channel::message m) {
    return {channel::worker, std::move(peer), std::move(m)};
  }
};

}  // namespace aladdin::node
