@0x925d2df688a45a07;
# Channel: client <-> query intake. A client submits queries and receives, per query, either a
# rejection or an acceptance followed by progress and exactly one of finished / failed.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("aladdin::wire::client");

using Common = import "common.capnp";

struct Envelope {
  header @0 :Common.Header;
  union {
    # client -> intake
    submitQuery @1 :SubmitQuery;
    # intake -> client: the reply to submitQuery, one of these two
    queryAccepted @2 :QueryAccepted;
    queryRejected @3 :QueryRejected;
    # intake -> client: progress of an accepted query
    firstToken @4 :FirstToken;
    # Reserved until the HTTP front door streams tokens: nothing sends it, and a receiver
    # answers it with error{unknownMessage}. Kept because union ordinals must stay contiguous.
    tokenProgress @5 :TokenProgress;
    queryFinished @6 :QueryFinished;
    queryFailed @7 :QueryFailed;
    # either direction: the reply to input that could not be decoded
    error @8 :Common.Error;
    # client -> intake: what the node is doing (aladdin status); intake -> client: the answer
    statusRequest @9 :StatusRequest;
    statusReply @10 :StatusReply;
  }
}

struct SubmitQuery {
  clientQueryId @0 :UInt64;    # chosen by the client; echoed in the reply
  promptTokens @1 :UInt32;
  maxOutputTokens @2 :UInt32;  # 0 = unknown: the output length is predicted
  ttftSloMicros @3 :UInt64;
  atgtSloMicros @4 :UInt64;
  model @5 :Text;
}

# The query is journaled: it will end in queryFinished or queryFailed, even across a restart of
# the control plane. clientQueryId is echoed so a pipelining client can match the reply.
struct QueryAccepted {
  clientQueryId @0 :UInt64;
  queryId @1 :UInt64;
}

struct QueryRejected {
  clientQueryId @0 :UInt64;
  reason @1 :RejectReason;
  detail @2 :Text;
}

# kv, ttft and atgt name the constraint that excluded the most workers, so a client (and an
# operator) can tell "no memory" from "no compute". overloaded and draining are "try again
# later"; invalid is "never, as sent".
enum RejectReason {
  noCapacity @0;
  kv @1;
  ttft @2;
  atgt @3;
  invalid @4;
  overloaded @5;
  draining @6;
  overContext @7;      # prompt + requested output over the served model's context: never, as sent
}

struct FirstToken {
  queryId @0 :UInt64;
  atMicros @1 :UInt64;
}

# Reserved (see tokenProgress above).
struct TokenProgress {
  queryId @0 :UInt64;
  generatedTokens @1 :UInt32;
}

struct QueryFinished {
  queryId @0 :UInt64;
  outputTokens @1 :UInt32;
  ttftMicros @2 :UInt64;
  atgtMicros @3 :UInt64;
}

struct QueryFailed {
  queryId @0 :UInt64;
  reason @1 :FailureReason;
  detail @2 :Text;
}

# Why an accepted query did not finish.
enum FailureReason {
  workerLost @0;       # its worker died and it could not be placed again
  engineRejected @1;   # the engine refused it (too large, invalid)
  cancelled @2;
  deadlineExceeded @3;
  shuttingDown @4;
  internal @5;
  unschedulable @6;    # no worker of the fleet can ever hold it (its prompt exceeds every KV cache)
}

# aladdin status: one screen of the node (the HTTP front door serves the same as /status).
struct StatusRequest {
  requestId @0 :UInt64;        # chosen by the client; echoed in the reply
}

struct StatusReply {
  requestId @0 :UInt64;
  nodeName @1 :Text;
  shape @2 :Text;              # the node's worker shape: model/gpu/tpN
  draining @3 :Bool;           # intake closed (SIGTERM): new queries are refused
  waitingQueries @4 :UInt64;   # at placement, for a worker
  planEpoch @5 :UInt64;
  planTargetWorkers @6 :UInt32;
  fleetLaunching @7 :UInt32;
  fleetActive @8 :UInt32;
  fleetDraining @9 :UInt32;
  accepted @10 :UInt64;        # since the node started
  rejected @11 :UInt64;
  judged @12 :UInt64;          # completed queries judged against their SLOs
  sloMet @13 :UInt64;
  recentJudged @14 :UInt64;    # of the last 1,000 judged
  recentMet @15 :UInt64;
  workers @16 :List(WorkerStatus);
}

struct WorkerStatus {
  name @0 :Text;
  shape @1 :Text;
  draining @2 :Bool;
  running @3 :UInt32;
  queued @4 :UInt32;
  kvUsedTokens @5 :UInt64;
  kvCapacityTokens @6 :UInt64;
}
