#include "mas/bucket/s3_bucket.h"

#include <errno.h>
#include <fcntl.h>
#include <httplib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "mas/bucket/atomic_file.h"
#include "mas/bucket/digest.h"

namespace grid::mas::bucket {

struct S3Bucket::Request {
  std::string what;          // for messages: "PutObject <key>"
  std::string method;        // GET HEAD PUT POST DELETE
  std::string full_key;      // empty for the bucket itself
  SigV4Pairs query;
  std::string body;          // used when file_fd < 0
  int file_fd = -1;          // the body is [file_offset, file_offset + file_length) of this file
  int64_t file_offset = 0;
  int64_t file_length = 0;
  std::string payload_sha256;
  // When set, a 2xx body goes here instead of Response::body.
  std::function<Status(std::string_view)> sink;
};

struct S3Bucket::Response {
  int status = 0;
  std::string body;
  httplib::Headers headers;
};

namespace {

constexpr size_t kIoChunkBytes = 1 << 20;

std::string EnvOr(const std::string& value, const char* name, const std::string& fallback = "") {
  if (!value.empty()) return value;
  const char* env = std::getenv(name);
  return env != nullptr && *env != '\0' ? std::string(env) : fallback;
}

bool ValidBucketName(const std::string& name) {
  if (name.size() < 3 || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return false;
  }
  return std::isalnum(static_cast<unsigned char>(name.front())) &&
         std::isalnum(static_cast<unsigned char>(name.back()));
}

bool Is2xx(int status) { return status >= 200 && status < 300; }

// Hex SHA-256 of [offset, offset + length) of `fd`.
Result<std::string> HashRange(int fd, int64_t offset, int64_t length, const std::string& path) {
  Sha256 h;
  std::string buf(kIoChunkBytes, '\0');
  while (length > 0) {
    ssize_t n = pread(fd, buf.data(), static_cast<size_t>(std::min<int64_t>(length, buf.size())),
                      offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read " + path, errno);
    if (n == 0) return FailedPrecondition(path + " shrank while it was uploaded");
    h.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    offset += n;
    length -= n;
  }
  return h.FinalHex();
}

}  // namespace

Result<int64_t> MultipartPartCount(int64_t file_bytes, int64_t part_size_bytes) {
  GRID_CHECK(part_size_bytes > 0);
  if (file_bytes <= part_size_bytes) return int64_t{0};
  const int64_t parts = (file_bytes + part_size_bytes - 1) / part_size_bytes;
  if (parts > kMaxPartCount) {
    return ResourceExhausted("a file of " + std::to_string(file_bytes) + " bytes needs " +
                             std::to_string(parts) + " parts of " +
                             std::to_string(part_size_bytes) + " bytes, over S3's limit of " +
                             std::to_string(kMaxPartCount) + " (raise part_size_bytes)");
  }
  return parts;
}

S3Options ResolveS3Options(const S3Options& options) {
  S3Options out = options;
  out.endpoint = EnvOr(options.endpoint, "GRID_S3_ENDPOINT");
  out.region = EnvOr(options.region, "AWS_REGION", "us-east-1");
  out.access_key_id = EnvOr(options.access_key_id, "AWS_ACCESS_KEY_ID");
  out.secret_access_key = EnvOr(options.secret_access_key, "AWS_SECRET_ACCESS_KEY");
  return out;
}

Result<std::unique_ptr<S3Bucket>> S3Bucket::Open(const std::string& url,
                                                 const S3Options& options) {
  constexpr std::string_view kScheme = "s3://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) {
    return InvalidArgument("bucket URL \"" + url + "\" does not start with s3://");
  }
  std::unique_ptr<S3Bucket> b(new S3Bucket());
  std::string rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  b->bucket_ = rest.substr(0, slash);
  if (!ValidBucketName(b->bucket_)) {
    return InvalidArgument("bucket URL \"" + url + "\": \"" + b->bucket_ +
                           "\" is not an S3 bucket name (3-63 of a-z 0-9 . -)");
  }
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!prefix.empty()) {
    GRID_RETURN_IF_ERROR(ValidateKey(prefix).WithContext("bucket URL \"" + url + "\" prefix"));
    b->prefix_ = prefix + "/";
  }

  constexpr std::string_view kHttp = "http://";
  std::string endpoint = options.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.empty()) {
    return InvalidArgument("S3 endpoint missing: set it in the options or GRID_S3_ENDPOINT");
  }
  if (endpoint.compare(0, kHttp.size(), kHttp) != 0) {
    return InvalidArgument("S3 endpoint \"" + endpoint + "\": only http://host[:port] is supported");
  }
  std::string authority = endpoint.substr(kHttp.size());
  if (authority.empty() || authority.find('/') != std::string::npos) {
    return InvalidArgument("S3 endpoint \"" + endpoint + "\" must be http://host[:port]");
  }
  b->host_header_ = authority;
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    std::string port = authority.substr(colon + 1);
    char* end = nullptr;
    long value = std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || value <= 0 || value > 65535) {
      return InvalidArgument("S3 endpoint \"" + endpoint + "\": bad port");
    }
    b->port_ = static_cast<int>(value);
    authority = authority.substr(0, colon);
  }
  if (authority.size() > 2 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  b->host_ = authority;
  b->scheme_host_ = endpoint;

  b->region_ = options.region.empty() ? "us-east-1" : options.region;
  if (options.access_key_id.empty() || options.secret_access_key.empty()) {
    return InvalidArgument(
        "S3 credentials missing: set the access key and secret in the options or "
        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY");
  }
  b->credentials_ = {options.access_key_id, options.secret_access_key};
  if (options.part_size_bytes < kMinPartSizeBytes || options.part_size_bytes > kMaxPartSizeBytes) {
    return InvalidArgument("S3 part_size_bytes " + std::to_string(options.part_size_bytes) +
                           " is outside [" + std::to_string(kMinPartSizeBytes) + ", " +
                           std::to_string(kMaxPartSizeBytes) + "]");
  }
  b->part_size_bytes_ = options.part_size_bytes;
  if (options.list_page_keys < 1 || options.list_page_keys > kMaxListPageKeys) {
    return InvalidArgument("S3 list_page_keys " + std::to_string(options.list_page_keys) +
                           " is outside [1, " + std::to_string(kMaxListPageKeys) + "]");
  }
  b->list_page_keys_ = options.list_page_keys;
  if (options.max_listed_objects < 1 || options.max_listed_objects > kMaxListedObjects) {
    return InvalidArgument("S3 max_listed_objects " + std::to_string(options.max_listed_objects) +
                           " is outside [1, " + std::to_string(kMaxListedObjects) + "]");
  }
  b->max_listed_objects_ = options.max_listed_objects;
  if (options.connect_timeout_seconds <= 0 || options.io_timeout_seconds <= 0) {
    return InvalidArgument("S3 timeouts must be positive");
  }
  b->connect_timeout_seconds_ = options.connect_timeout_seconds;
  b->io_timeout_seconds_ = options.io_timeout_seconds;
  return b;
}

std::string S3Bucket::Describe() const {
  std::string prefix = prefix_.empty() ? "" : "/" + prefix_.substr(0, prefix_.size() - 1);
  return "s3://" + bucket_ + prefix + " (" + scheme_host_ + ")";
}

Result<std::string> S3Bucket::FullKey(const std::string& key) const {
  GRID_RETURN_IF_ERROR(ValidateKey(key));
  std::string full = prefix_ + key;
  if (full.size() > kMaxS3KeyBytes) {
    return InvalidArgument("object key " + key + " with the prefix of " + Describe() + " is " +
                           std::to_string(full.size()) + " bytes, over S3's limit of " +
                           std::to_string(kMaxS3KeyBytes));
  }
  return full;
}

Result<S3Bucket::Response> S3Bucket::Send(Request& request) const {
  const std::string what = request.what + " in " + Describe();
  std::string uri = "/" + bucket_;
  if (!request.full_key.empty()) uri += "/" + UriEncode(request.full_key, /*keep_slash=*/true);
  std::string query = CanonicalQueryString(request.query);
  if (request.payload_sha256.empty()) request.payload_sha256 = Sha256Hex(request.body);

  SigV4Request sig;
  sig.method = request.method;
  sig.canonical_uri = uri;
  sig.query = request.query;
  sig.payload_sha256_hex = request.payload_sha256;
  const SigV4Scope scope{AmzDate(std::chrono::system_clock::now()), region_, "s3"};
  sig.headers = {{"host", host_header_},
                 {"x-amz-content-sha256", request.payload_sha256},
                 {"x-amz-date", scope.amz_date}};
  httplib::Headers headers = {
      {"Host", host_header_},
      {"x-amz-content-sha256", request.payload_sha256},
      {"x-amz-date", scope.amz_date},
      {"Authorization", AuthorizationHeader(sig, scope, credentials_)},
  };
  const std::string target = query.empty() ? uri : uri + "?" + query;

  httplib::Client client(host_, port_);
  client.set_url_encode(false);
  client.set_keep_alive(false);
  client.set_connection_timeout(std::chrono::seconds(connect_timeout_seconds_));
  client.set_read_timeout(std::chrono::seconds(io_timeout_seconds_));
  client.set_write_timeout(std::chrono::seconds(io_timeout_seconds_));

  Response response;
  Status stream_error;  // set when our provider or receiver stopped the exchange
  httplib::Result result{nullptr, httplib::Error::Unknown};
  if (request.method == "GET") {
    result = client.Get(
        target, headers,
        [&](const httplib::Response& r) {
          response.status = r.status;
          return true;
        },
        [&](const char* data, size_t len) {
          if (Is2xx(response.status) && request.sink) {
            stream_error = request.sink(std::string_view(data, len));
            return stream_error.ok();
          }
          if (response.body.size() + len > kMaxResponseBodyBytes) {
            stream_error = ResourceExhausted(what + ": answer over " +
                                             std::to_string(kMaxResponseBodyBytes) + " bytes");
            return false;
          }
          response.body.append(data, len);
          return true;
        });
  } else if (request.method == "HEAD") {
    result = client.Head(target, headers);
  } else if (request.method == "DELETE") {
    result = client.Delete(target, headers);
  } else if (request.method == "POST") {
    result = client.Post(target, headers, request.body, "application/xml");
  } else if (request.method == "PUT" && request.file_fd >= 0) {
    const int fd = request.file_fd;
    const int64_t base = request.file_offset;
    result = client.Put(
        target, headers, static_cast<size_t>(request.file_length),
        [&](size_t offset, size_t length, httplib::DataSink& sink) {
          std::string buf(std::min(length, kIoChunkBytes), '\0');
          ssize_t n;
          do {
            n = pread(fd, buf.data(), buf.size(), base + static_cast<int64_t>(offset));
          } while (n < 0 && errno == EINTR);
          if (n <= 0) {
            stream_error = n == 0 ? FailedPrecondition(what + ": the file shrank while it was uploaded")
                                  : ErrnoStatus(what + ": read", errno);
            return false;
          }
          return sink.write(buf.data(), static_cast<size_t>(n));
        },
        "application/octet-stream");
  } else {
    GRID_CHECK(request.method == "PUT") << "unsupported method " << request.method;
    result = client.Put(target, headers, request.body, "application/octet-stream");
  }
  if (!stream_error.ok()) return stream_error;
  if (!result) {
    return Unavailable(what + ": cannot reach " + scheme_host_ + " (" +
                       httplib::to_string(result.error()) + ")");
  }
  response.status = result->status;
  response.headers = result->headers;
  if (request.method != "GET") {
    if (result->body.size() > kMaxResponseBodyBytes) {
      return ResourceExhausted(what + ": answer over " + std::to_string(kMaxResponseBodyBytes) +
                               " bytes");
    }
    response.body = std::move(result->body);
  }
  return response;
}

Status S3Bucket::PutSingle(const std::string& full_key, const std::string& key, int fd,
                           int64_t size) {
  Request request;
  request.what = "PutObject " + key;
  request.method = "PUT";
  request.full_key = full_key;
  request.file_fd = fd;
  request.file_length = size;
  GRID_ASSIGN_OR_RETURN(request.payload_sha256, HashRange(fd, 0, size, key));
  GRID_ASSIGN_OR_RETURN(Response response, Send(request));
  if (!Is2xx(response.status)) {
    return S3StatusFromResponse(response.status, response.body, request.what + " in " + Describe(),
                                Describe());
  }
  return Status::Ok();
}

Status S3Bucket::AbortUpload(const std::string& full_key, const std::string& upload_id) {
  Request request;
  request.what = "AbortMultipartUpload " + full_key;
  request.method = "DELETE";
  request.full_key = full_key;
  request.query = {{"uploadId", upload_id}};
  GRID_ASSIGN_OR_RETURN(Response response, Send(request));
  if (!Is2xx(response.status)) {
    return S3StatusFromResponse(response.status, response.body, request.what, Describe());
  }
  return Status::Ok();
}

Status S3Bucket::PutMultipart(const std::string& full_key, const std::string& key, int fd,
                              int64_t size) {
  GRID_ASSIGN_OR_RETURN(const int64_t parts, MultipartPartCount(size, part_size_bytes_));
  const std::string what = "multipart upload of " + key + " in " + Describe();
  Request initiate;
  initiate.what = "CreateMultipartUpload " + key;
  initiate.method = "POST";
  initiate.full_key = full_key;
  initiate.query = {{"uploads", ""}};
  GRID_ASSIGN_OR_RETURN(Response created, Send(initiate));
  if (!Is2xx(created.status)) {
    return S3StatusFromResponse(created.status, created.body, what, Describe());
  }
  const std::string upload_id = XmlFirst(created.body, "UploadId").value_or("");
  if (upload_id.empty()) return Internal(what + ": CreateMultipartUpload answered no UploadId");

  auto upload = [&]() -> Status {
    std::vector<UploadedPart> uploaded;
    for (int64_t i = 0; i < parts; ++i) {
      const int part_number = static_cast<int>(i + 1);
      Request part;
      part.what = "UploadPart " + std::to_string(part_number) + " of " + key;
      part.method = "PUT";
      part.full_key = full_key;
      part.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
      part.file_fd = fd;
      part.file_offset = i * part_size_bytes_;
      part.file_length = std::min(part_size_bytes_, size - part.file_offset);
      GRID_ASSIGN_OR_RETURN(part.payload_sha256,
                            HashRange(fd, part.file_offset, part.file_length, key));
      GRID_ASSIGN_OR_RETURN(Response answer, Send(part));
      if (!Is2xx(answer.status)) {
        return S3StatusFromResponse(answer.status, answer.body, part.what + " in " + Describe(),
                                    Describe());
      }
      std::string etag;
      for (const auto& [name, value] : answer.headers) {
        if (strcasecmp(name.c_str(), "ETag") == 0) etag = value;
      }
      if (etag.empty()) return Internal(part.what + ": the answer has no ETag");
      uploaded.push_back({part_number, etag});
      if (after_part_hook_) GRID_RETURN_IF_ERROR(after_part_hook_(part_number));
    }
    Request complete;
    complete.what = "CompleteMultipartUpload " + key;
    complete.method = "POST";
    complete.full_key = full_key;
    complete.query = {{"uploadId", upload_id}};
    complete.body = CompleteMultipartUploadBody(uploaded);
    GRID_ASSIGN_OR_RETURN(Response done, Send(complete));
    // S3 may answer 200 and still carry an <Error> in the body.
    if (!Is2xx(done.status) || ParseS3Error(done.body).has_value()) {
      return S3StatusFromResponse(done.status, done.body, complete.what + " in " + Describe(),
                                  Describe());
    }
    return Status::Ok();
  };
  Status status = upload();
  if (status.ok()) return status;
  Status aborted = AbortUpload(full_key, upload_id);
  return Status(status.code(),
                status.message() + (aborted.ok() ? "; the upload was aborted"
                                                 : "; aborting the upload failed: " +
                                                       aborted.ToString()));
}

Status S3Bucket::PutFile(const std::string& key, const std::string& local_path) {
  GRID_ASSIGN_OR_RETURN(std::string full_key, FullKey(key));
  int fd = open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("local file " + local_path + " does not exist");
    return ErrnoStatus("open " + local_path, errno);
  }
  struct stat st {};
  Status status;
  if (fstat(fd, &st) != 0) {
    status = ErrnoStatus("stat " + local_path, errno);
  } else if (!S_ISREG(st.st_mode)) {
    status = InvalidArgument(local_path + " is not a regular file");
  } else if (st.st_size <= part_size_bytes_) {
    status = PutSingle(full_key, key, fd, st.st_size);
  } else {
    status = PutMultipart(full_key, key, fd, st.st_size).WithContext("put " + key);
  }
  close(fd);
  return status;
}

Status S3Bucket::PutBytes(const std::string& key, std::string_view bytes) {
  GRID_ASSIGN_OR_RETURN(std::string full_key, FullKey(key));
  if (static_cast<int64_t>(bytes.size()) > kMaxInMemoryObjectBytes) {
    return ResourceExhausted("object " + key + " of " + std::to_string(bytes.size()) +
                             " bytes is over the in-memory limit of " +
                             std::to_string(kMaxInMemoryObjectBytes));
  }
  Request request;
  request.what = "PutObject " + key;
  request.method = "PUT";
  request.full_key = full_key;
  request.body = std::string(bytes);
  GRID_ASSIGN_OR_RETURN(Response response, Send(request));
  if (!Is2xx(response.status)) {
    return S3StatusFromResponse(response.status, response.body, request.what + " in " + Describe(),
                                Describe());
  }
  return Status::Ok();
}

Status S3Bucket::GetObject(const std::string& key,
                           const std::function<Status(std::string_view)>& sink) {
  GRID_ASSIGN_OR_RETURN(std::string full_key, FullKey(key));
  Request request;
  request.what = "GetObject " + key;
  request.method = "GET";
  request.full_key = full_key;
  request.sink = sink;
  GRID_ASSIGN_OR_RETURN(Response response, Send(request));
  if (!Is2xx(response.status)) {
    return S3StatusFromResponse(response.status, response.body, request.what + " in " + Describe(),
                                Describe());
  }
  return Status::Ok();
}

Status S3Bucket::GetFile(const std::string& key, const std::string& local_path) {
  GRID_RETURN_IF_ERROR(FullKey(key).status());
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<AtomicFile> out, AtomicFile::Create(local_path));
  GRID_RETURN_IF_ERROR(GetObject(key, [&](std::string_view data) { return out->Append(data); }));
  return out->Commit();
}

Result<std::string> S3Bucket::GetBytes(const std::string& key) {
  std::string out;
  GRID_RETURN_IF_ERROR(GetObject(key, [&](std::string_view data) -> Status {
    if (static_cast<int64_t>(out.size() + data.size()) > kMaxInMemoryObjectBytes) {
      return ResourceExhausted("object " + key + " in " + Describe() +
                               " is over the in-memory limit of " +
                               std::to_string(kMaxInMemoryObjectBytes) + " bytes");
    }
    out.append(data);
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<ObjectInfo>> S3Bucket::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string token;
  while (true) {
    Request request;
    request.what = "ListObjectsV2 \"" + prefix + "\"";
    request.method = "GET";
    request.query = {{"list-type", "2"},
                     {"prefix", prefix_ + prefix},
                     {"max-keys", std::to_string(list_page_keys_)}};
    if (!token.empty()) request.query.emplace_back("continuation-token", token);
    GRID_ASSIGN_OR_RETURN(Response response, Send(request));
    if (!Is2xx(response.status)) {
      return S3StatusFromResponse(response.status, response.body,
                                  request.what + " in " + Describe(), Describe());
    }
    GRID_ASSIGN_OR_RETURN(ListPage page, ParseListObjectsV2(response.body));
    for (ObjectInfo& info : page.objects) {
      if (info.key.compare(0, prefix_.size(), prefix_) != 0) continue;
      info.key = info.key.substr(prefix_.size());
      if (out.size() >= max_listed_objects_) {
        return ResourceExhausted("more than " + std::to_string(max_listed_objects_) +
                                 " objects under prefix \"" + prefix + "\" in " + Describe());
      }
      out.push_back(std::move(info));
    }
    if (!page.truncated) break;
    if (page.next_continuation_token == token) {
      return Internal("ListObjectsV2 in " + Describe() + " repeated its continuation token");
    }
    token = page.next_continuation_token;
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status S3Bucket::Delete(const std::string& key) {
  GRID_ASSIGN_OR_RETURN(std::string full_key, FullKey(key));
  // S3 answers DeleteObject 204 whether or not the key exists: HEAD tells NotFound.
  Request head;
  head.what = "HeadObject " + key;
  head.method = "HEAD";
  head.full_key = full_key;
  GRID_ASSIGN_OR_RETURN(Response found, Send(head));
  if (!Is2xx(found.status)) {
    return S3StatusFromResponse(found.status, found.body, head.what + " in " + Describe(),
                                Describe());
  }
  Request request;
  request.what = "DeleteObject " + key;
  request.method = "DELETE";
  request.full_key = full_key;
  GRID_ASSIGN_OR_RETURN(Response response, Send(request));
  if (!Is2xx(response.status)) {
    return S3StatusFromResponse(response.status, response.body, request.what + " in " + Describe(),
                                Describe());
  }
  return Status::Ok();
}

}  // namespace grid::mas::bucket
