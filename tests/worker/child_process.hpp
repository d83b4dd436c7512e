#pragma once
// A child process for the integration tests: spawned with posix_spawn, waited for with a bound,
// and killed by the destructor if it is still running, so that a failing REQUIRE never leaves
// a worker behind.

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace aladdin::test {

class child_process {
 public:
  // Runs argv[0] with argv. With capture_stderr, the child's stderr goes to a pipe that
  // stderr_text() reads after the child exits; otherwise it shares the test's stderr, so that
  // its log shows in ctest's output.
  explicit child_process(const std::vector<std::string>& args, bool capture_stderr = false) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    int pipe_fds[2] = {-1, -1};
    if (capture_stderr) {
      if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
      posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
      posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
      posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
    }
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (capture_stderr) {
      close(pipe_fds[1]);
      stderr_fd_ = pipe_fds[0];
    }
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("posix_spawn " + args[0] + ": " + std::to_string(rc));
    }
  }

  ~child_process() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (stderr_fd_ >= 0) close(stderr_fd_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0 && !exited_) kill(pid_, sig);
  }

  // The exit code once the child exits within `limit` (-(signal) when killed by one); nullopt
  // if it is still running then. Checks every few milliseconds: a bound, not a measurement.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (exited_) return code_;
      int status = 0;
      const pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
        return code_;
      }
      if (r < 0 && errno != EINTR) return std::nullopt;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Reads the child's stderr (capture_stderr only) while it runs, until `needle` shows or
  // `limit` passes; whether it showed. stderr_text() still returns everything.
  bool stderr_shows(const std::string& needle, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (seen_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (stderr_fd_ < 0 || left.count() <= 0) return false;
      pollfd p{stderr_fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(stderr_fd_, buf, sizeof buf);
      if (n == 0) return seen_.find(needle) != std::string::npos;  // the child closed stderr
      if (n > 0) seen_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  // What the child wrote on stderr (capture_stderr only); reads to end of file, so call it
  // after the child exited.
  std::string stderr_text() {
    std::string out = seen_;
    if (stderr_fd_ < 0) return out;
    char buf[4096];
    for (;;) {
      const ssize_t n = read(stderr_fd_, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;
      }
    }
    return out;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int code_ = 0;
  int stderr_fd_ = -1;
  std::string seen_;  // read by stderr_shows
};

}  // namespace aladdin::test
