// The S3 REST API's bodies and errors, without I/O: the little XML S3 speaks, a
// ListObjectsV2 page, CompleteMultipartUpload's body, and the mapping of S3 errors to Status.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "mas/bucket/bucket.h"

namespace grid::mas::bucket {

// Inner text of every <tag ...>...</tag> (or empty for <tag/>) in `xml`, in order, entities
// (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;) decoded only by XmlText. Enough for S3's
// responses, which nest no element inside one of the same name.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
std::string XmlText(std::string_view inner);
// The decoded text of the first <tag>, if any.
std::optional<std::string> XmlFirst(std::string_view xml, std::string_view tag);
std::string XmlEscape(std::string_view text);

struct ListPage {
  std::vector<ObjectInfo> objects;  // full keys as the server names them
  bool truncated = false;
  std::string next_continuation_token;
};
[[nodiscard]] Result<ListPage> ParseListObjectsV2(std::string_view xml);
// "2013-09-17T18:07:53.000Z" -> time point; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> ParseIsoTime(std::string_view text);

struct UploadedPart {
  int part_number = 0;
  std::string etag;  // as returned by UploadPart, quotes included
};
std::string CompleteMultipartUploadBody(const std::vector<UploadedPart>& parts);

struct S3Error {
  std::string code;     // "NoSuchKey", ... (empty when the body had none)
  std::string message;
};
// The <Error> of a response body, when it has one.
std::optional<S3Error> ParseS3Error(std::string_view body);

// Status for an S3 answer that is not a success. `what` names the call and object
// ("GetObject backups/x in s3://b/p (http://h:p)"), `bucket` the bucket for "is full".
// 404/NoSuchKey -> NotFound; NoSuchBucket -> FailedPrecondition; 403 -> PermissionDenied;
// 507/EntityTooLarge/QuotaExceeded/... -> ResourceExhausted; 5xx/SlowDown -> Unavailable;
// other 4xx -> InvalidArgument; anything else Internal. The message carries S3's code and
// message.
Status S3StatusFromResponse(int http_status, std::string_view body, const std::string& what,
                            const std::string& bucket);

}  // namespace grid::mas::bucket
