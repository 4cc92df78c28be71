// S3Bucket: a Bucket in an S3-compatible object store, over the S3 REST API with path-style
// URLs ("http://host:port/bucket/prefix/key"), signed with AWS Signature Version 4.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "mas/bucket/bucket.h"
#include "mas/bucket/s3_protocol.h"
#include "mas/bucket/sigv4.h"

namespace grid::mas::bucket {

// A buffered response body (list pages, errors, multipart answers) over this is refused.
inline constexpr size_t kMaxResponseBodyBytes = size_t{8} << 20;
// S3's own limit on a whole key (the bucket's prefix included).
inline constexpr size_t kMaxS3KeyBytes = 1024;

// `options` with every empty field taken from the environment (GRID_S3_ENDPOINT, AWS_REGION
// else "us-east-1", AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
S3Options ResolveS3Options(const S3Options& options);

// Parts of `part_size_bytes` for a file of `file_bytes` (0 for a file that goes up in one
// PutObject, i.e. file_bytes <= part_size_bytes); ResourceExhausted over kMaxPartCount.
[[nodiscard]] Result<int64_t> MultipartPartCount(int64_t file_bytes, int64_t part_size_bytes);

// Files up to part_size_bytes go up in one PutObject; larger files in a multipart upload of
// part_size_bytes parts (at most kMaxPartCount; more is ResourceExhausted), aborted on any
// failure, so a failed upload leaves no object. Each call opens its own connection (no
// shared connection state), so every call is safe from several threads. Requests are not
// retried: the caller decides. Plain http only.
class S3Bucket : public Bucket {
 public:
  // `url` is "s3://bucket[/prefix]"; `options` as resolved by ResolveS3Options. InvalidArgument
  // naming the field when something is missing or out of its limits.
  [[nodiscard]] static Result<std::unique_ptr<S3Bucket>> Open(const std::string& url,
                                                              const S3Options& options);

  Status PutFile(const std::string& key, const std::string& local_path) override;
  Status GetFile(const std::string& key, const std::string& local_path) override;
  Status PutBytes(const std::string& key, std::string_view bytes) override;
  Result<std::string> GetBytes(const std::string& key) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& key) override;
  std::string Describe() const override;

  // For tests: called after each part of a multipart upload is stored; a non-OK Status fails
  // the upload there (which is then aborted). Set before the bucket is used.
  void set_after_part_hook(std::function<Status(int part_number)> hook) {
    after_part_hook_ = std::move(hook);
  }

  struct Request;   // one HTTP exchange (s3_bucket.cc)
  struct Response;

 private:
  S3Bucket() = default;

  [[nodiscard]] Result<Response> Send(Request& request) const;
  [[nodiscard]] Result<std::string> FullKey(const std::string& key) const;
  Status PutSingle(const std::string& full_key, const std::string& key, int fd, int64_t size);
  Status PutMultipart(const std::string& full_key, const std::string& key, int fd, int64_t size);
  Status AbortUpload(const std::string& full_key, const std::string& upload_id);
  // Streams a 2xx GET body to `sink` (returning false stops with `sink_error`).
  Status GetObject(const std::string& key, const std::function<Status(std::string_view)>& sink);

  std::string bucket_;
  std::string prefix_;       // "" or ending with '/'
  std::string scheme_host_;  // "http://host:port" for messages
  std::string host_;         // for the connection
  int port_ = 80;
  std::string host_header_;  // "host[:port]" as sent and signed
  std::string region_;
  SigV4Credentials credentials_;
  int64_t part_size_bytes_ = kDefaultPartSizeBytes;
  int list_page_keys_ = kMaxListPageKeys;
  size_t max_listed_objects_ = kMaxListedObjects;
  int connect_timeout_seconds_ = 10;
  int io_timeout_seconds_ = 120;
  std::function<Status(int)> after_part_hook_;
};

}  // namespace grid::mas::bucket
