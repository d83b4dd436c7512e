#pragma once
// Helpers shared by the integration tests and the benchmark: temporary directories, bounded
// waits, and node options for a loopback node with ephemeral ports.

#include <chrono>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include "actors/node/serve_options.hpp"

namespace aladdin::test {

// A fresh directory under the system temp dir, removed with everything in it on scope exit.
class temp_dir {
 public:
  explicit temp_dir(const std::string& tag) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("aladdin-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Polls `condition` until it holds or `timeout` passes; whether it held. Every wait in the
// tests is bounded this way.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A node on loopback with ephemeral ports, waiting for statically named workers.
inline node::serve_options loopback_node(const std::string& data_dir, const std::string& workers) {
  node::serve_options o;
  o.data_dir = data_dir;
  o.listen = "tcp://127.0.0.1:0";
  o.worker_listen = "tcp://127.0.0.1:0";
  o.provisioner = node::provisioner_kind::static_fleet;
  o.static_workers = workers;
  o.log = node::node_log::level::quiet;
  o.heartbeat_timeout_s = 0.5;
  o.adopt_grace_s = 1.0;
  o.retry_interval_s = 0.01;
  return o;
}

}  // namespace aladdin::test
