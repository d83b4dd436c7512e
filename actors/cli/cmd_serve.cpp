// aladdin serve: one control node, until SIGINT or SIGTERM.

#include <csignal>
#include <cstdio>
#include <iostream>

#include "actors/caf/control_node.hpp"
#include "actors/node/serve_options.hpp"
#include "cli/command.hpp"

namespace aladdin::cli {
namespace {

int run_serve(int argc, char** argv) {
  // Block the stop signals before any thread starts (CAF, ZeroMQ), so that every thread
  // inherits the mask and sigwait below is the one place they arrive.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  node::serve_options options;
  if (int rc = node::parse_serve_options(argc, argv, options); rc >= 0) return rc;
  try {
    node::control_node n(options);
    n.start();
    // One line on stdout that scripts (and aladdin up, and the tests) wait for.
    if (n.http_url().empty())
      std::printf("ready client=%s worker=%s\n", n.client_endpoint().c_str(), n.worker_endpoint().c_str());
    else
      std::printf("ready client=%s worker=%s http=%s\n", n.client_endpoint().c_str(), n.worker_endpoint().c_str(),
                  n.http_url().c_str());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "aladdin serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    const node::node_stats s = n.stats();
    n.stop();
    if (options.log != node::node_log::level::quiet) {
      std::fprintf(stderr, "aladdin serve: accepted %llu, rejected %llu at the intake, placed %llu (%llu waited first)\n",
                   static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.rejected),
                   static_cast<unsigned long long>(s.placed), static_cast<unsigned long long>(s.waited));
      std::fprintf(stderr, "aladdin serve: placement %s\n", node::refusal_summary(s).c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "aladdin serve: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

const command_registration reg{"serve", "run a control node (intake, placement, workers, planning)", &run_serve};

}  // namespace
}  // namespace aladdin::cli
