@0xf9efcf922f0f5f49;
# Vocabulary shared by every channel: the envelope header and the reply to undecodable input.
# Not a channel itself; client.capnp and worker.capnp import it so that one codec can check the
# header of any envelope.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("aladdin::wire");

# Every envelope starts with this. The receiver drops a message whose protocolVersion it does
# not speak (and answers with an error of code versionMismatch). `epoch` is the sender's view of
# the control plane's plan epoch, so a worker or client can tell a stale instruction from a new
# one; `sequence` increases by one per message on one connection, so gaps reveal lost messages.
struct Header {
  protocolVersion @0 :UInt16;
  sender @1 :Text;
  epoch @2 :UInt64;
  sequence @3 :UInt64;
}

# Why a message could not be handled at all (as opposed to a query being refused).
enum ErrorCode {
  malformed @0;        # not a valid Cap'n Proto message of this channel
  oversized @1;        # larger than the channel's size limit
  unknownMessage @2;   # a union member this receiver does not know (newer sender)
  versionMismatch @3;  # header.protocolVersion not spoken here
  internal @4;         # the receiver failed; the input may have been fine
  unknownWorker @5;    # worker channel: the sender is not registered here (say, after a
                       # control-node restart); the worker should register again
}

struct Error {
  code @0 :ErrorCode;
  detail @1 :Text;     # for humans; bounded in length by the sender
}
