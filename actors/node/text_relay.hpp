#pragma once
// Where the generated text of a query whose client sent text goes: the node's HTTP front door
// (actors/front/front_door.hpp). Worker proxies call it (worker_tracker) for the queries whose
// ticket carries a request, in the order their worker sent, on the proxies' threads: an
// implementation must be thread-safe and must not block. Keyed by the node's query id (the
// front door learns it from queryAccepted, which always comes first).

#include "placement/types.hpp"
#include "schema/worker_channel.hpp"

namespace aladdin::node {

class text_relay {
 public:
  virtual ~text_relay() = default;
  // A chunk of the query's text, as the worker sent it (duplicates and gaps are the
  // receiver's to notice by seq).
  virtual void text(query_id q, const worker_channel::query_text& chunk) = 0;
  // The engine's account of a finished query (finish reason, its prompt count), after the
  // journal has it and before the client's queryFinished frame is posted.
  virtual void completed(query_id q, const worker_channel::query_completed& done) = 0;
};

}  // namespace aladdin::node
