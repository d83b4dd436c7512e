#include "schema/record_codec.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace aladdin {

namespace {

using codec::str;
using codec::text;

codec::decode_error unknown_enum(const char* what, std::uint16_t raw) {
  return {codec::decode_errc::malformed,
          std::string("unknown ") + what + " value " + std::to_string(raw)};
}

}  // namespace

// ---- models and GPUs

void to_record(const model_spec& in, records::ModelRecord::Builder out) {
  out.setName(text(in.name));
  out.setLayers(static_cast<std::uint32_t>(in.layers));
  out.setKvHeads(static_cast<std::uint32_t>(in.kv_heads));
  out.setHeadDim(static_cast<std::uint32_t>(in.head_dim));
  out.setBytesPerValue(static_cast<std::uint32_t>(in.bytes_per_value));
  out.setParameters(in.parameters);
  out.setContextTokens(static_cast<std::uint32_t>(std::max(0, in.context_tokens)));
}

codec::result<model_spec> from_record(records::ModelRecord::Reader in) {
  model_spec m;
  m.name = str(in.getName());
  m.layers = static_cast<int>(in.getLayers());
  m.kv_heads = static_cast<int>(in.getKvHeads());
  m.head_dim = static_cast<int>(in.getHeadDim());
  m.bytes_per_value = static_cast<int>(in.getBytesPerValue());
  m.parameters = in.getParameters();
  m.context_tokens = static_cast<int>(std::min<std::uint32_t>(in.getContextTokens(), 1u << 30));
  return m;
}

void to_record(const gpu_spec& in, records::GpuRecord::Builder out) {
  out.setName(text(in.name));
  out.setMemoryBytes(in.memory_bytes);
}

codec::result<gpu_spec> from_record(records::GpuRecord::Reader in) {
  gpu_spec g;
  g.name = str(in.getName());
  g.memory_bytes = in.getMemoryBytes();
  return g;
}

// ---- worker shapes and fitted profiles

void to_record(const worker_config& in, records::WorkerShape::Builder out) {
  out.setModel(text(in.model));
  out.setGpu(text(in.gpu));
  out.setTp(static_cast<std::uint16_t>(in.tp));
}

codec::result<worker_config> from_record(records::WorkerShape::Reader in) {
  worker_config c;
  c.model = str(in.getModel());
  c.gpu = str(in.getGpu());
  c.tp = in.getTp();
  return c;
}

void to_record(const worker_profile& in, records::WorkerConfigRecord::Builder out) {
  to_record(in.config, out.initShape());
  auto prefill = out.initPrefill();
  prefill.setK1SecondsPerToken(in.prefill.k1);
  prefill.setQ1SecondsPerTokenSquared(in.prefill.q1);
  prefill.setS1SecondsPerSequence(in.prefill.s1);
  prefill.setC1Seconds(in.prefill.c1);
  auto decode = out.initDecode();
  decode.setK2SecondsPerToken(in.decode.k2);
  decode.setC2SecondsPerSequence(in.decode.c2);
  decode.setC3Seconds(in.decode.c3);
  out.setKvBytesPerToken(in.kv.bytes_per_token);
  out.setKvCapacityTokens(in.kv.capacity_tokens);
  out.setSource(text(in.source));
}

codec::result<worker_profile> from_record(records::WorkerConfigRecord::Reader in) {
  worker_profile p;
  auto shape = from_record(in.getShape());
  if (!shape) return shape.error();
  p.config = std::move(shape).value();
  const auto prefill = in.getPrefill();
  p.prefill.k1 = prefill.getK1SecondsPerToken();
  p.prefill.q1 = prefill.getQ1SecondsPerTokenSquared();
  p.prefill.s1 = prefill.getS1SecondsPerSequence();
  p.prefill.c1 = prefill.getC1Seconds();
  const auto decode = in.getDecode();
  p.decode.k2 = decode.getK2SecondsPerToken();
  p.decode.c2 = decode.getC2SecondsPerSequence();
  p.decode.c3 = decode.getC3Seconds();
  p.kv.bytes_per_token = in.getKvBytesPerToken();
  p.kv.capacity_tokens = in.getKvCapacityTokens();
  p.source = str(in.getSource());
  return p;
}

// ---- worker registry

namespace {

records::WorkerRecord::State to_record(worker_state s) {
  using S = records::WorkerRecord::State;
  switch (s) {
    case worker_state::starting: return S::STARTING;
    case worker_state::active: return S::ACTIVE;
    case worker_state::draining: return S::DRAINING;
    case worker_state::gone: return S::GONE;
  }
  return S::GONE;
}

std::optional<worker_state> from_record(records::WorkerRecord::State s) {
  using S = records::WorkerRecord::State;
  switch (s) {
    case S::STARTING: return worker_state::starting;
    case S::ACTIVE: return worker_state::active;
    case S::DRAINING: return worker_state::draining;
    case S::GONE: return worker_state::gone;
  }
  return std::nullopt;
}

}  // namespace

void to_record(const worker_record& in, records::WorkerRecord::Builder out) {
  out.setId(in.id.value);
  out.setName(text(in.name));
  to_record(in.shape, out.initShape());
  out.setEndpoint(text(in.endpoint));
  out.setState(to_record(in.state));
  out.setRegisteredEpoch(in.registered_epoch);
}

codec::result<worker_record> from_record(records::WorkerRecord::Reader in) {
  worker_record w;
  w.id = worker_id{in.getId()};
  w.name = str(in.getName());
  auto shape = from_record(in.getShape());
  if (!shape) return shape.error();
  w.shape = std::move(shape).value();
  w.endpoint = str(in.getEndpoint());
  const auto state = from_record(in.getState());
  if (!state) return unknown_enum("worker state", static_cast<std::uint16_t>(in.getState()));
  w.state = *state;
  w.registered_epoch = in.getRegisteredEpoch();
  return w;
}

// ---- plans

void to_record(const plan_record& in, records::PlanRecord::Builder out) {
  out.setEpoch(in.epoch);
  out.setCreatedMicros(in.created_micros);
  auto targets = out.initTargets(static_cast<unsigned>(in.targets.size()));
  for (unsigned i = 0; i < targets.size(); ++i) {
    to_record(in.targets[i].shape, targets[i].initShape());
    targets[i].setWorkers(in.targets[i].workers);
  }
  out.setPredictedGpus(in.predicted_gpus);
  out.setNote(text(in.note));
}

codec::result<plan_record> from_record(records::PlanRecord::Reader in) {
  plan_record p;
  p.epoch = in.getEpoch();
  p.created_micros = in.getCreatedMicros();
  for (auto target : in.getTargets()) {
    auto shape = from_record(target.getShape());
    if (!shape) return shape.error();
    p.targets.push_back({std::move(shape).value(), target.getWorkers()});
  }
  p.predicted_gpus = in.getPredictedGpus();
  p.note = str(in.getNote());
  return p;
}

// ---- journal

namespace {

using journal_record = records::JournalRecord;
using failure_record = records::JournalRecord::Failure;

journal_record::State to_record(journal_state s) {
  switch (s) {
    case journal_state::accepted: return journal_record::State::ACCEPTED;
    case journal_state::dispatched: return journal_record::State::DISPATCHED;
    case journal_state::finished: return journal_record::State::FINISHED;
    case journal_state::failed: return journal_record::State::FAILED;
  }
  return journal_record::State::FAILED;
}

std::optional<journal_state> from_record(journal_record::State s) {
  switch (s) {
    case journal_record::State::ACCEPTED: return journal_state::accepted;
    case journal_record::State::DISPATCHED: return journal_state::dispatched;
    case journal_record::State::FINISHED: return journal_state::finished;
    case journal_record::State::FAILED: return journal_state::failed;
  }
  return std::nullopt;
}

records::JournalRecord::Request::Api to_record(request_api a) {
  using A = records::JournalRecord::Request::Api;
  switch (a) {
    case request_api::none: return A::NONE;
    case request_api::completions: return A::COMPLETIONS;
    case request_api::chat_completions: return A::CHAT_COMPLETIONS;
  }
  return A::NONE;
}

std::optional<request_api> from_record(records::JournalRecord::Request::Api a) {
  using A = records::JournalRecord::Request::Api;
  switch (a) {
    case A::NONE: return request_api::none;
    case A::COMPLETIONS: return request_api::completions;
    case A::CHAT_COMPLETIONS: return request_api::chat_completions;
  }
  return std::nullopt;
}

failure_record::Reason to_record(failure_reason r) {
  using R = failure_record::Reason;
  switch (r) {
    case failure_reason::worker_lost: return R::WORKER_LOST;
    case failure_reason::engine_rejected: return R::ENGINE_REJECTED;
    case failure_reason::cancelled: return R::CANCELLED;
    case failure_reason::deadline_exceeded: return R::DEADLINE_EXCEEDED;
    case failure_reason::shutting_down: return R::SHUTTING_DOWN;
    case failure_reason::internal: return R::INTERNAL;
    case failure_reason::unschedulable: return R::UNSCHEDULABLE;
  }
  return R::INTERNAL;
}

std::optional<failure_reason> from_record(failure_record::Reason r) {
  using R = failure_record::Reason;
  switch (r) {
    case R::WORKER_LOST: return failure_reason::worker_lost;
    case R::ENGINE_REJECTED: return failure_reason::engine_rejected;
    case R::CANCELLED: return failure_reason::cancelled;
    case R::DEADLINE_EXCEEDED: return failure_reason::deadline_exceeded;
    case R::SHUTTING_DOWN: return failure_reason::shutting_down;
    case R::INTERNAL: return failure_reason::internal;
    case R::UNSCHEDULABLE: return failure_reason::unschedulable;
  }
  return std::nullopt;
}

}  // namespace

void to_record(const journal_entry& in, records::JournalRecord::Builder out) {
  out.setQueryId(in.id.value);
  out.setClientId(text(in.client_id));
  out.setClientQueryId(in.client_query_id);
  out.setModel(text(in.model));
  out.setPromptTokens(in.prompt_tokens);
  out.setMaxOutputTokens(in.max_output_tokens);
  out.setTtftSloMicros(in.ttft_slo_micros);
  out.setAtgtSloMicros(in.atgt_slo_micros);
  out.setAcceptedMicros(in.accepted_micros);
  out.setAcceptSeq(in.accept_seq);
  out.setState(to_record(in.state));
  out.setWorkerId(in.worker.value);
  auto finish = out.initFinish();
  finish.setOutputTokens(in.finish.output_tokens);
  finish.setFinishedMicros(in.finish.finished_micros);
  finish.setTtftMicros(in.finish.ttft_micros);
  finish.setAtgtMicros(in.finish.atgt_micros);
  auto failure = out.initFailure();
  failure.setReason(to_record(in.failure.reason));
  failure.setDetail(text(in.failure.detail));
  failure.setFailedMicros(in.failure.failed_micros);
  if (in.request.api != request_api::none || !in.request.body.empty()) {
    auto request = out.initRequest();
    request.setApi(to_record(in.request.api));
    request.setBody(text(in.request.body));
  }
}

codec::result<journal_entry> from_record(records::JournalRecord::Reader in) {
  journal_entry e;
  e.id = query_id{in.getQueryId()};
  e.client_id = str(in.getClientId());
  e.client_query_id = in.getClientQueryId();
  e.model = str(in.getModel());
  e.prompt_tokens = in.getPromptTokens();
  e.max_output_tokens = in.getMaxOutputTokens();
  e.ttft_slo_micros = in.getTtftSloMicros();
  e.atgt_slo_micros = in.getAtgtSloMicros();
  e.accepted_micros = in.getAcceptedMicros();
  e.accept_seq = in.getAcceptSeq();
  const auto state = from_record(in.getState());
  if (!state) return unknown_enum("journal state", static_cast<std::uint16_t>(in.getState()));
  e.state = *state;
  e.worker = worker_id{in.getWorkerId()};
  const auto finish = in.getFinish();
  e.finish.output_tokens = finish.getOutputTokens();
  e.finish.finished_micros = finish.getFinishedMicros();
  e.finish.ttft_micros = finish.getTtftMicros();
  e.finish.atgt_micros = finish.getAtgtMicros();
  const auto failure = in.getFailure();
  const auto reason = from_record(failure.getReason());
  if (!reason) return unknown_enum("failure reason", static_cast<std::uint16_t>(failure.getReason()));
  e.failure.reason = *reason;
  e.failure.detail = str(failure.getDetail());
  e.failure.failed_micros = failure.getFailedMicros();
  if (in.hasRequest()) {
    const auto request = in.getRequest();
    const auto api = from_record(request.getApi());
    if (!api) return unknown_enum("request api", static_cast<std::uint16_t>(request.getApi()));
    e.request.api = *api;
    e.request.body = str(request.getBody());
  }
  return e;
}

// ---- names

std::string_view to_string(worker_state s) {
  switch (s) {
    case worker_state::starting: return "starting";
    case worker_state::active: return "active";
    case worker_state::draining: return "draining";
    case worker_state::gone: return "gone";
  }
  return "unknown";
}

std::string_view to_string(journal_state s) {
  switch (s) {
    case journal_state::accepted: return "accepted";
    case journal_state::dispatched: return "dispatched";
    case journal_state::finished: return "finished";
    case journal_state::failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(failure_reason r) {
  switch (r) {
    case failure_reason::worker_lost: return "worker_lost";
    case failure_reason::engine_rejected: return "engine_rejected";
    case failure_reason::cancelled: return "cancelled";
    case failure_reason::deadline_exceeded: return "deadline_exceeded";
    case failure_reason::shutting_down: return "shutting_down";
    case failure_reason::internal: return "internal";
    case failure_reason::unschedulable: return "unschedulable";
  }
  return "unknown";
}

}  // namespace aladdin
