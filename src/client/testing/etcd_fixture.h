// GoogleTest fixture: one EtcdProcess and one connected Client per test. A missing server
// binary fails the test (it never skips).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/testing/etcd_process.h"

namespace grid::client::testing {

// Polls `done` every 10ms until it holds or `timeout` passes; returns its last value.
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class EtcdFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto etcd = EtcdProcess::Start();
    ASSERT_TRUE(etcd.ok()) << etcd.status().ToString();
    etcd_ = std::move(etcd).value();
    client_ = Connect();
    ASSERT_NE(client_, nullptr);
  }
  void TearDown() override {
    client_.reset();
    etcd_.reset();
  }

  std::unique_ptr<Client> Connect(ClientOptions options = {}) {
    auto c = Client::Connect({etcd_->endpoint()}, options);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<Client> client_;
};

}  // namespace grid::client::testing
