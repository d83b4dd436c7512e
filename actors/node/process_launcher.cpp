#include "actors/node/process_launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <thread>

extern char** environ;

namespace aladdin::node {

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "aladdin";
  return std::string(buf, static_cast<std::size_t>(n));
}

child_process child_process::spawn(const spawn_spec& spec) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  int pipe_fds[2] = {-1, -1};
  if (spec.pipe_stdout) {
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  }
  if (!spec.log_file.empty()) {
    if (!spec.pipe_stdout)
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, spec.log_file.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, spec.log_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  }
  // The child starts with default signal handling and no blocked signals, whatever the parent
  // (which may block SIGINT/SIGTERM to wait for them) has set.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> owned;
  owned.reserve(spec.args.size() + 1);
  owned.push_back(spec.program);
  for (const auto& a : spec.args) owned.push_back(a);
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);

  // The inherited environment, with spec.env set over it.
  std::vector<std::string> env_owned;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view kv = *e;
    const auto name = kv.substr(0, kv.find('='));
    const bool replaced = std::any_of(spec.env.begin(), spec.env.end(), [&](const auto& p) { return p.first == name; });
    if (!replaced) env_owned.emplace_back(kv);
  }
  for (const auto& [k, v] : spec.env) env_owned.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_owned) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, spec.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spec.pipe_stdout) ::close(pipe_fds[1]);
  if (rc != 0) {
    if (spec.pipe_stdout) ::close(pipe_fds[0]);
    throw std::runtime_error("cannot start " + spec.program + ": " + std::strerror(rc));
  }
  child_process c;
  c.pid_ = pid;
  c.stdout_fd_ = spec.pipe_stdout ? pipe_fds[0] : -1;
  return c;
}

child_process::child_process(child_process&& o) noexcept
    : pid_(o.pid_), stdout_fd_(o.stdout_fd_), buffered_(std::move(o.buffered_)), status_(o.status_) {
  o.pid_ = -1;
  o.stdout_fd_ = -1;
}

child_process& child_process::operator=(child_process&& o) noexcept {
  if (this != &o) {
    release();
    pid_ = o.pid_;
    stdout_fd_ = o.stdout_fd_;
    buffered_ = std::move(o.buffered_);
    status_ = o.status_;
    o.pid_ = -1;
    o.stdout_fd_ = -1;
  }
  return *this;
}

child_process::~child_process() { release(); }

void child_process::release() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  pid_ = -1;
  stdout_fd_ = -1;
}

bool child_process::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  } else {
    status_ = -1;  // not our child any more (reaped elsewhere)
  }
  return false;
}

void child_process::terminate() {
  if (running()) ::kill(pid_, SIGTERM);
}

void child_process::kill() {
  if (running()) ::kill(pid_, SIGKILL);
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void child_process::stop(std::chrono::milliseconds grace) {
  terminate();
  if (!wait_for(grace)) {
    kill();
    wait_for(std::chrono::seconds(5));
  }
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;  // closed: the child is gone
    buffered_.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace aladdin::node
