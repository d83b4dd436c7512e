// worker_registry, the plain registration check the placement actor runs on every
// registerWorker: model, time scale, the names a static fleet expects.

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>

#include "actors/node/catalogue.hpp"
#include "actors/node/worker_registry.hpp"
#include "actors/wire/inbound_frame.hpp"
#include "storage/memory_store.hpp"

using namespace aladdin;
namespace wc = aladdin::worker_channel;

namespace {

struct registry_fixture {
  memory_store store;
  registry_fixture() { REQUIRE(node::seed_catalogue(store).ok()); }
  node::registration attempt(const node::registration_rules& rules, const wc::register_worker& hello) {
    node::worker_registry registry(store, rules, {});
    return registry.register_worker(hello, "peer-" + hello.worker_name, 1);
  }
};

wc::register_worker hello(const std::string& name, double time_scale) {
  return {name, "llama2-70b", "a100-80gb", 4, 0, 16, time_scale};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("worker registry: a worker at another time scale is refused, naming both scales and the fix") {
  registry_fixture f;
  const node::registration_rules rules{"llama2-70b", 10, {}};
  const auto refused = f.attempt(rules, hello("w1", 1));
  CHECK_FALSE(refused.ok);
  CHECK(has(refused.error, "worker runs at time scale 1 and this node at 10"));
  CHECK(has(refused.error, "--time-scale 10"));
  for (double bad : {0.0, -10.0, std::nan(""), std::numeric_limits<double>::infinity(), 10.5})
    CHECK_FALSE(f.attempt(rules, hello("w1", bad)).ok);
  auto store_workers = f.store.list_workers();
  REQUIRE(store_workers.ok());
  CHECK(store_workers.value().empty());  // a refusal records nothing
  CHECK(f.attempt(rules, hello("w1", 10)).ok);
}

TEST_CASE("worker registry: with named workers (a static fleet) another name is refused, listing the names expected") {
  registry_fixture f;
  const node::registration_rules rules{"llama2-70b", 1, {"gpu-a", "gpu-b"}};
  const auto refused = f.attempt(rules, hello("gpu-c", 1));
  CHECK_FALSE(refused.ok);
  CHECK(has(refused.error, "'gpu-c' is not one of this node's --static-workers (gpu-a,gpu-b)"));
  CHECK(f.attempt(rules, hello("gpu-b", 1)).ok);
  // No names: any worker may register (a local fleet's, or one started by hand).
  CHECK(f.attempt({"llama2-70b", 1, {}}, hello("anyone", 1)).ok);
}

TEST_CASE("worker registry: a registerWorker whose time scale is NaN (fuzz finding) is read, then refused") {
  // Found by the worker_frame fuzz target: timeScale is a Float64 on the wire, so any bit
  // pattern decodes, NaN included; only the registry can say no, and must.
  const std::uint8_t frame[] = {
      0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x04, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00,
      0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x4a, 0x00, 0x00, 0x00,
      0x69, 0x6e, 0x74, 0x61, 0x6b, 0x65, 0x2d, 0x31, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x89, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x41, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x54, 0x89, 0x00,
      0x00, 0x00, 0x00, 0x40,
  };
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(frame), sizeof frame);
  const node::worker_frame read = node::read_worker_frame(bytes, codec::decode_limits::channel());
  const auto* hello_read = std::get_if<wc::register_worker>(&read);
  REQUIRE(hello_read != nullptr);
  CHECK(std::isnan(hello_read->time_scale));
  registry_fixture f;
  // The rest of the fuzzed frame is no registration either; its time scale alone must refuse one.
  const auto r = f.attempt({"llama2-70b", 1, {}}, hello("w1", hello_read->time_scale));
  CHECK_FALSE(r.ok);
  CHECK(has(r.error, "worker runs at time scale"));
  CHECK(has(r.error, "nan"));
}

TEST_CASE("worker registry: a worker's batching regime is taken from its registration; a budget out of range is refused") {
  registry_fixture f;
  const node::registration_rules rules{"llama2-70b", 1, {}};
  auto chunked = hello("w1", 1);
  chunked.max_batched_tokens = 4096;
  const auto ok = f.attempt(rules, chunked);
  REQUIRE(ok.ok);
  CHECK(ok.chunk_tokens == 4096);
  const auto first = f.attempt(rules, hello("w2", 1));
  REQUIRE(first.ok);
  CHECK(first.chunk_tokens == 0);  // prefill-first
  for (std::uint32_t bad : {1u, wc::kMinBatchedTokens - 1, wc::kMaxBatchedTokens + 1, 0xffffffffu}) {
    auto h = hello("w3", 1);
    h.max_batched_tokens = bad;
    const auto refused = f.attempt(rules, h);
    CHECK_FALSE(refused.ok);
    CHECK(has(refused.error, "maxBatchedTokens " + std::to_string(bad) + " is outside"));
    CHECK(has(refused.error, "--max-batched-tokens"));
  }
}
