// The load generator against an endpoint where no node listens: it gives up after its answer
// timeout and says so, instead of replaying the whole trace into silence.

#include <doctest/doctest.h>

#include <string>

#include "actors/loadgen/loadgen.hpp"
#include "trace/trace.hpp"

using namespace aladdin;

TEST_CASE("loadgen: with no node answering it stops after --answer-timeout and says where nobody answers") {
  // A trace of a minute, one query a second: without the timeout the replay alone takes 60 s.
  trace arrivals;
  for (int i = 0; i < 60; ++i) arrivals.push_back({static_cast<double>(i), 100, 10});
  node::loadgen_options o;
  o.endpoint = "tcp://127.0.0.1:1";  // nothing listens on port 1 of the loopback
  o.answer_timeout_s = 0.3;
  o.drain_timeout_s = 30;
  const node::loadgen_report r = node::run_loadgen(o, arrivals);
  CHECK(r.no_answer);
  CHECK(r.sent >= 1);
  CHECK(r.sent < arrivals.size());
  CHECK(r.unanswered == r.sent);
  const std::string advice = node::no_answer_advice(o, r);
  CHECK(advice.find("no node answers at tcp://127.0.0.1:1") != std::string::npos);
  CHECK(advice.find("--listen") != std::string::npos);
  CHECK(r.text().find("NO NODE ANSWERED") != std::string::npos);
}
