// The proposer the client API uses: refuses every proposal and linearizable read while this
// member is a learner, with etcd's error (a learner serves only serializable reads and
// Maintenance.Status). The member's own proposals (publishing its attributes) bypass it.
#pragma once

#include <functional>
#include <utility>

#include "kv/server/errors.h"
#include "kv/server/proposer.h"

namespace grid::kv {

class LearnerGuard final : public Proposer {
 public:
  // `inner` must outlive the guard; `is_learner` is thread-safe.
  LearnerGuard(Proposer* inner, std::function<bool()> is_learner)
      : inner_(inner), is_learner_(std::move(is_learner)) {}

  void Propose(kvpb::InternalRequest request, ApplyCallback done) override {
    if (is_learner_()) {
      done(ErrNotSupportedForLearner(), {});
      return;
    }
    inner_->Propose(std::move(request), std::move(done));
  }

  void ReadBarrier(ReadyCallback ready) override {
    if (is_learner_()) {
      ready(ErrNotSupportedForLearner());
      return;
    }
    inner_->ReadBarrier(std::move(ready));
  }

  bool LocalReadIsLinearizable() const override {
    return !is_learner_() && inner_->LocalReadIsLinearizable();
  }

 private:
  Proposer* const inner_;
  const std::function<bool()> is_learner_;
};

}  // namespace grid::kv
