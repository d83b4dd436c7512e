// Untrusted input over real ZeroMQ: every bad frame gets an error reply, and the node keeps
// serving.

#include <doctest/doctest.h>

#include "actors/caf/control_node.hpp"
#include "client.capnp.h"
#include "tests/support/fake_worker.hpp"
#include "tests/support/node_fixtures.hpp"
#include "tests/support/node_with_worker.hpp"
#include "tests/support/test_client.hpp"

using namespace aladdin;
using namespace aladdin::test;
using namespace std::chrono_literals;

namespace {

std::size_t errors_with(const test_client& c, channel_common::error_code code) {
  std::size_t n = 0;
  for (const auto& e : c.all<channel_common::wire_error>()) n += e.code == code;
  return n;
}

}  // namespace

TEST_CASE("control node over ZeroMQ: malformed, oversized and wrong-version frames get errors and the node keeps serving") {
  temp_dir dir("malformed");
  node_with_worker f(loopback_node(dir.str(), "fake-1"));
  auto& n = f.node;

  test_client c(n.client_endpoint(), "client-bad");
  const std::string garbage = "certainly not cap'n proto";
  c.send_bytes(garbage.data(), garbage.size());
  const std::vector<char> zeros(64, 0);
  c.send_bytes(zeros.data(), zeros.size());
  const std::vector<char> big(200 * 1024, 'x');  // above the codec's 64 KiB, below the transport cap
  c.send_bytes(big.data(), big.size());
  c.send(client_channel::submit_query{1, 10, 10, 0, 0, "llama2-70b"}, /*version=*/7);
  c.send(client_channel::query_accepted{5, 6});  // a reply, sent the wrong way
  c.send_bytes(nullptr, 0);
  // Multipart: a REQ-style delimiter in front of the payload.
  (void)c.socket().send(zmq::str_buffer(""), zmq::send_flags::sndmore);
  (void)c.socket().send(zmq::str_buffer("x"), zmq::send_flags::none);
  REQUIRE(c.receive_until([&] { return c.count<channel_common::wire_error>() >= 7; }, 10s));
  CHECK(errors_with(c, channel_common::error_code::malformed) == 4);
  CHECK(errors_with(c, channel_common::error_code::oversized) == 1);
  CHECK(errors_with(c, channel_common::error_code::version_mismatch) == 1);
  CHECK(errors_with(c, channel_common::error_code::unknown_message) == 1);  // the wrong way

  // Worker channel: garbage, and a heartbeat from nobody registered.
  test_client rogue(n.worker_endpoint(), "rogue-worker", /*worker_channel=*/true);
  rogue.send_bytes(garbage.data(), garbage.size());
  const auto hb = worker_channel::encode(codec::envelope_header{codec::protocol_version, "rogue", 0, 1},
                                         worker_channel::heartbeat{77, 0, 0, 0, {}, 0, {}});
  rogue.send_bytes(hb.bytes().data(), hb.size());
  const auto wrong_way = worker_channel::encode(codec::envelope_header{codec::protocol_version, "rogue", 0, 2},
                                                worker_channel::assign_query{1, 2, 3, 4, 5});
  rogue.send_bytes(wrong_way.bytes().data(), wrong_way.size());
  REQUIRE(rogue.receive_until([&] { return rogue.count<channel_common::wire_error>() >= 3; }, 10s));
  CHECK(errors_with(rogue, channel_common::error_code::malformed) == 1);
  CHECK(errors_with(rogue, channel_common::error_code::unknown_message) == 1);  // the wrong way
  CHECK(errors_with(rogue, channel_common::error_code::unknown_worker) == 1);

  // A frame above the transport cap costs the sender its connection, not the node its life.
  test_client huge(n.client_endpoint(), "client-huge");
  const std::vector<char> enormous(2 << 20, 'y');
  huge.send_bytes(enormous.data(), enormous.size());

  // Still serving, the same client included.
  c.replies.clear();
  for (std::uint64_t i = 0; i < 20; ++i) c.submit(i, 100);
  REQUIRE(c.receive_until([&] { return c.count<client_channel::query_finished>() == 20; }, 10s));
  CHECK(c.count<client_channel::query_accepted>() == 20);
  CHECK(n.stats().bad_frames >= 8);
}
