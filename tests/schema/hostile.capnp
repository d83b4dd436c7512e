@0xcebe42c6f6ee9625;
# Test-only shapes the production schemas lack: recursion (to exceed the nesting limit) and a
# list of pointers (to alias one blob many times and exceed the traversal limit). The envelope
# follows the channel contract (header + union) so the same decode path is exercised.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("aladdin::test_wire");

using Common = import "/common.capnp";

struct HostileEnvelope {
  header @0 :Common.Header;
  union {
    nest @1 :Nest;
    blobs @2 :List(Data);
  }
}

struct Nest {
  child @0 :Nest;
  depth @1 :UInt32;
}
