#include <memory>

#include "mas/bucket/bucket.h"
#include "mas/bucket/local_dir_bucket.h"
#include "mas/bucket/s3_bucket.h"

namespace grid::mas::bucket {

Result<std::unique_ptr<Bucket>> OpenBucket(const std::string& url, const S3Options& s3) {
  constexpr std::string_view kDir = "dir://";
  constexpr std::string_view kS3 = "s3://";
  std::string path;
  if (url.compare(0, kDir.size(), kDir) == 0) {
    path = url.substr(kDir.size());
  } else if (url.compare(0, kS3.size(), kS3) == 0) {
    GRID_ASSIGN_OR_RETURN(std::unique_ptr<S3Bucket> b, S3Bucket::Open(url, ResolveS3Options(s3)));
    return std::unique_ptr<Bucket>(std::move(b));
  } else {
    path = url;
  }
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("bucket \"" + url +
                           "\" is neither dir:///absolute/path, an absolute path, nor s3://bucket/prefix");
  }
  GRID_ASSIGN_OR_RETURN(std::unique_ptr<LocalDirBucket> b, LocalDirBucket::Open(path));
  return std::unique_ptr<Bucket>(std::move(b));
}

}  // namespace grid::mas::bucket
