// Provisioner: brings the fleet to the planned size. It drives one worker_provisioner
// (actors/node/fleet_roster.hpp: local_fleet starts, reaps and stops emulated worker processes;
// static_fleet waits for named workers), and asks placement to drain or retire the workers it
// says. It reconciles on a wall-clock tick, so that start-up timeouts and exits are noticed even
// when no plan changes.

#include <caf/all.hpp>

#include "actors/caf/node_actors.hpp"

namespace aladdin::node {

namespace {

constexpr auto kTick = std::chrono::milliseconds(500);

struct provisioner_state {
  static inline const char* name = "provisioner";
  node_log* log = nullptr;
  std::unique_ptr<worker_provisioner> fleet;  // destroyed with the actor: local workers stop then
  caf::actor placement;
};
using provisioner_pointer = provisioner_actor::stateful_pointer<provisioner_state>;

double wall_s(provisioner_pointer self) {
  return std::chrono::duration<double>(self->clock().now().time_since_epoch()).count();
}

// CAF 0.17 lets a typed actor send() only to typed ones: the requests to placement (dynamic,
// and indifferent to who sends them) go as anon_send.
void reconcile(provisioner_pointer self) {
  auto& st = self->state;
  for (const fleet_order& o : st.fleet->reconcile(wall_s(self))) {
    if (o.what == fleet_order::kind::drain) {
      st.log->info("draining worker %s", o.name.c_str());
      caf::anon_send(st.placement, drain_request{o.name});
    } else {
      st.log->info("retiring worker %s", o.name.c_str());
      caf::anon_send(st.placement, retire_request{o.name});
    }
  }
}

provisioner_actor::behavior_type provisioner(provisioner_pointer self, node_log* log,
                                             std::unique_ptr<worker_provisioner> fleet, caf::actor placement) {
  auto& st = self->state;
  st.log = log;
  st.fleet = std::move(fleet);
  st.placement = std::move(placement);
  st.fleet->start(wall_s(self));
  self->delayed_send(self, kTick, reconcile_atom::value);
  return {
      [=](target_msg m) {
        self->state.fleet->set_target(m.workers);
        reconcile(self);
      },
      [=](roster_event& e) {
        worker_provisioner& f = *self->state.fleet;
        switch (e.what) {
          case roster_event::kind::registered: f.registered(e.name, wall_s(self)); break;
          case roster_event::kind::idle: f.idle(e.name); break;
          case roster_event::kind::lost: f.lost(e.name); break;
        }
        reconcile(self);
      },
      [=](reconcile_atom) {
        reconcile(self);
        self->delayed_send(self, kTick, reconcile_atom::value);
      },
      [=](stats_atom) { return self->state.fleet->stats(); },
  };
}

}  // namespace

provisioner_actor spawn_provisioner(caf::actor_system& sys, node_log& log,
                                    std::unique_ptr<worker_provisioner> fleet, caf::actor placement) {
  return sys.spawn(provisioner, &log, std::move(fleet), std::move(placement));
}

}  // namespace aladdin::node
