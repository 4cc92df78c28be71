#include "mas/controller/job_lock.h"

#include <atomic>
#include <barrier>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "client/mutex.h"
#include "client/testing/etcd_fixture.h"

namespace grid::mas::controller {
namespace {

using client::testing::EtcdFixture;

class JobLockTest : public EtcdFixture {
 protected:
  std::unique_ptr<client::Session> NewSession(client::Client* c) {
    client::SessionOptions o;
    o.ttl_seconds = 10;
    auto s = client::Session::Create(c, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
};

TEST_F(JobLockTest, RunsOncePerTickAndRecordsTheRun) {
  auto session = NewSession(client_.get());
  ASSERT_NE(session, nullptr);
  JobLock jobs(session.get(), {.prefix = "/gridmas/jobs/", .replica = "r1"});
  int runs = 0;
  auto job = [&] {
    ++runs;
    return Status::Ok();
  };
  auto none = jobs.LastRun("backup");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  auto first = jobs.RunExclusive("backup", 7, job);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->ran);
  EXPECT_TRUE(first->job_status.ok());
  auto again = jobs.RunExclusive("backup", 7, job);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->ran);
  auto older = jobs.RunExclusive("backup", 6, job);
  ASSERT_TRUE(older.ok());
  EXPECT_FALSE(older->ran);
  EXPECT_EQ(runs, 1);

  auto rec = jobs.LastRun("backup");
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->tick, 7);
  EXPECT_EQ((*rec)->replica, "r1");
  EXPECT_EQ((*rec)->revision, first->revision);

  // The job's own error is reported; the tick stays claimed.
  auto failed = jobs.RunExclusive("backup", 8, [] { return Internal("disk full"); });
  ASSERT_TRUE(failed.ok());
  EXPECT_TRUE(failed->ran);
  EXPECT_EQ(failed->job_status.code(), Code::kInternal);
  EXPECT_FALSE(jobs.RunExclusive("backup", 8, job)->ran);
}

TEST_F(JobLockTest, RejectsBadNames) {
  auto session = NewSession(client_.get());
  ASSERT_NE(session, nullptr);
  JobLock jobs(session.get(), {});
  auto job = [] { return Status::Ok(); };
  EXPECT_EQ(jobs.RunExclusive("", 1, job).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(jobs.RunExclusive("a/b", 1, job).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(jobs.RunExclusive(std::string(kMaxJobNameBytes + 1, 'x'), 1, job).status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(jobs.RunExclusive(std::string(kMaxJobNameBytes, 'x'), 1, job).ok());
}

TEST_F(JobLockTest, CorruptRecordIsReported) {
  auto session = NewSession(client_.get());
  ASSERT_NE(session, nullptr);
  JobLock jobs(session.get(), {});
  ASSERT_TRUE(client_->Put(jobs.RecordKey("backup"), "not json").ok());
  EXPECT_EQ(jobs.LastRun("backup").status().code(), Code::kCorruption);
  EXPECT_EQ(jobs.RunExclusive("backup", 1, [] { return Status::Ok(); }).status().code(),
            Code::kCorruption);
}

TEST_F(JobLockTest, LockTimeoutWhileAnotherReplicaHoldsTheJob) {
  auto holder_session = NewSession(client_.get());
  auto session = NewSession(client_.get());
  ASSERT_NE(holder_session, nullptr);
  ASSERT_NE(session, nullptr);
  JobLock jobs(session.get(), {.prefix = "/gridmas/jobs/",
                               .replica = "r2",
                               .lock_timeout = std::chrono::milliseconds(200)});
  client::Mutex holder(holder_session.get(), jobs.LockPrefix("backup"));
  ASSERT_TRUE(holder.Lock().ok());
  bool ran = false;
  auto out = jobs.RunExclusive("backup", 1, [&] {
    ran = true;
    return Status::Ok();
  });
  EXPECT_EQ(out.status().code(), Code::kDeadlineExceeded) << out.status().ToString();
  EXPECT_FALSE(ran);
  ASSERT_TRUE(holder.Unlock().ok());
  auto after = jobs.RunExclusive("backup", 1, [&] {
    ran = true;
    return Status::Ok();
  });
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(after->ran);
  EXPECT_TRUE(ran);
}

// Two replicas schedule the same 20 ticks at the same moments; each tick's job runs exactly
// once, never two at a time.
TEST_F(JobLockTest, TwoReplicasTwentyTicksEachTickRunsExactlyOnce) {
  constexpr int kTicks = 20;
  std::mutex mu;
  std::map<int64_t, int> runs_per_tick;
  std::atomic<int> in_flight{0};
  std::atomic<bool> overlap{false};
  std::barrier sync(2);
  int ran_by[2] = {0, 0};
  Status errors[2];

  auto replica = [&](int id) {
    auto c = Connect();
    if (c == nullptr) return;
    auto session = NewSession(c.get());
    if (session == nullptr) return;
    JobLock jobs(session.get(), {.prefix = "/gridmas/jobs/",
                                 .replica = "replica-" + std::to_string(id)});
    for (int64_t tick = 1; tick <= kTicks; ++tick) {
      sync.arrive_and_wait();
      auto out = jobs.RunExclusive("inspection", tick, [&] {
        if (in_flight.fetch_add(1) != 0) overlap = true;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++runs_per_tick[tick];
        }
        in_flight.fetch_sub(1);
        return Status::Ok();
      });
      if (!out.ok()) {
        errors[id] = out.status();
      } else if (out->ran) {
        ++ran_by[id];
      }
    }
    (void)session->Close();
  };
  std::thread t0(replica, 0);
  std::thread t1(replica, 1);
  t0.join();
  t1.join();
  EXPECT_TRUE(errors[0].ok()) << errors[0].ToString();
  EXPECT_TRUE(errors[1].ok()) << errors[1].ToString();
  EXPECT_FALSE(overlap.load());
  ASSERT_EQ(runs_per_tick.size(), static_cast<size_t>(kTicks));
  for (const auto& [tick, n] : runs_per_tick) EXPECT_EQ(n, 1) << "tick " << tick;
  EXPECT_EQ(ran_by[0] + ran_by[1], kTicks);
  auto rec = JobLock(nullptr, {}).RecordKey("inspection");
  auto last = client_->Get(rec);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->kvs_size(), 1);
}

}  // namespace
}  // namespace grid::mas::controller
