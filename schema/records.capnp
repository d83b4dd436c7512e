@0xd873d382d5b1562d;
# Persisted records of the state store. These are not wire messages and never embed one: the
# wire evolves with peers, the records with the store's format, and each can change alone.
# Times are microseconds on the control plane's clock; coefficients are seconds.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("aladdin::records");

struct ModelRecord {
  name @0 :Text;
  layers @1 :UInt32;
  kvHeads @2 :UInt32;
  headDim @3 :UInt32;
  bytesPerValue @4 :UInt32;
  parameters @5 :Float64;      # number of weights
  contextTokens @6 :UInt32;    # longest prompt + output the model serves (0: unknown)
}

struct GpuRecord {
  name @0 :Text;
  memoryBytes @1 :Float64;
}

# A worker shape: which model on which GPU type with how many GPUs.
struct WorkerShape {
  model @0 :Text;
  gpu @1 :Text;
  tp @2 :UInt16;
}

# A fitted latency and memory profile of one shape (see src/model/latency_model.hpp).
struct WorkerConfigRecord {
  shape @0 :WorkerShape;
  prefill @1 :Prefill;
  decode @2 :Decode;
  kvBytesPerToken @3 :Float64;
  kvCapacityTokens @4 :Float64;
  source @5 :Text;             # where the coefficients came from

  struct Prefill {
    k1SecondsPerToken @0 :Float64;
    q1SecondsPerTokenSquared @1 :Float64;
    s1SecondsPerSequence @2 :Float64;
    c1Seconds @3 :Float64;
  }
  struct Decode {
    k2SecondsPerToken @0 :Float64;
    c2SecondsPerSequence @1 :Float64;
    c3Seconds @2 :Float64;
  }
}

struct WorkerRecord {
  id @0 :UInt32;
  name @1 :Text;
  shape @2 :WorkerShape;
  endpoint @3 :Text;
  state @4 :State;
  registeredEpoch @5 :UInt64;

  enum State {
    starting @0;
    active @1;
    draining @2;
    gone @3;
  }
}

struct PlanRecord {
  epoch @0 :UInt64;
  createdMicros @1 :UInt64;
  targets @2 :List(ShapeTarget);
  predictedGpus @3 :UInt32;
  note @4 :Text;

  struct ShapeTarget {
    shape @0 :WorkerShape;
    workers @1 :UInt32;
  }
}

struct JournalRecord {
  queryId @0 :UInt64;
  clientId @1 :Text;
  clientQueryId @2 :UInt64;
  model @3 :Text;
  promptTokens @4 :UInt32;
  maxOutputTokens @5 :UInt32;  # 0 = unknown
  ttftSloMicros @6 :UInt64;
  atgtSloMicros @7 :UInt64;
  acceptedMicros @8 :UInt64;
  acceptSeq @9 :UInt64;        # order of acceptance (ids may be allocated out of order)
  state @10 :State;
  workerId @11 :UInt32;        # 0 until dispatched
  finish @12 :Finish;
  failure @13 :Failure;
  request @14 :Request;        # what an HTTP client asked (api none: a token-count client)

  enum State {
    accepted @0;
    dispatched @1;
    finished @2;
    failed @3;
  }
  struct Finish {
    outputTokens @0 :UInt32;
    finishedMicros @1 :UInt64;
    ttftMicros @2 :UInt64;
    atgtMicros @3 :UInt64;
  }
  struct Request {
    api @0 :Api;
    body @1 :Text;

    enum Api {
      none @0;
      completions @1;
      chatCompletions @2;
    }
  }
  struct Failure {
    reason @0 :Reason;
    detail @1 :Text;
    failedMicros @2 :UInt64;

    enum Reason {
      workerLost @0;
      engineRejected @1;
      cancelled @2;
      deadlineExceeded @3;
      shuttingDown @4;
      internal @5;
      unschedulable @6;
    }
  }
}
