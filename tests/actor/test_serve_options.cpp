// aladdin serve's options: flags, the config file and their errors.

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "actors/node/serve_options.hpp"

using namespace aladdin;
using namespace aladdin::node;

namespace {

struct config_file {
  std::filesystem::path path;
  explicit config_file(const std::string& text) {
    // random_device, not rand(): every test runs in its own process, all with rand()'s one seed.
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("aladdin-serve-" + std::to_string(rd()) + std::to_string(rd()) + ".ini");
    std::ofstream(path) << text;
  }
  ~config_file() { std::filesystem::remove(path); }
};

std::string apply(serve_options& o, const std::string& text) {
  config_file f(text);
  return apply_config_file(o, f.path.string());
}

}  // namespace

TEST_CASE("serve options: a config file sets options like flags, comments and [serve] allowed") {
  serve_options o;
  const std::string err = apply(o,
                                "# a node\n[serve]\nworkers = 5\n; another comment\n"
                                "policy=jsq\nheartbeat-timeout = 250ms\n\ntime-scale = 20\n");
  CHECK(err.empty());
  CHECK(o.workers == 5);
  CHECK(o.policy == "jsq");
  CHECK(o.heartbeat_timeout_s == doctest::Approx(0.25));
  CHECK(o.time_scale == 20);
}

TEST_CASE("serve options: the provisioner, --durability and --log are parsed once, into what they mean") {
  serve_options o;
  CHECK(o.provisioner == provisioner_kind::local);
  CHECK(o.durability == durability_level::wal);
  CHECK(o.log == node_log::level::info);
  CHECK(apply(o, "provisioner = static\ndurability = fsync\nlog = quiet\n").empty());
  CHECK(o.provisioner == provisioner_kind::static_fleet);
  CHECK(o.durability == durability_level::fsync);
  CHECK(o.log == node_log::level::quiet);
  CHECK(apply(o, "workers = 3\n").empty());  // a file that does not name them leaves them
  CHECK(o.provisioner == provisioner_kind::static_fleet);
  CHECK(o.log == node_log::level::quiet);
  CHECK(std::string(to_string(o.provisioner)) == "static");
  CHECK(apply(o, "provisioner = cloud\n").find("key 'provisioner'") != std::string::npos);
  CHECK(apply(o, "durability = disk\n").find("key 'durability'") != std::string::npos);

  config_file f("provisioner = static\nstatic-workers = a\nlog = warn\n");
  std::vector<std::string> args = {"serve", "--config", f.path.string(), "--provisioner", "local", "--durability", "memory"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  serve_options p;
  CHECK(parse_serve_options(static_cast<int>(argv.size()), argv.data(), p) == -1);
  CHECK(p.provisioner == provisioner_kind::local);  // the flag overrides the file
  CHECK(p.durability == durability_level::memory);
  CHECK(std::string(to_string(p.durability)) == "memory");
  CHECK(p.log == node_log::level::warn);
  CHECK(log_level_of("quiet") == node_log::level::quiet);
  CHECK(log_level_names() == std::vector<std::string>{"info", "warn", "quiet"});
}

TEST_CASE("serve options: a bad key or value in the config file names the file, the line and the key") {
  serve_options o;
  std::string err = apply(o, "workers = 2\nno-such-key = 1\n");
  CHECK(err.find(":2:") != std::string::npos);
  CHECK(err.find("no-such-key") != std::string::npos);
  err = apply(o, "\n\nworkers = lots\n");
  CHECK(err.find(":3:") != std::string::npos);
  CHECK(err.find("key 'workers'") != std::string::npos);
  err = apply(o, "policy = nonsense\n");
  CHECK(err.find("key 'policy'") != std::string::npos);
  err = apply(o, "just words\n");
  CHECK(err.find("key = value") != std::string::npos);
  err = apply(o, "[other]\n");
  CHECK(err.find("section") != std::string::npos);
  err = apply(o, "config = x.ini\n");
  CHECK(err.find("not allowed") != std::string::npos);
}

TEST_CASE("serve options: flags override the config file") {
  config_file f("workers = 5\npolicy = jsq\n");
  std::vector<std::string> args = {"serve", "--workers", "3", "--config", f.path.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  serve_options o;
  CHECK(parse_serve_options(static_cast<int>(argv.size()), argv.data(), o) == -1);
  CHECK(o.workers == 3);
  CHECK(o.policy == "jsq");
}

TEST_CASE("serve options: combinations single flags cannot check") {
  serve_options o;
  CHECK(validate(o).empty());
  o.provisioner = provisioner_kind::static_fleet;
  CHECK(validate(o).find("--static-workers") != std::string::npos);
  o.static_workers = " a, b ,,c";
  CHECK(validate(o).empty());
  CHECK(o.static_worker_names() == std::vector<std::string>{"a", "b", "c"});
  o.policy = "oracle";
  CHECK(validate(o).find("true output lengths") != std::string::npos);
  o.policy = "aladdin";
  o.min_workers = 4;
  o.max_workers = 2;
  CHECK(!validate(o).empty());
}
