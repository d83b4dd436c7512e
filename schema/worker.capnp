@0x877690b1cadfbfb4;
# Channel: control plane <-> GPU worker. A worker registers, receives assignments and
# cancellations, and reports heartbeats, first tokens, generated text, completions and refusals.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("aladdin::wire::worker");

using Common = import "common.capnp";

struct Envelope {
  header @0 :Common.Header;
  union {
    # worker -> control plane, and its reply
    registerWorker @1 :RegisterWorker;
    registered @2 :Registered;
    # control plane -> worker
    assignQuery @3 :AssignQuery;
    cancelQuery @4 :CancelQuery;
    # worker -> control plane
    heartbeat @5 :Heartbeat;
    firstToken @6 :FirstToken;
    queryCompleted @7 :QueryCompleted;
    queryRejected @8 :QueryRejected;
    # control plane -> worker: lifecycle
    drain @9 :Drain;
    shutdown @10 :Shutdown;
    # either direction: the reply to input that could not be decoded
    error @11 :Common.Error;
    # worker -> control plane: generated text of a query whose assignment carried a request
    queryText @12 :QueryText;
  }
}

struct RegisterWorker {
  workerName @0 :Text;        # stable across restarts of the worker process
  model @1 :Text;
  gpu @2 :Text;
  tp @3 :UInt16;              # GPUs per worker (tensor-parallel degree)
  kvCapacityTokens @4 :UInt64;
  blockSize @5 :UInt32;       # tokens per KV block (heartbeats count blocks)
  timeScale @6 :Float64 = 1.0;  # engine seconds per wall second: 1 for a real GPU, X for an
                                # emulated one sped up X times; must equal the node's
  maxBatchedTokens @7 :UInt32;  # the engine's token budget per iteration with chunked prefill
                                # (vLLM's --max-num-batched-tokens); 0 = prefill-first batching
}

# The id the worker uses from now on, and the plan epoch it was admitted under.
struct Registered {
  workerId @0 :UInt32;
  epoch @1 :UInt64;
}

struct AssignQuery {
  queryId @0 :UInt64;
  promptTokens @1 :UInt32;
  outputTokensHint @2 :UInt32;  # predicted output length; 0 = no prediction
  maxOutputTokens @3 :UInt32;   # hard stop from the client; 0 = the engine's limit
  arrivalMicros @4 :UInt64;
  request @5 :EngineRequest;    # what the client asked, for an engine that takes text; unset
                                # (api = none) for a client that sent token counts only
}

# A client's request as an OpenAI-compatible engine takes it.
struct EngineRequest {
  api @0 :Api;
  body @1 :Text;                # the client's JSON body as the node validated it, with "model"
                                # set to the served model's name; the agent forces "stream"
  enum Api { none @0; completions @1; chatCompletions @2; }
}

struct CancelQuery {
  queryId @0 :UInt64;
}

struct QueryProgress {
  queryId @0 :UInt64;
  generatedTokens @1 :UInt32;
}

# Periodic state of the engine: what it runs, what waits, and KV use, so placement's predicted
# schedule can be corrected against the truth.
struct Heartbeat {
  workerId @0 :UInt32;
  atMicros @1 :UInt64;
  kvBlocksUsed @2 :UInt32;
  kvBlocksTotal @3 :UInt32;
  running @4 :List(QueryProgress);
  waitingCount @5 :UInt32;
  waiting @6 :List(UInt64);     # ids of queries accepted but not yet running, so a control node
                                # that restarted can re-adopt them as well as the running ones
}

struct FirstToken {
  queryId @0 :UInt64;
  atMicros @1 :UInt64;
}

struct QueryCompleted {
  queryId @0 :UInt64;
  outputTokens @1 :UInt32;
  atMicros @2 :UInt64;
  finishReason @3 :FinishReason;
  promptTokens @4 :UInt32;      # the prompt's length as the engine tokenised it; 0 = unknown
}

enum FinishReason { unknown @0; stop @1; length @2; }

# Generated text of a running query, in order. seq counts this query's chunks from 0, so a
# receiver drops a duplicate and notices a gap. Sent only for queries whose assignment carried a
# request (api != none).
struct QueryText {
  queryId @0 :UInt64;
  seq @1 :UInt32;
  text @2 :Text;
  tokens @3 :UInt32;            # output tokens this chunk carries
}

# The engine refused an assignment; the control plane decides whether the query fails.
struct QueryRejected {
  queryId @0 :UInt64;
  reason @1 :EngineRejectReason;
  detail @2 :Text;
}

enum EngineRejectReason {
  tooLarge @0;   # prompt (+ max output) exceeds what the engine can hold
  invalid @1;
  streamBroken @2;  # the engine answers, but this query's stream broke (reset, cut before its end)
}

# Finish what runs, accept nothing new. deadlineMicros = 0: no deadline.
struct Drain {
  deadlineMicros @0 :UInt64;
}

# Stop now; running queries are abandoned (the control plane has already re-placed or failed
# them).
struct Shutdown {
  reason @0 :Text;
}
