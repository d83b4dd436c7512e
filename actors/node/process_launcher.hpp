#pragma once
// Child processes: the local provisioner's workers, and the node itself when a test or
// `aladdin up` runs it as a child. posix_spawn rather than fork, because the parent is
// multi-threaded (actor scheduler, ZeroMQ I/O threads) and only async-signal-safe work may
// happen between fork and exec.
//
// A child_process owns its process: the destructor kills (SIGKILL) and reaps it if it still
// runs, so that no test or command leaves workers behind, whatever path it leaves by.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace aladdin::node {

struct spawn_spec {
  std::string program;
  std::vector<std::string> args;    // without argv[0]
  std::string log_file;             // stdout and stderr go here (appended); empty: inherited
  bool pipe_stdout = false;         // stdout to a pipe the parent reads (stderr per log_file)
  // Set in the child's environment, over what it inherits.
  std::vector<std::pair<std::string, std::string>> env;
};

class child_process {
 public:
  child_process() = default;
  // Throws std::runtime_error when the process cannot be started.
  static child_process spawn(const spawn_spec& spec);

  child_process(child_process&& o) noexcept;
  child_process& operator=(child_process&& o) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  pid_t pid() const { return pid_; }
  bool valid() const { return pid_ > 0; }
  // Reaps without waiting; false once the process has exited.
  bool running();
  // The exit status (or 128 + signal) once exited.
  std::optional<int> exit_status() const { return status_; }

  void terminate();  // SIGTERM
  void kill();       // SIGKILL
  // Waits up to `timeout` for the process to exit; its status, or nullopt if still running.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // Asks politely, then forces after `grace`.
  void stop(std::chrono::milliseconds grace);

  // One line from the piped stdout (without the newline), waiting up to `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);

 private:
  void release();
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
  std::optional<int> status_;
};

// The path of the running executable (/proc/self/exe resolved).
std::string self_executable();

}  // namespace aladdin::node
