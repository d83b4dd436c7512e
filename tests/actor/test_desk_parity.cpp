// The live node decides exactly as the placement desk does: the same arrivals and worker reports,
// fed once to the node's actors (intake → placement → proxies, on CAF's deterministic scheduler)
// and once straight to a placement_desk — the class the fleet simulator drives — give the same
// placements, one by one. So the node adds no decision of its own around the shared admission
// rule (the simulator's use of the desk is covered by tests/unit/test_fleet_simulator.cpp).

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "tests/actor/actor_fixture.hpp"
#include "util/rng.hpp"

using namespace aladdin;
using namespace aladdin::node;
namespace cc = aladdin::client_channel;
namespace wc = aladdin::worker_channel;
using aladdin::test::actor_fixture;

TEST_CASE("actor parity: the node's placements are the placement desk's, decision by decision") {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    actor_fixture f;
    f.spawn_core();
    // The reference: the desk the node builds (default options), fed what the node's desk sees.
    placement_desk ref({});
    desk_decisions ref_out;
    std::map<std::string, std::uint32_t> id_of;
    std::map<std::string, std::string> name_of_peer;
    std::vector<std::pair<std::uint64_t, std::string>> placed;  // every placement, query and worker
    std::size_t decisions = 0;
    // After each stimulus of both: the same placements. The proxies send a round's assignments
    // one worker after another, so within a round they are compared as a set. Compares the
    // frames the last f.collect() took.
    auto compare_collected = [&] {
      std::vector<std::pair<std::uint64_t, std::uint32_t>> node, desk;
      for (const auto& [peer, a] : f.frames<wc::assign_query>()) {
        node.emplace_back(a.query_id, id_of.at(name_of_peer.at(peer)));
        placed.emplace_back(a.query_id, name_of_peer.at(peer));
      }
      for (const auto& d : ref_out.placed) desk.emplace_back(d.query.value, d.worker.value);
      REQUIRE(ref_out.refused.empty());
      REQUIRE(ref_out.expired.empty());
      ref_out.clear();
      std::sort(node.begin(), node.end());
      std::sort(desk.begin(), desk.end());
      CHECK(node == desk);
      decisions += desk.size();
    };
    auto compare_round = [&] {
      f.collect();
      compare_collected();
    };

    const worker_profile profile = *stored_profile(f.store, "llama2-70b", "a100-80gb", 4);
    double now_s = 0;
    for (const char* name : {"w1", "w2"}) {
      f.register_worker(name);
      f.collect();
      const auto reg = f.frames<wc::registered>();
      REQUIRE(reg.size() == 1);
      id_of[name] = reg[0].second.worker_id;
      name_of_peer["peer-" + std::string(name)] = name;
      REQUIRE(ref.add_worker(worker_id{reg[0].second.worker_id}, profile));
      ref.retry(now_s, ref_out);
      compare_round();
    }

    // A seeded script on a 0.5 s grid (the node's retry timer, which the reference follows):
    // heartbeats, arrivals of mixed prompt lengths, and completions of what runs.
    rng random(seed);
    std::vector<std::pair<std::uint64_t, std::string>> running;  // query, worker name
    std::map<std::uint64_t, std::uint32_t> prompt_of;
    std::uint64_t client_query = 0;
    std::size_t tracked = 0;  // placements already in `running`
    for (int step = 1; step <= 40; ++step) {
      f.advance(std::chrono::milliseconds(500));
      now_s = 0.5 * step;
      ref.retry(now_s, ref_out);  // the timer fired
      compare_round();
      // Every worker's heartbeat lists what it runs, a few more tokens each (it keeps them alive).
      for (const auto& [name, id] : id_of) {
        wc::heartbeat hb;
        hb.worker_id = id;
        std::vector<progress_report> reports;
        for (const auto& [q, on] : running)
          if (on == name) {
            hb.running.push_back({q, static_cast<std::uint32_t>(step)});
            reports.push_back({query_id{q}, step});
          }
        f.from_worker(name, {hb});
        ref.progress(worker_id{id}, reports, now_s);
        compare_round();
      }
      const int arrivals = static_cast<int>(random.below(7));
      for (int k = 0; k < arrivals; ++k) {
        const auto prompt = static_cast<std::uint32_t>(100 + random.below(5901));
        f.submit("client", ++client_query, prompt, 50);
        f.collect();
        const auto acc = f.frames<cc::query_accepted>();
        REQUIRE(acc.size() == 1);
        const std::uint64_t q = acc[0].second.query_id;
        prompt_of[q] = prompt;
        desk_query dq;
        dq.id = query_id{q};
        dq.prompt_tokens = static_cast<int>(prompt);
        dq.arrival_s = now_s;
        dq.slo = {2.0, 0.1};
        ref.offer({&dq, 1}, now_s, ref_out);
        compare_collected();  // the frames were taken with the acceptance
      }
      // Everything placed so far runs; some of it completes now.
      for (; tracked < placed.size(); ++tracked) running.push_back(placed[tracked]);
      const int done = static_cast<int>(random.below(4));
      for (int k = 0; k < done && !running.empty(); ++k) {
        const auto pick = static_cast<std::size_t>(random.below(running.size()));
        const auto [q, name] = running[pick];
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(pick));
        f.from_worker(name, {wc::first_token{q, 0}, wc::query_completed{q, 50, 0}});
        const worker_id w{id_of.at(name)};
        ref.first_token(w, query_id{q}, now_s);
        ref.completed(w, query_id{q}, static_cast<int>(prompt_of.at(q)), 50, now_s);
        ref.retry(now_s, ref_out);
        compare_round();
      }
    }
    CHECK(decisions > 40);
    CHECK(ref.waiting() > 0);  // the script did make queries wait (the admission rule was exercised)
  }
}
