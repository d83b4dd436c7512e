// The real `aladdin worker --emulate` process against a fake control node: a ROUTER on loopback
// TCP that registers it, assigns queries, feeds it hostile frames and shuts it down. Every wait is
// bounded (kWait), so a broken worker fails the test instead of hanging it; the child is killed
// when a test fails (child_process's destructor).

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "schema/worker_channel.hpp"
#include "child_process.hpp"

using namespace aladdin;
namespace wc = aladdin::worker_channel;
using namespace std::chrono_literals;

namespace {

constexpr auto kWait = 20s;

class fake_node {
 public:
  // Binds `endpoint`; the default picks a free loopback port.
  explicit fake_node(const std::string& endpoint = "tcp://127.0.0.1:*")
      : ctx_(1), router_(ctx_, zmq::socket_type::router) {
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.bind(endpoint);
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
  }

  const std::string& endpoint() const { return endpoint_; }

  // The next message from the worker, or nullopt after `limit`. Remembers the worker's routing
  // id, checks that every frame decodes.
  std::optional<wc::received> receive(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, left);
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      zmq::message_t id, payload;
      REQUIRE(router_.recv(id, zmq::recv_flags::none));
      REQUIRE(id.more());
      REQUIRE(router_.recv(payload, zmq::recv_flags::none));
      REQUIRE_FALSE(payload.more());
      peer_ = id.to_string();
      auto r =
          wc::decode(std::span(static_cast<const std::byte*>(payload.data()), payload.size()),
                     wc::party::control_plane);
      REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().detail));
      return std::move(r).value();
    }
  }

  // The first message of type T that satisfies `match`: looked for among the messages already
  // received and set aside, then received (others are set aside in `seen`); fails after kWait.
  // Looking back makes the tests independent of the order of messages the worker may send in
  // either order.
  template <class T, class Match>
  std::pair<codec::envelope_header, T> expect(const std::string& what, Match match) {
    for (auto it = seen.begin(); it != seen.end(); ++it) {
      if (auto* m = std::get_if<T>(&it->body); m && match(*m)) {
        std::pair<codec::envelope_header, T> out{it->header, *m};
        seen.erase(it);
        return out;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      auto r = left.count() > 0 ? receive(left) : std::nullopt;
      if (!r) FAIL("no " << what << " from the worker within " << kWait.count() << " s");
      if (auto* m = std::get_if<T>(&r->body); m && match(*m)) return {r->header, *m};
      seen.push_back(std::move(*r));
    }
  }
  template <class T>
  std::pair<codec::envelope_header, T> expect(const std::string& what) {
    return expect<T>(what, [](const T&) { return true; });
  }

  void send(const wc::message& m, std::uint16_t version = codec::protocol_version) {
    const auto bytes = wc::encode({version, "fake-node", 1, ++sequence_}, m);
    send_raw({bytes.bytes().begin(), bytes.bytes().end()});
  }

  void send_raw(const std::vector<std::byte>& payload) { send_frames({payload}); }

  void send_frames(const std::vector<std::vector<std::byte>>& frames) {
    REQUIRE_FALSE(peer_.empty());
    router_.send(zmq::buffer(peer_), zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < frames.size(); ++i)
      router_.send(zmq::buffer(frames[i].data(), frames[i].size()),
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }

  std::vector<wc::received> seen;

 private:
  zmq::context_t ctx_;
  zmq::socket_t router_;
  std::string endpoint_;
  std::string peer_;
  std::uint64_t sequence_ = 0;
};

std::vector<std::string> worker_args(const fake_node& node, const std::string& name) {
  return {ALADDIN_BINARY,  "worker",       "--emulate", "--model", "llama2-70b",
          "--gpu",         "a100",         "--tp",      "4",       "--connect",
          node.endpoint(), "--time-scale", "50",        "--name",  name,
          "--heartbeat",   "50ms",         "--seed",    "3"};
}

// Waits for the error reply to something the test sent, skipping the worker's routine traffic.
wc::wire_error expect_error(fake_node& node, const std::string& what) {
  return node.expect<wc::wire_error>(what).second;
}

}  // namespace

TEST_CASE(
    "worker process: registers, serves queries, survives hostile frames, exits 0 on shutdown") {
  fake_node node;
  test::child_process child(worker_args(node, "itest-worker"));

  const auto [reg_header, reg] = node.expect<wc::register_worker>("registerWorker");
  CHECK(reg_header.sender == "itest-worker");
  CHECK(reg.worker_name == "itest-worker");
  CHECK(reg.model == "llama2-70b");
  CHECK(reg.gpu == "a100-80gb");  // the catalogue's name, not the alias given on the command line
  CHECK(reg.tp == 4);
  CHECK(reg.block_size == 16);
  CHECK(reg.kv_capacity_tokens > 100'000);

  node.send(wc::registered{5, 2});
  const auto [hb_header, hb] = node.expect<wc::heartbeat>("first heartbeat");
  CHECK(hb.worker_id == 5);
  CHECK(hb_header.epoch == 2);
  CHECK(hb.kv_blocks_total * 16ull == reg.kv_capacity_tokens);

  // Three queries; each reports its first token, then completes with the tokens asked for.
  for (std::uint64_t id = 1; id <= 3; ++id)
    node.send(wc::assign_query{id, 300 + 100 * static_cast<std::uint32_t>(id), 0, 16, 0});
  std::set<std::uint64_t> first, done;
  while (done.size() < 3) {
    auto r = node.receive(std::chrono::duration_cast<std::chrono::milliseconds>(kWait));
    REQUIRE_MESSAGE(r, "the worker went silent with queries outstanding");
    if (auto* f = std::get_if<wc::first_token>(&r->body)) {
      CHECK(first.insert(f->query_id).second);
    } else if (auto* c = std::get_if<wc::query_completed>(&r->body)) {
      CHECK(first.count(c->query_id) == 1);  // first token before completion
      CHECK(c->output_tokens == 16);
      CHECK(done.insert(c->query_id).second);
    } else {
      CHECK_FALSE(std::holds_alternative<wc::engine_rejected>(r->body));
      CHECK_FALSE(std::holds_alternative<wc::wire_error>(r->body));
    }
  }
  CHECK(first == std::set<std::uint64_t>{1, 2, 3});

  // Hostile input: each gets an error reply of the right code, and the worker carries on.
  node.send_raw(std::vector<std::byte>(13, std::byte{0x42}));
  CHECK(expect_error(node, "an error for garbage").code == wc::error_code::malformed);
  node.send_raw(std::vector<std::byte>(100 * 1024));
  CHECK(expect_error(node, "an error for an oversized frame").code == wc::error_code::oversized);
  node.send(wc::drain_worker{0}, codec::protocol_version + 1);
  CHECK(expect_error(node, "an error for a wrong version").code == wc::error_code::version_mismatch);
  {
    const auto hb_bytes =
        wc::encode({codec::protocol_version, "fake-node", 1, 99}, wc::heartbeat{});
    node.send_raw({hb_bytes.bytes().begin(), hb_bytes.bytes().end()});
  }
  CHECK(expect_error(node, "an error for a wrong-direction message").code ==
        wc::error_code::unknown_message);
  node.send_frames({std::vector<std::byte>(8), std::vector<std::byte>(8)});
  CHECK(expect_error(node, "an error for a two-frame message").code == wc::error_code::malformed);
  // The wrong-version drain above must not have been acted on.
  CHECK(child.wait_exit(0ms) == std::nullopt);

  node.send(wc::assign_query{4, 256, 0, 8, 0});
  const auto [c_header, completed] = node.expect<wc::query_completed>(
      "completion after hostile input",
      [](const wc::query_completed& m) { return m.query_id == 4; });
  CHECK(completed.query_id == 4);
  CHECK(completed.output_tokens == 8);
  CHECK(c_header.sender == "itest-worker");

  node.send(wc::shutdown_worker{"test over"});
  const auto code = child.wait_exit(kWait);
  REQUIRE_MESSAGE(code.has_value(), "the worker did not exit after shutdown");
  CHECK(*code == 0);
}

TEST_CASE(
    "worker process: registers again after unknownWorker with its queries, exits 0 on SIGTERM") {
  fake_node node;
  test::child_process child(worker_args(node, "itest-rereg"));
  node.expect<wc::register_worker>("registerWorker");
  node.send(wc::registered{1, 1});
  node.expect<wc::heartbeat>("first heartbeat");

  // Long enough to outlive the test at 50x (about 100 000 decode steps).
  node.send(wc::assign_query{77, 500, 0, 100'000, 0});
  node.expect<wc::first_token>("first token of the long query");

  node.send(wc::wire_error{wc::error_code::unknown_worker, "control node restarted"});
  const auto [h, again] = node.expect<wc::register_worker>("registerWorker after unknownWorker");
  CHECK(again.worker_name == "itest-rereg");
  CHECK(h.sender == "itest-rereg");

  node.send(wc::registered{9, 4});
  // The heartbeat after re-registration carries the new id and the query to re-adopt. (None
  // can come between the registerWorker and it: an unregistered worker sends no heartbeats.)
  node.seen.clear();
  const auto [hh, hb] = node.expect<wc::heartbeat>("heartbeat after re-registration");
  CHECK(hb.worker_id == 9);
  CHECK(hh.epoch == 4);
  REQUIRE(hb.running.size() == 1);
  CHECK(hb.running[0].query_id == 77);
  CHECK(hb.running[0].generated_tokens >= 1);

  child.signal(SIGTERM);
  const auto code = child.wait_exit(kWait);
  REQUIRE_MESSAGE(code.has_value(), "the worker did not exit on SIGTERM");
  CHECK(*code == 0);
}

TEST_CASE(
    "worker process: after the control node restarts it registers again and keeps its query") {
  auto node = std::make_unique<fake_node>();
  const std::string endpoint = node->endpoint();
  test::child_process child(worker_args(*node, "itest-restart"));
  node->expect<wc::register_worker>("registerWorker");
  node->send(wc::registered{1, 1});
  node->expect<wc::heartbeat>("first heartbeat");
  node->send(wc::assign_query{31, 500, 0, 100'000, 0});
  node->expect<wc::first_token>("first token of the long query");

  // The node goes away and a new one, knowing nothing, comes up on the same address.
  node.reset();
  fake_node fresh(endpoint);
  // The worker still believes itself registered: its heartbeats reach the new node once DEALER
  // has reconnected, and the new node answers them as a control node must.
  const auto [h, stale] = fresh.expect<wc::heartbeat>("a heartbeat to the new node");
  CHECK(stale.worker_id == 1);
  CHECK(h.sender == "itest-restart");
  fresh.send(wc::wire_error{wc::error_code::unknown_worker, "not registered here"});
  const auto again = fresh.expect<wc::register_worker>("registerWorker to the new node").second;
  CHECK(again.worker_name == "itest-restart");
  fresh.send(wc::registered{2, 7});
  fresh.seen.clear();
  const auto hb = fresh.expect<wc::heartbeat>("heartbeat after re-registration").second;
  CHECK(hb.worker_id == 2);
  REQUIRE(hb.running.size() == 1);
  CHECK(hb.running[0].query_id == 31);

  fresh.send(wc::shutdown_worker{"test over"});
  const auto code = child.wait_exit(kWait);
  REQUIRE_MESSAGE(code.has_value(), "the worker did not exit after shutdown");
  CHECK(*code == 0);
}

TEST_CASE("worker process: drain lets the running query finish, then the worker exits 0") {
  fake_node node;
  test::child_process child(worker_args(node, "itest-drain"));
  node.expect<wc::register_worker>("registerWorker");
  node.send(wc::registered{2, 1});
  node.expect<wc::heartbeat>("first heartbeat");
  node.send(wc::assign_query{5, 400, 0, 40, 0});
  node.send(wc::drain_worker{0});
  node.send(wc::assign_query{6, 400, 0, 40, 0});
  const auto rejected = node.expect<wc::engine_rejected>("rejection while draining").second;
  CHECK(rejected.query_id == 6);
  CHECK(rejected.reason == wc::engine_reject_code::invalid);
  const auto done = node.expect<wc::query_completed>("completion during the drain").second;
  CHECK(done.query_id == 5);
  CHECK(done.output_tokens == 40);
  const auto code = child.wait_exit(kWait);
  REQUIRE_MESSAGE(code.has_value(), "the worker did not exit after its drain");
  CHECK(*code == 0);
}

TEST_CASE("worker process: with no node at its endpoint it says so after --warn-unanswered, keeps trying, and stops on SIGTERM") {
  // Nothing listens on port 1 of the loopback: every connection attempt is refused.
  test::child_process child({ALADDIN_BINARY, "worker", "--emulate", "--connect", "tcp://127.0.0.1:1",
                             "--name", "lonely", "--warn-unanswered", "200ms"},
                            true);
  CHECK(child.stderr_shows("no control node answers at tcp://127.0.0.1:1", kWait));
  CHECK_FALSE(child.wait_exit(std::chrono::milliseconds(0)).has_value());  // still trying
  child.signal(SIGTERM);
  const auto code = child.wait_exit(kWait);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  const std::string err = child.stderr_text();
  CAPTURE(err);
  CHECK(err.find("--worker-listen") != std::string::npos);  // what to check
}

TEST_CASE("worker process: configuration errors are one line with exit code 2") {
  const std::string bin = ALADDIN_BINARY;
  const std::vector<std::vector<std::string>> cases = {
      {bin, "worker", "--emulate", "--connect", "tcp://127.0.0.1:1", "--tp", "four"},  // bad value
      {bin, "worker", "--emulate", "--connect", "tcp://127.0.0.1:1", "--model", "gpt-17"},
      {bin, "worker", "--emulate", "--connect", "tcp://127.0.0.1:1", "--tp", "3"},  // not measured
      {bin, "worker", "--emulate", "--connect", "not an endpoint"},
      {bin, "worker", "--emulate"},  // --connect is required
  };
  for (const auto& args : cases) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    CAPTURE(line);
    test::child_process child(args, true);
    const auto code = child.wait_exit(kWait);
    REQUIRE(code.has_value());
    CHECK(*code == 2);
    const std::string err = child.stderr_text();
    CAPTURE(err);
    CHECK_FALSE(err.empty());
    CHECK(err.find('\n') == err.size() - 1);
  }
}
