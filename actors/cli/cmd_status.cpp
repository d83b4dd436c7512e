// aladdin status: one screen of a running node (workers, shapes, KV use, waiting queue, the
// planner's target, recent attainment), asked for on its client channel.

#include <chrono>
#include <iostream>

#include "actors/node/node_status.hpp"
#include "actors/node/status_client.hpp"
#include "cli/command.hpp"
#include "util/flags.hpp"

namespace aladdin::cli {
namespace {

int run_status(int argc, char** argv) {
  std::string endpoint;
  double timeout_s = 5;
  bool json = false;
  flag_set flags("status",
                 "Asks a running control node what it is doing: its workers (shape, state, running and\n"
                 "queued queries, KV use), the waiting queue, the planner's target and the recent SLO\n"
                 "attainment. One screen of text, or one JSON object with --json.");
  flags.add_string("connect", &endpoint, "client endpoint of the node (tcp://host:port)", true);
  flags.add_duration("timeout", &timeout_s, "wall time to wait for the answer");
  flags.add_bool("json", &json, "print one JSON object (what the HTTP front door serves on /status)");
  if (int rc = parse_flags_or_exit_code(flags, argc, argv); rc >= 0) return rc;
  std::string error;
  const auto status =
      node::ask_status(endpoint, std::chrono::milliseconds(static_cast<long long>(timeout_s * 1000)), &error);
  if (!status) {
    std::cerr << "aladdin status: " << error << "\n";
    return 1;
  }
  std::cout << (json ? node::render_status_json(*status) + "\n" : node::render_status_text(*status));
  return 0;
}

const command_registration reg{"status", "one screen of a running node: workers, KV use, queue, plan, attainment",
                               &run_status};

}  // namespace
}  // namespace aladdin::cli
