// Placement: the node's one placement_desk (src/placement/placement_desk.hpp, the same desk the
// fleet simulator drives), worker registration and re-adoption after a restart. One actor for
// the whole node: a decision is the policy's screened best fit over every worker's summary,
// microseconds in one address space, where asking per-worker actors would cost a message round
// per worker per query. The per-worker work that can run in parallel — journal writes, client
// replies, liveness — is in the proxies.
//
// Placement keeps a dynamic handle (caf::actor) where the small actors have typed ones: it is
// the hub that a dozen message types reach from the bridge thread, the proxies, the intake and
// the provisioner, it tells its proxies from everyone else by the sender of an exit and of a
// lost_msg, and a typed interface would list every one of those messages, its own timers too.

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <unordered_map>

#include "actors/caf/node_actors.hpp"
#include "actors/node/worker_registry.hpp"
#include "placement/decision_log.hpp"

namespace aladdin::node {

namespace {

struct placement_state;
using placement_actor = caf::stateful_actor<placement_state>;
void offer(placement_actor* self, std::vector<ticket>& batch, bool again);

struct live_worker {
  std::string name;
  routing_id peer;
  caf::actor proxy;
  bool draining = false;
};

struct placement_state {
  static inline const char* name = "placement";
  node_services* services = nullptr;
  node_shared* shared = nullptr;
  worker_directory* directory = nullptr;
  placement_options options;
  std::unique_ptr<placement_desk> desk;
  // Tickets of the queries the desk holds (waiting, or being decided): the desk knows a query
  // as a desk_query, the proxies need the whole ticket.
  std::unordered_map<query_id, ticket> held;
  desk_decisions decisions;
  std::vector<desk_query> scratch;
  std::unique_ptr<worker_registry> registry;
  recovery_book book;
  forecaster_actor forecaster;
  provisioner_actor provisioner;
  std::unordered_map<std::uint32_t, live_worker> live;
  std::set<caf::actor_addr> proxies;  // every proxy still running, live or replaced
  std::vector<outbound_frame> frames;
  // --decisions: a row per placement once it has ended (the same rows as simulate --decisions).
  decision_log decisions_log;
  std::unique_ptr<std::ofstream> decisions_out;
};

void log_decision(placement_state& st, const decision_record& r) {
  if (st.decisions_out) *st.decisions_out << decisions_csv_row(r);
}
void log_decisions(placement_state& st, const std::vector<decision_record>& rows) {
  for (const auto& r : rows) log_decision(st, r);
}
void flush_decisions(placement_state& st) {
  if (st.decisions_out) st.decisions_out->flush();
}

// Wall time of one desk call that decided something (the decision-latency histogram).
void observe_decision(placement_state& st, std::chrono::steady_clock::time_point started) {
  if (st.services->metrics == nullptr) return;
  st.services->metrics->observe_placement(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

double model_now(placement_actor* self) { return self->state.services->clock.model_s(self->clock().now()); }

std::string refusal_detail(const desk_refusal& r, bool expired) {
  char buf[160];
  if (expired)
    std::snprintf(buf, sizeof buf, "waited %.1f s (longer than --max-wait) for a worker; last refused: %s",
                  r.waited_s, std::string(to_string(r.reason)).c_str());
  else
    std::snprintf(buf, sizeof buf, "no worker of the fleet can ever hold it (%s)",
                  std::string(to_string(r.reason)).c_str());
  return buf;
}

// Carries out what the desk decided: placements to the proxies, one message per worker;
// refusals and expiries to the journal and the clients.
void route(placement_actor* self) {
  auto& st = self->state;
  const auto now = self->clock().now();
  std::unordered_map<std::uint32_t, assign_batch> by_worker;
  std::vector<ticket> homeless;
  auto take = [&](query_id q) {
    auto it = st.held.find(q);
    ticket t = std::move(it->second);
    st.held.erase(it);
    return t;
  };
  const double now_s = st.services->clock.model_s(now);
  for (const desk_dispatch& d : st.decisions.placed) {
    ticket t = take(d.query);
    if (st.decisions_out) st.decisions_log.placed(desk_query_of(t), d, now_s);
    if (st.live.count(d.worker.value) != 0)
      by_worker[d.worker.value].items.push_back({d.worker, std::move(t), d.output_hint});
    else
      homeless.push_back(std::move(t));  // cannot happen; kept safe anyway
  }
  const std::uint64_t wall = st.services->clock.wall_micros(now);
  for (const desk_refusal& r : st.decisions.refused) {
    ticket t = take(r.query);
    if (st.decisions_out) log_decision(st, st.decisions_log.refused(desk_query_of(t), r, decision_kind::never_fit, now_s));
    fail_query(*st.services->store, st.frames, t, client_channel::failure_code::unschedulable,
               refusal_detail(r, false), wall);
  }
  for (const desk_refusal& r : st.decisions.expired) {
    ticket t = take(r.query);
    if (st.decisions_out) log_decision(st, st.decisions_log.refused(desk_query_of(t), r, decision_kind::expired, now_s));
    fail_query(*st.services->store, st.frames, t, client_channel::failure_code::deadline_exceeded,
               refusal_detail(r, true), wall);
  }
  flush_decisions(st);
  st.decisions.clear();
  st.services->out->post_all(st.frames);
  for (auto& [w, batch] : by_worker) self->send(st.live[w].proxy, std::move(batch));
  if (!homeless.empty()) offer(self, homeless, true);
  st.shared->waiting.store(st.desk->waiting(), std::memory_order_relaxed);
}

// Hands tickets to the desk (new ones, or `again`: lost their worker) and carries out the result.
void offer(placement_actor* self, std::vector<ticket>& batch, bool again) {
  auto& st = self->state;
  st.scratch.clear();
  for (auto& t : batch) {
    st.scratch.push_back(desk_query_of(t));
    const query_id id = t.id;
    st.held.insert_or_assign(id, std::move(t));
  }
  batch.clear();
  const double now = model_now(self);
  const auto started = std::chrono::steady_clock::now();
  if (again)
    st.desk->reoffer(st.scratch, now, st.decisions);
  else
    st.desk->offer(st.scratch, now, st.decisions);
  observe_decision(st, started);
  route(self);
}

void retry(placement_actor* self) {
  auto& st = self->state;
  const double now = model_now(self);
  const auto started = std::chrono::steady_clock::now();
  st.desk->retry(now, st.decisions);
  if (!st.decisions.empty()) observe_decision(st, started);
  route(self);
}

// The node stops now: waiting queries fail here, the proxies fail what their workers hold; the
// reply (how many failed) comes once every proxy has answered.
caf::response_promise abort_all(placement_actor* self) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  const std::uint64_t wall = st.services->clock.wall_micros(self->clock().now());
  std::uint64_t failed = 0;
  for (const query_id q : st.desk->drop_waiting()) {
    auto it = st.held.find(q);
    if (it == st.held.end()) continue;
    if (fail_query(*st.services->store, st.frames, it->second, client_channel::failure_code::shutting_down,
                   "the node shut down before a worker took it", wall))
      ++failed;
    st.held.erase(it);
  }
  st.services->out->post_all(st.frames);
  st.shared->waiting.store(0, std::memory_order_relaxed);
  if (st.live.empty()) {
    rp.deliver(failed);
    return rp;
  }
  auto pending = std::make_shared<std::size_t>(st.live.size());
  auto total = std::make_shared<std::uint64_t>(failed);
  for (const auto& [id, w] : st.live) {
    self->request(w.proxy, std::chrono::seconds(10), abort_atom::value)
        .then(
            [=](std::uint64_t n) mutable {
              *total += n;
              if (--*pending == 0) rp.deliver(*total);
            },
            [=](caf::error&) mutable {
              if (--*pending == 0) rp.deliver(*total);
            });
  }
  return rp;
}

void on_hello(placement_actor* self, hello_msg& m) {
  auto& st = self->state;
  node_services& ns = *st.services;
  const std::uint64_t epoch = st.shared->epoch.load();
  registration r = st.registry->register_worker(m.hello, m.peer, epoch);
  if (!r.ok) {
    ns.log.warn("refused worker %s: %s", m.hello.worker_name.c_str(), r.error.c_str());
    ns.out->post(outbound_frame::worker(
        m.peer, worker_channel::wire_error{worker_channel::error_code::malformed, r.error}));
    return;
  }
  if (auto it = st.live.find(r.worker); it != st.live.end() && it->second.peer == m.peer) {
    // The same worker on the same connection: a retry (the worker re-sends until answered) or
    // a restarted process under its stable name. Answer again and change nothing; a restarted
    // process no longer lists what it held, which its proxy notices (orphans).
    ns.out->post(outbound_frame::worker(m.peer, worker_channel::registered{r.worker, epoch}));
    return;
  }
  // The same name from another connection: the old incarnation (and what it held) is gone.
  if (auto it = st.live.find(r.worker); it != st.live.end()) {
    st.desk->remove_worker(worker_id{r.worker});
    log_decisions(st, st.decisions_log.worker_gone(worker_id{r.worker}));
    st.directory->remove(it->second.peer, it->second.proxy);
    self->send(it->second.proxy, lose_atom::value);
    st.live.erase(it);
  }
  // Planned in the batching regime the worker said it runs (its engine's, not the node's guess).
  st.desk->add_worker(worker_id{r.worker}, r.profile, worker_role::unified, r.chunk_tokens);
  auto proxy = spawn_proxy(self, ns, st.options.proxy, {r.worker, m.hello.worker_name, m.peer}, self);
  st.proxies.insert(proxy.address());
  st.live[r.worker] = {m.hello.worker_name, m.peer, proxy, false};
  st.directory->add(m.peer, proxy);
  ns.out->post(outbound_frame::worker(m.peer, worker_channel::registered{r.worker, epoch}));
  ns.log.info("worker %s registered as %u (%s, %s)", m.hello.worker_name.c_str(), r.worker,
              r.profile.config.label().c_str(),
              r.chunk_tokens > 0 ? ("chunked prefill, " + std::to_string(r.chunk_tokens) + " tokens per iteration").c_str()
                                 : "prefill-first");
  if (st.provisioner) self->send(st.provisioner, roster_event{roster_event::kind::registered, m.hello.worker_name});
  retry(self);
}

// What a worker's messages meant, applied to the desk; re-adoption of queries it reports.
void on_report(placement_actor* self, tracker_report& r) {
  auto& st = self->state;
  const auto now = self->clock().now();
  const double now_s = st.services->clock.model_s(now);
  placement_desk& desk = *st.desk;
  const worker_id worker{r.worker};
  for (const auto q : r.first_tokens) desk.first_token(worker, q, now_s);
  desk.progress(worker, r.progress, now_s);
  completions_msg learnt;
  for (const auto& c : r.completed) {
    desk.completed(worker, c.id, c.prompt_tokens, c.output_tokens, now_s);
    learnt.items.push_back({c.prompt_tokens, c.output_tokens});
  }
  for (const auto q : r.removed) desk.removed(worker, q, now_s);
  if (st.decisions_out) {
    for (const auto q : r.first_tokens) st.decisions_log.first_token(q, now_s);
    for (const auto& c : r.completed)
      if (auto row = st.decisions_log.finished(c.id, c.output_tokens, now_s)) log_decision(st, *row);
    for (const auto q : r.removed)
      if (auto row = st.decisions_log.ended(q)) log_decision(st, *row);
    flush_decisions(st);
  }
  if (!learnt.items.empty()) self->send(st.forecaster, std::move(learnt));

  adopt_msg adopt;
  const readoption back = readopt(st.book, *st.services->store, r, st.services->clock, now, st.frames);
  for (const auto& a : back.adopt) {
    desk.adopt(worker, desk_query_of(a.query), a.running, a.generated_tokens, now_s);
    adopt.adopted.emplace_back(a.query, a.running);
  }
  adopt.cancel = back.cancel;
  st.services->out->post_all(st.frames);
  auto it = st.live.find(r.worker);
  if (it != st.live.end() && (!adopt.adopted.empty() || !adopt.cancel.empty()))
    self->send(it->second.proxy, std::move(adopt));
  if (!r.orphaned.empty()) offer(self, r.orphaned, true);
  if (it != st.live.end() && it->second.draining && desk.outstanding(worker) == 0 && st.provisioner)
    self->send(st.provisioner, roster_event{roster_event::kind::idle, it->second.name});
  if (r.frees_capacity()) retry(self);
}

void on_lost(placement_actor* self, lost_msg& m) {
  auto& st = self->state;
  // From the current proxy of that worker, or from one already replaced (re-registration,
  // retirement): then only its queries matter.
  auto it = st.live.find(m.worker);
  if (it != st.live.end() && it->second.proxy.address() == caf::actor_cast<caf::actor_addr>(self->current_sender())) {
    if (it->second.draining)  // a drained worker leaves by itself once it is empty
      st.services->log.info("drained worker %s left: %s", m.name.c_str(), m.why.c_str());
    else
      st.services->log.warn("worker %s lost: %s (%zu queries to place again)", m.name.c_str(), m.why.c_str(),
                            m.requeue.size());
    st.desk->remove_worker(worker_id{m.worker});
    log_decisions(st, st.decisions_log.worker_gone(worker_id{m.worker}));
    st.directory->remove(it->second.peer, it->second.proxy);
    st.registry->set_state(m.worker, worker_state::gone);
    st.live.erase(it);
    if (st.provisioner) self->send(st.provisioner, roster_event{roster_event::kind::lost, m.name});
  }
  offer(self, m.requeue, true);
}

// A client has gone. A query still waiting here leaves the queue and fails (cancelled); one on
// a worker is the worker's proxy's to cancel: every proxy is asked, since the one that holds it
// is the only one that acts (an assignment on its way to a proxy gets there before this
// message, CAF keeping the order between two actors).
void on_cancel(placement_actor* self, cancel_msg& m) {
  auto& st = self->state;
  if (auto it = st.held.find(m.query); it != st.held.end() && st.desk->withdraw(m.query)) {
    const std::uint64_t wall = st.services->clock.wall_micros(self->clock().now());
    fail_query(*st.services->store, st.frames, it->second, client_channel::failure_code::cancelled, m.why, wall);
    st.held.erase(it);
    st.services->out->post_all(st.frames);
    st.shared->waiting.store(st.desk->waiting(), std::memory_order_relaxed);
    return;
  }
  for (auto& [w, lw] : st.live) self->send(lw.proxy, m);
}

void on_drain(placement_actor* self, const std::string& name, bool retire) {
  auto& st = self->state;
  const auto id = st.registry->id_of(name);
  auto it = id ? st.live.find(*id) : st.live.end();
  if (it == st.live.end()) return;
  if (!retire) {
    it->second.draining = true;
    st.desk->drain_worker(worker_id{*id});
    st.registry->set_state(*id, worker_state::draining);
    self->send(it->second.proxy, drain_atom::value);
    if (st.desk->outstanding(worker_id{*id}) == 0 && st.provisioner)
      self->send(st.provisioner, roster_event{roster_event::kind::idle, name});
    return;
  }
  st.desk->remove_worker(worker_id{*id});
  log_decisions(st, st.decisions_log.worker_gone(worker_id{*id}));
  st.directory->remove(it->second.peer, it->second.proxy);
  st.registry->set_state(*id, worker_state::gone);
  self->send(it->second.proxy, retire_atom::value);
  st.live.erase(it);
}

caf::behavior placement(placement_actor* self, node_services* services, node_shared* shared,
                        worker_directory* directory, placement_options options, forecaster_actor forecaster,
                        recovery_book book, std::vector<worker_record> known) {
  auto& st = self->state;
  st.services = services;
  st.shared = shared;
  st.directory = directory;
  st.desk = std::make_unique<placement_desk>(options.desk);
  st.registry = std::make_unique<worker_registry>(*services->store, options.registration, std::move(known));
  st.options = std::move(options);
  if (!st.options.decisions_path.empty()) {
    // Appended to, across restarts; the header once, in a new file. The composition root has
    // checked that it can be written.
    const bool fresh = !std::ifstream(st.options.decisions_path).good() ||
                       std::ifstream(st.options.decisions_path, std::ios::ate).tellg() == 0;
    st.decisions_out = std::make_unique<std::ofstream>(st.options.decisions_path, std::ios::app);
    if (fresh) *st.decisions_out << decisions_csv_header();
    st.decisions_out->flush();
  }
  st.book = std::move(book);
  st.forecaster = std::move(forecaster);
  const auto retry_every = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>(st.options.retry_interval_s));
  self->delayed_send(self, retry_every, retry_atom::value);
  if (!st.book.empty()) {
    services->log.info("%zu unfinished queries in the journal: waiting %.1f s for their workers",
                       st.book.size(), st.options.adopt_grace_s);
    self->delayed_send(self, std::chrono::duration_cast<caf::timespan>(
                                 std::chrono::duration<double>(st.options.adopt_grace_s)),
                       grace_atom::value);
  }
  // Only proxies are linked to placement (so that its exit takes them down); their exits,
  // normal or not, must not take placement down. An exit from anyone else (the composition
  // root's shutdown) does.
  self->set_exit_handler([=](caf::exit_msg& m) {
    auto& proxies = self->state.proxies;
    if (auto it = proxies.find(m.source); it != proxies.end()) {
      proxies.erase(it);
      if (m.reason != caf::exit_reason::normal)
        self->state.services->log.warn("a worker proxy failed: %s", caf::to_string(m.reason).c_str());
      return;
    }
    // The node stops. Workers of the local provisioner are this node's to stop, also those a
    // previous run started (they are not its children, so only a message reaches them); a
    // static fleet belongs to someone else and keeps running for the next start.
    if (self->state.options.stops_workers_on_exit)
      for (auto& [w, lw] : self->state.live)
        self->state.services->out->post(
            outbound_frame::worker(lw.peer, worker_channel::shutdown_worker{"the control node stops"}));
    self->quit(m.reason);
  });
  return {
      [=](place_batch& b) { offer(self, b.items, false); },
      [=](hello_msg& m) { on_hello(self, m); },
      [=](report_msg& m) { on_report(self, m.report); },
      [=](lost_msg& m) { on_lost(self, m); },
      [=](stray_batch& m) {
        tracker_report r;  // completions that beat their worker's re-registration
        r.worker = 0;
        for (auto& e : m.events)
          if (auto* done = std::get_if<worker_channel::query_completed>(&e))
            r.unknown_completed.push_back(*done);
        if (!r.unknown_completed.empty()) on_report(self, r);
      },
      [=](retry_atom) {
        retry(self);
        self->delayed_send(self, retry_every, retry_atom::value);
      },
      [=](grace_atom) {
        auto rest = self->state.book.take_rest();
        if (rest.empty()) return;
        self->state.services->log.info("%zu journaled queries were not reported by any worker: placing them again",
                                       rest.size());
        std::vector<ticket> again;
        const auto now = self->clock().now();
        for (const auto& e : rest) again.push_back(ticket_from_journal(e, self->state.services->clock, now));
        offer(self, again, true);
      },
      [=](cancel_msg& m) { on_cancel(self, m); },
      [=](drain_request& m) { on_drain(self, m.name, false); },
      [=](retire_request& m) { on_drain(self, m.name, true); },
      [=](peers_msg& m) { self->state.provisioner = m.provisioner; },
      [=](abort_atom) { return abort_all(self); },
      [=](stats_atom) {
        placement_stats s;
        static_cast<desk_counters&>(s) = self->state.desk->counters();
        s.waiting = self->state.desk->waiting();
        s.workers = self->state.live.size();
        for (const auto& [id, w] : self->state.live) {
          worker_stats ws;
          ws.name = w.name;
          ws.draining = w.draining;
          if (const schedule_summary* sum = self->state.desk->summary_of(worker_id{id})) {
            ws.shape = sum->shape->profile.config.label();
            ws.running = sum->running;
            ws.queued = sum->entries - sum->running;
            ws.kv_used_tokens = sum->sum_context_tokens;
            ws.kv_capacity_tokens = sum->kv_capacity_tokens;
          }
          s.worker_list.push_back(std::move(ws));
        }
        std::sort(s.worker_list.begin(), s.worker_list.end(),
                  [](const worker_stats& a, const worker_stats& b) { return a.name < b.name; });
        return s;
      },
  };
}

}  // namespace

caf::actor spawn_placement(caf::actor_system& sys, node_services& services, node_shared& shared,
                           worker_directory& directory, placement_options options,
                           forecaster_actor forecaster, recovery_book book,
                           std::vector<worker_record> known_workers) {
  return sys.spawn(placement, &services, &shared, &directory, std::move(options), std::move(forecaster),
                   std::move(book), std::move(known_workers));
}

}  // namespace aladdin::node
