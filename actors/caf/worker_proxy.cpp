// Worker proxy: one per registered worker. Relays assignments, turns the worker's messages into
// journal writes, client replies and a report for placement (worker_tracker does all three),
// and declares the worker lost when a heartbeat timeout passes without a heartbeat.
//
// Journal writes per mailbox, not per message: a worker_batch (one bridge poll round of this
// worker's messages) or an assign_batch is only collected, and a note to itself (journal_atom),
// queued behind what is already waiting, carries out all of them: assignments first (journaled
// dispatched, then sent), then the worker's messages (completions journaled in one write). Any
// other message carries out what is collected before it is handled, so it sees the same state
// as if each batch had been handled on arrival.
//
// The timeout uses a generation counter, since a CAF 0.17 delayed message cannot be cancelled:
// every heartbeat starts a new generation and schedules a check carrying it; a check that finds
// its generation still current means no heartbeat came in between.

#include <caf/all.hpp>

#include "actors/caf/node_actors.hpp"

namespace aladdin::node {

namespace {

struct proxy_state {
  static inline const char* name = "worker-proxy";
  std::unique_ptr<worker_tracker> tracker;
  caf::actor placement;
  double timeout_s = 0;
  caf::timespan timeout{};
  std::vector<worker_event> pending_events;  // collected, not yet handled
  std::vector<dispatch> pending_assign;
  bool journal_queued = false;               // a journal_atom is in the mailbox
};
using proxy_actor = caf::stateful_actor<proxy_state>;

template <class T>
void append(std::vector<T>& to, std::vector<T>& from) {
  if (to.empty()) {
    to = std::move(from);
  } else {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  }
}

void arm(proxy_actor* self) {
  self->delayed_send(self, self->state.timeout, beat_atom::value, self->state.tracker->generation());
}

void report(proxy_actor* self, tracker_report& r) {
  const bool says_something = !r.first_tokens.empty() || !r.progress.empty() || !r.completed.empty() ||
                              !r.removed.empty() || !r.orphaned.empty() || !r.unknown_running.empty() ||
                              !r.unknown_waiting.empty() || !r.unknown_completed.empty();
  if (says_something) self->send(self->state.placement, report_msg{std::move(r)});
}

// The worker is gone (or replaced): fail or hand back what it held, and stop.
void give_up(proxy_actor* self, const std::string& why) {
  auto& st = self->state;
  auto again = st.tracker->lose(self->clock().now(), why);
  self->send(st.placement, lost_msg{st.tracker->worker(), st.tracker->name(), why, std::move(again)});
  self->quit();
}

// Carries out what was collected: assignments, then the worker's messages.
void journal_pending(proxy_actor* self) {
  auto& st = self->state;
  if (st.pending_assign.empty() && st.pending_events.empty()) return;
  const auto now = self->clock().now();
  tracker_report r;
  if (!st.pending_assign.empty()) st.tracker->assign(st.pending_assign, now, r);
  st.pending_assign.clear();
  if (!st.pending_events.empty()) {
    st.tracker->handle(st.pending_events, now, r);
    st.pending_events.clear();
    if (r.heartbeat) arm(self);
  }
  report(self, r);
}

void collect(proxy_actor* self) {
  if (self->state.journal_queued) return;
  self->state.journal_queued = true;
  self->send(self, journal_atom::value);
}

caf::behavior proxy(proxy_actor* self, node_services* services, proxy_options options, proxy_setup setup,
                    caf::actor placement) {
  auto& st = self->state;
  st.placement = std::move(placement);
  st.timeout_s = options.heartbeat_timeout_s;
  st.timeout = std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(st.timeout_s));
  st.tracker = std::make_unique<worker_tracker>(setup.worker, setup.name, setup.peer, *services->store,
                                                *services->out, services->clock, options.tracking);
  st.tracker->set_text_relay(services->text);
  arm(self);  // a worker that registers and never beats is lost too
  return {
      [=](worker_batch& b) {
        append(self->state.pending_events, b.events);
        collect(self);
      },
      [=](assign_batch& b) {
        // Assignments journaled and sent before the worker's messages collected so far are
        // handled are still sent before anything the worker says about them: it cannot speak of
        // a query it has not received.
        append(self->state.pending_assign, b.items);
        collect(self);
      },
      [=](journal_atom) {
        self->state.journal_queued = false;
        journal_pending(self);
      },
      [=](adopt_msg& m) {
        journal_pending(self);
        const auto now = self->clock().now();
        tracker_report r;
        for (const auto& [t, started] : m.adopted) self->state.tracker->adopt(t, started, now, r);
        for (const auto q : m.cancel) self->state.tracker->cancel(q);
        report(self, r);
      },
      [=](beat_atom, std::uint64_t generation) {
        journal_pending(self);  // a heartbeat among them starts a new generation
        if (generation != self->state.tracker->generation()) return;  // a heartbeat came since
        char why[96];
        std::snprintf(why, sizeof why, "no heartbeat for %.1f s", self->state.timeout_s);
        give_up(self, why);
      },
      [=](cancel_msg& m) {
        journal_pending(self);
        tracker_report r;
        if (self->state.tracker->abandon(m.query, m.why, self->clock().now(), r)) report(self, r);
      },
      [=](drain_atom) {
        journal_pending(self);
        self->state.tracker->drain();
      },
      [=](retire_atom) {
        journal_pending(self);
        self->state.tracker->shutdown("retired by the provisioner");
        give_up(self, "retired");
      },
      [=](lose_atom) {
        journal_pending(self);
        give_up(self, "the worker registered again");
      },
      [=](abort_atom) {
        journal_pending(self);
        tracker_report r;
        const std::size_t failed = self->state.tracker->fail_all(
            client_channel::failure_code::shutting_down, "the node shut down before its worker finished it",
            self->clock().now(), r);
        report(self, r);
        return static_cast<std::uint64_t>(failed);
      },
      [=](stats_atom) {
        journal_pending(self);
        return static_cast<std::uint64_t>(self->state.tracker->in_flight());
      },
  };
}

}  // namespace

caf::actor spawn_proxy(caf::local_actor* parent, node_services& services, const proxy_options& options,
                       proxy_setup setup, caf::actor placement) {
  if (options.own_thread)
    return parent->spawn<caf::linked + caf::detached>(proxy, &services, options, std::move(setup), std::move(placement));
  return parent->spawn<caf::linked>(proxy, &services, options, std::move(setup), std::move(placement));
}

}  // namespace aladdin::node
