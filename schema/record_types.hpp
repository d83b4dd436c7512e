#pragma once
// What the state store holds, as plain C++ (no Cap'n Proto here): the worker registry, plans and
// the journal of accepted queries. Models, GPU types and fitted worker profiles are the core's
// own structs (model/hardware.hpp, model/latency_model.hpp). record_codec.hpp converts all of
// them to and from their persisted records (records.capnp).
//
// Times are microseconds on the control plane's clock, passed in by the caller: the store never
// reads a clock.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/latency_model.hpp"
#include "placement/types.hpp"

namespace aladdin {

enum class worker_state : std::uint8_t { starting, active, draining, gone };
std::string_view to_string(worker_state s);

// One worker of the fleet, as registered. `shape` names its configuration (model, GPU, TP); the
// fitted coefficients live in the worker-config records, keyed by that shape.
struct worker_record {
  worker_id id;
  std::string name;
  worker_config shape;
  std::string endpoint;
  worker_state state = worker_state::starting;
  std::uint64_t registered_epoch = 0;

  friend bool operator==(const worker_record&, const worker_record&) = default;
};

struct shape_target {
  worker_config shape;
  std::uint32_t workers = 0;

  friend bool operator==(const shape_target&, const shape_target&) = default;
};

// A fleet plan: how many workers of each shape, decided at one epoch. Epochs only grow.
struct plan_record {
  std::uint64_t epoch = 0;
  std::uint64_t created_micros = 0;
  std::vector<shape_target> targets;
  std::uint32_t predicted_gpus = 0;
  std::string note;

  friend bool operator==(const plan_record&, const plan_record&) = default;
};

// accepted → dispatched (→ dispatched again after a worker loss) → finished | failed.
enum class journal_state : std::uint8_t { accepted, dispatched, finished, failed };
std::string_view to_string(journal_state s);

enum class failure_reason : std::uint8_t {
  worker_lost,
  engine_rejected,
  cancelled,
  deadline_exceeded,
  shutting_down,
  internal,
  unschedulable,  // no worker of the fleet could ever hold it
};
std::string_view to_string(failure_reason r);

struct finish_info {
  std::uint32_t output_tokens = 0;
  std::uint64_t finished_micros = 0;
  std::uint64_t ttft_micros = 0;
  std::uint64_t atgt_micros = 0;

  friend bool operator==(const finish_info&, const finish_info&) = default;
};

struct failure_info {
  failure_reason reason = failure_reason::internal;
  std::string detail;
  std::uint64_t failed_micros = 0;

  friend bool operator==(const failure_info&, const failure_info&) = default;
};

// What an HTTP client asked, kept with its query so that a recovered query can be placed again
// with its text (the worker channel's EngineRequest, as a record of its own).
enum class request_api : std::uint8_t { none, completions, chat_completions };
struct stored_request {
  request_api api = request_api::none;  // none: a token-count client; body empty
  std::string body;                     // the JSON body as the node validated it

  friend bool operator==(const stored_request&, const stored_request&) = default;
};

// One accepted query. `finish` is meaningful only when finished, `failure` only when failed,
// `worker` once dispatched.
struct journal_entry {
  query_id id;
  std::string client_id;
  std::uint64_t client_query_id = 0;
  std::string model;
  std::uint32_t prompt_tokens = 0;
  std::uint32_t max_output_tokens = 0;  // 0 = unknown
  std::uint64_t ttft_slo_micros = 0;
  std::uint64_t atgt_slo_micros = 0;
  std::uint64_t accepted_micros = 0;
  // Assigned by the store on accept: the order in which queries were accepted, which need not
  // be id order when ids are allocated ahead of acceptance by several callers.
  std::uint64_t accept_seq = 0;
  journal_state state = journal_state::accepted;
  worker_id worker;
  finish_info finish;
  failure_info failure;
  stored_request request;

  bool ended() const { return state == journal_state::finished || state == journal_state::failed; }
  friend bool operator==(const journal_entry&, const journal_entry&) = default;
};

}  // namespace aladdin
