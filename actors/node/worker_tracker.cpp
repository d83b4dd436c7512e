#include "actors/node/worker_tracker.hpp"
#include "util/log.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

namespace aladdin::node {

namespace cc = client_channel;
namespace wc = worker_channel;
using client_channel::failure_code;

namespace {

failure_reason to_store(failure_code c) {
  switch (c) {
    case failure_code::worker_lost: return failure_reason::worker_lost;
    case failure_code::engine_rejected: return failure_reason::engine_rejected;
    case failure_code::cancelled: return failure_reason::cancelled;
    case failure_code::deadline_exceeded: return failure_reason::deadline_exceeded;
    case failure_code::shutting_down: return failure_reason::shutting_down;
    case failure_code::internal: return failure_reason::internal;
    case failure_code::unschedulable: return failure_reason::unschedulable;
  }
  return failure_reason::internal;
}

void journal_problem(const char* what, query_id q, const store_error& e) {
  process_log().error("journal: %s of query %llu failed: %s", what,
               static_cast<unsigned long long>(q.value), e.message.c_str());
}

}  // namespace

bool fail_query(state_store& store, std::vector<outbound_frame>& frames, const ticket& t,
                failure_code code, const std::string& detail, std::uint64_t wall_micros) {
  failure_info info{to_store(code), detail, wall_micros};
  if (auto s = store.mark_failed(t.id, info); !s) {
    if (s.error().code != store_errc::invalid_transition) journal_problem("fail", t.id, s.error());
    return false;
  }
  if (!t.client.empty())
    frames.push_back(outbound_frame::client(t.client, cc::query_failed{t.id.value, code, detail}));
  return true;
}

bool finish_recovered(state_store& store, std::vector<outbound_frame>& frames, const journal_entry& e,
                      const wc::query_completed& done, std::uint64_t wall_micros) {
  finish_info fin;
  fin.output_tokens = done.output_tokens;
  fin.finished_micros = wall_micros;
  // Its first token went out before the restart, unseen by this node: TTFT and ATGT unknown.
  if (auto s = store.mark_finished(e.id, fin); !s) {
    if (s.error().code != store_errc::invalid_transition) journal_problem("finish", e.id, s.error());
    return false;
  }
  if (!e.client_id.empty())
    frames.push_back(outbound_frame::client(e.client_id, cc::query_finished{e.id.value, done.output_tokens, 0, 0}));
  return true;
}

worker_tracker::worker_tracker(std::uint32_t worker, std::string name, routing_id peer,
                               state_store& store, outbox& out, node_clock clock,
                               tracker_options options)
    : worker_(worker),
      name_(std::move(name)),
      peer_(std::move(peer)),
      store_(store),
      out_(out),
      clock_(clock),
      options_(options) {}

void worker_tracker::to_client(const ticket& t, cc::message m) {
  if (!t.client.empty()) frames_.push_back(outbound_frame::client(t.client, std::move(m)));
}

void worker_tracker::assign(std::vector<dispatch>& batch, node_clock::steady now,
                            tracker_report& report) {
  report.worker = worker_;
  (void)now;
  std::vector<std::pair<query_id, worker_id>> journal;
  journal.reserve(batch.size());
  for (const auto& d : batch) journal.emplace_back(d.query.id, worker_id{worker_});
  // One durable write for the batch, before any assignment leaves.
  const std::vector<store_status> dispatched = store_.mark_dispatched_all(journal);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    dispatch& d = batch[i];
    if (!dispatched[i]) {
      // Ended meanwhile (say, failed by a deadline): nothing to run.
      if (dispatched[i].error().code != store_errc::invalid_transition)
        journal_problem("dispatch", d.query.id, dispatched[i].error());
      report.removed.push_back(d.query.id);
      continue;
    }
    ++d.query.placements;
    frames_.push_back(outbound_frame::worker(
        peer_, wc::assign_query{d.query.id.value, d.query.prompt_tokens, d.output_hint,
                                d.query.max_output_tokens, d.query.accepted_micros, d.query.request}));
    flights_[d.query.id.value] = flight{std::move(d.query), 0, 0};
  }
  batch.clear();
  out_.post_all(frames_);
}

void worker_tracker::adopt(const ticket& t, bool started, node_clock::steady now,
                           tracker_report& report) {
  report.worker = worker_;
  // The first token's time is unknown after a restart; "now" keeps its TTFT from looking
  // better than it was.
  flights_[t.id.value] = flight{t, started ? clock_.wall_micros(now) : 0, 0};
  if (auto it = early_.find(t.id.value); it != early_.end()) {
    const wc::query_completed done = it->second;
    early_.erase(it);
    on_completed(done, now, report);
    finish_pending(report);
  }
  out_.post_all(frames_);
}

void worker_tracker::cancel(query_id q) {
  out_.post(outbound_frame::worker(peer_, wc::cancel_query{q.value}));
}

void worker_tracker::drain() { out_.post(outbound_frame::worker(peer_, wc::drain_worker{0})); }

void worker_tracker::shutdown(const std::string& reason) {
  out_.post(outbound_frame::worker(peer_, wc::shutdown_worker{reason}));
}

void worker_tracker::handle(std::vector<worker_event>& events, node_clock::steady now,
                            tracker_report& report) {
  report.worker = worker_;
  for (auto& e : events) {
    if (auto* hb = std::get_if<wc::heartbeat>(&e)) {
      on_heartbeat(*hb, now, report);
    } else if (auto* ft = std::get_if<wc::first_token>(&e)) {
      on_first_token(*ft, now, report);
    } else if (auto* done = std::get_if<wc::query_completed>(&e)) {
      on_completed(*done, now, report);
    } else if (auto* rej = std::get_if<wc::engine_rejected>(&e)) {
      on_rejected(*rej, now, report);
    } else if (auto* text = std::get_if<wc::query_text>(&e)) {
      on_text(*text);
    }
  }
  finish_pending(report);
  out_.post_all(frames_);
}

void worker_tracker::on_heartbeat(const wc::heartbeat& hb, node_clock::steady now,
                                  tracker_report& report) {
  ++generation_;
  report.heartbeat = true;
  std::unordered_set<std::uint64_t> listed;
  listed.reserve(hb.running.size() + hb.waiting.size());
  for (const auto& r : hb.running) {
    listed.insert(r.query_id);
    if (flights_.count(r.query_id) != 0)
      report.progress.push_back({query_id{r.query_id}, static_cast<int>(r.generated_tokens)});
    else
      report.unknown_running.emplace_back(query_id{r.query_id}, static_cast<int>(r.generated_tokens));
  }
  for (const auto id : hb.waiting) {
    listed.insert(id);
    if (flights_.count(id) == 0) report.unknown_waiting.push_back(query_id{id});
  }
  // A truncated waiting list says nothing about what it left out.
  if (hb.waiting.size() < hb.waiting_count) return;
  std::vector<std::uint64_t> gone;
  for (auto& [id, f] : flights_) {
    if (listed.count(id) != 0) {
      f.missed = 0;
    } else if (++f.missed >= 2) {
      gone.push_back(id);
    }
  }
  for (const auto id : gone) {
    flight f = std::move(flights_[id]);
    flights_.erase(id);
    if (f.first_token_micros != 0 || f.query.placements >= options_.max_placements) {
      fail(f.query, failure_code::worker_lost, "the worker no longer runs it", now);
      report.removed.push_back(f.query.id);
    } else {
      report.removed.push_back(f.query.id);  // off this worker's schedule...
      report.orphaned.push_back(std::move(f.query));  // ...and placed again
    }
  }
}

void worker_tracker::on_text(const wc::query_text& m) {
  const auto it = flights_.find(m.query_id);
  if (it == flights_.end() || relay_ == nullptr || it->second.query.request.api == wc::engine_api::none) return;
  relay_->text(it->second.query.id, m);
}

bool worker_tracker::abandon(query_id q, const std::string& why, node_clock::steady now, tracker_report& report) {
  report.worker = worker_;
  const auto it = flights_.find(q.value);
  if (it == flights_.end()) return false;
  ticket t = std::move(it->second.query);
  flights_.erase(it);
  frames_.push_back(outbound_frame::worker(peer_, wc::cancel_query{q.value}));
  fail(t, failure_code::cancelled, why, now);
  report.removed.push_back(t.id);
  out_.post_all(frames_);
  return true;
}

void worker_tracker::on_first_token(const wc::first_token& m, node_clock::steady now,
                                    tracker_report& report) {
  const auto it = flights_.find(m.query_id);
  if (it == flights_.end() || it->second.first_token_micros != 0) return;
  it->second.first_token_micros = clock_.wall_micros(now);
  report.first_tokens.push_back(query_id{m.query_id});
  to_client(it->second.query, cc::first_token{m.query_id, it->second.first_token_micros});
}

void worker_tracker::on_completed(const wc::query_completed& m, node_clock::steady now,
                                  tracker_report& report) {
  const auto it = flights_.find(m.query_id);
  if (it == flights_.end()) {
    report.unknown_completed.push_back(m);
    constexpr std::size_t kKeep = 4096;
    if (early_.emplace(m.query_id, m).second) early_order_.push_back(m.query_id);
    if (early_order_.size() > kKeep) {
      for (std::size_t i = 0; i < kKeep / 2; ++i) early_.erase(early_order_[i]);
      early_order_.erase(early_order_.begin(), early_order_.begin() + kKeep / 2);
    }
    return;
  }
  flight f = std::move(it->second);
  flights_.erase(it);
  const std::uint64_t done_us = clock_.wall_micros(now);
  const std::uint64_t first_us = f.first_token_micros != 0 ? f.first_token_micros : done_us;
  finish_info fin;
  fin.output_tokens = m.output_tokens;
  fin.finished_micros = done_us;
  fin.ttft_micros = clock_.model_micros(first_us - std::min(first_us, f.query.accepted_micros));
  fin.atgt_micros = m.output_tokens > 1 ? clock_.model_micros((done_us - first_us) / (m.output_tokens - 1)) : 0;
  finishing_.push_back({std::move(f.query), fin, m});
}

void worker_tracker::finish_pending(tracker_report& report) {
  if (finishing_.empty()) return;
  std::vector<std::pair<query_id, finish_info>> journal;
  journal.reserve(finishing_.size());
  for (const auto& [t, fin, done] : finishing_) journal.emplace_back(t.id, fin);
  // One durable write for every completion of the batch; clients hear of them after it.
  const std::vector<store_status> finished = store_.mark_finished_all(journal);
  for (std::size_t i = 0; i < finishing_.size(); ++i) {
    const auto& [t, fin, done] = finishing_[i];
    if (!finished[i]) {
      // A duplicate completion cannot end a query twice; anything else is worth a line.
      if (finished[i].error().code != store_errc::invalid_transition) journal_problem("finish", t.id, finished[i].error());
      report.removed.push_back(t.id);
      continue;
    }
    report.completed.push_back({t.id, static_cast<int>(t.prompt_tokens), static_cast<int>(fin.output_tokens)});
    // The engine's account (finish reason, its prompt count) reaches the relay before the
    // client hears queryFinished.
    if (relay_ != nullptr && t.request.api != wc::engine_api::none) relay_->completed(t.id, done);
    to_client(t, cc::query_finished{t.id.value, fin.output_tokens, fin.ttft_micros, fin.atgt_micros});
  }
  finishing_.clear();
}

void worker_tracker::on_rejected(const wc::engine_rejected& m, node_clock::steady now,
                                 tracker_report& report) {
  const auto it = flights_.find(m.query_id);
  if (it == flights_.end()) return;
  const bool started = it->second.first_token_micros != 0;
  ticket t = std::move(it->second.query);
  flights_.erase(it);
  report.removed.push_back(t.id);  // off this worker's schedule
  if (m.reason == wc::engine_reject_code::stream_broken) {
    // The engine is alive but lost this stream. Before its first token the client has seen
    // nothing: it is placed again, as after a worker's loss (the same bound on dispatches).
    if (!started && t.placements < options_.max_placements) {
      report.orphaned.push_back(std::move(t));
      return;
    }
    fail(t, failure_code::engine_rejected,
         std::string(started ? "the engine's stream broke after the first token: " : "placed too often: ") + m.detail,
         now);
    return;
  }
  fail(t, failure_code::engine_rejected,
       (m.reason == wc::engine_reject_code::too_large ? "too large for the engine: " : "invalid: ") + m.detail,
       now);
}

void worker_tracker::fail(const ticket& t, failure_code code, const std::string& detail,
                          node_clock::steady now) {
  fail_query(store_, frames_, t, code, detail, clock_.wall_micros(now));
}

std::size_t worker_tracker::fail_all(failure_code code, const std::string& detail, node_clock::steady now,
                                     tracker_report& report) {
  report.worker = worker_;
  std::size_t failed = 0;
  for (auto& [id, f] : flights_) {
    fail(f.query, code, detail, now);
    frames_.push_back(outbound_frame::worker(peer_, wc::cancel_query{id}));
    report.removed.push_back(f.query.id);
    ++failed;
  }
  flights_.clear();
  out_.post_all(frames_);
  return failed;
}

std::vector<ticket> worker_tracker::lose(node_clock::steady now, const std::string& why) {
  std::vector<ticket> again;
  for (auto& [id, f] : flights_) {
    if (f.first_token_micros != 0)
      fail(f.query, failure_code::worker_lost, "worker " + name_ + " lost after the first token: " + why, now);
    else if (f.query.placements >= options_.max_placements)
      fail(f.query, failure_code::worker_lost, "worker " + name_ + " lost, and placed too often: " + why, now);
    else
      again.push_back(std::move(f.query));
  }
  flights_.clear();
  out_.post_all(frames_);
  std::sort(again.begin(), again.end(),
            [](const ticket& a, const ticket& b) { return a.arrival_s < b.arrival_s; });
  return again;
}

}  // namespace aladdin::node
