// Provisioner: brings the fleet to the planned size. The decisions are fleet_roster's; this
// actor owns the worker processes (local mode), reaps them, and asks placement to drain or
// retire workers. It reconciles on a wall-clock tick, so that start-up timeouts and exits are
// noticed even when no plan changes.
//
// Local workers are started as
//   <aladdin> worker --emulate --connect <worker endpoint> --model M --gpu G --tp T --time-scale X
//            --name N
// with stdout and stderr in <data-dir>/workers/<name>.log.

#include <caf/all.hpp>

#include <filesystem>
#include <map>

#include "actors/caf/node_actors.hpp"
#include "actors/node/fleet_roster.hpp"
#include "actors/node/process_launcher.hpp"

namespace aladdin::node {

namespace {

struct provisioner_state {
  static inline const char* name = "provisioner";
  node_context* ctx = nullptr;
  provisioner_setup setup;
  std::unique_ptr<fleet_roster> roster;
  std::map<std::string, child_process> children;
  caf::actor placement;

  ~provisioner_state() {
    // The node is stopping: ask every worker we started to stop, then make sure.
    for (auto& [worker, c] : children) c.terminate();
    for (auto& [worker, c] : children) c.stop(std::chrono::milliseconds(2000));
  }
};
using provisioner_actor = caf::stateful_actor<provisioner_state>;

double wall_s(provisioner_actor* self) {
  return std::chrono::duration<double>(self->clock().now().time_since_epoch()).count();
}

spawn_spec worker_command(const node_context& ctx, const provisioner_setup& setup, const std::string& name) {
  const serve_options& o = ctx.options;
  spawn_spec s;
  s.program = o.worker_command.empty() ? self_executable() : o.worker_command;
  char scale[32];
  std::snprintf(scale, sizeof scale, "%g", o.time_scale);
  s.args = {"worker", "--emulate", "--connect", setup.worker_endpoint, "--model", o.model, "--gpu", o.gpu,
            "--tp", std::to_string(o.tp), "--time-scale", scale, "--name", name};
  if (!setup.log_dir.empty()) s.log_file = setup.log_dir + "/" + name + ".log";
  return s;
}

void carry_out(provisioner_actor* self, const std::vector<roster_action>& actions) {
  auto& st = self->state;
  for (const auto& a : actions) {
    switch (a.what) {
      case roster_action::kind::launch:
        try {
          st.children[a.name] = child_process::spawn(worker_command(*st.ctx, st.setup, a.name));
          st.ctx->log.info("started worker %s (pid %d)", a.name.c_str(), st.children[a.name].pid());
        } catch (const std::exception& e) {
          st.ctx->log.warn("cannot start worker %s: %s", a.name.c_str(), e.what());
          st.roster->exited(a.name);
        }
        break;
      case roster_action::kind::drain:
        st.ctx->log.info("draining worker %s", a.name.c_str());
        self->send(st.placement, drain_msg{a.name});
        break;
      case roster_action::kind::retire:
        st.ctx->log.info("retiring worker %s", a.name.c_str());
        self->send(st.placement, retire_msg{a.name});
        if (auto it = st.children.find(a.name); it != st.children.end()) it->second.terminate();
        break;
      case roster_action::kind::kill:
        if (auto it = st.children.find(a.name); it != st.children.end()) it->second.kill();
        break;
    }
  }
}

void reconcile(provisioner_actor* self) {
  auto& st = self->state;
  for (auto it = st.children.begin(); it != st.children.end();) {
    if (it->second.running()) {
      ++it;
      continue;
    }
    if (st.roster->state(it->first) == member_state::launching)
      st.ctx->log.warn("worker %s exited (status %d) before registering", it->first.c_str(),
                       it->second.exit_status().value_or(-1));
    st.roster->exited(it->first);
    it = st.children.erase(it);
  }
  const bool gave_up = st.roster->gave_up();
  carry_out(self, st.roster->reconcile(wall_s(self)));
  if (!gave_up && st.roster->gave_up())
    st.ctx->log.warn("workers keep failing to start; not starting more (see %s)", st.setup.log_dir.c_str());
}

caf::behavior provisioner(provisioner_actor* self, node_context* ctx, provisioner_setup setup,
                          caf::actor placement) {
  auto& st = self->state;
  st.ctx = ctx;
  st.placement = std::move(placement);
  st.roster = std::make_unique<fleet_roster>("local", setup.local, ctx->options.startup_timeout_s,
                                             setup.local ? std::vector<std::string>{} : setup.expected);
  if (setup.local) {
    for (const auto& name : setup.expected) st.roster->expect(name, wall_s(self));
    if (!setup.log_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(setup.log_dir, ec);
    }
  }
  st.setup = std::move(setup);
  self->delayed_send(self, std::chrono::milliseconds(500), reconcile_atom::value);
  return {
      [=](target_msg m) {
        if (self->state.setup.local) self->state.roster->set_target(m.workers);
        reconcile(self);
      },
      [=](roster_event& e) {
        auto& s = self->state;
        switch (e.what) {
          case roster_event::kind::registered: s.roster->registered(e.name, wall_s(self)); break;
          case roster_event::kind::idle: s.roster->idle(e.name); break;
          case roster_event::kind::lost:
            s.roster->lost(e.name);
            // A worker that stopped beating but still runs is of no use: make room for another.
            if (auto it = s.children.find(e.name); it != s.children.end()) it->second.kill();
            break;
        }
        reconcile(self);
      },
      [=](reconcile_atom) {
        reconcile(self);
        self->delayed_send(self, std::chrono::milliseconds(500), reconcile_atom::value);
      },
      [=](stats_atom) {
        auto& r = *self->state.roster;
        return std::vector<int>{r.target(), r.count(member_state::launching), r.count(member_state::active),
                                r.count(member_state::draining)};
      },
  };
}

}  // namespace

caf::actor spawn_provisioner(caf::actor_system& sys, node_context& ctx, provisioner_setup setup,
                             caf::actor placement) {
  return sys.spawn(provisioner, &ctx, std::move(setup), std::move(placement));
}

}  // namespace aladdin::node
