// FakeDirBucket: a bucket::Bucket over a local directory for tests, with injectable faults.
// Objects are files under the root named by their key; writes go to a temporary name and are
// renamed, so an object is visible only once complete.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include "mas/bucket/bucket.h"

namespace grid::mas::backup::testing {

class FakeDirBucket final : public bucket::Bucket {
 public:
  explicit FakeDirBucket(std::string root) : root_(std::move(root)) {}

  Status PutFile(const std::string& key, const std::string& local_path) override;
  Status GetFile(const std::string& key, const std::string& local_path) override;
  Status PutBytes(const std::string& key, std::string_view bytes) override;
  Result<std::string> GetBytes(const std::string& key) override;
  Result<std::vector<bucket::ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override { return "dir:" + root_; }

  // The file holding `key`.
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }

  // Faults and observations (set before use).
  bool etag_is_sha256 = false;          // List reports the sha256 hex as the etag
  bool corrupt_next_put_file = false;   // the next PutFile stores the file with byte 0 flipped
  std::set<std::string> fail_puts_of;   // keys whose Put* fail with IOError
  std::set<std::string> fail_deletes_of;  // keys whose Delete fails with IOError
  std::atomic<int> get_file_calls{0};

 private:
  Status CheckKey(const std::string& key) const;
  Status Store(const std::string& key, const std::string& bytes);

  const std::string root_;
  std::mutex mu_;
};

}  // namespace grid::mas::backup::testing
