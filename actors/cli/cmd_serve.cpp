// aladdin serve: one control node, until SIGINT or SIGTERM, then a graceful drain.

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
  logger& log = process_log();
  log.set_level(options.log);
  log.set_format(options.log_format);
  log.set_process("serve");
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
    // Graceful drain: intake closed, running queries get --shutdown-timeout, the rest fail
    // explicitly (shuttingDown, their clients told), then the node stops and serve exits 0.
    log.info("%s, draining (up to %g s for %zu queries in flight)", sig == SIGINT ? "interrupted" : "terminated",
             options.shutdown_timeout_s, n.in_flight());
    n.begin_drain();
    if (!n.wait_drained(options.shutdown_timeout_s)) {
      const std::size_t failed = n.fail_in_flight();
      log.warn("--shutdown-timeout %g s passed: %zu queries failed (shuttingDown)", options.shutdown_timeout_s, failed);
    }
    const node::node_stats s = n.stats();
    n.stop();
    log.info("accepted %llu, rejected %llu at the intake, placed %llu (%llu waited first)",
             static_cast<unsigned long long>(s.accepted), static_cast<unsigned long long>(s.rejected),
             static_cast<unsigned long long>(s.placed), static_cast<unsigned long long>(s.waited));
    log.info("placement %s", node::refusal_summary(s).c_str());
  } catch (const std::exception& e) {
    log.error("%s", e.what());
    return 1;
  }
  return 0;
}

const command_registration reg{"serve", "run a control node (intake, placement, workers, planning)", &run_serve};

}  // namespace
}  // namespace aladdin::cli
