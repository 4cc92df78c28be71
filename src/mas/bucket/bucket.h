// Bucket storage for backups: one interface over a local directory and an S3-compatible
// object store. Objects are whole files addressed by "a/b/c" keys; an object is visible only
// once complete.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace grid::mas::bucket {

inline constexpr size_t kMaxObjectKeyBytes = 1024;
// GetBytes/PutBytes hold the whole object in memory: larger objects are ResourceExhausted.
inline constexpr int64_t kMaxInMemoryObjectBytes = int64_t{16} << 20;
// List returns at most this many objects; a prefix matching more is ResourceExhausted.
inline constexpr size_t kMaxListedObjects = 100000;

// S3 multipart limits (S3's own): every part but the last is at least kMinPartSizeBytes, an
// upload has at most kMaxPartCount parts.
inline constexpr int64_t kMinPartSizeBytes = int64_t{5} << 20;
inline constexpr int64_t kMaxPartSizeBytes = int64_t{5} << 30;
inline constexpr int64_t kDefaultPartSizeBytes = int64_t{16} << 20;
inline constexpr int kMaxPartCount = 10000;
// ListObjectsV2 page size (S3's maximum max-keys).
inline constexpr int kMaxListPageKeys = 1000;

struct ObjectInfo {
  std::string key;            // relative to the bucket's prefix
  int64_t size_bytes = 0;
  std::string etag;           // as the backend reports it (S3 ETag, or a hex digest for a directory)
  std::chrono::system_clock::time_point modified;
};

// How to reach an S3-compatible store. Empty fields are taken from the environment:
// GRID_S3_ENDPOINT, AWS_REGION (else "us-east-1"), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
struct S3Options {
  std::string endpoint;           // "http://host:port" (plain http only)
  std::string region;
  std::string access_key_id;
  std::string secret_access_key;
  // Files larger than this are uploaded in parts of this size;
  // kMinPartSizeBytes <= part_size_bytes <= kMaxPartSizeBytes.
  int64_t part_size_bytes = kDefaultPartSizeBytes;
  // Keys asked per ListObjectsV2 page; 1 <= list_page_keys <= kMaxListPageKeys.
  int list_page_keys = kMaxListPageKeys;
  // List refuses (ResourceExhausted) a prefix matching more objects; 1 <= ... <= kMaxListedObjects.
  size_t max_listed_objects = kMaxListedObjects;
  int connect_timeout_seconds = 10;
  int io_timeout_seconds = 120;   // per read or write on the connection
};

// Where backups are kept. Every call is safe from several threads. Keys are "a/b/c" paths
// (no leading '/', no "..", no empty segment, <= kMaxObjectKeyBytes); others are InvalidArgument.
class Bucket {
 public:
  virtual ~Bucket() = default;
  // Uploads the file at `local_path` under `key`. The object becomes visible (List, Get) only
  // once complete: a failed or interrupted upload leaves no object (and no partial one).
  // ResourceExhausted when the bucket is full (the message says so and names the bucket).
  [[nodiscard]] virtual Status PutFile(const std::string& key, const std::string& local_path) = 0;
  // Downloads `key` into `local_path` (written whole or not at all). NotFound when absent.
  [[nodiscard]] virtual Status GetFile(const std::string& key, const std::string& local_path) = 0;
  // Small objects (metadata JSON): the same semantics with an in-memory value.
  [[nodiscard]] virtual Status PutBytes(const std::string& key, std::string_view bytes) = 0;
  [[nodiscard]] virtual Result<std::string> GetBytes(const std::string& key) = 0;
  // Objects whose key starts with `prefix`, in key order.
  [[nodiscard]] virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // NotFound when absent.
  [[nodiscard]] virtual Status Delete(const std::string& key) = 0;
  // For messages: "dir:/var/lib/x" or "s3://bucket/prefix (http://host:port)".
  virtual std::string Describe() const = 0;
};

// InvalidArgument (naming the rule) unless `key` is a valid object key: non-empty,
// <= kMaxObjectKeyBytes, no leading '/', no empty, "." or ".." segment, no control byte,
// and no segment starting with kReservedSegmentPrefix.
inline constexpr std::string_view kReservedSegmentPrefix = ".grid-tmp.";
[[nodiscard]] Status ValidateKey(std::string_view key);

// "dir:///abs/path" or a plain absolute path -> LocalDirBucket; "s3://bucket/prefix" with
// S3Options (endpoint, region, access key, secret key from the options or the environment
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION / GRID_S3_ENDPOINT) -> S3Bucket.
Result<std::unique_ptr<Bucket>> OpenBucket(const std::string& url, const S3Options& s3 = {});

}  // namespace grid::mas::bucket
